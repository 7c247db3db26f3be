/**
 * The asynchronous phase of an LMDB keyed snapshot: streams an LMDB read transaction, opened in
 * the synchronous phase, into the keyed snapshot format (heap/keyed-snapshot-format.ts) in
 * event-loop slices, while the task keeps writing. Stored values are already entries of the
 * format, so they are copied as bytes, never decoded.
 */
import { SluiceError } from '../../core/errors.js';
import type { KeyGroupRange } from '../../core/key-groups.js';
import type { TypeSerializer } from '../../core/serializer.js';
import { EventLoopSlicer, snapshotReleased, type SliceOptions } from '../event-loop-slicer.js';
import { BLOCK_KIND } from '../heap/keyed-snapshot-format.js';
import { beginBlock, beginSnapshot } from '../heap/heap-snapshot-run.js';
import type { PinnedVersion, SnapshotVersions } from '../heap/snapshot-versions.js';
import type { KeyedSnapshotRun, KeyedStateSnapshot } from '../keyed-state-snapshot.js';
import type { SerializerId } from '../serializer-id.js';
import type { StateKind } from '../state-descriptor.js';
import { rangeStart } from './lmdb-key-layout.js';
import { timestampOf } from './lmdb-timer-queue.js';
import type { LmdbReadView } from './lmdb-store.js';

/** A state a snapshot writes: declared, or restored and not declared yet. */
export interface SnapshotState {
  readonly name: string;
  readonly id: number;
  readonly kind: StateKind;
  readonly serializers: readonly SerializerId[];
}

/** What the synchronous phase captured. */
export interface LmdbPinnedState {
  readonly checkpointId: number;
  readonly maxParallelism: number;
  readonly keyGroupRange: KeyGroupRange;
  readonly keySerializer: TypeSerializer<unknown>;
  readonly view: LmdbReadView;
  readonly states: readonly SnapshotState[];
  /** The backend's versions: disposing the backend stops the run. */
  readonly versions: SnapshotVersions;
  readonly pinned: PinnedVersion;
  /** The timer queues, read from the view like the states (their LMDB id after the key group). */
  readonly timers: readonly { readonly name: string; readonly id: number }[];
  readonly sizeHint: number;
  readonly onWritten: (bytes: number) => void;
  /** Told when the run lets go of its view (written or released). */
  readonly onReleased: () => void;
}

/** A snapshot of an LmdbKeyedStateBackend after its synchronous phase (see KeyedSnapshotRun). */
export class LmdbKeyedSnapshotRun implements KeyedSnapshotRun {
  readonly checkpointId: number;
  private pinned: LmdbPinnedState | undefined;
  private started = false;

  constructor(
    pinned: LmdbPinnedState,
    private readonly slices: SliceOptions,
  ) {
    this.pinned = pinned;
    this.checkpointId = pinned.checkpointId;
  }

  release(): void {
    const pinned = this.pinned;
    if (pinned === undefined) return;
    this.pinned = undefined;
    pinned.view.done();
    pinned.versions.unpin(pinned.pinned);
    pinned.onReleased();
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

  private async writeAll(p: LmdbPinnedState): Promise<KeyedStateSnapshot> {
    const slicer = new EventLoopSlicer(this.slices, () =>
      this.pinned === undefined || p.versions.disposed
        ? snapshotReleased('keyed state', this.checkpointId)
        : undefined,
    );
    const { start, end } = p.keyGroupRange;
    const w = beginSnapshot(p);
    const offsets: number[] = [];
    for (let keyGroup = start; keyGroup <= end; keyGroup++) {
      const offset = keyGroup - start;
      offsets.push(w.length);
      w.u32(keyGroup);
      const countAt = w.reserveU32();
      let blocks = 0;
      p.versions.beginKeyGroup(p.pinned, offset);
      for (const state of p.states) {
        let payloadAt = -1;
        let countAtEntries = -1;
        let entries = 0;
        for (const { value } of p.view.range(
          rangeStart(keyGroup, state.id),
          rangeStart(keyGroup, state.id + 1),
        )) {
          if (payloadAt < 0) {
            blocks++;
            payloadAt = beginBlock(w, BLOCK_KIND[state.kind], state.name, state.serializers);
            countAtEntries = w.reserveU32();
          }
          entries++;
          w.raw(value);
          if (slicer.due()) await slicer.yieldNow();
        }
        if (payloadAt < 0) continue;
        w.patchU32(countAtEntries, entries);
        w.patchU32(payloadAt - 4, w.length - payloadAt);
      }
      for (const timers of p.timers) {
        let payloadAt = -1;
        let countAtEntries = -1;
        let entries = 0;
        // Each entry: the key serializer's bytes of the key (as stored), then the timestamp.
        for (const { key, value } of p.view.range(
          rangeStart(keyGroup, timers.id),
          rangeStart(keyGroup, timers.id + 1),
        )) {
          if (payloadAt < 0) {
            blocks++;
            payloadAt = beginBlock(w, BLOCK_KIND.timers, timers.name, []);
            countAtEntries = w.reserveU32();
          }
          entries++;
          w.bytes(value);
          w.f64(timestampOf(key));
          if (slicer.due()) await slicer.yieldNow();
        }
        if (payloadAt < 0) continue;
        w.patchU32(countAtEntries, entries);
        w.patchU32(payloadAt - 4, w.length - payloadAt);
      }
      w.patchU32(countAt, blocks);
      p.versions.advance(p.pinned, offset);
      if (slicer.due()) await slicer.yieldNow();
    }
    const stateNames = [...p.states.map((s) => s.name), ...p.timers.map((t) => t.name)];
    const data = w.toBytes();
    p.onWritten(data.length);
    return { keyGroupRange: { start, end }, offsets, data, stateNames };
  }
}
