/** One keyed state's values on the heap, one JS Map per key group, multi-versioned per entry. */
import type { KeyGroupRange } from '../../core/key-groups.js';
import { SluiceError } from '../../core/errors.js';
import type { StateDescriptor } from '../state-descriptor.js';
import { pruneUndoLogs, SnapshotVersions, UndoLog, type UndoHolder } from './snapshot-versions.js';

/**
 * The stored form of one key's map in MapState: `mapKeyOf(userKey)` → `[userKey, value]`. The
 * pair keeps the user's key so iteration returns it, not its encoding. Pairs are replaced on put,
 * never mutated, so a shallow copy of the Map is a full copy (what copy-on-write relies on).
 */
export type StoredMap<K, V> = Map<unknown, readonly [K, V]>;

/** Copies a stored value so that in-place mutation of the copy leaves the original untouched. */
export type ValueCopier = (value: unknown) => unknown;

/**
 * One key's value: the key as the user gave it (the map key may be an encoding of it) and the
 * value. Entries are reused across writes so that updating a key allocates nothing.
 */
export class StateEntry<V> {
  constructor(
    readonly key: unknown,
    public value: V,
    /**
     * `SnapshotVersions.current` when the entry was created. A snapshot pinned above it may read
     * the entry, which is then never changed in place (see StateTable).
     */
    readonly version: number,
  ) {}
}

/**
 * The values of one state, one Map per key group of the backend's range (index = keyGroup −
 * range.start). Splitting by key group is what lets a snapshot write, and a restore or rescale
 * read, each key group on its own. Maps are keyed by `mapKeyOf(key)`.
 *
 * The hot-path methods take the key-group *offset* and map key that the backend computed once in
 * setCurrentKey, so a state access costs one array index and one Map lookup.
 *
 * Copy-on-write, per entry (see SnapshotVersions): every write goes through this class (`put`,
 * `remove`, or mutating what `getForUpdate` returned). Writing an entry a pinned snapshot may
 * read replaces it with a new entry (for `getForUpdate`, holding a copy of the value) and logs
 * the old one for snapshots that have not read its key group yet; `entriesAsOf` gives a snapshot
 * its version of a key group. A checkpoint thus costs one entry (and value) copy per key written
 * while it is pinned, nothing per untouched key, and no pause proportional to the state's size.
 */
export class StateTable<V> implements UndoHolder {
  /** The descriptor the state was declared with (name, kind, serializers). */
  readonly descriptor: StateDescriptor;
  /** The key groups this table has maps for. */
  readonly keyGroupRange: KeyGroupRange;
  private readonly maps: Map<unknown, StateEntry<V>>[];
  private readonly undo: (UndoLog<StateEntry<V>> | undefined)[];

  constructor(
    descriptor: StateDescriptor,
    keyGroupRange: KeyGroupRange,
    private readonly versions: SnapshotVersions = new SnapshotVersions(),
    private readonly copyValue: ValueCopier = (value) => value,
  ) {
    this.descriptor = descriptor;
    this.keyGroupRange = keyGroupRange;
    const n = Math.max(0, keyGroupRange.end - keyGroupRange.start + 1);
    this.maps = Array.from({ length: n }, () => new Map<unknown, StateEntry<V>>());
    this.undo = new Array<UndoLog<StateEntry<V>> | undefined>(n).fill(undefined);
    versions.register(this);
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
   * a map). A value that a pinned snapshot may read is copied first.
   */
  getForUpdate(offset: number, mapKey: unknown): V | undefined {
    const map = this.maps[offset]!;
    const entry = map.get(mapKey);
    if (entry === undefined || entry.version >= this.versions.highestPinned) return entry?.value;
    const copy = new StateEntry(entry.key, this.copyValue(entry.value) as V, this.versions.current);
    this.retire(offset, entry);
    map.set(mapKey, copy);
    return copy.value;
  }

  /** Sets the value under `mapKey`; `key` is kept only when the key is new. Never store undefined. */
  put(offset: number, mapKey: unknown, key: unknown, value: V): void {
    const map = this.maps[offset]!;
    const entry = map.get(mapKey);
    if (entry === undefined) map.set(mapKey, new StateEntry(key, value, this.versions.current));
    else if (entry.version >= this.versions.highestPinned) entry.value = value;
    else {
      // Replaced, not changed: a pinned snapshot may read it. Map.set keeps the key's position.
      this.retire(offset, entry);
      map.set(mapKey, new StateEntry(entry.key, value, this.versions.current));
    }
  }

  /** Removes the value under `mapKey`, if any. */
  remove(offset: number, mapKey: unknown): void {
    const map = this.maps[offset]!;
    const entry = map.get(mapKey);
    if (entry === undefined) return;
    if (entry.version < this.versions.highestPinned) this.retire(offset, entry);
    map.delete(mapKey);
  }

  /** The entries of one key group (absolute index), in insertion order. */
  entriesInKeyGroup(keyGroup: number): IterableIterator<StateEntry<V>> {
    return this.mapOf(keyGroup).values();
  }

  /** How many keys of one key group (absolute index) have a value. */
  sizeOfKeyGroup(keyGroup: number): number {
    return this.mapOf(keyGroup).size;
  }

  /** Drops every value of one key group (absolute index); pinned snapshots keep theirs. */
  clearKeyGroup(keyGroup: number): void {
    const offset = keyGroup - this.keyGroupRange.start;
    const map = this.mapOf(keyGroup);
    for (const entry of map.values())
      if (entry.version < this.versions.highestPinned) this.retire(offset, entry);
    map.clear();
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

  /** Drops every value, and the undo logs (for a backend being disposed). */
  clear(): void {
    for (const map of this.maps) map.clear();
    this.undo.fill(undefined);
  }

  /**
   * The entries of key group `offset` (index = keyGroup − range.start) as snapshot `version`
   * sees them, for that snapshot reading the key group now (it then calls
   * `SnapshotVersions.advance`). The entries are never changed afterwards.
   */
  entriesAsOf(offset: number, version: number): StateEntry<V>[] {
    const entries: StateEntry<V>[] = [];
    for (const entry of this.maps[offset]!.values()) if (entry.version < version) entries.push(entry);
    this.undo[offset]?.collect(version, entries);
    return entries;
  }

  /** How many replaced or removed entries are kept for pinned snapshots (for tests and metrics). */
  retainedEntryCount(): number {
    let n = 0;
    for (const log of this.undo) n += log?.size ?? 0;
    return n;
  }

  pruneUndo(isNeeded: (offset: number) => boolean, offset?: number): void {
    pruneUndoLogs(this.undo, isNeeded, offset);
  }

  /** Logs an entry leaving key group `offset` if a pinned snapshot has yet to read it there. */
  private retire(offset: number, entry: StateEntry<V>): void {
    if (this.versions.needsUndo(offset, entry.version))
      (this.undo[offset] ??= new UndoLog()).push(entry, this.versions.current);
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
