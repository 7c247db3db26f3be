/** Stable key hashing: canonical encoding, fast paths vs the generic path, composite keys, unhashable keys, golden values. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SluiceError } from './errors.js';
import { murmur3Bytes } from './murmur3.js';
import { canonicalBytes, checkHashable, mapKeyOf, stableHash } from './stable-hash.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Strings of arbitrary UTF-16 code units, lone surrogates included. */
const codeUnitString = fc
  .array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 40 })
  .map((units) => String.fromCharCode(...units));
const anyString = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc.string({ unit: 'grapheme' }),
  codeUnitString,
  fc.string(),
);

/** Doubles, plus NaNs with arbitrary payloads (not just the canonical one). */
const anyDouble = fc.oneof(
  fc.double(),
  fc.constantFrom(0, -0, NaN, Infinity, -Infinity, Number.MIN_VALUE, Number.MAX_VALUE),
  fc.tuple(fc.integer({ min: 0, max: 0xfffff }), fc.nat(), fc.boolean()).map(([hi, lo, neg]) => {
    const dv = new DataView(new ArrayBuffer(8));
    dv.setUint32(0, ((neg ? 0xfff00000 : 0x7ff00000) | hi | 1) >>> 0); // non-zero mantissa: NaN
    dv.setUint32(4, lo);
    return dv.getFloat64(0);
  }),
);

/** Every kind of value a key may be, nested. */
const { key: hashableKey } = fc.letrec((tie) => ({
  key: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    anyString,
    anyDouble,
    fc.bigInt(),
    fc.boolean(),
    fc.constant(null),
    fc.date({ noInvalidDate: true }),
    fc.uint8Array({ maxLength: 8 }),
    fc.array(tie('key'), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 4 }), tie('key'), { maxKeys: 4 }),
  ),
}));

/** A deep copy that also reverses every object's key insertion order. */
function cloneReordered(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(cloneReordered);
  if (v instanceof Date) return new Date(v.getTime());
  if (v instanceof Uint8Array) return Uint8Array.from(v);
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v).reverse();
    const out: Record<string, unknown> = Object.getPrototypeOf(v) === null ? Object.create(null) : {};
    for (const [k, x] of entries)
      Object.defineProperty(out, k, { value: cloneReordered(x), enumerable: true });
    return out;
  }
  return v;
}

