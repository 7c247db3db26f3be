/**
 * The state objects of the LMDB backend. A stored value is one entry of the keyed snapshot
 * format (keyed-snapshot-format.ts): the key serializer's bytes of the key (length-prefixed),
 * then the value in the state kind's encoding; so a snapshot copies stored bytes as they are.
 * Every read decodes a fresh object: changing it in place never reaches the store (as RocksDB).
 */
import type { SluiceError } from '../../core/errors.js';
import { mapKeyOf } from '../../core/stable-hash.js';
import type { ByteWriter } from '../byte-io.js';
import { ByteReader } from '../byte-io.js';
import type { AggregateFunction, ReduceFunction } from '../functions.js';
import type { ChangedKeys } from '../heap/changed-keys.js';
import type { StateValueCodec } from '../heap/keyed-snapshot-format.js';
import type { StoredMap } from '../heap/state-table.js';
import type { AggregatingState, ListState, MapState, ReducingState, State, ValueState } from '../state.js';
import { functionReturnedUndefined, noCurrentKey, undefinedListElement } from '../state-errors.js';
import type { LmdbStore } from './lmdb-store.js';
import type { LmdbCurrentKey } from './lmdb-key-layout.js';

/** What every state object of one backend shares: the store, the current key, a scratch writer. */
export interface LmdbStateContext {
  readonly store: LmdbStore;
  readonly current: LmdbCurrentKey;
  readonly scratch: ByteWriter;
  /** The first key group of the backend's range (change tracking counts key groups from it). */
  readonly keyGroupStart: number;
}

/** Base of the LMDB state objects: one state id, one codec. */
export abstract class AbstractLmdbState<V> implements State {
  private readonly what: string;
  /**
   * Incremental checkpoints: the keys written or removed since the last snapshot (canonical text →
   * undefined when written, the key serializer's bytes when removed: a delta's removed block needs
   * them, and holding them only for removals keeps tracking small). Undefined when off.
   */
  changes: ChangedKeys | undefined = undefined;

  constructor(
    protected readonly c: LmdbStateContext,
    protected readonly name: string,
    private readonly stateId: number,
    private readonly codec: StateValueCodec,
  ) {
    this.what = `state '${name}' in the lmdb state backend`;
  }

  clear(): void {
    this.c.store.remove(this.key());
    if (this.changes !== undefined) this.changed(this.changes, this.c.current.serialized);
  }

  protected key(): Buffer {
    if (this.c.current.keyGroup < 0) throw noCurrentKey(`state '${this.name}'`);
    return this.c.current.forState(this.stateId);
  }

  /** The current key's value, decoded afresh. */
  protected read(): V | undefined {
    const bytes = this.c.store.get(this.key());
    if (bytes === undefined) return undefined;
    const r = new ByteReader(bytes, 0, bytes.length, this.what);
    r.pos += 4 + r.u32();
    return this.codec.read(r) as V;
  }

  protected write(value: V): void {
    const key = this.key();
    const scratch = this.c.scratch;
    scratch.reset();
    scratch.bytes(this.c.current.serialized);
    this.codec.write(scratch, value);
    this.c.store.put(key, scratch.written());
    if (this.changes !== undefined) this.changed(this.changes, undefined);
  }

  private changed(changes: ChangedKeys, removedKey: Uint8Array | undefined): void {
    const current = this.c.current;
    changes.mark(current.keyGroup - this.c.keyGroupStart, current.canonicalText(), removedKey);
  }
}

/** ValueState in LMDB. */
export class LmdbValueState<T> extends AbstractLmdbState<T> implements ValueState<T> {
  constructor(
    c: LmdbStateContext,
    name: string,
    stateId: number,
    codec: StateValueCodec,
    private readonly defaultValue: () => T | undefined,
  ) {
    super(c, name, stateId, codec);
  }

  value(): T | undefined {
    const value = this.read();
    return value === undefined ? this.defaultValue() : value;
  }

  update(value: T | undefined): void {
    if (value === undefined) this.clear();
    else this.write(value);
  }
}

const EMPTY_LIST: readonly never[] = Object.freeze([]);

/** ListState in LMDB: the list is one stored value (an emptied list is absent). */
export class LmdbListState<T> extends AbstractLmdbState<T[]> implements ListState<T> {
  get(): readonly T[] {
    return this.read() ?? EMPTY_LIST;
  }

  add(value: T): void {
    if (value === undefined) throw this.undefinedElement();
    const list = this.read() ?? [];
    list.push(value);
    this.write(list);
  }

