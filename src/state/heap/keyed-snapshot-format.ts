/**
 * The persisted format of heap keyed state snapshots, and how each state kind's values are coded.
 *
 * PERSISTED FORMAT, version 1. Checkpoints and savepoints written by one Sluice version are
 * restored by later ones: never change the meaning of a byte below; add a format version (and keep
 * reading this one) instead. All integers are big-endian.
 *
 *   KeyedStateSnapshot = { keyGroupRange, offsets, data, stateNames }, where `data` is:
 *
 *   header   u8  format version (1)
 *            u32 maxParallelism (a restore with another max parallelism is refused)
 *            u32 keyGroupRange.start, u32 keyGroupRange.end
 *            str key serializer name, u32 key serializer version
 *   then one section per key group of the range, in key-group order. offsets[i] is the byte
 *   offset in `data` of key group (start + i)'s section, which ends where the next one begins (the
 *   last at data.length), so a restore into another key-group range (rescaling) reads only the
 *   sections it owns. Each section is self-contained: it names every state it holds.
 *
 *   section  u32 keyGroup (checked against the offset it was reached by)
 *            u32 blockCount, then blockCount blocks: one per state or timer queue that has
 *            entries in this key group (empty ones are left out)
 *   block    u8  kind: 1 value, 2 list, 3 map, 4 reducing, 5 aggregating, 16 timers
 *            str name (a state's name; a timer queue's name lives in its own namespace)
 *            u8  serializer count, then per serializer: str name, u32 version
 *                (value, reducing, aggregating: the value's; list: the element's; map: the user
 *                key's then the value's; timers: none)
 *            u32 payload length, then the payload, so a reader can skip or keep a block whole
 *   payload  u32 entry count, then per entry: bytes key (with the key serializer), then
 *              value, reducing, aggregating: bytes value
 *              list:   u32 n, then n × bytes element                       (n ≥ 1)
 *              map:    u32 n, then n × (bytes user key, bytes value)       (n ≥ 1)
 *              timers: f64 timestamp                      (entries in registration order)
 *   str = u32 byte length + UTF-8; bytes = u32 length + what the serializer produced.
 *
 * DELTA FORMAT, version 1 (incremental checkpoints). What changed in a key-group range since the
 * checkpoint a delta builds on; restore applies a chain's deltas in order on top of its base.
 * Same layout as above, with these differences:
 *   header   u8  0x81 (KEYED_DELTA_FORMAT_VERSION: a delta, version 1), then the same fields
 *   blocks   a state block (kinds 1–5) holds the entries written or changed since the base: each
 *            replaces the key's entry. Kind 32 (removed) holds, for the state it names, the keys
 *            removed since the base: payload u32 count, then count × bytes key; its serializer
 *            list is empty. A timers block (16) replaces the queue's timers in the key group
 *            (0 entries: it has none now); a queue without one there kept the chain's timers.
 */
import { mapKeyOf } from '../../core/stable-hash.js';
import type { TypeSerializer } from '../../core/serializer.js';
import type { ByteReader, ByteWriter } from '../byte-io.js';
import { corruptSnapshot } from '../byte-io.js';
import { serializerIdOf as idOf, type SerializerId } from '../serializer-id.js';
import type { StateDescriptor, StateKind } from '../state-descriptor.js';
import type { StoredMap } from './state-table.js';

/** The format version this code writes (and the only one it reads so far). */
export const KEYED_SNAPSHOT_FORMAT_VERSION = 1;
/** The first byte of a delta (incremental checkpoints): delta format version 1. */
export const KEYED_DELTA_FORMAT_VERSION = 0x81;

/** The kind byte of each block (persisted: never renumber). */
export const BLOCK_KIND = {
  value: 1,
  list: 2,
  map: 3,
  reducing: 4,
  aggregating: 5,
  timers: 16,
  /** Deltas only: keys removed from a state since the base. */
  removed: 32,
} as const;

/** What a block holds: a state kind, or a timer queue. */
export type BlockKind = keyof typeof BLOCK_KIND;

const KIND_OF_CODE = new Map<number, BlockKind>(
  Object.entries(BLOCK_KIND).map(([kind, code]) => [code, kind as BlockKind]),
);

/** The block kind a kind byte stands for; throws SLUICE_CHECKPOINT_CORRUPT for an unknown byte. */
export function blockKindOf(code: number, what: string): BlockKind {
  const kind = KIND_OF_CODE.get(code);
  if (kind === undefined) throw corruptSnapshot(what, `unknown block kind ${code}`);
  return kind;
}

/**
 * How one state's values are written and read: the kind-specific part of an entry, after its
 * key. Built once per state from its descriptor, so the per-entry loop does no dispatch on kind.
 */
