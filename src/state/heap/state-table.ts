/** One keyed state's values on the heap, one JS Map per key group, multi-versioned per entry. */
import type { KeyGroupRange } from '../../core/key-groups.js';
import { SluiceError } from '../../core/errors.js';
import type { StateDescriptor } from '../state-descriptor.js';
import { pruneUndoLogs, type SnapshotVersions, type UndoHolder } from './snapshot-versions.js';
import { mapKeyOf } from '../../core/stable-hash.js';
import type { ChangedKeys } from './changed-keys.js';
import { ValueUndoLog, type ValueFreezer } from './value-undo-log.js';

/**
 * The stored form of one key's map in MapState: `mapKeyOf(userKey)` → `[userKey, value]`. The
 * pair keeps the user's key so iteration returns it, not its encoding. Pairs are replaced on put.
 */
export type StoredMap<K, V> = Map<unknown, readonly [K, V]>;

/** The `frozen` mark of an entry whose value could not be serialized; `value` holds the error. */
export const FREEZE_FAILED: Uint8Array = new Uint8Array(0);

/**
 * One key's value: the key as the user gave it (the map key may be an encoding of it) and the
 * value. Entries are reused across writes so that updating a key allocates nothing.
 */
export class StateEntry<V> {
  /**
   * Set on an entry a snapshot writing its key group holds, once user code took the entry's object
   * over: the value as the snapshot format writes it, to be written instead of `value`.
   * FREEZE_FAILED when the value could not be serialized (`value` is then the error).
   */
  frozen: Uint8Array | undefined = undefined;

  constructor(
    readonly key: unknown,
    public value: V,
    /**
     * `SnapshotVersions.current` when the entry's value was last set or taken over by user code.
     * A snapshot pinned above it may read the entry.
     */
    public version: number,
  ) {}
}

/**
 * What a snapshot writes of one key group: live entries stamped below its version, and records of
 * the undo log (see ValueUndoLog) by index.
 */
export interface KeyGroupView<V> {
  readonly entries: StateEntry<V>[];
  readonly log: ValueUndoLog | undefined;
  readonly logged: number[];
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
 * accumulator, pushing to a list), so an entry a pinned snapshot has yet to write is never handed
 * out or changed before its value is safe: `get` (every read that gives user code a stored
 * object), `put` and `remove` first log the value for the snapshot — a deep copy (Flink's
 * `TypeSerializer.copy`), unless it is a primitive, or *frozen* (serialized into the bytes the
 * snapshot will write) when a serializer cannot copy — and the entry carries on, stamped with the
 * current version. Copying, not serializing, keeps the record path cheap: a copy of a small
 * object costs a fraction of serializing it, and the snapshot serializes the copy later within
 * its share of the event loop. Only an entry a snapshot is writing at that moment (it holds the
 * object) stays, with the copy (or frozen bytes) in place of its value, and the live state goes
 * on with a new entry. Cost: one comparison with no snapshot pinned; at most one copy per key
 * touched while a snapshot has yet to write the key's group; no pause proportional to the
 * state's size.
 */
export class StateTable<V> implements UndoHolder {
  /** The descriptor the state was declared with (name, kind, serializers). */
  readonly descriptor: StateDescriptor;
  /** The key groups this table has maps for. */
  readonly keyGroupRange: KeyGroupRange;
  private readonly maps: Map<unknown, StateEntry<V>>[];
  private readonly undo: (ValueUndoLog | undefined)[];
  /** Incremental checkpoints: the keys changed since the last snapshot; undefined when not tracked. */
  changes: ChangedKeys | undefined;

  constructor(
    descriptor: StateDescriptor,
    keyGroupRange: KeyGroupRange,
    private readonly versions: SnapshotVersions,
    /** Serializes a value for a snapshot, when `copyValue` is not available. */
    private readonly freezeValue: ValueFreezer,
    /** Deep-copies a stored value for a snapshot (the codec's copy), if its serializers can. */
    private readonly copyValue: ((value: unknown) => unknown) | undefined,
  ) {
    this.descriptor = descriptor;
    this.keyGroupRange = keyGroupRange;
    const n = Math.max(0, keyGroupRange.end - keyGroupRange.start + 1);
    this.maps = Array.from({ length: n }, () => new Map<unknown, StateEntry<V>>());
    this.undo = new Array<ValueUndoLog | undefined>(n).fill(undefined);
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
    // User code may change an object it is handed: for an incremental snapshot, a change.
    if (this.changes !== undefined && typeof entry.value === 'object')
      this.changes.mark(offset, mapKey, entry.key);
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
    if (this.changes !== undefined) this.changes.mark(offset, mapKey, entry === undefined ? key : entry.key);
    if (entry === undefined) map.set(mapKey, new StateEntry(key, value, this.versions.current));
    else if (entry.version >= this.versions.highestPinned) entry.value = value;
    else if (this.release(offset, entry)) {
      entry.value = value;
      entry.version = this.versions.current;
    }
    // A snapshot holds the entry: replaced, not changed. Map.set keeps the key's position.
    else map.set(mapKey, new StateEntry(entry.key, value, this.versions.current));
  }

