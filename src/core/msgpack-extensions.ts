/**
 * msgpackr extensions that make MsgpackSerializer faithful: registered class instances keep their
 * class, Maps stay Maps, and what cannot round-trip (functions, unregistered class instances) is
 * refused instead of silently becoming `undefined` or a plain object.
 *
 * Plain objects, arrays, strings and numbers never reach this code: msgpackr writes them before
 * it looks at extensions, so the common record costs nothing extra. msgpackr's extensions are
 * global to a copy of the library, so ours act only while a MsgpackSerializer of Sluice is
 * packing (`active.packing`); anyone else using the same copy sees msgpackr unchanged.
 */
import type * as Msgpackr from 'msgpackr';
import type { RegisteredType, TypeRegistry } from './type-registry.js';

/** Extension type of a registered class instance: `[name, key1, value1, key2, value2, ...]`. */
const CLASS_INSTANCE = 0x43; // 'C'
/** Extension type of a Map: `[key1, value1, key2, value2, ...]`. */
const MAP = 0x4d; // 'M'
/**
 * Extension type of a Node.js Buffer: its bytes as a Uint8Array. msgpackr writes a Buffer as
 * MessagePack bin, which reads back as a Uint8Array that is a view of the bytes it was read from
 * (a network buffer, or a serializer's scratch buffer that the next call overwrites).
 */
const BUFFER = 0x55; // 'U'

/** What the serialization running now in this process uses (pack and unpack are synchronous). */
export const active: { packing: TypeRegistry | undefined; unpacking: TypeRegistry | undefined } = {
  packing: undefined,
  unpacking: undefined,
};

/** Thrown inside msgpackr for a value that cannot round-trip; the serializer turns it into a SluiceError. */
export class Unserializable extends Error {
  constructor(
    readonly value: unknown,
    readonly kind: 'function' | 'class',
  ) {
    super(kind === 'function' ? 'a function' : 'an unregistered class instance');
  }
}

/** Thrown inside msgpackr when a record holds an exact Map, which msgpackr writes as a plain map. */
export const MAP_SEEN = new Error('a Map needs the tagged encoding');

/** Thrown by the decoder for an instance of a class the job did not register (under that name). */
export class MissingRegistration extends Error {
  constructor(readonly typeName: string) {
    super(`class '${typeName}' is not registered`);
  }
}

const GLOBAL_ERRORS = [
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
  AggregateError,
];
/**
 * Prototypes msgpackr itself keeps with `moreTypes` (its decoder rebuilds them). Every other
 * non-plain object is either a registered class instance or refused.
 */
const KEPT = new Set<object>([
  Array.prototype,
  Map.prototype,
  Set.prototype,
  Date.prototype,
  RegExp.prototype,
  ArrayBuffer.prototype,
  DataView.prototype,
  ...GLOBAL_ERRORS.map((e) => e.prototype),
  ...[
    Int8Array,
    Uint8Array,
    Uint8ClampedArray,
    Int16Array,
    Uint16Array,
    Int32Array,
    Uint32Array,
    Float32Array,
    Float64Array,
    BigInt64Array,
    BigUint64Array,
  ].map((t) => t.prototype),
]);

/**
 * Matches (as msgpackr's extension `Class`) every value ours must handle: functions and objects
 * that are neither plain nor a type msgpackr keeps. msgpackr tests it only for values that are
 * not plain objects, arrays or Maps.
 */
class NeedsSluice {
  static [Symbol.hasInstance](value: unknown): boolean {
    if (active.packing === undefined) return false;
    if (typeof value === 'function') return true;
    const proto = Object.getPrototypeOf(value) as object | null;
    return proto !== null && proto !== Object.prototype && !KEPT.has(proto);
  }
}

/** A Map prepared for the tagged encoding: its entries, flattened. */
class TaggedMap {
  constructor(readonly entries: unknown[]) {}
}

type AllocateForWrite = (size: number) => { target: Uint8Array; targetView: DataView; position: number };
type PackFn = (value: unknown) => void;

/** The own fields a registered instance is written with (errors keep their message and stack too). */
function fieldsOf(value: object): string[] {
  if (value instanceof Error) return Object.getOwnPropertyNames(value);
  const keys: string[] = [];
  for (const key in value) if (Object.hasOwn(value, key)) keys.push(key);
  return keys;
}

/** Writes `[name, k1, v1, ...]` after the class-instance tag. */
function packInstance(entry: RegisteredType, value: object, allocate: AllocateForWrite, pack: PackFn): void {
  const keys = fieldsOf(value);
  const length = 1 + 2 * keys.length;
  const header = length < 16 ? 1 : length < 0x10000 ? 3 : 5;
  const { target, targetView, position } = allocate(3 + header);
  let p = position;
  target[p++] = 0xd4; // fixext 1: the tag, followed by the array
  target[p++] = CLASS_INSTANCE;
  target[p++] = 0;
  if (length < 16) target[p] = 0x90 | length;
  else if (length < 0x10000) {
    target[p++] = 0xdc;
    target[p++] = length >> 8;
    target[p] = length & 0xff;
  } else {
    target[p++] = 0xdd;
    targetView.setUint32(p, length);
  }
  pack(entry.name);
  for (const key of keys) {
    pack(key);
    pack((value as Record<string, unknown>)[key]);
  }
}

