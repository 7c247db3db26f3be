/** One keyed state's values on the heap, one JS Map per key group, multi-versioned per entry. */
import type { KeyGroupRange } from '../../core/key-groups.js';
import { SluiceError } from '../../core/errors.js';
import type { StateDescriptor } from '../state-descriptor.js';
import { pruneUndoLogs, UndoLog, type SnapshotVersions, type UndoHolder } from './snapshot-versions.js';

/**
 * The stored form of one key's map in MapState: `mapKeyOf(userKey)` → `[userKey, value]`. The
 * pair keeps the user's key so iteration returns it, not its encoding. Pairs are replaced on put.
 */
export type StoredMap<K, V> = Map<unknown, readonly [K, V]>;

/**
 * Serializes a stored value exactly as the snapshot format writes it (the state's codec). Used to
 * freeze an entry a pinned snapshot still has to write, before user code may change its object.
 */
export type ValueFreezer = (value: unknown) => Uint8Array;

/** The `frozen` mark of an entry whose value could not be serialized; `value` holds the error. */
export const FREEZE_FAILED: Uint8Array = new Uint8Array(0);

/**
 * One key's value: the key as the user gave it (the map key may be an encoding of it) and the
 * value. Entries are reused across writes so that updating a key allocates nothing.
 */
export class StateEntry<V> {
  /**
   * The value as the snapshot format writes it, once the entry was frozen for a pinned snapshot
   * (then `value` is dropped: the live object belongs to user code again). FREEZE_FAILED when the
   * value could not be serialized (`value` is then the error, rethrown by the snapshot).
   */
  frozen: Uint8Array | undefined = undefined;

  constructor(
    readonly key: unknown,
    public value: V,
    /**
     * `SnapshotVersions.current` when the entry was created or last taken over by the live state.
     * A snapshot pinned above it may read the entry, which is then never changed in place.
     */
    public version: number,
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
 * Snapshot isolation, per entry (see SnapshotVersions). User code changes stored objects in place
 * (`acc = state.value(); acc.n++; state.update(acc)`, an AggregateFunction returning its mutated
 * accumulator, pushing to a list), so while a pinned snapshot may still read an entry, the entry's
 * object is never handed out or changed: `get` (every read that gives user code a stored object),
 * `put` and `remove` first *freeze* such an entry — serialize its value into the bytes the snapshot
 * will write (Flink copies with `TypeSerializer.copy` instead; serializing now is work the snapshot
 * does anyway, so isolation costs no extra serialization) — and hand the live object over to a new
 * entry of the current version. A frozen entry stays in the snapshot's view (its key group's undo
 * log) until every snapshot that needs it has written it. Cost: nothing with no snapshot pinned (one
 * comparison), at most one serialization per key touched while a snapshot has not yet written the
 * key's group, and no pause proportional to the state's size.
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
    private readonly versions: SnapshotVersions,
    private readonly freezeValue: ValueFreezer,
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

  /**
   * The value under `mapKey`, for user code, which may change it in place (and then `put` it, or
   * not). An object a pinned snapshot may still read is frozen for the snapshot first.
   */
  get(offset: number, mapKey: unknown): V | undefined {
    const entry = this.maps[offset]!.get(mapKey);
    if (entry === undefined) return undefined;
    if (entry.version >= this.versions.highestPinned) return entry.value;
    return this.takeOver(offset, mapKey, entry);
  }

  /** Whether `mapKey` has a value; hands nothing to user code, so never freezes. */
  has(offset: number, mapKey: unknown): boolean {
    return this.maps[offset]!.has(mapKey);
  }

  /**
   * The value under `mapKey` for a read that never leaves the state API and never changes it
   * (a MapState `contains`): no freezing.
   */
  peek(offset: number, mapKey: unknown): V | undefined {
    return this.maps[offset]!.get(mapKey)?.value;
  }

  /** Sets the value under `mapKey`; `key` is kept only when the key is new. Never store undefined. */
  put(offset: number, mapKey: unknown, key: unknown, value: V): void {
    const map = this.maps[offset]!;
    const entry = map.get(mapKey);
    if (entry === undefined) map.set(mapKey, new StateEntry(key, value, this.versions.current));
    else if (entry.version >= this.versions.highestPinned) entry.value = value;
    else if (!this.versions.needsUndo(offset, entry.version)) {
      // Every snapshot that could read the entry has written its key group already.
      entry.version = this.versions.current;
      entry.value = value;
    } else {
      // Replaced, not changed: a pinned snapshot still reads it. Map.set keeps the key's position.
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
   * sees them, for that snapshot writing the key group now; it calls `SnapshotVersions.advance`
   * once it has written them all. Until then an entry is never changed: at most frozen (write
   * `frozen` instead of `value` then).
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

  /**
   * The live state takes `entry`'s object over from a pinned snapshot (user code is about to get
   * it): the snapshot keeps a frozen copy if it has yet to write the entry's key group.
   */
  private takeOver(offset: number, mapKey: unknown, entry: StateEntry<V>): V {
    const value = entry.value;
    // Primitives cannot be changed in place: the entry stays shared until it is replaced.
    if (typeof value !== 'object' || value === null) return value;
    if (!this.versions.needsUndo(offset, entry.version)) {
      entry.version = this.versions.current;
      return value;
    }
    this.retire(offset, entry);
    this.maps[offset]!.set(mapKey, new StateEntry(entry.key, value, this.versions.current));
    return value;
  }

  /**
   * Logs an entry leaving the live state of key group `offset` if a pinned snapshot has yet to
   * write that key group, frozen: its object may be the one user code holds and changes.
   */
  private retire(offset: number, entry: StateEntry<V>): void {
    if (!this.versions.needsUndo(offset, entry.version)) return;
    this.freeze(entry);
    (this.undo[offset] ??= new UndoLog()).push(entry, this.versions.current);
  }

  private freeze(entry: StateEntry<V>): void {
    if (entry.frozen !== undefined) return;
    const value = entry.value;
    if (typeof value !== 'object' || value === null) return;
    try {
      entry.frozen = this.freezeValue(value);
      entry.value = undefined as V;
    } catch (e) {
      // The snapshot fails (declines) when it reaches the entry; the record goes on.
      entry.frozen = FREEZE_FAILED;
      entry.value = e as V;
    }
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