export interface StateValueCodec {
  /** The serializers this codec writes with, recorded in every block of the state. */
  readonly serializers: readonly SerializerId[];
  /** The serializers behind `serializers` (a restore resolves the recorded ones against these). */
  readonly typeSerializers: readonly TypeSerializer<unknown>[];
  /** Writes one stored value. */
  write(w: ByteWriter, value: unknown): void;
  /** Reads one stored value. */
  read(r: ByteReader): unknown;
  /**
   * A deep copy of one stored value that writes the same bytes, when every serializer the codec
   * writes values with can copy (see `TypeSerializer.copy`); undefined otherwise.
   */
  readonly copy: ((value: unknown) => unknown) | undefined;
}

/** The serializer of a single-valued state's values: the descriptor's, or `fallback`. */
export function valueSerializerOf(
  descriptor: StateDescriptor,
  fallback: TypeSerializer<unknown>,
): TypeSerializer<unknown> {
  switch (descriptor.kind) {
    case 'value':
    case 'reducing':
      return descriptor.serializer ?? fallback;
    case 'aggregating':
      return descriptor.accumulatorSerializer ?? fallback;
    case 'list':
      return descriptor.elementSerializer ?? fallback;
    case 'map':
      return descriptor.valueSerializer ?? fallback;
  }
}

/** The serializers a state declared with `descriptor` writes with: the map's user key's first. */
export function serializersOf(
  descriptor: StateDescriptor,
  fallback: TypeSerializer<unknown>,
): TypeSerializer<unknown>[] {
  const serializer = valueSerializerOf(descriptor, fallback);
  return descriptor.kind === 'map' ? [descriptor.keySerializer ?? fallback, serializer] : [serializer];
}

/** The codec for a state declared with `descriptor`; `fallback` serializes what it leaves open. */
export function codecFor(descriptor: StateDescriptor, fallback: TypeSerializer<unknown>): StateValueCodec {
  return codecOf(descriptor.kind, serializersOf(descriptor, fallback));
}

/**
 * The codec of a state of `kind` with `serializers` (as `serializersOf` orders them): a declared
 * state's, or, at restore, the one that reads its values with migrating serializers.
 */
export function codecOf(kind: StateKind, serializers: readonly TypeSerializer<unknown>[]): StateValueCodec {
  const serializer = serializers[serializers.length - 1]!;
  const copyOne = serializer.copy?.bind(serializer);
  switch (kind) {
    case 'list':
      return {
        serializers: [idOf(serializer)],
        typeSerializers: serializers,
        copy:
          copyOne &&
          ((value) => {
            const list = value as readonly unknown[];
            const out = new Array<unknown>(list.length);
            for (let i = 0; i < list.length; i++) out[i] = copyOne(list[i]);
            return out;
          }),
        write(w, value) {
          const list = value as readonly unknown[];
          w.u32(list.length);
          for (const element of list) w.value(serializer, element);
        },
        read(r) {
          const n = r.u32();
          const list: unknown[] = [];
          for (let i = 0; i < n; i++) list.push(r.value(serializer));
          return list;
        },
      };
    case 'map': {
      const keySerializer = serializers[0]!;
      return {
        serializers: [idOf(keySerializer), idOf(serializer)],
        typeSerializers: serializers,
        // User keys are never handed out to be changed: each pair keeps its key, with a copied value.
        copy:
          copyOne &&
          ((value) => {
            const out: StoredMap<unknown, unknown> = new Map();
            for (const [mapKey, [userKey, v]] of value as StoredMap<unknown, unknown>)
              out.set(mapKey, [userKey, copyOne(v)]);
            return out;
          }),
        write(w, value) {
          const map = value as StoredMap<unknown, unknown>;
          w.u32(map.size);
          for (const [userKey, v] of map.values()) {
            w.value(keySerializer, userKey);
            w.value(serializer, v);
          }
        },
        read(r) {
          const n = r.u32();
          const map: StoredMap<unknown, unknown> = new Map();
          for (let i = 0; i < n; i++) {
            const userKey = r.value(keySerializer);
            map.set(mapKeyOf(userKey), [userKey, r.value(serializer)]);
          }
          return map;
        },
      };
    }
    default:
      return {
        serializers: [idOf(serializer)],
        typeSerializers: serializers,
        copy: copyOne,
        write: (w, value) => w.value(serializer, value),
        read: (r) => r.value(serializer),
      };
  }
}

/** Whether a decoded value stands for "absent" (a state never stores these, so neither do we). */
export function isAbsentValue(kind: StateKind, value: unknown): boolean {
  if (value === undefined) return true;
  if (kind === 'list') return (value as readonly unknown[]).length === 0;
  if (kind === 'map') return (value as ReadonlyMap<unknown, unknown>).size === 0;
  return false;
}
