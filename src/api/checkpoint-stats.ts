/** Checkpoint statistics as clients see them (JobClient, later the REST API). */

/** Flink's checkpoint status values. */
export type CheckpointStatus = 'IN_PROGRESS' | 'COMPLETED' | 'FAILED';

/** One subtask's acknowledgement, with its metrics. */
export interface SubtaskCheckpointStats {
  readonly syncDurationMs: number;
  readonly asyncDurationMs: number;
  readonly alignmentDurationMs: number;
  readonly startDelayMs: number;
  readonly bytesProcessedDuringAlignment: number;
  readonly checkpointedSize: number;
  /** Bytes of in-flight data this subtask stored (unaligned checkpoints). */
  readonly persistedData?: number;
  /** Whether this subtask took the checkpoint unaligned. */
  readonly unaligned?: boolean;
  readonly taskKey: string;
  readonly ackTimestamp: number;
  readonly endToEndDurationMs: number;
}

/** Statistics of one checkpoint. */
export interface CheckpointStats {
  readonly id: number;
  status: CheckpointStatus;
  readonly isSavepoint: boolean;
  /** A stop-with-savepoint's savepoint (Flink's SYNC_SAVEPOINT). */
  readonly isSynchronous?: boolean;
  /** A savepoint's format (Flink's `savepointFormat`); absent for checkpoints. */
  readonly savepointFormat?: 'CANONICAL' | 'NATIVE';
  readonly triggerTimestamp: number;
  latestAckTimestamp: number | undefined;
  /** Trigger to the last acknowledgement (or to the failure), ms. */
  endToEndDurationMs: number;
  /** Bytes written by this checkpoint. */
  checkpointedSize: number;
  /** Bytes of the full state it references. */
  stateSize: number;
  readonly numSubtasks: number;
  readonly subtasks: SubtaskCheckpointStats[];
  failureTimestamp?: number;
  failureMessage?: string;
  externalPath?: string;
}

/** What was last restored. */
export interface RestoredCheckpointStats {
  readonly id: number;
  readonly restoreTimestamp: number;
  readonly isSavepoint: boolean;
  readonly externalPath: string;
}

/** A consistent copy of the statistics for clients. */
export interface CheckpointStatsSnapshot {
  readonly counts: {
    readonly restored: number;
    readonly total: number;
    readonly inProgress: number;
    readonly completed: number;
    readonly failed: number;
  };
  /** The newest completed checkpoint (savepoints are in `latestSavepoint`, as Flink keeps them apart). */
  readonly latestCompleted: CheckpointStats | undefined;
  /** The newest completed savepoint; undefined before the first. */
  readonly latestSavepoint?: CheckpointStats | undefined;
  readonly latestFailed: CheckpointStats | undefined;
  readonly latestRestored: RestoredCheckpointStats | undefined;
  /** Newest first, at most `web.checkpoints.history` entries. */
  readonly history: readonly CheckpointStats[];
}
