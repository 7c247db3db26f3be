/** MsgpackSerializer round-trips every supported type faithfully, or fails naming the field and the fix. */
import fc from 'fast-check';
import { Packr, Unpackr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { throwsWith } from '../../test/support/helpers.js';
import type { SluiceError } from './errors.js';
import { MsgpackSerializer, type MsgpackSerializerOptions } from './serializer.js';
import { TypeRegistry } from './type-registry.js';

class Point {
  constructor(
    public x: number,
    public y: number,
  ) {}
  norm(): number {
    return Math.hypot(this.x, this.y);
  }
}

class Order {
  static constructed = 0;
  readonly lines: Point[] = [];
  note: string | undefined = undefined;
  constructor(readonly id: string) {
    Order.constructed++;
  }
}

class Unregistered {
  a = 1;
}

function types(...classes: (abstract new (...args: never[]) => unknown)[]): TypeRegistry {
  const registry = new TypeRegistry();
  for (const c of classes) registry.register(c);
  return registry;
}

/** Both msgpackr copies: the records' one and the shared one. */
const flavours = [true, false].map((forRecords) => ({ forRecords, name: forRecords ? 'records' : 'shared' }));

function serializer(options: MsgpackSerializerOptions = {}): MsgpackSerializer {
  return new MsgpackSerializer({ types: types(Point, Order), ...options });
}

/** Serializes, copies the bytes into a fresh plain Uint8Array (as a network buffer), deserializes. */
function roundTrip<T>(s: MsgpackSerializer, value: T): T {
  const bytes = new Uint8Array(s.serialize(value));
  return s.deserialize(bytes, 0, bytes.length) as T;
}

function failure(fn: () => unknown): SluiceError {
  return throwsWith(fn, 'SLUICE_SERIALIZATION_FAILED');
}

describe.each(flavours)('MsgpackSerializer ($name msgpackr) keeps', ({ forRecords }) => {
  const s = serializer({ forRecords });

  it('undefined apart from null, and absent keys apart from undefined ones, in objects and arrays', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(undefined, null, 0, '')),
        fc.dictionary(
          fc.string().filter((k) => k !== '__proto__'),
          fc.constantFrom(undefined, null),
        ),
        (list, object) => {
          const back = roundTrip(s, { list, object, top: undefined, nil: null });
          expect(back.list).toStrictEqual(list);
          expect(Object.keys(back.object).sort()).toEqual(Object.keys(object).sort());
          for (const k of Object.keys(object)) expect(back.object[k]).toBe(object[k]);
          expect('top' in back && back.top === undefined && back.nil === null).toBe(true);
        },
      ),
    );
    expect(roundTrip(s, undefined)).toBeUndefined();
    expect(roundTrip(s, [undefined])).toStrictEqual([undefined]);
  });

  it('BigInt of any size, apart from numbers', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 200n), max: 2n ** 200n }), fc.integer(), (big, n) => {
        const back = roundTrip(s, { big, n, list: [big] });
        expect(back).toStrictEqual({ big, n, list: [big] });
        expect(typeof back.big).toBe('bigint');
        expect(typeof back.n).toBe('number');
      }),
    );
  });

  it('Date, also before 1970 and invalid', () => {
    fc.assert(
      fc.property(fc.date({ noInvalidDate: true }), (d) => {
        const back = roundTrip(s, { d });
        expect(back.d).toBeInstanceOf(Date);
        expect(back.d.getTime()).toBe(d.getTime());
      }),
    );
    expect(Number.isNaN(roundTrip(s, new Date(Number.NaN)).getTime())).toBe(true);
  });

  it('Map with keys of any type, nested and inside other containers, small and large', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.oneof(fc.string(), fc.integer(), fc.boolean()), fc.jsonValue())),
        (pairs) => {
          const map = new Map<unknown, unknown>(pairs);
          const value = { map, inArray: [map], inSet: new Set([map]), nested: new Map([['m', map]]) };
          const back = roundTrip(s, value);
          expect(back.map).toBeInstanceOf(Map);
          expect([...back.map]).toStrictEqual([...map].map(([k, v]) => [k, normalize(v)]));
          expect(back.inArray[0]).toBeInstanceOf(Map);
          expect([...back.inSet][0]).toBeInstanceOf(Map);
          expect(back.nested.get('m')).toBeInstanceOf(Map);
        },
      ),
      { numRuns: 100 },
    );
    const large = new Map(Array.from({ length: 70_000 }, (_, i) => [i, `v${i}`]));
    expect(roundTrip(s, large)).toStrictEqual(large);
    const objectKey = { k: 1 };
    expect([...roundTrip(s, new Map([[objectKey, 'v']])).keys()]).toStrictEqual([{ k: 1 }]);
    expect(roundTrip(s, new Map())).toStrictEqual(new Map());
  });

  it('Set, RegExp and the built-in errors', () => {
    const back = roundTrip(s, {
      set: new Set([1, 'a', null, undefined]),
      re: /a+b/giu,
      error: new RangeError('out', { cause: 7 }),
    });
    expect(back.set).toStrictEqual(new Set([1, 'a', null, undefined]));
    expect(back.re).toStrictEqual(/a+b/giu);
    expect(back.error).toBeInstanceOf(RangeError);
    expect([back.error.message, back.error.cause]).toEqual(['out', 7]);
  });

  it('every typed array, ArrayBuffer and DataView, in memory of their own', () => {
    const views = [
      new Int8Array([-1, 2]),
      new Uint8Array([1, 255]),
      new Uint8ClampedArray([3]),
      new Int16Array([-300]),
      new Uint16Array([65535]),
      new Int32Array([-7]),
      new Uint32Array([2 ** 32 - 1]),
      new Float32Array([1.5]),
      new Float64Array([Math.PI]),
      new BigInt64Array([-5n]),
      new BigUint64Array([2n ** 64n - 1n]),
    ];
    const back = roundTrip(s, views);
    back.forEach((v, i) => {
      expect(v.constructor).toBe(views[i]!.constructor);
      expect(v).toStrictEqual(views[i]);
    });
    const buffer = new Uint8Array([9, 8]).buffer;
    expect(new Uint8Array(roundTrip(s, buffer))).toStrictEqual(new Uint8Array([9, 8]));
    expect(roundTrip(s, new DataView(buffer)).getUint8(1)).toBe(8);
  });

  it('Buffer as a Buffer that owns its bytes (not a view of what it was read from)', () => {
    const bytes = new Uint8Array(s.serialize({ b: Buffer.from('hello') }));
    const back = s.deserialize(bytes, 0, bytes.length) as { b: Buffer };
    expect(Buffer.isBuffer(back.b)).toBe(true);
    expect(back.b.toString()).toBe('hello');
    bytes.fill(0);
    s.serialize({ b: Buffer.from('other') }); // reuses the serializer's scratch buffer
    expect(back.b.toString()).toBe('hello');
  });

  it('registered class instances with their prototype, nested anywhere, without running the constructor', () => {
    const order = new Order('o-1');
    order.lines.push(new Point(3, 4), new Point(0, 1));
    const before = Order.constructed;
    const back = roundTrip(s, { order, byId: new Map([['o-1', order]]), list: [new Point(1, 1)] });
    expect(Order.constructed).toBe(before);
    expect(back.order).toBeInstanceOf(Order);
    expect(back.order).toStrictEqual(order);
    expect(back.order.lines[0]).toBeInstanceOf(Point);
    expect(back.order.lines[0]!.norm()).toBe(5);
    expect('note' in back.order && back.order.note === undefined).toBe(true);
    expect(back.byId.get('o-1')).toBeInstanceOf(Order);
    expect(back.list[0]).toBeInstanceOf(Point);
    expect(roundTrip(s, new Point(1, 2))).toStrictEqual(new Point(1, 2));
  });

  it('plain objects as plain objects, also with a field called constructor or no prototype', () => {
    expect(roundTrip(s, { constructor: 'x', a: 1 })).toStrictEqual({ constructor: 'x', a: 1 });
    const bare = Object.assign(Object.create(null) as object, { a: 1 });
    expect(roundTrip(s, bare)).toEqual({ a: 1 });
  });
});

