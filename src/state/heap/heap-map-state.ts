/** MapState on the heap: a JS Map per key, keyed by the user key's map key, absent when empty. */
import { mapKeyOf } from '../../core/stable-hash.js';
import type { MapState } from '../state.js';
import { AbstractHeapState } from './abstract-heap-state.js';
import type { StoredMap } from './state-table.js';

/** The stored form of one key's map (defined beside the table that stores it). */
export type { StoredMap } from './state-table.js';

const EMPTY: ReadonlyMap<unknown, never> = new Map<unknown, never>();

function isIterable(value: object): value is Iterable<unknown> {
  return typeof (value as Partial<Iterable<unknown>>)[Symbol.iterator] === 'function';
}

// Plain generators over an iterator taken eagerly, so keys() and values() see the key that was
// current when they were called (as Flink's), not the one current at the first next().
function* userKeys<K>(entries: Iterable<readonly [K, unknown]>): Generator<K, void, undefined> {
  for (const [key] of entries) yield key;
}

function* userValues<V>(entries: Iterable<readonly [unknown, V]>): Generator<V, void, undefined> {
  for (const [, value] of entries) yield value;
}

/** A MapState storing one non-empty Map per key. */
export class HeapMapState<K, V> extends AbstractHeapState<StoredMap<K, V>> implements MapState<K, V> {
  get(key: K): V | undefined {
    return this.read()?.get(mapKeyOf(key))?.[1];
  }

  put(key: K, value: V): void {
    // Encode first: an unhashable user key must throw before an empty map is stored.
    const userMapKey = mapKeyOf(key);
    const offset = this.offset();
    const map = this.table.get(offset, this.ctx.mapKey);
    if (map !== undefined) map.set(userMapKey, [key, value]);
    else this.table.put(offset, this.ctx.mapKey, this.ctx.key, new Map([[userMapKey, [key, value]]]));
  }

  putAll(
    entries: Iterable<readonly [K, V]> | (string extends K ? Readonly<Record<string, V>> : never),
  ): void {
    if (isIterable(entries)) {
      for (const [key, value] of entries) this.put(key, value);
      return;
    }
    const record = entries as Readonly<Record<string, V>>;
    for (const key of Object.keys(record)) this.put(key as K, record[key] as V);
  }

  remove(key: K): void {
    const userMapKey = mapKeyOf(key);
    const offset = this.offset();
    const map = this.table.get(offset, this.ctx.mapKey);
    if (map === undefined || !map.delete(userMapKey)) return;
    if (map.size === 0) this.table.remove(offset, this.ctx.mapKey);
  }

  contains(key: K): boolean {
    return this.table.peek(this.offset(), this.ctx.mapKey)?.has(mapKeyOf(key)) ?? false;
  }

  entries(): IterableIterator<readonly [K, V]> {
    return (this.read() ?? EMPTY).values();
  }

  keys(): IterableIterator<K> {
    return userKeys(this.entries());
  }

  values(): IterableIterator<V> {
    return userValues(this.entries());
  }

  isEmpty(): boolean {
    return !this.table.has(this.offset(), this.ctx.mapKey);
  }
}