  addAll(values: readonly T[]): void {
    if (values.length === 0) return;
    for (const value of values) if (value === undefined) throw this.undefinedElement();
    const list = this.read() ?? [];
    for (const value of values) list.push(value);
    this.write(list);
  }

  update(values: readonly T[]): void {
    if (values.length === 0) return this.clear();
    for (const value of values) if (value === undefined) throw this.undefinedElement();
    this.write(values as T[]);
  }

  private undefinedElement(): SluiceError {
    return undefinedListElement(this.name);
  }
}

const EMPTY_MAP: ReadonlyMap<unknown, never> = new Map<unknown, never>();

function isIterable(value: object): value is Iterable<unknown> {
  return typeof (value as Partial<Iterable<unknown>>)[Symbol.iterator] === 'function';
}

/** MapState in LMDB: one key's map is one stored value, absent when empty. */
export class LmdbMapState<K, V> extends AbstractLmdbState<StoredMap<K, V>> implements MapState<K, V> {
  get(key: K): V | undefined {
    return this.read()?.get(mapKeyOf(key))?.[1];
  }

  put(key: K, value: V): void {
    const userMapKey = mapKeyOf(key);
    const map = this.read() ?? (new Map() as StoredMap<K, V>);
    map.set(userMapKey, [key, value]);
    this.write(map);
  }

  putAll(
    entries: Iterable<readonly [K, V]> | (string extends K ? Readonly<Record<string, V>> : never),
  ): void {
    const map = this.read() ?? (new Map() as StoredMap<K, V>);
    if (isIterable(entries)) for (const [key, value] of entries) map.set(mapKeyOf(key), [key, value]);
    else {
      const record = entries as Readonly<Record<string, V>>;
      for (const key of Object.keys(record)) map.set(mapKeyOf(key), [key as K, record[key] as V]);
    }
    if (map.size > 0) this.write(map);
  }

  remove(key: K): void {
    const userMapKey = mapKeyOf(key);
    const map = this.read();
    if (map === undefined || !map.delete(userMapKey)) return;
    if (map.size === 0) this.clear();
    else this.write(map);
  }

  contains(key: K): boolean {
    return this.read()?.has(mapKeyOf(key)) ?? false;
  }

  entries(): IterableIterator<readonly [K, V]> {
    return (this.read() ?? EMPTY_MAP).values();
  }

  keys(): IterableIterator<K> {
    return [...this.entries()].map(([key]) => key).values();
  }

  values(): IterableIterator<V> {
    return [...this.entries()].map(([, value]) => value).values();
  }

  isEmpty(): boolean {
    return !this.c.store.has(this.key());
  }
}

/** ReducingState in LMDB. */
export class LmdbReducingState<T> extends AbstractLmdbState<T> implements ReducingState<T> {
  constructor(
    c: LmdbStateContext,
    name: string,
    stateId: number,
    codec: StateValueCodec,
    private readonly reduceFunction: ReduceFunction<T>,
  ) {
    super(c, name, stateId, codec);
  }

  get(): T | undefined {
    return this.read();
  }

  add(value: T): void {
    if (value === undefined) return this.clear();
    const stored = this.read();
    const next = stored === undefined ? value : this.reduceFunction.reduce(stored, value);
    if (next === undefined) throw functionReturnedUndefined(this.name, 'ReduceFunction.reduce', 'result');
    this.write(next);
  }
}

/** AggregatingState in LMDB: the accumulator is stored; `get()` applies getResult. */
export class LmdbAggregatingState<IN, ACC, OUT>
  extends AbstractLmdbState<ACC>
  implements AggregatingState<IN, OUT>
{
  constructor(
    c: LmdbStateContext,
    name: string,
    stateId: number,
    codec: StateValueCodec,
    private readonly aggregateFunction: AggregateFunction<IN, ACC, OUT>,
  ) {
    super(c, name, stateId, codec);
  }

  get(): OUT | undefined {
    const accumulator = this.read();
    return accumulator === undefined ? undefined : this.aggregateFunction.getResult(accumulator);
  }

  add(value: IN): void {
    if (value === undefined) return this.clear();
    const fn = this.aggregateFunction;
    const stored = this.read();
    const next = fn.add(value, stored === undefined ? fn.createAccumulator() : stored);
    if (next === undefined)
      throw functionReturnedUndefined(this.name, 'AggregateFunction.add', 'accumulator');
    this.write(next);
  }
}
