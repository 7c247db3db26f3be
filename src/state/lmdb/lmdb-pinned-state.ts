/** What the synchronous phase of an LMDB snapshot captures: the read view, and which states and timers to write. */
import type { KeyGroupRange } from '../../core/key-groups.js';
import type { TypeSerializer } from '../../core/serializer.js';
import type { DeltaSource } from '../heap/pinned-keyed-state.js';
import type { PinnedVersion, SnapshotVersions } from '../heap/snapshot-versions.js';
import type { SerializerId } from '../serializer-id.js';
import type { StateKind } from '../state-descriptor.js';
import type { LmdbReadView } from './lmdb-store.js';

/** A state a snapshot writes: declared, or restored and not declared yet. */
export interface SnapshotState {
  readonly name: string;
  readonly id: number;
  readonly kind: StateKind;
  readonly serializers: readonly SerializerId[];
}

/** A timer queue a snapshot writes (its LMDB id after the key group). */
export interface SnapshotTimers {
  readonly name: string;
  readonly id: number;
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
  readonly timers: readonly SnapshotTimers[];
  readonly sizeHint: number;
  /** Told the size of the snapshot once written (and whether it was a delta). */
  readonly onWritten: (bytes: number, delta: boolean) => void;
  /** Told when the run lets go of its view (written or released). */
  readonly onReleased: () => void;
  /** Incremental snapshots that write a delta: what changed since which base. */
  readonly delta?: DeltaSource | undefined;
  /** The declared states whose changes are tracked, in the order of `delta.cuts`. */
  readonly tracked: readonly SnapshotState[];
  /** Whether the backend takes incremental snapshots (a full one is then a chain's new base). */
  readonly incremental: boolean;
}
