/** The keys of one state changed since the last snapshot, per key group (incremental checkpoints, both backends). */

/** Map key → key, of one key group. */
export type KeyGroupChanges = Map<unknown, unknown>;

/**
 * What a state tells an incremental snapshot: which keys were written, removed or (heap) handed to
 * user code (which may change an object in place) since the last snapshot's synchronous phase.
 * One Map.set per such access: O(1), and no allocation once a key group's map exists. Absent on
 * states of backends without incremental checkpoints, where tracking costs one field check. The
 * heap backend maps a key's map key to the key; the LMDB backend its canonical bytes (as latin1
 * text) to the key serializer's bytes for a removal, undefined for a write.
 *
 * With `maxKeys`, at most that many keys are tracked between cuts (the LMDB backend's state is
 * larger than memory, its changes must not fill it): past it the changes are dropped and
 * `overflowed` says so, and the next snapshot must be a new base.
 */
export class ChangedKeys {
  private groups: (KeyGroupChanges | undefined)[];
  private tracked = 0;
  /** More than `maxKeys` keys changed since the last cut: what changed is no longer known. */
  overflowed = false;

  constructor(
    private readonly numKeyGroups: number,
    private readonly maxKeys = Infinity,
  ) {
    this.groups = new Array<KeyGroupChanges | undefined>(numKeyGroups).fill(undefined);
  }

  /** Records that the key `mapKey` (`key`) of key group `offset` changed. */
  mark(offset: number, mapKey: unknown, key: unknown): void {
    if (this.overflowed) return;
    const group = this.groups[offset];
    if (group === undefined) this.groups[offset] = new Map([[mapKey, key]]);
    else {
      const size = group.size;
      group.set(mapKey, key);
      if (group.size === size) return;
    }
    if (++this.tracked > this.maxKeys) {
      this.overflowed = true;
      this.groups = new Array<KeyGroupChanges | undefined>(this.numKeyGroups).fill(undefined);
    }
  }

  /**
   * The changes since the last cut, per key group offset (none if `overflowed`: read that first);
   * tracking starts over empty.
   */
  cut(): (KeyGroupChanges | undefined)[] {
    const groups = this.groups;
    this.groups = new Array<KeyGroupChanges | undefined>(this.numKeyGroups).fill(undefined);
    this.tracked = 0;
    this.overflowed = false;
    return groups;
  }
}

/** The union of the cuts' changes of one key group; undefined when nothing changed there. */
export function changesSince(
  cuts: readonly (readonly (KeyGroupChanges | undefined)[])[],
  offset: number,
): ReadonlyMap<unknown, unknown> | undefined {
  let union: Map<unknown, unknown> | undefined;
  let only: KeyGroupChanges | undefined;
  for (const cut of cuts) {
    const changes = cut[offset];
    if (changes === undefined || changes.size === 0) continue;
    if (only === undefined && union === undefined) {
      only = changes;
      continue;
    }
    union ??= new Map(only);
    for (const [mapKey, key] of changes) union.set(mapKey, key);
  }
  return union ?? only;
}
