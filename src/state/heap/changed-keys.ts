/** The keys of one state table changed since the last snapshot, per key group (incremental checkpoints). */

/** Map key → key, of one key group. */
export type KeyGroupChanges = Map<unknown, unknown>;

/**
 * What a StateTable tells an incremental snapshot: which keys were written, removed or handed to
 * user code (which may change an object in place) since the last snapshot's synchronous phase.
 * One Map.set per such access: O(1), and no allocation once a key group's map exists. Absent on
 * tables of backends without incremental checkpoints, where tracking costs one field check.
 */
export class ChangedKeys {
  private groups: (KeyGroupChanges | undefined)[];

  constructor(private readonly numKeyGroups: number) {
    this.groups = new Array<KeyGroupChanges | undefined>(numKeyGroups).fill(undefined);
  }

  /** Records that the key `mapKey` (`key`) of key group `offset` changed. */
  mark(offset: number, mapKey: unknown, key: unknown): void {
    const group = this.groups[offset];
    if (group === undefined) this.groups[offset] = new Map([[mapKey, key]]);
    else group.set(mapKey, key);
  }

  /** The changes since the last cut, per key group offset; tracking starts over empty. */
  cut(): (KeyGroupChanges | undefined)[] {
    const groups = this.groups;
    this.groups = new Array<KeyGroupChanges | undefined>(this.numKeyGroups).fill(undefined);
    return groups;
  }
}
