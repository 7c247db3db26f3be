/** Counts consecutive checkpoint failures and decides when the job must fail over (Flink's CheckpointFailureManager). */
import { invariant } from '../core/errors.js';
import type { CheckpointId } from '../core/ids.js';
import {
  failureReasonMessage,
  isCountedAgainstFailureThreshold,
  isPreFlight,
  type CheckpointFailureReason,
} from './checkpoint-failure-reason.js';
import { isSavepoint, isSynchronous, type SnapshotKind } from './snapshot-kind.js';

/** Flink's Integer.MAX_VALUE sentinel for `tolerable-failed-checkpoints`: never fail the job. */
export const UNLIMITED_TOLERABLE_FAILURE_NUMBER = 2_147_483_647;

/**
 * The message users grep for. Kept verbatim from Flink, since alerting rules written for Flink
 * match on it.
 */
export const EXCEEDED_CHECKPOINT_TOLERABLE_FAILURE_MESSAGE =
  'Exceeded checkpoint tolerable failure threshold.';

/** One failed checkpoint, as the coordinator learnt of it. */
export interface CheckpointFailure {
  readonly reason: CheckpointFailureReason;
  /**
   * The failed checkpoint; undefined when it failed before an id was assigned (Flink's
   * UNKNOWN_CHECKPOINT_ID). Such failures always count.
   */
  readonly checkpointId: CheckpointId | undefined;
  readonly kind: SnapshotKind;
  /**
   * The task that declined or failed it; undefined for a failure on the JobManager side (trigger,
   * timeout, finalization). Pre-flight reasons are JobManager-side whatever the source.
   */
  readonly taskKey?: string | undefined;
}

/** What the coordinator must do about a failure. */
export type CheckpointFailureDecision =
  | { readonly kind: 'ok' }
  | {
      readonly kind: 'fail-job';
      readonly reason: CheckpointFailureReason;
      readonly message: string;
      /** Set when a task's failure is the cause, so the job is failed once per failing task. */
      readonly taskKey?: string;
    };

const OK: CheckpointFailureDecision = { kind: 'ok' };

/**
 * Tracks `execution.checkpointing.tolerable-failed-checkpoints`. A failure counts when its reason
 * is one a restart may cure (timeout, async-phase and I/O failures, declines, finalization), once
 * per checkpoint id, and only for checkpoints newer than the last success. The job fails when the
 * count exceeds the tolerable number; the count then starts again from zero.
 */
export class CheckpointFailureManager {
  readonly #tolerable: number;
  #continuousFailures = 0;
  readonly #countedIds = new Set<CheckpointId>();
  #lastSucceeded: CheckpointId | undefined;

  constructor(tolerableFailureNumber: number) {
    invariant(
      Number.isInteger(tolerableFailureNumber) && tolerableFailureNumber >= 0,
      `tolerable-failed-checkpoints must be a non-negative integer, got ${tolerableFailureNumber}`,
    );
    this.#tolerable = tolerableFailureNumber;
  }

  /**
   * Takes one failure and decides. JobManager-side failures of savepoints never count (the user
   * sees the failed request). A task-side failure of a synchronous savepoint fails the job at once:
   * its tasks are waiting to stop and would otherwise wait forever.
   */
  handleCheckpointException(failure: CheckpointFailure): CheckpointFailureDecision {
    const onJobManager = failure.taskKey === undefined || isPreFlight(failure.reason);
    if (onJobManager) {
      return isSavepoint(failure.kind) ? OK : this.#checkAgainstCounter(failure, undefined);
    }
    if (isSynchronous(failure.kind)) {
      return this.#failJob(failure.reason, failureReasonMessage(failure.reason), failure.taskKey);
    }
    return this.#checkAgainstCounter(failure, failure.taskKey);
  }

  /** A checkpoint completed: failures of it and anything older stop counting; the count resets. */
  handleCheckpointSuccess(checkpointId: CheckpointId): void {
    if (this.#lastSucceeded === undefined || checkpointId > this.#lastSucceeded) {
      this.#lastSucceeded = checkpointId;
      this.#clear();
    }
  }

  /** Consecutive counted failures since the last success or job failure. */
  get continuousFailureCount(): number {
    return this.#continuousFailures;
  }

  #checkAgainstCounter(failure: CheckpointFailure, taskKey: string | undefined): CheckpointFailureDecision {
    const id = failure.checkpointId;
    // A late report about a checkpoint older than the last success says nothing about now.
    if (id !== undefined && this.#lastSucceeded !== undefined && id <= this.#lastSucceeded) return OK;
    if (this.#tolerable === UNLIMITED_TOLERABLE_FAILURE_NUMBER) return OK;
    if (isCountedAgainstFailureThreshold(failure.reason)) {
      // Several tasks declining one checkpoint are one failure.
      if (id === undefined || !this.#countedIds.has(id)) {
        if (id !== undefined) this.#countedIds.add(id);
        this.#continuousFailures++;
      }
    }
    if (this.#continuousFailures <= this.#tolerable) return OK;
    this.#clear();
    const message =
      `${EXCEEDED_CHECKPOINT_TOLERABLE_FAILURE_MESSAGE} The latest checkpoint failed because: ` +
      `${failureReasonMessage(failure.reason)} See the checkpoint history for the earlier failures.`;
    return this.#failJob(failure.reason, message, taskKey);
  }

  #failJob(
    reason: CheckpointFailureReason,
    message: string,
    taskKey: string | undefined,
  ): CheckpointFailureDecision {
    return taskKey === undefined
      ? { kind: 'fail-job', reason, message }
      : { kind: 'fail-job', reason, message, taskKey };
  }

  #clear(): void {
    this.#continuousFailures = 0;
    this.#countedIds.clear();
  }
}
