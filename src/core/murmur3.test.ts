/** murmur3_x86_32 against published vectors and an independent reference; murmurMixInt against Flink's MathUtils.murmurHash. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Murmur3Stream, fmix32, murmur3Bytes, murmurMixInt } from './murmur3.js';

// ---- Independent reference implementations (written from the spec, not from murmur3.ts) ----

const U32 = 0x1_0000_0000n;
const MASK = U32 - 1n;

/** 32-bit unsigned multiplication via BigInt, so it shares nothing with Math.imul. */
function mulU32(a: bigint, b: bigint): bigint {
  return (a * b) & MASK;
}
function rotlU32(x: bigint, r: bigint): bigint {
  return ((x << r) | (x >> (32n - r))) & MASK;
}
function toSigned(x: bigint): number {
  return Number(BigInt.asIntN(32, x));
}
function fmixRef(h: bigint): bigint {
  h ^= h >> 16n;
  h = mulU32(h, 0x85ebca6bn);
  h ^= h >> 13n;
  h = mulU32(h, 0xc2b2ae35n);
  h ^= h >> 16n;
  return h;
}

/** Straightforward non-streaming murmur3_x86_32 (Austin Appleby's MurmurHash3_x86_32). */
function murmur3Reference(data: Uint8Array, seed = 0): number {
  const c1 = 0xcc9e2d51n;
  const c2 = 0x1b873593n;
  let h = BigInt(seed >>> 0);
  const nblocks = Math.floor(data.length / 4);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  for (let i = 0; i < nblocks; i++) {
    let k = BigInt(view.getUint32(i * 4, true));
    k = mulU32(k, c1);
    k = rotlU32(k, 15n);
    k = mulU32(k, c2);
    h ^= k;
    h = rotlU32(h, 13n);
    h = (mulU32(h, 5n) + 0xe6546b64n) & MASK;
  }
  const tail = nblocks * 4;
  const rem = data.length & 3;
  let k1 = 0n;
  if (rem >= 3) k1 ^= BigInt(data[tail + 2]!) << 16n;
  if (rem >= 2) k1 ^= BigInt(data[tail + 1]!) << 8n;
  if (rem >= 1) {
    k1 ^= BigInt(data[tail]!);
    k1 = mulU32(k1, c1);
    k1 = rotlU32(k1, 15n);
    k1 = mulU32(k1, c2);
    h ^= k1;
  }
  h ^= BigInt(data.length);
  return toSigned(fmixRef(h));
}

/**
 * Transcription of Flink's MathUtils.murmurHash(int) (flink-core/.../util/MathUtils.java) with
 * Java int semantics emulated in BigInt.
 */
function flinkMurmurHash(code: number): number {
  let c = BigInt(code >>> 0);
  c = mulU32(c, 0xcc9e2d51n);
  c = rotlU32(c, 15n);
  c = mulU32(c, 0x1b873593n);
  c = rotlU32(c, 13n);
  c = (mulU32(c, 5n) + 0xe6546b64n) & MASK;
  c ^= 4n;
  c = fmixRef(c);
  const signed = toSigned(c);
  if (signed >= 0) return signed;
  if (signed !== -2147483648) return -signed;
  return 0;
}

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

// Published murmur3_x86_32 vectors (SMHasher / the widely cited test table), unsigned hex.
const VECTORS: readonly { input: Uint8Array; seed: number; expected: number; label: string }[] = [
  { label: 'empty, seed 0', input: new Uint8Array(0), seed: 0, expected: 0 },
  { label: 'empty, seed 1', input: new Uint8Array(0), seed: 1, expected: 0x514e28b7 },
  { label: 'empty, seed 0xffffffff', input: new Uint8Array(0), seed: 0xffffffff, expected: 0x81f16f39 },
  { label: 'ff ff ff ff', input: new Uint8Array([0xff, 0xff, 0xff, 0xff]), seed: 0, expected: 0x76293b50 },
  { label: '21 43 65 87', input: new Uint8Array([0x21, 0x43, 0x65, 0x87]), seed: 0, expected: 0xf55b516b },
  {
    label: '21 43 65 87 seed 0x5082EDEE',
    input: new Uint8Array([0x21, 0x43, 0x65, 0x87]),
    seed: 0x5082edee,
    expected: 0x2362f9de,
  },
  { label: '21 43 65', input: new Uint8Array([0x21, 0x43, 0x65]), seed: 0, expected: 0x7e4a8634 },
  { label: '21 43', input: new Uint8Array([0x21, 0x43]), seed: 0, expected: 0xa0f7b07a },
  { label: '21', input: new Uint8Array([0x21]), seed: 0, expected: 0x72661cf4 },
  { label: '00 00 00 00', input: new Uint8Array([0, 0, 0, 0]), seed: 0, expected: 0x2362f9de },
  { label: '00 00 00', input: new Uint8Array([0, 0, 0]), seed: 0, expected: 0x85f0b427 },
  { label: '00 00', input: new Uint8Array([0, 0]), seed: 0, expected: 0x30f4c306 },
  { label: '00', input: new Uint8Array([0]), seed: 0, expected: 0x514e28b7 },
  { label: '"hello"', input: ascii('hello'), seed: 0, expected: 0x248bfa47 },
  { label: '"hello, world"', input: ascii('hello, world'), seed: 0, expected: 0x149bbb7f },
  {
    label: 'quick brown fox',
    input: ascii('The quick brown fox jumps over the lazy dog'),
    seed: 0,
    expected: 0x2e4ff723,
  },
  { label: '"aaaa" seed 0x9747b28c', input: ascii('aaaa'), seed: 0x9747b28c, expected: 0x5a97808a },
  { label: '"aaa" seed 0x9747b28c', input: ascii('aaa'), seed: 0x9747b28c, expected: 0x283e0130 },
  { label: '"aa" seed 0x9747b28c', input: ascii('aa'), seed: 0x9747b28c, expected: 0x5d211726 },
  { label: '"a" seed 0x9747b28c', input: ascii('a'), seed: 0x9747b28c, expected: 0x7fa09ea6 },
  { label: '"abcd" seed 0x9747b28c', input: ascii('abcd'), seed: 0x9747b28c, expected: 0xf0478627 },
  { label: '"abc" seed 0x9747b28c', input: ascii('abc'), seed: 0x9747b28c, expected: 0xc84a62dd },
  { label: '"ab" seed 0x9747b28c', input: ascii('ab'), seed: 0x9747b28c, expected: 0x74875592 },
  {
    label: '"Hello, world!" seed 0x9747b28c',
    input: ascii('Hello, world!'),
    seed: 0x9747b28c,
    expected: 0x24884cba,
  },
  {
    label: 'quick brown fox seed 0x9747b28c',
    input: ascii('The quick brown fox jumps over the lazy dog'),
    seed: 0x9747b28c,
    expected: 0x2fa826cd,
  },
];

