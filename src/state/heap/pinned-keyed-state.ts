/** What the synchronous phase of a heap snapshot pins: the structures to write and the version to read. */
import type { KeyGroupRange } from '../../core/key-groups.js';
import type { TypeSerializer } from '../../core/serializer.js';
import type { StateKind } from '../state-descriptor.js';
import type { KeyGroupChanges } from './changed-keys.js';
import type { StateValueCodec } from './keyed-snapshot-format.js';
import type { RestoredState } from './keyed-snapshot-reader.js';
import type { PinnedVersion, SnapshotVersions } from './snapshot-versions.js';
import type { StateTable } from './state-table.js';
import type { HeapTimerQueue } from './timer-queue.js';

/** What an incremental snapshot writes beyond a full one: which keys changed since its base. */
export interface DeltaSource {
  /** The completed checkpoint the delta builds on. */
  readonly baseCheckpointId: number;
  /**
   * Per pinned table (same order as `PinnedKeyedState.tables`), the changes cut at each
   * snapshot since the base's (aborted ones included), per key group offset.
   */
  readonly cuts: readonly (readonly (readonly (KeyGroupChanges | undefined)[])[])[];
  /**
   * Per pinned timer queue (same order as `PinnedKeyedState.timers`), the key groups whose timers
   * changed, cut at each snapshot since the base's (1 = changed).
   */
  readonly timerCuts: readonly (readonly Uint8Array[])[];
}

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
  /** Told the size of the snapshot once written (and whether it was a delta). */
  readonly onWritten: (bytes: number, delta: boolean) => void;
  /** Incremental snapshots that write a delta: what changed since which base. */
  readonly delta?: DeltaSource | undefined;
  /** Whether the backend takes incremental snapshots (a full one is then a chain's new base). */
  readonly incremental?: boolean;
}
