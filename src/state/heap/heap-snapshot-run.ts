/** The asynchronous phase of a heap keyed snapshot: writes pinned key groups in event-loop slices. */
import { SluiceError } from '../../core/errors.js';
import { EventLoopSlicer, snapshotReleased, type SliceOptions } from '../event-loop-slicer.js';
import type { KeyGroupRange } from '../../core/key-groups.js';
import type { TypeSerializer } from '../../core/serializer.js';
import { ByteWriter } from '../byte-io.js';
import type { KeyedSnapshotRun, KeyedStateSnapshot } from '../keyed-state-snapshot.js';
import type { StateKind } from '../state-descriptor.js';
import { writeSerializerIds, type SerializerId } from '../serializer-id.js';
import { BLOCK_KIND, KEYED_SNAPSHOT_FORMAT_VERSION, type StateValueCodec } from './keyed-snapshot-format.js';
import type { RestoredState } from './keyed-snapshot-reader.js';
import type { PinnedVersion, SnapshotVersions } from './snapshot-versions.js';
import { FREEZE_FAILED, type StateTable } from './state-table.js';
import type { HeapTimerQueue, Timer } from './timer-queue.js';

/** A declared state a snapshot includes. */
export interface PinnedTable {
  readonly name: string;
  readonly kind: StateKind;
  readonly codec: StateValueCodec;
  readonly table: StateTable<unknown>;
}

/** A timer queue a snapshot includes. */
export interface PinnedTimers {
  readonly name: string;
  readonly queue: HeapTimerQueue<unknown>;
}

/** What the synchronous phase captured: which structures, and the pinned version to read. */
export interface PinnedKeyedState {
  readonly checkpointId: number;
  readonly maxParallelism: number;
  readonly keyGroupRange: KeyGroupRange;
  readonly keySerializer: TypeSerializer<unknown>;
  /** The versions the snapshot pinned `pinned` in, unpinned on release. */
  readonly versions: SnapshotVersions;
  readonly pinned: PinnedVersion;
  readonly tables: readonly PinnedTable[];
  /** Restored states not declared yet: immutable bytes, written back as they are. */
  readonly restored: readonly RestoredState[];
  readonly timers: readonly PinnedTimers[];
  /** The expected size of the snapshot (the previous one's), so its buffer rarely grows. */
  readonly sizeHint: number;
  /** Told the size of the snapshot once written. */
  readonly onWritten: (bytes: number) => void;
}

/** A snapshot of a HeapKeyedStateBackend after its synchronous phase (see KeyedSnapshotRun). */
export class HeapKeyedSnapshotRun implements KeyedSnapshotRun {
  readonly checkpointId: number;
  private pinned: PinnedKeyedState | undefined;
  private started = false;

  constructor(
    pinned: PinnedKeyedState,
    private readonly slices: SliceOptions,
  ) {
    this.pinned = pinned;
    this.checkpointId = pinned.checkpointId;
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
      for (const [i, table] of p.tables.entries()) {
        const { entries, log, logged } = groups[i]!;
        if (entries.length + logged.length === 0) continue;
        blocks++;
        const payloadAt = beginBlock(w, BLOCK_KIND[table.kind], table.name, table.codec.serializers);
        w.u32(entries.length + logged.length);
        for (const entry of entries) {
          w.value(p.keySerializer, entry.key);
          const frozen = entry.frozen;
          if (frozen === undefined) table.codec.write(w, entry.value);
          else if (frozen === FREEZE_FAILED) throw entry.value;
          else w.raw(frozen);
          if (slicer.due()) await slicer.yieldNow();
        }
        for (const r of logged) {
          w.value(p.keySerializer, log!.keyOf(r));
          if (log!.isFrozen(r)) w.range(log!.valueOf(r) as Uint8Array, log!.startOf(r), log!.endOf(r));
          else if (log!.isFailed(r)) throw log!.valueOf(r);
          else table.codec.write(w, log!.valueOf(r));
          if (slicer.due()) await slicer.yieldNow();
        }
        w.patchU32(payloadAt - 4, w.length - payloadAt);
      }
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
    const stateNames = [
      ...p.tables.map((t) => t.name),
      ...p.restored.map((s) => s.name),
      ...p.timers.map((t) => t.name),
    ];
    const data = w.toBytes();
    p.onWritten(data.length);
    return { keyGroupRange: { start, end }, offsets, data, stateNames };
  }
}

/**
 * A writer holding a keyed snapshot's header (keyed-snapshot-format.ts), sized for `sizeHint`
 * bytes. Shared by every keyed backend: they all write this format.
 */
export function beginSnapshot(p: {
  readonly maxParallelism: number;
  readonly keyGroupRange: KeyGroupRange;
  readonly keySerializer: TypeSerializer<unknown>;
  readonly sizeHint: number;
}): ByteWriter {
  const w = new ByteWriter(Math.max(64 * 1024, Math.ceil(p.sizeHint * 1.1)));
  w.u8(KEYED_SNAPSHOT_FORMAT_VERSION);
  w.u32(p.maxParallelism);
  w.u32(p.keyGroupRange.start);
  w.u32(p.keyGroupRange.end);
  w.str(p.keySerializer.name);
  w.u32(p.keySerializer.version);
  return w;
}

/** Writes one timer queue's block of a key group, if it has timers there; returns whether it wrote one. */
export async function writeTimerBlock(
  w: ByteWriter,
  name: string,
  timers: readonly Timer<unknown>[],
  keySerializer: TypeSerializer<unknown>,
  slicer: EventLoopSlicer,
): Promise<boolean> {
  if (timers.length === 0) return false;
  const payloadAt = beginBlock(w, BLOCK_KIND.timers, name, []);
  w.u32(timers.length);
  for (const timer of timers) {
    w.value(keySerializer, timer.key);
    w.f64(timer.timestamp);
    if (slicer.due()) await slicer.yieldNow();
  }
  w.patchU32(payloadAt - 4, w.length - payloadAt);
  return true;
}

/** Writes a block's header and a payload-length placeholder; returns where the payload starts. */
export function beginBlock(
  w: ByteWriter,
  kind: number,
  name: string,
  serializers: readonly SerializerId[],
): number {
  w.u8(kind);
  w.str(name);
  writeSerializerIds(w, serializers);
  w.u32(0);
  return w.length;
}
