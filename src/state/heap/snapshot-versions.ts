/** Multi-version bookkeeping of a heap backend: pinned snapshot versions and per-key-group undo logs. */

/**
 * A snapshot's pin on the state of one backend: its version, and how far its asynchronous phase
 * has got (it writes key groups in order, at `nextOffset`).
 */
export class PinnedVersion {
  /** The offset (keyGroup − range start) of the next key group the snapshot will read. */
  nextOffset = 0;
  /**
   * The key group the snapshot is writing now (it holds that group's entries, and may yield to
   * the event loop before it is done), or −1 between key groups.
   */
  writing = -1;

  constructor(
    /** Structures stamped below this version are what the snapshot reads. */
    readonly version: number,
  ) {}
}

/** A structure that keeps undo logs per key group (a state table, a timer queue). */
export interface UndoHolder {
  /** Drops the undo log of `offset`, or of every offset `isNeeded` says no snapshot needs. */
  pruneUndo(isNeeded: (offset: number) => boolean, offset?: number): void;
}

/**
 * Snapshot versions of one heap backend (Flink's `CopyOnWriteStateMap` versions, per entry).
 *
 * Every entry (a key's value, a timer) is stamped with `current` when created. A snapshot pins
 * version `current + 1`: it reads the entries stamped below its version, as they were at the pin.
 * An entry stamped `c` may therefore be read by a pinned snapshot iff `c < highestPinned`; such an
 * entry is never changed in place: a write replaces it with a new entry, and the old one goes to
 * its key group's undo log if a pinned snapshot has not read that key group yet (`needsUndo`).
 * With no snapshot pinned `highestPinned` is 0 and writes cost one comparison, allocation-free.
 */
export class SnapshotVersions {
  /** The version of the newest snapshot taken (0 before the first); the stamp of new entries. */
  current = 0;
  /** The highest version still pinned by a snapshot, or 0 when none is. */
  highestPinned = 0;
  /** Set by `dispose()`: pending snapshots must stop, the state they read is gone. */
  disposed = false;
  private readonly pinned: PinnedVersion[] = [];
  private readonly holders: UndoHolder[] = [];
  private readonly isNeededFn = (offset: number): boolean => this.isNeeded(offset);

  /** Registers a structure whose undo logs must be pruned as snapshots progress or go. */
  register(holder: UndoHolder): void {
    this.holders.push(holder);
  }

  /** Pins a new version for a snapshot; the snapshot calls `advance` and finally `unpin`. */
  pin(): PinnedVersion {
    const pinned = new PinnedVersion(++this.current);
    this.pinned.push(pinned);
    this.highestPinned = pinned.version;
    return pinned;
  }

  /** Releases a pin (idempotent) and drops the undo logs no pinned snapshot needs any more. */
  unpin(pinned: PinnedVersion): void {
    const index = this.pinned.indexOf(pinned);
    if (index < 0) return;
    this.pinned.splice(index, 1);
    let highest = 0;
    for (const p of this.pinned) if (p.version > highest) highest = p.version;
    this.highestPinned = highest;
    for (const holder of this.holders) holder.pruneUndo(this.isNeededFn);
  }

  /** Records that `pinned` starts writing the key group at `offset` (it holds its entries). */
  beginKeyGroup(pinned: PinnedVersion, offset: number): void {
    pinned.writing = offset;
  }

  /** Records that `pinned` has written the key group at `offset`, dropping logs nobody else needs. */
  advance(pinned: PinnedVersion, offset: number): void {
    pinned.writing = -1;
    pinned.nextOffset = offset + 1;
    for (const holder of this.holders) holder.pruneUndo(this.isNeededFn, offset);
  }

  /** Whether an entry stamped `version` that leaves key group `offset` must go to its undo log. */
  needsUndo(offset: number, version: number): boolean {
    for (const p of this.pinned) if (p.version > version && p.nextOffset <= offset) return true;
    return false;
  }

  /** Whether a pinned snapshot is writing key group `offset` now (and holds its entries). */
  isBeingWritten(offset: number): boolean {
    for (const p of this.pinned) if (p.writing === offset) return true;
    return false;
  }

  /** Whether some pinned snapshot has yet to read key group `offset`. */
  isNeeded(offset: number): boolean {
    for (const p of this.pinned) if (p.nextOffset <= offset) return true;
    return false;
  }

  /** How many snapshots are pinned (for tests and metrics). */
  get pinnedCount(): number {
    return this.pinned.length;
  }

  /** Ends every pin: the backend is gone, pending snapshots fail at their next slice. */
  dispose(): void {
    this.disposed = true;
    this.pinned.length = 0;
    this.highestPinned = 0;
    this.holders.length = 0;
  }
}

/**
 * The entries that left one key group while a snapshot still needed them, with the version
 * current when each left: snapshot V reads an entry here iff it is stamped below V and left at
 * or after V (it was live when V was pinned).
 */
export class UndoLog<E extends { readonly version: number }> {
  private readonly entries: E[] = [];
  private readonly leftAt: number[] = [];

  /** Logs `entry`, which leaves its key group now (at version `at`). */
  push(entry: E, at: number): void {
    this.entries.push(entry);
    this.leftAt.push(at);
  }

  /** How many entries are logged. */
  get size(): number {
    return this.entries.length;
  }

  /** Appends to `out` the logged entries snapshot `version` reads. */
  collect(version: number, out: E[]): void {
    for (let i = 0; i < this.entries.length; i++)
      if (this.entries[i]!.version < version && this.leftAt[i]! >= version) out.push(this.entries[i]!);
  }
}

/** Drops undo logs per `UndoHolder.pruneUndo` (shared by the holders). */
export function pruneUndoLogs<L>(
  logs: (L | undefined)[],
  isNeeded: (offset: number) => boolean,
  offset?: number,
): void {
  if (offset !== undefined) {
    if (logs[offset] !== undefined && !isNeeded(offset)) logs[offset] = undefined;
    return;
  }
  for (let o = 0; o < logs.length; o++) if (logs[o] !== undefined && !isNeeded(o)) logs[o] = undefined;
}
