/** Flink's CheckpointFailureReason as values: why a checkpoint failed, whether before reaching the tasks, and whether it counts. */

/** What the protocol needs to know about one failure reason. */
export interface CheckpointFailureReasonInfo {
  /** The failure happened before the checkpoint reached any task (Flink's `isPreFlight`). */
  readonly preFlight: boolean;
  /**
   * Counts toward `execution.checkpointing.tolerable-failed-checkpoints` (Flink's
   * `isCountedAgainstFailureThreshold`). Only failures a restart might cure, and that a user should
   * hear about, count; housekeeping outcomes (subsumed, shut down, not running yet) do not.
   */
  readonly counted: boolean;
  /** One line for logs and the REST `failure_message`. */
  readonly message: string;
}

/**
 * Every reason a checkpoint can fail, named as in Flink 2.x so logs, REST responses and Flink's
 * docs line up. The messages are Sluice's own wording.
 */
export const CheckpointFailureReasons = {
  PERIODIC_SCHEDULER_SHUTDOWN: {
    preFlight: true,
    counted: false,
    message: 'The periodic checkpoint scheduler was stopped.',
  },
  TOO_MANY_CHECKPOINT_REQUESTS: {
    preFlight: true,
    counted: false,
    message: 'Too many checkpoint requests were queued; this one was dropped.',
  },
  MINIMUM_TIME_BETWEEN_CHECKPOINTS: {
    preFlight: true,
    counted: false,
    message:
      'The minimum pause since the last checkpoint has not passed; the next one is rescheduled after it.',
  },
  NOT_ALL_REQUIRED_TASKS_RUNNING: {
    preFlight: true,
    counted: false,
    message: 'Some tasks the checkpoint needs are not running.',
  },
  IO_EXCEPTION: {
    preFlight: true,
    counted: true,
    message: 'An I/O error occurred while triggering the checkpoint.',
  },
  BLOCKING_OUTPUT_EXIST: {
    preFlight: true,
    counted: false,
    message: 'A running task has a blocking output edge.',
  },
  CHECKPOINT_ASYNC_EXCEPTION: {
    preFlight: false,
    counted: true,
    message: 'The asynchronous part of a task snapshot failed.',
  },
  CHANNEL_STATE_SHARED_STREAM_EXCEPTION: {
    preFlight: false,
    counted: false,
    message: 'Another subtask sharing the same channel-state file failed.',
  },
  CHECKPOINT_EXPIRED: {
    preFlight: false,
    counted: true,
    message: 'The checkpoint timed out before every task acknowledged it.',
  },
  CHECKPOINT_SUBSUMED: {
    preFlight: false,
    counted: false,
    message: 'A newer checkpoint completed first.',
  },
  CHECKPOINT_DECLINED: {
    preFlight: false,
    counted: true,
    message: 'A task declined the checkpoint.',
  },
  CHECKPOINT_DECLINED_TASK_NOT_READY: {
    preFlight: false,
    counted: false,
    message: 'A task declined the checkpoint because it was not ready yet.',
  },
  CHECKPOINT_DECLINED_TASK_CLOSING: {
    preFlight: false,
    counted: false,
    message: 'A task declined the checkpoint because it was closing.',
  },
  CHECKPOINT_DECLINED_SUBSUMED: {
    preFlight: false,
    counted: false,
    message: 'A task saw a barrier of a newer checkpoint before this one was aligned.',
  },
  CHECKPOINT_DECLINED_ON_CANCELLATION_BARRIER: {
    preFlight: false,
    counted: false,
    message: 'A task received a cancellation marker for the checkpoint from one of its inputs.',
  },
  CHECKPOINT_DECLINED_INPUT_END_OF_STREAM: {
    preFlight: false,
    counted: false,
    message: 'An input of a task ended before the checkpoint was aligned.',
  },
  CHECKPOINT_COORDINATOR_SHUTDOWN: {
    preFlight: false,
    counted: false,
    message: 'The checkpoint coordinator shut down.',
  },
  CHECKPOINT_COORDINATOR_SUSPEND: {
    preFlight: false,
    counted: false,
    message: 'The checkpoint coordinator is suspending.',
  },
  JOB_FAILOVER_REGION: {
    preFlight: false,
    counted: false,
    message: 'A failover region is restarting.',
  },
  TASK_FAILURE: {
    preFlight: false,
    counted: false,
    message: 'A task failed.',
  },
  TASK_CHECKPOINT_FAILURE: {
    preFlight: false,
    counted: false,
    message: 'The local (synchronous) part of a task snapshot failed.',
  },
  UNKNOWN_TASK_CHECKPOINT_NOTIFICATION_FAILURE: {
    preFlight: false,
    counted: false,
    message: 'The task to notify about the checkpoint is unknown.',
  },
  FINALIZE_CHECKPOINT_FAILURE: {
    preFlight: false,
    counted: true,
    message: 'Finalizing the checkpoint (writing its metadata) failed.',
  },
  TRIGGER_CHECKPOINT_FAILURE: {
    preFlight: false,
    counted: false,
    message: 'Triggering the checkpoint failed.',
  },
} as const satisfies Record<string, CheckpointFailureReasonInfo>;

/** Why a checkpoint failed: one of Flink's CheckpointFailureReason names. */
export type CheckpointFailureReason = keyof typeof CheckpointFailureReasons;

/** Whether the reason means the checkpoint never reached a task. */
export function isPreFlight(reason: CheckpointFailureReason): boolean {
  return CheckpointFailureReasons[reason].preFlight;
}

/** Whether a failure with this reason counts toward the tolerable consecutive-failure number. */
export function isCountedAgainstFailureThreshold(reason: CheckpointFailureReason): boolean {
  return CheckpointFailureReasons[reason].counted;
}

/** The one-line message for a reason. */
export function failureReasonMessage(reason: CheckpointFailureReason): string {
  return CheckpointFailureReasons[reason].message;
}
