/** Record serializers: MsgpackSerializer and JsonSerializer round trips of JSON values, sub-range decoding and errors. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SluiceError } from './errors.js';
import { JsonSerializer, MsgpackSerializer, type TypeSerializer } from './serializer.js';

/** Copies `bytes` into a larger buffer between random junk, returning the buffer and the range. */
function embed(
  bytes: Uint8Array,
  before: number,
  after: number,
): { buf: Uint8Array; start: number; end: number } {
  const buf = new Uint8Array(before + bytes.length + after).fill(0xc1); // 0xc1: never valid msgpack
  buf.set(bytes, before);
  return { buf, start: before, end: before + bytes.length };
}

/** JSON values without '__proto__' keys (msgpackr renames those; pinned separately below). */
const jsonValue = fc.jsonValue().filter((v) => !JSON.stringify(v).includes('"__proto__"'));

/** `v` with every -0 as 0: neither MessagePack (as msgpackr writes it) nor JSON keeps the sign of zero. */
function withoutNegativeZero(v: unknown): unknown {
  if (Object.is(v, -0)) return 0;
  if (Array.isArray(v)) return v.map(withoutNegativeZero);
  if (v !== null && typeof v === 'object' && !(v instanceof Date) && !(v instanceof Uint8Array))
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, withoutNegativeZero(x)]));
  return v;
}

function roundTrip<T>(s: TypeSerializer<T>, value: T): T {
  const bytes = s.serialize(value).slice();
  return s.deserialize(bytes, 0, bytes.length);
}

describe('MsgpackSerializer', () => {
  it('round-trips JSON values', () => {
    const s = new MsgpackSerializer();
    fc.assert(
      fc.property(jsonValue, (v) => {
        expect(roundTrip(s, v)).toEqual(withoutNegativeZero(v));
      }),
      { numRuns: 300 },
    );
  });

  it('round-trips records with Date, Uint8Array and undefined fields', () => {
    const s = new MsgpackSerializer();
    fc.assert(
      fc.property(
        fc.record({
          when: fc.date({ noInvalidDate: true }),
          bytes: fc.uint8Array({ maxLength: 64 }),
          missing: fc.constant(undefined),
          nested: fc.array(fc.record({ at: fc.date({ noInvalidDate: true }), v: jsonValue }), {
            maxLength: 3,
          }),
        }),
        (v) => {
          const back = roundTrip(s, v) as typeof v;
          expect(back).toEqual(withoutNegativeZero(v));
          expect(back.when).toBeInstanceOf(Date);
          expect(back.bytes).toBeInstanceOf(Uint8Array);
          expect(Array.from(back.bytes)).toEqual(Array.from(v.bytes));
          expect('missing' in back).toBe(true);
          expect(back.missing).toBeUndefined();
        },
      ),
      { numRuns: 200 },
    );
  });

  it('deserializes from a sub-range of a larger buffer', () => {
    const s = new MsgpackSerializer();
    fc.assert(
      fc.property(jsonValue, fc.nat({ max: 40 }), fc.nat({ max: 40 }), (v, before, after) => {
        const { buf, start, end } = embed(s.serialize(v).slice(), before, after);
        expect(s.deserialize(buf, start, end)).toEqual(withoutNegativeZero(v));
      }),
      { numRuns: 300 },
    );
  });

  it('reads several frames packed back to back in one buffer', () => {
    const s = new MsgpackSerializer();
    const values = [{ a: 1 }, 'two', [3, { four: 4 }], null, 5.5];
    const parts = values.map((v) => s.serialize(v).slice());
    const buf = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    const ranges: [number, number][] = [];
    let at = 0;
    for (const p of parts) {
      buf.set(p, at);
      ranges.push([at, at + p.length]);
      at += p.length;
    }
    // Out of order, to show no state is carried from one call to the next.
    for (const i of [3, 0, 4, 2, 1])
      expect(s.deserialize(buf, ranges[i]![0], ranges[i]![1])).toEqual(values[i]);
  });

  it('wraps a cyclic value in SLUICE_SERIALIZATION_FAILED naming the cycle', () => {
    const s = new MsgpackSerializer();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    let caught: unknown;
    try {
      s.serialize(cyclic);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(SluiceError);
    expect((caught as SluiceError).code).toBe('SLUICE_SERIALIZATION_FAILED');
    expect((caught as SluiceError).message).toContain('value.self refers back to value (a cycle)');
    expect((caught as SluiceError).message).toContain('setSerializer()');
    // Still usable afterwards.
    expect(roundTrip(s, { ok: true })).toEqual({ ok: true });
  });

  it('pins msgpackr quirks: -0 arrives as 0, a "__proto__" field arrives as "__proto_"', () => {
    const s = new MsgpackSerializer();
    const back = roundTrip(s, [-0, JSON.parse('{"__proto__":1,"a":2}')]) as [number, object];
    expect(Object.is(back[0], 0)).toBe(true);
    expect(back[1]).toEqual({ __proto_: 1, a: 2 });
    expect(Object.getPrototypeOf(back[1])).toBe(Object.prototype); // never a prototype change
  });

  it('names itself for snapshots', () => {
    const s = new MsgpackSerializer();
    expect([s.name, s.version]).toEqual(['msgpack', 1]);
  });
});

describe('JsonSerializer', () => {
  it('round-trips JSON values', () => {
    const s = new JsonSerializer();
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        expect(roundTrip(s, v)).toEqual(JSON.parse(JSON.stringify(v)));
        expect(roundTrip(s, v)).toEqual(withoutNegativeZero(v));
      }),
      { numRuns: 300 },
    );
  });

  it('deserializes from a sub-range of a larger buffer', () => {
    const s = new JsonSerializer();
    fc.assert(
      fc.property(fc.jsonValue(), fc.nat({ max: 40 }), fc.nat({ max: 40 }), (v, before, after) => {
        const { buf, start, end } = embed(s.serialize(v), before, after);
        expect(s.deserialize(buf, start, end)).toEqual(withoutNegativeZero(v));
      }),
    );
  });

  it('writes human-readable UTF-8 JSON', () => {
    const s = new JsonSerializer();
    expect(new TextDecoder().decode(s.serialize({ k: 'é', n: [1, 2] }))).toBe('{"k":"é","n":[1,2]}');
    expect([s.name, s.version]).toEqual(['json', 1]);
  });
});
