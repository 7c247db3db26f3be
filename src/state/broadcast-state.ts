/**
 * Broadcast state (Flink's HeapBroadcastState): a map an operator keeps identical on every
 * subtask, because only the broadcast input, which every subtask sees whole, writes it. Operator
 * state with the BROADCAST mode: each element of its snapshot list is one entry (the key's and
 * the value's serialized bytes, each length-prefixed), and on restore every subtask takes one
 * old subtask's copy.
 */
import { SluiceError } from '../core/errors.js';
import type { TypeSerializer } from '../core/serializer.js';
import { ByteReader, ByteWriter, corruptSnapshot } from './byte-io.js';
import { writeListHeader } from './operator-state-snapshot.js';
import type { SerializerId } from './serializer-id.js';
import { restoreSerializerFor } from './state-migration.js';

/** A broadcast state: a map, read-write on the broadcast side (Flink's BroadcastState). */
export class BroadcastMapState<K, V> {
  readonly map = new Map<K, V>();

  constructor(
    readonly name: string,
    readonly keySerializer: TypeSerializer<K>,
    readonly valueSerializer: TypeSerializer<V>,
  ) {}

  /** The serializer id its snapshots record: both serializers', so a restore reads with the same ones. */
  get serializerId(): SerializerId {
    const k = this.keySerializer;
    const v = this.valueSerializer;
    return { name: `broadcast-map(${k.name} v${k.version}, ${v.name})`, version: v.version };
  }

  get(key: K): V | undefined {
    return this.map.get(key);
  }
  contains(key: K): boolean {
    return this.map.has(key);
  }
  put(key: K, value: V): void {
    if (value === undefined)
      throw new SluiceError(
        'SLUICE_STATE_INVALID_ACCESS',
        `broadcast state '${this.name}': undefined cannot be a value (it cannot be told apart from a missing one); use remove() or null.`,
      );
    this.map.set(key, value);
  }
  putAll(entries: Iterable<readonly [K, V]>): void {
    for (const [k, v] of entries) this.put(k, v);
  }
  remove(key: K): void {
    this.map.delete(key);
  }
  clear(): void {
    this.map.clear();
  }
  entries(): IterableIterator<readonly [K, V]> {
    return this.map.entries();
  }
  immutableEntries(): IterableIterator<readonly [K, V]> {
    return this.map.entries();
  }
  keys(): IterableIterator<K> {
    return this.map.keys();
  }
  values(): IterableIterator<V> {
    return this.map.values();
  }
  isEmpty(): boolean {
    return this.map.size === 0;
  }

  /** The snapshot list's data (the format of operator-state-snapshot.ts), serialized now. */
  serialize(): Uint8Array {
    const w = new ByteWriter(256);
    writeListHeader(w, this.serializerId);
    w.u32(this.map.size);
    for (const [k, v] of this.map) {
      const entry = new ByteWriter(64);
      entry.value(this.keySerializer, k);
      entry.value(this.valueSerializer, v);
      w.bytes(entry.toBytes());
    }
    return w.toBytes();
  }

  /**
   * The serializer that reads the values of a snapshot recorded with `stored`: the declared one,
   * or a migrating reader when only the value serializer's version changed (state evolution);
   * undefined when the snapshot was written with other serializers.
   */
  valueReaderFor(stored: SerializerId, state: string): TypeSerializer<unknown> | undefined {
    const own = this.serializerId;
    if (stored.name === own.name && stored.version === own.version) return this.valueSerializer;
    const k = this.keySerializer;
    const keyPart = `broadcast-map(${k.name} v${k.version}, `;
    if (!stored.name.startsWith(keyPart) || !stored.name.endsWith(')')) return undefined;
    const valueName = stored.name.slice(keyPart.length, -1);
    return restoreSerializerFor({ name: valueName, version: stored.version }, this.valueSerializer, state);
  }

  /** Adds the entries of a restored list's elements, their values read by `valueReader`. */
  restore(
    elements: readonly Uint8Array[],
    valueReader: TypeSerializer<unknown> = this.valueSerializer,
  ): void {
    const what = `broadcast state '${this.name}'`;
    for (const bytes of elements) {
      const r = new ByteReader(bytes, 0, bytes.length, what);
      try {
        const k = r.lengthPrefixed();
        const v = r.lengthPrefixed();
        r.expectDone();
        this.map.set(
          this.keySerializer.deserialize(k, 0, k.length),
          valueReader.deserialize(v, 0, v.length) as V,
        );
      } catch (e) {
        if (e instanceof SluiceError) throw e;
        throw corruptSnapshot(what, `an entry cannot be deserialized (${(e as Error).message})`, e);
      }
    }
  }
}