  /** Removes the value under `mapKey`, if any. */
  remove(offset: number, mapKey: unknown): void {
    const map = this.maps[offset]!;
    const entry = map.get(mapKey);
    if (entry === undefined) return;
    if (this.changes !== undefined) this.changes.mark(offset, mapKey, entry.key);
    if (entry.version < this.versions.highestPinned) this.release(offset, entry);
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
    for (const [mapKey, entry] of map) {
      if (this.changes !== undefined) this.changes.mark(offset, mapKey, entry.key);
      if (entry.version < this.versions.highestPinned) this.release(offset, entry);
    }
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
   * Key group `offset` (index = keyGroup − range.start) as snapshot `version` sees it, for that
   * snapshot writing the key group now, between `SnapshotVersions.beginKeyGroup` and `advance`.
   * Meanwhile its entries are never changed, at most frozen (write `frozen` instead of `value`).
   */
  keyGroupAsOf(offset: number, version: number): KeyGroupView<V> {
    const entries: StateEntry<V>[] = [];
    for (const entry of this.maps[offset]!.values()) if (entry.version < version) entries.push(entry);
    const log = this.undo[offset];
    const logged: number[] = [];
    log?.collect(version, logged);
    return { entries, log, logged };
  }

  /**
   * Incremental snapshots: for each changed key of key group `offset` (map key → key), what
   * snapshot `version` sees — its entry (`entries`, or in the undo log, `logged`), or nothing
   * (`removed`: the key had no value at the pin). Same contract as `keyGroupAsOf`.
   */
  changedAsOf(
    offset: number,
    version: number,
    changed: ReadonlyMap<unknown, unknown>,
  ): KeyGroupView<V> & { readonly removed: unknown[] } {
    const map = this.maps[offset]!;
    const log = this.undo[offset];
    let loggedByKey: Map<unknown, number> | undefined;
    if (log !== undefined) {
      const all: number[] = [];
      log.collect(version, all);
      if (all.length > 0) loggedByKey = new Map(all.map((r) => [mapKeyOf(log.keyOf(r)), r]));
    }
    const entries: StateEntry<V>[] = [];
    const logged: number[] = [];
    const removed: unknown[] = [];
    for (const [mapKey, key] of changed) {
      const entry = map.get(mapKey);
      if (entry !== undefined && entry.version < version) entries.push(entry);
      else {
        const r = loggedByKey?.get(mapKey);
        if (r === undefined) removed.push(key);
        else logged.push(r);
      }
    }
    return { entries, log, logged, removed };
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

  /** User code takes `entry`'s object over: a snapshot that has yet to write it keeps it frozen. */
  private takeOver(offset: number, mapKey: unknown, entry: StateEntry<V>): V {
    const value = entry.value;
    // Primitives cannot be changed in place: the entry stays as it is until it is replaced.
    if (typeof value !== 'object' || value === null) return value;
    if (this.release(offset, entry)) entry.version = this.versions.current;
    else this.maps[offset]!.set(mapKey, new StateEntry(entry.key, value, this.versions.current));
    return value;
  }

  /**
   * `entry`, which a pinned snapshot may read, is about to change or leave the live state: logs
   * its value for the snapshots that have yet to write its key group (frozen, if an object: user
   * code may hold it). Returns whether the live state may go on with the entry object; false when
   * a snapshot writing the key group right now holds it (it is then frozen in place and must be
   * left as it is).
   */
  private release(offset: number, entry: StateEntry<V>): boolean {
    const versions = this.versions;
    if (!versions.needsUndo(offset, entry.version)) return true;
    const log = (this.undo[offset] ??= new ValueUndoLog());
    const held = versions.isBeingWritten(offset);
    const value = entry.value;
    if (typeof value !== 'object' || value === null) {
      log.pushValue(entry.key, entry.version, versions.current, value);
      return !held;
    }
    const copy = this.copyValue;
    try {
      if (copy !== undefined) {
        // The snapshots keep a copy; serializing it is left to them, within their budget.
        const kept = copy(value) as V;
        log.pushValue(entry.key, entry.version, versions.current, kept);
        if (held) entry.value = kept;
      } else {
        const bytes = this.freezeValue(value);
        log.pushFrozen(entry.key, entry.version, versions.current, bytes);
        if (held) entry.frozen = bytes.chunk.subarray(bytes.start, bytes.end);
      }
    } catch (e) {
      // The snapshot fails (declines) when it reaches the value; the record goes on.
      log.pushFailed(entry.key, entry.version, versions.current, e);
      if (held) {
        entry.frozen = FREEZE_FAILED;
        entry.value = e as V;
      }
    }
    return !held;
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
