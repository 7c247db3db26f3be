/**
 * The committing half of a two-phase-commit sink (Flink's Sink V2 `SupportsCommitter`,
 * `Committer`, `CommitRequest`). A writer turns what it wrote before a checkpoint barrier into
 * committables (`CommittingSinkWriter.prepareCommit`); they are stored in that checkpoint, and the
 * committer makes them visible once the checkpoint completed everywhere. After a failure the
 * committables of the restored checkpoint are committed again, so a committer must be
 * idempotent: a committable it already committed is reported with `signalAlreadyCommitted`.
 */
import type { TypeSerializer } from '../core/serializer.js';
import type { InitContext } from './sink.js';

/** What a committer knows of its subtask (Flink's `CommitterInitContext`). */
export type CommitterInitContext = InitContext;

/**
 * A committable to commit, and how the commit went (Flink's `Committer.CommitRequest`). A request
 * the committer neither signals nor retries counts as committed.
 */
export interface CommitRequest<CommT> {
  getCommittable(): CommT;
  /** How many times this committable was handed back for a retry. */
  getNumberOfRetries(): number;
  /**
   * The commit failed for a reason the committer understands and cannot overcome (the
   * transaction expired, the file vanished): the job fails with `reason`.
   */
  signalFailedWithKnownReason(reason: unknown): void;
  /** The commit failed for a reason the committer does not understand: the job fails. */
  signalFailedWithUnknownReason(reason: unknown): void;
  /** Commit again later: at the next completed checkpoint, or on a timer, whichever comes first. */
  retryLater(): void;
  /** As `retryLater`, with a new committable in place of this one. */
  updateAndRetryLater(committable: CommT): void;
  /** The committable had been committed before (a replay after recovery): nothing to do. */
  signalAlreadyCommitted(): void;
}

/**
 * Makes committables visible (Flink's `Committer`). `commit` gets the committables of every
 * completed checkpoint not committed yet, and those of the restored checkpoint after a failure;
 * it may return a promise (the sink's input pauses until it settles). Throwing fails the job like
 * `signalFailedWithUnknownReason`.
 */
export interface Committer<CommT> {
  commit(requests: readonly CommitRequest<CommT>[]): void | PromiseLike<void>;
  close(): void | PromiseLike<void>;
}

/**
 * A sink whose writers produce committables (Flink's `SupportsCommitter`): its writers implement
 * `CommittingSinkWriter`, and `stream.sinkTo(sink)` stores their committables in each checkpoint
 * and commits them when it completes. Such a sink is exactly-once.
 */
export interface SupportsCommitter<CommT> {
  createCommitter(ctx: CommitterInitContext): Committer<CommT>;
  /**
   * How committables are written into checkpoints. Optional: without it committables are written
   * with the state backend's default serializer, which handles plain data (objects, arrays,
   * strings, numbers, bigints, Uint8Arrays, Maps, Dates).
   */
  getCommittableSerializer?(): TypeSerializer<CommT>;
}

/** Whether `sink` is two-phase-commit (has `createCommitter`). */
export function supportsCommitter(sink: unknown): sink is SupportsCommitter<unknown> {
  return typeof (sink as Partial<SupportsCommitter<unknown>> | null)?.createCommitter === 'function';
}
