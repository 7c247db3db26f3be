/**
 * Flink's CheckpointedFunction and CheckpointListener: how a user function keeps non-keyed
 * (operator) state and learns about checkpoints. Optional methods, found on the function object.
 */
import type { ListStateDescriptor } from '../state/state-descriptor.js';
import type { ListState } from '../state/state.js';

/** Operator (non-keyed) state of one parallel instance. */
export interface OperatorStateStore {
  /** A list split evenly across the new instances when the job is restored at another parallelism. */
  getListState<T>(descriptor: ListStateDescriptor<T>): ListState<T>;
  /** A list of which every instance gets all elements of all instances on restore. */
  getUnionListState<T>(descriptor: ListStateDescriptor<T>): ListState<T>;
}

/** Given to `initializeState`, before `open`. */
export interface FunctionInitializationContext {
  /** Whether the job is being restored from a checkpoint or savepoint. */
  isRestored(): boolean;
  getOperatorStateStore(): OperatorStateStore;
}

/** Given to `snapshotState`. */
export interface FunctionSnapshotContext {
  getCheckpointId(): number;
}

/**
 * A function with operator state: `initializeState` declares (and, on restore, reads) it;
 * `snapshotState` writes into it what the function keeps in fields, at each checkpoint.
 */
export interface CheckpointedFunction {
  initializeState(ctx: FunctionInitializationContext): void;
  snapshotState(ctx: FunctionSnapshotContext): void;
}

/** A function told when checkpoints complete or are aborted (e.g. to commit side effects). */
export interface CheckpointListener {
  notifyCheckpointComplete(checkpointId: number): void;
  notifyCheckpointAborted?(checkpointId: number): void;
}
