/**
 * The asynchronous phase of an LMDB keyed snapshot: streams an LMDB read transaction, opened in
 * the synchronous phase, into the keyed snapshot format (heap/keyed-snapshot-format.ts) in
 * event-loop slices, while the task keeps writing. Stored values are already entries of the
 * format, so they are copied as bytes, never decoded. With incremental checkpoints it writes a
 * delta instead (lmdb-delta-writer.ts) when the backend says what changed since a completed base.
 */
import { SluiceError } from '../../core/errors.js';
import { EventLoopSlicer, snapshotReleased, type SliceOptions } from '../event-loop-slicer.js';
import { KEYED_SNAPSHOT_FORMAT_VERSION } from '../heap/keyed-snapshot-format.js';
import type { KeyedSnapshotRun, KeyedStateSnapshot } from '../keyed-state-snapshot.js';
import { writeLmdbDelta } from './lmdb-delta-writer.js';
import type { LmdbPinnedState } from './lmdb-pinned-state.js';
import { writeLmdbStateBlock, writeLmdbTimerBlock, writeSections } from './lmdb-snapshot-blocks.js';

/** A snapshot of an LmdbKeyedStateBackend after its synchronous phase (see KeyedSnapshotRun). */
export class LmdbKeyedSnapshotRun implements KeyedSnapshotRun {
  readonly checkpointId: number;
  readonly baseCheckpointId: number | undefined;
  readonly incremental: boolean;
  private pinned: LmdbPinnedState | undefined;
  private started = false;
  /** Settles when a write in progress has let go of its view; undefined when none is. */
  private writing: Promise<unknown> | undefined;

  constructor(
    pinned: LmdbPinnedState,
    private readonly slices: SliceOptions,
  ) {
    this.pinned = pinned;
    this.checkpointId = pinned.checkpointId;
    this.baseCheckpointId = pinned.delta?.baseCheckpointId;
    this.incremental = pinned.incremental;
  }

  /**
   * Lets go of the view. A write in progress stops at its next slice and lets go itself, once its
   * cursors are closed: ending the read transaction (or closing the environment) under an open
   * cursor crashes the process when the cursor is closed later (see `writeEnd`).
   */
  release(): void {
    const pinned = this.pinned;
    if (pinned === undefined) return;
    this.pinned = undefined;
    if (this.writing === undefined) letGo(pinned);
  }

  /** Settles once a write of this run has let go of its view; undefined when none began. */
  get writeEnd(): Promise<unknown> | undefined {
    return this.writing;
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
    const written = this.writeAll(pinned);
    this.writing = written.then(
      () => undefined,
      () => undefined,
    );
    try {
      return await written;
    } finally {
      this.pinned = undefined;
      letGo(pinned);
    }
  }

  private async writeAll(p: LmdbPinnedState): Promise<KeyedStateSnapshot> {
    const slicer = new EventLoopSlicer(this.slices, () =>
      this.pinned === undefined || p.versions.disposed
        ? snapshotReleased('keyed state', this.checkpointId)
        : undefined,
    );
    const { start, end } = p.keyGroupRange;
    const stateNames = [...p.states.map((s) => s.name), ...p.timers.map((t) => t.name)];
    const delta = p.delta;
    const { data, offsets } =
      delta === undefined ? await writeFull(p, slicer) : await writeLmdbDelta(p, delta, slicer);
    p.onWritten(data.length, delta !== undefined);
    return { keyGroupRange: { start, end }, offsets, data, stateNames };
  }
}

/** Writes every state and timer of every key group of `p`'s view (a full snapshot, or a chain's new base). */
function writeFull(
  p: LmdbPinnedState,
  slicer: EventLoopSlicer,
): Promise<{ readonly data: Uint8Array; readonly offsets: number[] }> {
  return writeSections(p, KEYED_SNAPSHOT_FORMAT_VERSION, slicer, async (w, keyGroup) => {
    let blocks = 0;
    for (const state of p.states) if (await writeLmdbStateBlock(w, p.view, keyGroup, state, slicer)) blocks++;
    for (const timers of p.timers)
      if (await writeLmdbTimerBlock(w, p.view, keyGroup, timers, slicer)) blocks++;
    return blocks;
  });
}

/** Ends the view's read transaction and unpins what the snapshot held. */
function letGo(pinned: LmdbPinnedState): void {
  pinned.view.done();
  pinned.versions.unpin(pinned.pinned);
  pinned.onReleased();
}