describe('registered classes with the same name', () => {
  const make = () =>
    class Event {
      constructor(readonly v: number) {}
    };
  const A = make();
  const B = make();

  it('are kept apart by the names they are registered under', () => {
    const registry = new TypeRegistry();
    registry.register(A, 'clicks.Event');
    registry.register(B, 'orders.Event');
    const s = new MsgpackSerializer({ types: registry });
    const back = roundTrip(s, [new A(1), new B(2)]);
    expect(back[0]).toBeInstanceOf(A);
    expect(back[1]).toBeInstanceOf(B);
    expect(back[1]).not.toBeInstanceOf(A);
  });

  it('cannot both be registered under their class name', () => {
    const registry = new TypeRegistry();
    registry.register(A);
    expect(() => registry.register(B)).toThrow(/another class is already registered as 'Event'/u);
  });

  it('read back into the class now registered under the name, in a later version of the job', () => {
    const writer = new MsgpackSerializer({ types: types(A) });
    const later = new TypeRegistry();
    later.register(B, 'Event');
    const bytes = new Uint8Array(writer.serialize(new A(3)));
    const back = new MsgpackSerializer({ types: later }).deserialize(bytes, 0, bytes.length);
    expect(back).toBeInstanceOf(B);
    expect(back).toStrictEqual(Object.assign(Object.create(B.prototype) as object, { v: 3 }));
  });
});