/** Rebuilds a registered instance from `[name, k1, v1, ...]` without running its constructor. */
function readInstance(data: unknown): unknown {
  if (!Array.isArray(data) || typeof data[0] !== 'string' || data.length % 2 !== 1)
    throw new Error('malformed class instance');
  const name = data[0];
  const entry = active.unpacking?.named(name);
  if (entry === undefined) throw new MissingRegistration(name);
  const out = Object.create(entry.prototype) as Record<string, unknown>;
  for (let i = 1; i < data.length; i += 2) {
    const key = String(data[i]);
    const value: unknown = data[i + 1];
    if (key === '__proto__' || out instanceof Error)
      Object.defineProperty(out, key, {
        value,
        writable: true,
        configurable: true,
        enumerable: !(out instanceof Error && (key === 'stack' || key === 'message')),
      });
    else out[key] = value;
  }
  return out;
}

function readMap(data: unknown): Map<unknown, unknown> {
  if (!Array.isArray(data) || data.length % 2 !== 0) throw new Error('malformed Map');
  const map = new Map<unknown, unknown>();
  for (let i = 0; i < data.length; i += 2) map.set(data[i], data[i + 1]);
  return map;
}

/**
 * `value` with every Map replaced by a TaggedMap (and containers above one copied), for the
 * second, slower pass over a record that holds a Map. Leaves everything else as it is: what
 * cannot be serialized still fails, at its place, in that second pass.
 */
export function tagMaps(value: unknown, types: TypeRegistry): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Map) {
    const entries: unknown[] = [];
    for (const [k, v] of value as Map<unknown, unknown>) entries.push(tagMaps(k, types), tagMaps(v, types));
    return new TaggedMap(entries);
  }
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const tagged = tagMaps(value[i], types);
      if (tagged !== value[i]) (out ??= value.slice())[i] = tagged;
    }
    return out ?? value;
  }
  if (value instanceof Set) {
    const elements = [...(value as Set<unknown>)];
    const tagged = elements.map((e) => tagMaps(e, types));
    return tagged.some((t, i) => t !== elements[i]) ? new Set(tagged) : value;
  }
  const proto = Object.getPrototypeOf(value) as object | null;
  if (proto !== null && proto !== Object.prototype && types.ofPrototype(proto) === undefined) return value;
  let out: Record<string, unknown> | undefined;
  for (const key of fieldsOf(value)) {
    const field = (value as Record<string, unknown>)[key];
    const tagged = tagMaps(field, types);
    if (tagged !== field) {
      out ??= copyOf(value, proto);
      out[key] = tagged;
    }
  }
  return out ?? value;
}

/** A shallow copy of `value` with the same prototype and the fields it is written with. */
function copyOf(value: object, proto: object | null): Record<string, unknown> {
  const out = Object.create(proto) as Record<string, unknown>;
  for (const key of fieldsOf(value))
    Object.defineProperty(out, key, Object.getOwnPropertyDescriptor(value, key)!);
  return out;
}

const installed = new WeakSet<object>();

/**
 * Adds Sluice's extensions to one copy of msgpackr (once) and returns the Packr class that
 * notices Maps: msgpackr writes an exact Map as a plain MessagePack map, which reads back as an
 * object, and asks the packer's `mapAsEmptyObject` before it does, which is where a Map is
 * noticed. That aborts the pass; the serializer then packs the value again with its Maps tagged.
 */
export function sluiceMsgpackr(lib: typeof Msgpackr): typeof Msgpackr.Packr {
  if (!installed.has(lib)) {
    installed.add(lib);
    lib.addExtension({
      Class: NeedsSluice,
      type: CLASS_INSTANCE,
      pack(this: unknown, value: unknown, allocate: AllocateForWrite, pack: PackFn) {
        if (typeof value === 'function') throw new Unserializable(value, 'function');
        if (Buffer.isBuffer(value)) {
          const { target, position } = allocate(3);
          target[position] = 0xd4;
          target[position + 1] = BUFFER;
          target[position + 2] = 0;
          pack(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
          return;
        }
        const entry = active.packing?.ofPrototype(Object.getPrototypeOf(value) as object);
        if (entry === undefined) throw new Unserializable(value, 'class');
        packInstance(entry, value as object, allocate, pack);
      },
      read: readInstance,
    } as unknown as Parameters<typeof lib.addExtension>[0]);
    lib.addExtension({
      Class: TaggedMap,
      type: MAP,
      pack(this: unknown, value: TaggedMap, allocate: AllocateForWrite, pack: PackFn) {
        const { target, position } = allocate(3);
        target[position] = 0xd4;
        target[position + 1] = MAP;
        target[position + 2] = 0;
        pack(value.entries);
      },
      read: readMap,
    } as unknown as Parameters<typeof lib.addExtension>[0]);
    lib.addExtension({
      type: BUFFER,
      // A typed array is read into fresh memory, so the Buffer owns its bytes.
      read: (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
    });
  }
  return class SluicePackr extends lib.Packr {
    get mapAsEmptyObject(): boolean {
      if (active.packing !== undefined) throw MAP_SEEN;
      return false;
    }
  };
}

/** The name of `value`'s class (or of the function), for error messages. */
export function className(value: unknown): string {
  if (typeof value === 'function') return value.name || 'anonymous';
  const ctor = (Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null)?.constructor;
  return typeof ctor?.name === 'string' && ctor.name !== '' ? ctor.name : 'an anonymous class';
}

/** Whether `value` is an instance of a global built-in such as Promise or WeakMap (nothing to register). */
export function isBuiltInClass(value: unknown): boolean {
  const ctor = (Object.getPrototypeOf(value) as { constructor?: unknown } | null)?.constructor;
  const name = (ctor as { name?: unknown } | undefined)?.name;
  return typeof name === 'string' && (globalThis as Record<string, unknown>)[name] === ctor;
}
