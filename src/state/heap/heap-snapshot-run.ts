/** The asynchronous phase of a heap keyed snapshot: writes pinned key groups in event-loop slices. */
import { SluiceError } from '../../core/errors.js';
import { EventLoopSlicer, snapshotReleased, type SliceOptions } from '../event-loop-slicer.js';
import type { KeyedSnapshotRun, KeyedStateSnapshot } from '../keyed-state-snapshot.js';
import { writeDelta } from './heap-delta-writer.js';
import { BLOCK_KIND } from './keyed-snapshot-format.js';
import type { PinnedKeyedState } from './pinned-keyed-state.js';
import { beginBlock, beginSnapshot, writeTimerBlock } from './snapshot-blocks.js';
import { writeTableBlock } from './state-table-block.js';

export type { PinnedKeyedState, PinnedTable, PinnedTimers } from './pinned-keyed-state.js';
export { beginBlock, beginSnapshot, writeTimerBlock } from './snapshot-blocks.js';

/** A snapshot of a HeapKeyedStateBackend after its synchronous phase (see KeyedSnapshotRun). */
export class HeapKeyedSnapshotRun implements KeyedSnapshotRun {
  readonly checkpointId: number;
  readonly baseCheckpointId: number | undefined;
  readonly incremental: boolean;
  private pinned: PinnedKeyedState | undefined;
  private started = false;

  constructor(
    pinned: PinnedKeyedState,
    private readonly slices: SliceOptions,
  ) {
    this.pinned = pinned;
    this.checkpointId = pinned.checkpointId;
    this.baseCheckpointId = pinned.delta?.baseCheckpointId;
    this.incremental = pinned.incremental === true;
  }

  release(): void {
    const pinned = this.pinned;
    if (pinned === undefined) return;
    this.pinned = undefined;
    pinned.versions.unpin(pinned.pinned);
  }

  async write(): Promise<KeyedStateSnapshot> {
    const pinned = this.pinned;
    if (this.started || pinned === undefined)
      throw new SluiceError(
        'SLUICE_INTERNAL_ASSERTION',
        `invariant violated: write() of the keyed snapshot of checkpoint ${this.checkpointId} is called ` +
          'once, before release()',
      );
    this.started = true;
    try {
      return await this.writeAll(pinned);
    } finally {
      this.release();
    }
  }

  private async writeAll(p: PinnedKeyedState): Promise<KeyedStateSnapshot> {
    const slicer = new EventLoopSlicer(this.slices, () =>
      this.pinned === undefined || p.versions.disposed
        ? snapshotReleased('keyed state', this.checkpointId)
        : undefined,
    );
    const stateNames = [
      ...p.tables.map((t) => t.name),
      ...p.restored.map((s) => s.name),
      ...p.timers.map((t) => t.name),
    ];
    if (p.delta !== undefined) {
      const { data, offsets } = await writeDelta(p, p.delta, slicer);
      p.onWritten(data.length, true);
      return { keyGroupRange: p.keyGroupRange, offsets, data, stateNames };
    }
    const version = p.pinned.version;
    const { start, end } = p.keyGroupRange;
    const w = beginSnapshot(p);
    const offsets: number[] = [];
    for (let offset = 0; offset <= end - start; offset++) {
      offsets.push(w.length);
      w.u32(start + offset);
      const countAt = w.reserveU32();
      let blocks = 0;
      // This key group as of the pin, taken all at once (the live state moves on between slices).
      p.versions.beginKeyGroup(p.pinned, offset);
      const groups = p.tables.map(({ table }) => table.keyGroupAsOf(offset, version));
      const timersOf = p.timers.map(({ queue }) => queue.timersAsOf(offset, version));
      for (const [i, table] of p.tables.entries())
        if (await writeTableBlock(w, table, groups[i]!, p.keySerializer, slicer)) blocks++;
      for (const state of p.restored) {
        const payload = state.payloads[offset];
        if (payload === undefined) continue;
        blocks++;
        beginBlock(w, BLOCK_KIND[state.kind], state.name, state.serializers);
        w.patchU32(w.length - 4, payload.length);
        w.raw(payload);
      }
      for (const [i, queue] of p.timers.entries())
        if (await writeTimerBlock(w, queue.name, timersOf[i]!, p.keySerializer, slicer)) blocks++;
      w.patchU32(countAt, blocks);
      // Only now: until the key group is written, user code must not change what it holds.
      p.versions.advance(p.pinned, offset);
      if (slicer.due()) await slicer.yieldNow();
    }
    const data = w.toBytes();
    p.onWritten(data.length, false);
    return { keyGroupRange: { start, end }, offsets, data, stateNames };
  }
}
