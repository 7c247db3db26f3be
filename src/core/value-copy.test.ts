/** TypeSerializer.copy of the default serializer: a deep copy that serializes to the same bytes, fast for plain data. */
import { describe, expect, it } from 'vitest';
import { MsgpackSerializer } from './serializer.js';
import { TypeRegistry } from './type-registry.js';
import { copyValue } from './value-copy.js';

class Point {
  constructor(
    public x: number,
    public y: number,
  ) {}
  norm(): number {
    return Math.hypot(this.x, this.y);
  }
}

describe('MsgpackSerializer.copy', () => {
  const types = new TypeRegistry();
  types.register(Point);
  const serializer = new MsgpackSerializer<unknown>({ types });
  const bytes = (v: unknown): number[] => [...serializer.serialize(v)];

  it('copies nested plain data deeply: changing the copy leaves the original as it was', () => {
    const original = {
      n: 1,
      tags: ['a', { deep: [1, 2] }],
      when: new Date(5),
      byName: new Map<string, { n: number }>([['k', { n: 1 }]]),
      seen: new Set([{ id: 1 }]),
      none: undefined,
      nil: null,
      big: 10n,
    };
    const before = bytes(original);
    const copy = serializer.copy(original) as typeof original;
    expect(bytes(copy)).toEqual(before);
    copy.n = 2;
    (copy.tags[1] as { deep: number[] }).deep.push(3);
    copy.when.setTime(6);
    copy.byName.get('k')!.n = 2;
    [...copy.seen][0]!.id = 2;
    expect(bytes(original)).toEqual(before);
    expect('none' in copy).toBe(true);
  });

  it('keeps a registered class instance its class, through the bytes', () => {
    const copy = serializer.copy({ at: new Point(3, 4) }) as { at: Point };
    expect(copy.at).toBeInstanceOf(Point);
    expect(copy.at.norm()).toBe(5);
  });

  it('copies typed arrays and a __proto__ key as the bytes have them', () => {
    const original = JSON.parse('{"__proto__": {"x": 1}, "data": null}') as Record<string, unknown>;
    original.data = new Float64Array([1.5, 2.5]);
    const copy = serializer.copy(original) as Record<string, unknown>;
    expect(bytes(copy)).toEqual(bytes(original));
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    (copy.data as Float64Array)[0] = 9;
    expect((original.data as Float64Array)[0]).toBe(1.5);
  });

  it('fails as serialize fails for a cycle, naming where it is', () => {
    const a: Record<string, unknown> = { n: 1 };
    a.self = { back: a };
    expect(() => serializer.copy(a)).toThrow(/SLUICE_SERIALIZATION_FAILED|refers back/);
  });

  it('returns primitives as they are', () => {
    for (const v of [1, 'x', true, null, undefined, 3n]) expect(serializer.copy(v)).toBe(v);
  });
});

describe('copyValue', () => {
  it('goes the slow way only for what it cannot copy directly', () => {
    const slowly: unknown[] = [];
    const slow = (v: object): unknown => (slowly.push(v), { slow: true });
    const odd = Object.create(null) as object;
    const copy = copyValue({ plain: { n: 1 }, list: [1, [2]], odd }, slow) as Record<string, unknown>;
    expect(slowly).toEqual([odd]);
    expect(copy).toEqual({ plain: { n: 1 }, list: [1, [2]], odd: { slow: true } });
  });

  it('copies a function field by reference (serializing the copy then fails as the original would)', () => {
    const f = (): number => 1;
    const copy = copyValue({ f }, () => undefined) as { f: unknown };
    expect(copy.f).toBe(f);
  });
});