describe('MsgpackSerializer refuses what it cannot keep', () => {
  const s = serializer({ subject: "a record of operator 'Enrich'", root: 'record' });

  it('a function, naming the operator, the path to it and the fix', () => {
    const e = failure(() => s.serialize({ user: { name: 'a', onClick: () => 1 } }));
    expect(e.message).toContain("cannot serialize a record of operator 'Enrich'");
    expect(e.message).toContain('record.user.onClick is a function');
    expect(e.message).toContain('remove the function');
    expect(e.message).toContain('setSerializer()');
  });

  it('an instance of an unregistered class, naming registerType and registerPojoType', () => {
    const e = failure(() => s.serialize({ items: [new Point(1, 2), new Unregistered()] }));
    expect(e.message).toContain(
      'record.items[1] is an instance of class Unregistered, which is not registered',
    );
    expect(e.message).toContain('env.registerType(Unregistered)');
    expect(e.message).toContain('registerPojoType(Unregistered)');
    class Sub extends Point {}
    expect(failure(() => s.serialize(new Sub(1, 1))).message).toContain('record is an instance of class Sub');
  });

  it('functions and unregistered instances inside Maps, Sets and registered instances', () => {
    expect(failure(() => s.serialize({ m: new Map([['k', () => 1]]) })).message).toContain(
      'record.m.get("k") is a function',
    );
    expect(failure(() => s.serialize(new Set([new Unregistered()]))).message).toContain(
      'record.values()[0] is an instance of class Unregistered',
    );
    const order = new Order('x');
    (order as unknown as { cb: unknown }).cb = () => 0;
    expect(failure(() => s.serialize(order)).message).toContain('record.cb is a function');
  });

  it('symbols, cycles, and built-ins that are not data', () => {
    expect(failure(() => s.serialize({ 'a-b': Symbol('x') })).message).toContain('record["a-b"] is a symbol');
    const cyclic: { child: { parent?: unknown } } = { child: {} };
    cyclic.child.parent = cyclic;
    expect(failure(() => s.serialize(cyclic)).message).toContain(
      'record.child.parent refers back to record (a cycle)',
    );
    expect(failure(() => s.serialize({ p: Promise.resolve() })).message).toContain(
      'record.p is a Promise, which cannot be serialized',
    );
  });

  it('an instance of a class the reading job did not register, naming it', () => {
    const bytes = new Uint8Array(s.serialize({ p: new Point(1, 2) }));
    const reader = new MsgpackSerializer({ subject: "state 'acc'" });
    const e = failure(() => reader.deserialize(bytes, 0, bytes.length));
    expect(e.message).toContain("cannot deserialize state 'acc'");
    expect(e.message).toContain("a class registered as 'Point', which this job does not register");
    expect(e.message).toContain("env.registerType(TheClass, 'Point')");
  });

  it('and stays usable after each failure', () => {
    failure(() => s.serialize({ f: () => 1 }));
    failure(() => s.serialize({ m: new Map([[1, () => 1]]) }));
    expect(roundTrip(s, { ok: new Map([[1, new Point(1, 1)]]) }).ok.get(1)).toBeInstanceOf(Point);
  });
});

describe('msgpackr outside Sluice', () => {
  it('behaves as without Sluice: the extensions act only inside a MsgpackSerializer', () => {
    const packr = new Packr({ useRecords: false });
    const back = new Unpackr({ useRecords: false }).unpack(packr.pack({ p: new Point(1, 2), f: () => 1 }));
    expect(back).toStrictEqual({ p: { x: 1, y: 2 }, f: undefined });
    expect(Object.getPrototypeOf(back.p)).toBe(Object.prototype);
  });
});

/** JSON values as msgpackr gives them back (-0 as 0, `__proto__` keys renamed). */
function normalize(v: unknown): unknown {
  const bytes = new Packr({ useRecords: false }).pack(v);
  return new Unpackr({ useRecords: false }).unpack(bytes);
}
