/** Which completed checkpoints to keep, subsume and discard, and which retained one to restore from. */
import { invariant } from '../core/errors.js';
import type { CheckpointId } from '../core/ids.js';
import { isSavepoint, isSynchronous, type SnapshotKind } from './snapshot-kind.js';

/** What retention needs to know about a completed snapshot; callers pass their own richer type. */
export interface RetainedCheckpoint {
  readonly checkpointId: CheckpointId;
  readonly kind: SnapshotKind;
}

/** A snapshot leaving the store, and whether its files go with it. */
export interface SubsumedCheckpoint<C> {
  readonly checkpoint: C;
  /**
   * Delete its private state. False for savepoints: they belong to the user even when the store
   * stops tracking them. (Shared state is released separately, by the lowest retained id.)
   */
  readonly discardState: boolean;
}

/** The store after a completion. */
export interface SubsumeResult<C> {
  /** What stays, oldest first. */
  readonly retained: readonly C[];
  /** What leaves, oldest first. */
  readonly subsumed: readonly SubsumedCheckpoint<C>[];
  /**
   * The highest subsumed id, sent with notifyCheckpointComplete as `lastSubsumedCheckpointId` so
   * that tasks may drop what only older checkpoints needed.
   */
  readonly lastSubsumedCheckpointId: CheckpointId | undefined;
  /**
   * The lowest retained id: shared (incremental) state last used by an older checkpoint can be
   * unregistered (Flink's `SharedStateRegistry#unregisterUnusedState`).
   */
  readonly lowestRetainedCheckpointId: CheckpointId | undefined;
}

/**
 * Adds a newly completed snapshot to the store (kept in completion order) and subsumes the
 * oldest entries beyond `execution.checkpointing.num-retained`, as Flink's CheckpointSubsumeHelper:
 * - the newest entry is never removed;
 * - savepoints count toward the limit and can always be subsumed, keeping their files;
 * - the newest regular checkpoint is kept even beyond the limit, because the next incremental
 *   checkpoint may build on its files (FLINK-21351) — unless the newest entry is a synchronous
 *   savepoint, after which the job takes no more checkpoints.
 * Hence the store may hold `numRetained + 1` entries while its newest is an intermediate savepoint.
 */
export function addCheckpointAndSubsumeOldest<C extends RetainedCheckpoint>(
  retained: readonly C[],
  completed: C,
  numRetained: number,
): SubsumeResult<C> {
  return subsumeCheckpoints([...retained, completed], numRetained);
}

/**
 * Applies the subsumption rules of {@link addCheckpointAndSubsumeOldest} to a store's entries,
 * oldest (first completed) first — e.g. after loading them on recovery.
 */
export function subsumeCheckpoints<C extends RetainedCheckpoint>(
  completedOldestFirst: readonly C[],
  numRetained: number,
): SubsumeResult<C> {
  invariant(
    Number.isInteger(numRetained) && numRetained >= 1,
    `num-retained must be a positive integer, got ${numRetained}`,
  );
  const latest = completedOldestFirst.at(-1);
  const latestCheckpoint = completedOldestFirst.findLast((c) => !isSavepoint(c.kind));
  const retained: C[] = [];
  const subsumed: SubsumedCheckpoint<C>[] = [];
  let remaining = completedOldestFirst.length;
  for (const entry of completedOldestFirst) {
    if (remaining > numRetained && latest !== undefined && canSubsume(entry, latest, latestCheckpoint)) {
      subsumed.push({ checkpoint: entry, discardState: !isSavepoint(entry.kind) });
      remaining--;
    } else {
      retained.push(entry);
    }
  }
  let lastSubsumedCheckpointId: CheckpointId | undefined;
  for (const { checkpoint } of subsumed) {
    if (lastSubsumedCheckpointId === undefined || checkpoint.checkpointId > lastSubsumedCheckpointId) {
      lastSubsumedCheckpointId = checkpoint.checkpointId;
    }
  }
  let lowestRetainedCheckpointId: CheckpointId | undefined;
  for (const c of retained) {
    if (lowestRetainedCheckpointId === undefined || c.checkpointId < lowestRetainedCheckpointId) {
      lowestRetainedCheckpointId = c.checkpointId;
    }
  }
  return { retained, subsumed, lastSubsumedCheckpointId, lowestRetainedCheckpointId };
}

function canSubsume<C extends RetainedCheckpoint>(
  entry: C,
  latest: C,
  latestCheckpoint: C | undefined,
): boolean {
  if (entry === latest) return false;
  if (isSavepoint(entry.kind)) return true;
  if (isSynchronous(latest.kind)) return true;
  return entry !== latestCheckpoint;
}

/** A retained snapshot passed over during restore, and why. */
export interface SkippedCheckpoint {
  readonly checkpointId: CheckpointId;
  readonly reason: string;
}

/** Where recovery starts from. */
export type RestoreDecision<C> =
  /** Restore from `checkpoint`; `skipped` lists newer ones that could not be read, newest first. */
  | { readonly kind: 'restore'; readonly checkpoint: C; readonly skipped: readonly SkippedCheckpoint[] }
  /** Nothing was ever retained: start from the beginning (or the configured savepoint). */
  | { readonly kind: 'no-checkpoint' }
  /**
   * Every retained snapshot is unreadable. Starting empty would silently drop committed progress,
   * so the job must fail with the reasons.
   */
  | { readonly kind: 'unrecoverable'; readonly skipped: readonly SkippedCheckpoint[] };

/**
 * Picks the newest retained snapshot that is not known to be unreadable, falling back to older
 * ones and saying why each newer one was passed over. `retainedNewestFirst` is the store's content,
 * newest first; `unreadable` maps ids to what went wrong reading them.
 */
export function chooseCheckpointToRestore<C extends RetainedCheckpoint>(
  retainedNewestFirst: readonly C[],
  unreadable: ReadonlyMap<CheckpointId, string>,
): RestoreDecision<C> {
  if (retainedNewestFirst.length === 0) return { kind: 'no-checkpoint' };
  const skipped: SkippedCheckpoint[] = [];
  for (const checkpoint of retainedNewestFirst) {
    const reason = unreadable.get(checkpoint.checkpointId);
    if (reason === undefined) return { kind: 'restore', checkpoint, skipped };
    skipped.push({ checkpointId: checkpoint.checkpointId, reason });
  }
  return { kind: 'unrecoverable', skipped };
}