function expectNotHashable(key: unknown, path: string, what: string): void {
  let caught: unknown;
  try {
    stableHash(key);
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(SluiceError);
  const err = caught as SluiceError;
  expect(err.code).toBe('SLUICE_KEY_NOT_HASHABLE');
  expect(err.message).toContain(`key${path} is ${what}`);
  expect(err.message).toContain('Change the key selector');
  // Every entry point rejects it the same way.
  expect(() => canonicalBytes(key)).toThrow(`key${path} is ${what}`);
  expect(() => mapKeyOf(key)).toThrow(`key${path} is ${what}`);
  expect(() => checkHashable(key)).toThrow(`key${path} is ${what}`);
}

describe('canonicalBytes', () => {
  it('encodes strings as tag 0x01 and their UTF-8 bytes (lone surrogates as U+FFFD, like TextEncoder)', () => {
    const enc = new TextEncoder();
    fc.assert(
      fc.property(anyString, (s) => {
        expect(hex(canonicalBytes(s))).toBe('01' + hex(enc.encode(s)));
      }),
      { numRuns: 500 },
    );
    expect(hex(canonicalBytes('\ud800x'))).toBe('01efbfbd78');
    expect(hex(canonicalBytes('x\udc00'))).toBe('0178efbfbd');
  });

  it('encodes numbers as tag 0x02 and float64 big-endian, -0 as 0 and every NaN as the canonical NaN', () => {
    fc.assert(
      fc.property(anyDouble, (d) => {
        const dv = new DataView(new ArrayBuffer(9));
        dv.setUint8(0, 0x02);
        if (Number.isNaN(d)) dv.setUint32(1, 0x7ff80000);
        else dv.setFloat64(1, d === 0 ? 0 : d);
        expect(hex(canonicalBytes(d))).toBe(hex(new Uint8Array(dv.buffer)));
      }),
      { numRuns: 500 },
    );
  });

  it('encodes each documented type as documented', () => {
    expect(hex(canonicalBytes(-123n))).toBe('03' + hex(new TextEncoder().encode('-123')));
    expect(hex(canonicalBytes(true))).toBe('0401');
    expect(hex(canonicalBytes(false))).toBe('0400');
    expect(hex(canonicalBytes(null))).toBe('05');
    expect(hex(canonicalBytes(new Date(1)))).toBe('083ff0000000000000');
    expect(hex(canonicalBytes(new Uint8Array([1, 2, 255])))).toBe('090102ff');
    expect(hex(canonicalBytes(Buffer.from([7])))).toBe('0907');
    // Persisted semantics: an array is tag, count, then length-prefixed elements.
    expect(hex(canonicalBytes(['user', 7]))).toBe(
      '06' + '00000002' + '00000005' + '0175736572' + '00000009' + '02401c000000000000',
    );
    // Objects: keys in code-unit order, each key and value length-prefixed.
    expect(hex(canonicalBytes({ b: 1, a: 'x' }))).toBe(
      '07' +
        '00000002' +
        '00000001' +
        '61' +
        '00000002' +
        '0178' +
        '00000001' +
        '62' +
        '00000009' +
        '023ff0000000000000',
    );
  });

  it('returns a fresh copy that later calls do not overwrite', () => {
    const a = canonicalBytes(['a', 1]);
    const before = hex(a);
    canonicalBytes({ something: 'else', entirely: [1, 2, 3] });
    expect(hex(a)).toBe(before);
  });

  it('handles composite keys larger than the initial scratch buffer', () => {
    const big = Array.from({ length: 200 }, (_, i) => `element-${i}`);
    const bytes = canonicalBytes(big);
    expect(bytes.length).toBeGreaterThan(256);
    expect(stableHash(big)).toBe(murmur3Bytes(bytes));
    expect(stableHash([...big])).toBe(stableHash(big));
  });
});

describe('stableHash', () => {
  it('string fast path equals the generic canonical-bytes path', () => {
    fc.assert(
      fc.property(anyString, (s) => {
        expect(stableHash(s)).toBe(murmur3Bytes(canonicalBytes(s)));
      }),
      { numRuns: 1000 },
    );
  });

  it('number fast path equals the generic canonical-bytes path', () => {
    fc.assert(
      fc.property(anyDouble, (d) => {
        expect(stableHash(d)).toBe(murmur3Bytes(canonicalBytes(d)));
      }),
      { numRuns: 1000 },
    );
  });

  it('is murmur3 of the canonical bytes for every hashable key', () => {
    fc.assert(
      fc.property(hashableKey, (k) => {
        expect(stableHash(k)).toBe(murmur3Bytes(canonicalBytes(k)));
      }),
    );
  });

  it('hashes -0 and 0 equally', () => {
    expect(stableHash(-0)).toBe(stableHash(0));
    expect(stableHash([-0])).toBe(stableHash([0]));
    expect(stableHash({ x: -0 })).toBe(stableHash({ x: 0 }));
    expect(mapKeyOf([-0])).toBe(mapKeyOf([0]));
  });

  it('hashes every NaN equally', () => {
    fc.assert(
      fc.property(anyDouble, (d) => {
        if (Number.isNaN(d)) expect(stableHash(d)).toBe(stableHash(NaN));
      }),
    );
    const weird = new DataView(new ArrayBuffer(8));
    weird.setUint32(0, 0xfff12345);
    weird.setUint32(4, 0xdeadbeef);
    expect(stableHash(weird.getFloat64(0))).toBe(stableHash(NaN));
    expect(stableHash([weird.getFloat64(0)])).toBe(stableHash([NaN]));
  });

  it('distinguishes keys of different types with the same text', () => {
    const hashes = [stableHash('1'), stableHash(1), stableHash(1n), stableHash(true), stableHash([1])];
    expect(new Set(hashes).size).toBe(hashes.length);
  });
});

describe('composite keys', () => {
  it('equal structures give equal hash and equal mapKeyOf, whatever the object key order', () => {
    fc.assert(
      fc.property(hashableKey, (k) => {
        const copy = cloneReordered(k);
        expect(stableHash(copy)).toBe(stableHash(k));
        expect(hex(canonicalBytes(copy))).toBe(hex(canonicalBytes(k)));
        const a = mapKeyOf(k);
        const b = mapKeyOf(copy);
        // As JS Map keys they must be the same key (SameValueZero).
        expect(new Map([[a, 1]]).has(b)).toBe(true);
      }),
    );
  });

  it('ignores object key order', () => {
    const a = { user: 'u1', region: 'eu', n: 3 };
    const b = { n: 3, region: 'eu', user: 'u1' };
    expect(stableHash(a)).toBe(stableHash(b));
    expect(mapKeyOf(a)).toBe(mapKeyOf(b));
    expect(stableHash({ x: { p: 1, q: 2 } })).toBe(stableHash({ x: { q: 2, p: 1 } }));
  });

  it('respects array order', () => {
    expect(stableHash(['a', 'b'])).not.toBe(stableHash(['b', 'a']));
    expect(mapKeyOf(['a', 'b'])).not.toBe(mapKeyOf(['b', 'a']));
    expect(stableHash([1, 2, 3])).not.toBe(stableHash([3, 2, 1]));
  });

  it('keeps nesting boundaries apart', () => {
    const keys = [['ab'], ['a', 'b'], [['a'], 'b'], ['a', ['b']], { a: 'b' }, { ab: '' }, ['a', 'b', null]];
    expect(new Set(keys.map((k) => mapKeyOf(k))).size).toBe(keys.length);
    expect(new Set(keys.map((k) => stableHash(k))).size).toBe(keys.length);
  });

  it('distinct keys get distinct mapKeyOf (canonical encoding is injective)', () => {
    fc.assert(
      fc.property(hashableKey, hashableKey, (a, b) => {
        const sameBytes = hex(canonicalBytes(a)) === hex(canonicalBytes(b));
        const sameMapKey = new Map([[mapKeyOf(a), 1]]).has(mapKeyOf(b));
        expect(sameMapKey).toBe(sameBytes);
      }),
    );
  });

  it('a string key never collides with a composite key in mapKeyOf', () => {
    // Regression: composite keys map to '\u0000' + their canonical bytes as chars, and strings
    // mapped to themselves, so this string shared its state with the key [].
    const composite = mapKeyOf([]);
    expect(typeof composite).toBe('string');
    const lookalike = composite as string;
    expect(mapKeyOf(lookalike)).not.toBe(composite);
    expect(mapKeyOf('\u0000')).not.toBe(mapKeyOf('\u0000\u0001'));
    expect(mapKeyOf('plain')).toBe('plain');
    fc.assert(
      fc.property(hashableKey, (k) => {
        const asString = mapKeyOf(k);
        if (typeof asString !== 'string') return;
        // The string that looks like k's map key is another key, unless k is that very string.
        expect(mapKeyOf(asString) === asString).toBe(k === asString);
      }),
    );
  });

  it('mapKeyOf returns primitives unchanged', () => {
    for (const k of ['k', 12.5, true, 5n, null]) expect(mapKeyOf(k)).toBe(k);
  });
});

describe('keys that cannot be hashed', () => {
  class Point {
    constructor(readonly x: number) {}
  }

  it('rejects undefined, functions, symbols, Maps, Sets and class instances at the top level', () => {
    expectNotHashable(undefined, '', 'undefined');
    expectNotHashable(() => 1, '', 'a function');
    expectNotHashable(Symbol('s'), '', 'a symbol');
    expectNotHashable(new Map([[1, 2]]), '', 'a Map');
    expectNotHashable(new Set([1]), '', 'a Set');
    expectNotHashable(new Point(1), '', 'an instance of Point');
  });

  it('names the path of a nested bad value', () => {
    expectNotHashable([1, { x: undefined }], '[1].x', 'undefined');
    expectNotHashable({ a: [0, 1, () => 0] }, '.a[2]', 'a function');
    expectNotHashable({ outer: { inner: Symbol('s') } }, '.outer.inner', 'a symbol');
    expectNotHashable([[new Map()]], '[0][0]', 'a Map');
    expectNotHashable({ p: new Point(2) }, '.p', 'an instance of Point');
    // A hole in an array is undefined too.
    // eslint-disable-next-line no-sparse-arrays -- the hole is the point
    expectNotHashable([1, , 3], '[1]', 'undefined');
  });

  it('leaves the shared scratch state usable after a failure', () => {
    expect(() => stableHash(['a', { b: undefined }])).toThrow(SluiceError);
    expect(stableHash(['user', 7])).toBe(murmur3Bytes(canonicalBytes(['user', 7])));
    expect(stableHash(['user', 7])).toBe(-755195163);
  });

  it('accepts null-prototype objects as plain objects', () => {
    const o = Object.create(null) as Record<string, unknown>;
    o.a = 1;
    expect(stableHash(o)).toBe(stableHash({ a: 1 }));
  });
});

describe('golden hash values', () => {
  // PERSISTED SEMANTICS. These values decide which key group (hence which part of every
  // checkpoint and savepoint) holds a key. If this test fails, the key encoding or the hash
  // changed, and every existing savepoint would restore keys into the wrong key groups.
  // Do not update these numbers; fix the change instead.
  const GOLDEN: readonly [unknown, number][] = [
    ['', -463810133],
    ['hello', -3547808],
    ['héllo wörld 🌊', 1658133210],
    [0, -826002279],
    [42, 151004746],
    [-1.5, -1842494112],
    [NaN, -144819141],
    [Infinity, 563708602],
    [10n, 740255105],
    [-12345678901234567890n, -1515780584],
    [true, 712661126],
    [false, 899251846],
    [null, 1405797717],
    [['user', 7], -755195163],
    [{ b: 1, a: 'x' }, 1413164996],
    [new Date(0), -1257695647],
    [new Uint8Array([1, 2, 3]), 1785695359],
    [{ id: [1, 'a'], when: new Date(86400000) }, -1710480224],
  ];

  it.each(GOLDEN)('stableHash(%o) = %i', (key, expected) => {
    expect(stableHash(key)).toBe(expected);
  });
});
