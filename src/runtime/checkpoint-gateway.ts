/** What a task exchanges with the checkpoint coordinator: acknowledgements, declines, restore state. */
import type { OperatorId } from '../core/ids.js';
import type { CheckpointingMode } from '../protocol/barrier-alignment.js';
import type { CheckpointFailureReason } from '../protocol/checkpoint-failure-reason.js';
import type { KeyedStateSnapshot } from '../state/keyed-state-snapshot.js';
import type { OperatorStateSnapshot } from '../state/operator-state-snapshot.js';
import type { ChannelState } from '../storage/channel-state.js';
import type { CheckpointStorage, CheckpointStorageLocation } from '../storage/checkpoint-storage.js';
import type { KeyedStateHandle, OperatorStateHandle, StreamStateHandle } from '../storage/state-handle.js';

/** The state one operator of a subtask wrote for a checkpoint. */
export interface OperatorSubtaskState {
  readonly operatorId: OperatorId;
  readonly keyed: readonly KeyedStateHandle[];
  readonly operator: readonly OperatorStateHandle[];
  /** The subtask's channel state of an unaligned checkpoint (on the chain's head operator). */
  readonly channelState?: StreamStateHandle;
}

/** Timings and sizes of one subtask's part of a checkpoint (Flink's CheckpointMetrics). */
export interface SubtaskCheckpointMetrics {
  readonly syncDurationMs: number;
  readonly asyncDurationMs: number;
  readonly alignmentDurationMs: number;
  /** From the trigger to the first barrier (or the trigger mail) at this subtask. */
  readonly startDelayMs: number;
  /** Bytes of input processed while aligning (from channels not yet blocked). */
  readonly bytesProcessedDuringAlignment: number;
  /** Bytes of state written. */
  readonly checkpointedSize: number;
  /** Bytes of in-flight data persisted as channel state (unaligned checkpoints). */
  readonly persistedData?: number;
  /** Whether this subtask took the checkpoint unaligned. */
  readonly unaligned?: boolean;
}

/** The task's line to the checkpoint coordinator. */
export interface TaskCheckpointGateway {
  readonly mode: CheckpointingMode;
  /** `execution.checkpointing.unaligned.enabled` (EXACTLY_ONCE only). */
  readonly unaligned?: boolean;
  /** `execution.checkpointing.aligned-checkpoint-timeout` in ms (0: unaligned from the start). */
  readonly alignedCheckpointTimeoutMs?: number;
  readonly storage: CheckpointStorage;
  /** Where checkpoint `checkpointId` writes, or undefined if the coordinator no longer has it. */
  location(checkpointId: number): CheckpointStorageLocation | undefined;
  acknowledgeCheckpoint(
    checkpointId: number,
    state: readonly OperatorSubtaskState[],
    metrics: SubtaskCheckpointMetrics,
  ): void;
  declineCheckpoint(checkpointId: number, reason: CheckpointFailureReason, error?: Error): void;
}

/**
 * What one operator of a subtask restores from, as state handles: the task reads (and verifies)
 * the bytes from checkpoint storage itself, so the JobManager never reads or ships them.
 */
export interface OperatorRestoreState {
  /** The keyed state handles whose key-group range overlaps the subtask's. */
  readonly keyed: readonly KeyedStateHandle[];
  /**
   * The operator state of the old subtasks (index = old subtask) that this subtask's share is
   * cut from (`redistributeOperatorState`); an old subtask whose state cannot concern this one
   * (split state of another subtask at unchanged parallelism) is left empty. Undefined: none.
   */
  readonly operator: readonly (readonly OperatorStateHandle[])[] | undefined;
  /** The subtask's channel state of an unaligned checkpoint (head operator, same parallelism only). */
  readonly channelState?: StreamStateHandle;
}

/** The restore state of a subtask, by operator id; operators not listed start empty. */
export interface TaskRestoreState {
  readonly checkpointId: number;
  /** Where the handles' relative paths resolve: the checkpoint's `chk-<n>` (or savepoint) directory. */
  readonly pointer: string;
  readonly operators: ReadonlyMap<OperatorId, OperatorRestoreState>;
}

/** What one operator of a subtask restores from, read: what its state backends are given. */
export interface OperatorRestoredState {
  readonly keyed: readonly KeyedStateSnapshot[];
  readonly operator: OperatorStateSnapshot | undefined;
  /** The subtask's channel state, replayed before any new data (head operator only). */
  readonly channelState?: ChannelState;
}