describe('murmur3Bytes', () => {
  it.each(VECTORS)('matches the published vector: $label', ({ input, seed, expected }) => {
    // The vector table itself is checked against the independent reference first.
    expect(murmur3Reference(input, seed)).toBe(expected | 0);
    expect(murmur3Bytes(input, seed)).toBe(expected | 0);
  });

  it('returns a signed 32-bit int', () => {
    // 0x81f16f39 has the top bit set, so it must come back negative, as Java's int would.
    expect(murmur3Bytes(new Uint8Array(0), 0xffffffff)).toBe(0x81f16f39 - 0x1_0000_0000);
  });

  it('agrees with the reference for random bytes and seeds', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 70 }), fc.integer(), (bytes, seed) => {
        expect(murmur3Bytes(bytes, seed)).toBe(murmur3Reference(bytes, seed));
      }),
      { numRuns: 500 },
    );
  });

  it('hashes only the view it is given (byteOffset respected)', () => {
    const backing = new Uint8Array([9, 9, 0x21, 0x43, 0x65, 0x87, 9]);
    expect(murmur3Bytes(backing.subarray(2, 6))).toBe(0xf55b516b | 0);
  });
});

describe('Murmur3Stream', () => {
  it('gives the same hash however the input is split into byte()/bytes() calls', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 64 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        fc.integer(),
        (bytes, cuts, seed) => {
          const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
          const s = new Murmur3Stream().reset(seed);
          let from = 0;
          for (const [i, p] of points.entries()) {
            if (i % 2 === 0) s.bytes(bytes, from, p);
            else for (let j = from; j < p; j++) s.byte(bytes[j]!);
            from = p;
          }
          s.bytes(bytes, from);
          expect(s.finish()).toBe(murmur3Reference(bytes, seed));
        },
      ),
    );
  });

  it('can be reused after reset', () => {
    const s = new Murmur3Stream();
    s.reset(0).bytes(ascii('something else entirely'));
    s.finish();
    s.reset(0);
    s.bytes(ascii('hello'));
    expect(s.finish()).toBe(0x248bfa47);
  });

  it('keeps only the low 8 bits of byte()', () => {
    const s = new Murmur3Stream().reset(0);
    s.byte(0x121);
    expect(s.finish()).toBe(murmur3Bytes(new Uint8Array([0x21])));
  });
});

describe('fmix32', () => {
  it('is the murmur3 finalizer', () => {
    fc.assert(
      fc.property(fc.integer({ min: -2147483648, max: 2147483647 }), (h) => {
        expect(fmix32(h)).toBe(toSigned(fmixRef(BigInt(h >>> 0))));
      }),
    );
    expect(fmix32(0)).toBe(0);
  });
});

describe('murmurMixInt (Flink MathUtils.murmurHash)', () => {
  // Input → output pairs computed with the BigInt transcription of Flink's code above (checked
  // here too). murmurHash(0) is murmur3 of four zero bytes, the published vector 0x2362F9DE.
  const KNOWN: readonly [number, number][] = [
    [0, 593689054],
    [1, 68075478],
    [-1, 1982413648],
    [42, 1134849565],
    [2147483647, 1653689534],
    [-2147483648, 1718298732],
    [0x248bfa47, 113769535],
  ];

  it.each(KNOWN)('murmurHash(%i) = %i', (input, expected) => {
    expect(flinkMurmurHash(input)).toBe(expected);
    expect(murmurMixInt(input)).toBe(expected);
  });

  it('is murmur3 of the int as 4 little-endian bytes, made non-negative', () => {
    fc.assert(
      fc.property(fc.integer({ min: -2147483648, max: 2147483647 }), (code) => {
        const bytes = new Uint8Array(4);
        new DataView(bytes.buffer).setInt32(0, code, true);
        const h = murmur3Reference(bytes, 0);
        const expected = h >= 0 ? h : h === -2147483648 ? 0 : -h;
        expect(murmurMixInt(code)).toBe(expected);
      }),
      { numRuns: 300 },
    );
  });

  it('equals the Flink transcription and is non-negative for random ints', () => {
    fc.assert(
      fc.property(fc.integer({ min: -2147483648, max: 2147483647 }), (code) => {
        const r = murmurMixInt(code);
        expect(r).toBe(flinkMurmurHash(code));
        expect(r).toBeGreaterThanOrEqual(0);
      }),
      { numRuns: 1000 },
    );
  });

  it('truncates its argument to a 32-bit int first, like a Java int parameter', () => {
    expect(murmurMixInt(0x1_0000_0001)).toBe(flinkMurmurHash(1));
  });
});
