/** One keyed state's values on the heap, split into one JS Map per key group. */
import type { KeyGroupRange } from '../../core/key-groups.js';
import { SluiceError } from '../../core/errors.js';
import type { StateDescriptor } from '../state-descriptor.js';

/**
 * One key's value: the key as the user gave it (the map key may be an encoding of it) and the
 * value. Entries are reused across writes so that updating a key allocates nothing.
 */
export class StateEntry<V> {
  constructor(
    readonly key: unknown,
    public value: V,
  ) {}
}

/**
 * The values of one state, one Map per key group of the backend's range (index = keyGroup −
 * range.start). Splitting by key group is what lets a snapshot write, and a restore or rescale
 * read, each key group on its own. Maps are keyed by `mapKeyOf(key)`.
 *
 * The hot-path methods take the key-group *offset* and map key that the backend computed once in
 * setCurrentKey, so a state access costs one array index and one Map lookup. Every write goes
 * through this class (`put`, `remove`, or mutating what `getForUpdate` returned), which is the
 * seam where copy-on-write snapshots hook in.
 */
export class StateTable<V> {
  /** The descriptor the state was declared with (name, kind, serializers). */
  readonly descriptor: StateDescriptor;
  /** The key groups this table has maps for. */
  readonly keyGroupRange: KeyGroupRange;
  private readonly maps: Map<unknown, StateEntry<V>>[];

  constructor(descriptor: StateDescriptor, keyGroupRange: KeyGroupRange) {
    this.descriptor = descriptor;
    this.keyGroupRange = keyGroupRange;
    const n = Math.max(0, keyGroupRange.end - keyGroupRange.start + 1);
    this.maps = Array.from({ length: n }, () => new Map<unknown, StateEntry<V>>());
  }

  /** The state's name. */
  get name(): string {
    return this.descriptor.name;
  }

  /** The value under `mapKey`, for reading only: callers must not mutate it. */
  get(offset: number, mapKey: unknown): V | undefined {
    return this.maps[offset]!.get(mapKey)?.value;
  }

  /**
   * The value under `mapKey`, which the caller may then mutate in place (push to a list, set in
   * a map). Today the same as `get`; copy-on-write snapshots will copy here a value that a
   * running snapshot still references.
   */
  getForUpdate(offset: number, mapKey: unknown): V | undefined {
    return this.maps[offset]!.get(mapKey)?.value;
  }

  /** Sets the value under `mapKey`; `key` is kept only when the key is new. Never store undefined. */
  put(offset: number, mapKey: unknown, key: unknown, value: V): void {
    const map = this.maps[offset]!;
    const entry = map.get(mapKey);
    if (entry !== undefined) entry.value = value;
    else map.set(mapKey, new StateEntry(key, value));
  }

  /** Removes the value under `mapKey`, if any. */
  remove(offset: number, mapKey: unknown): void {
    this.maps[offset]!.delete(mapKey);
  }

  /** The entries of one key group (absolute index), in insertion order. */
  entriesInKeyGroup(keyGroup: number): IterableIterator<StateEntry<V>> {
    return this.mapOf(keyGroup).values();
  }

  /** How many keys of one key group (absolute index) have a value. */
  sizeOfKeyGroup(keyGroup: number): number {
    return this.mapOf(keyGroup).size;
  }

  /** Drops every value of one key group (absolute index). */
  clearKeyGroup(keyGroup: number): void {
    this.mapOf(keyGroup).clear();
  }

  /** Every key with a value, key group by key group. */
  *keys(): Generator<unknown, void, undefined> {
    for (const map of this.maps) for (const entry of map.values()) yield entry.key;
  }

  /** How many keys have a value. */
  size(): number {
    let n = 0;
    for (const map of this.maps) n += map.size;
    return n;
  }

  /** Drops every value. */
  clear(): void {
    for (const map of this.maps) map.clear();
  }

  private mapOf(keyGroup: number): Map<unknown, StateEntry<V>> {
    const map = this.maps[keyGroup - this.keyGroupRange.start];
    if (map === undefined)
      throw new SluiceError(
        'SLUICE_INTERNAL_ASSERTION',
        `state '${this.name}': key group ${keyGroup} is outside the table's range ` +
          `[${this.keyGroupRange.start}, ${this.keyGroupRange.end}]`,
      );
    return map;
  }
}
