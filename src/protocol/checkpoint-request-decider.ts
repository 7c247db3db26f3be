/** Whether a checkpoint or savepoint request may run now, wait, or be dropped (Flink's CheckpointRequestDecider). */
import { invariant } from '../core/errors.js';
import type { CheckpointFailureReason } from './checkpoint-failure-reason.js';
import { isSavepoint, type SnapshotKind } from './snapshot-kind.js';

/** Flink's DEFAULT_MAX_QUEUED_REQUESTS: requests beyond this are dropped. */
export const DEFAULT_MAX_QUEUED_REQUESTS = 1000;

/** A request to trigger a snapshot, with what the decision depends on. */
export interface CheckpointTriggerRequest {
  readonly kind: SnapshotKind;
  /** Came from the periodic scheduler (rather than a user or the final checkpoint). */
  readonly isPeriodic: boolean;
  /**
   * Ignores max-concurrent-checkpoints. Flink forces savepoints unless unaligned checkpoints are
   * enabled (which cannot run concurrently); regular checkpoints are never forced.
   */
  readonly isForce: boolean;
  /** When the request was made (ms); earlier requests go first among equals. */
  readonly timestamp: number;
}

/** The configuration the decision depends on. */
export interface CheckpointRequestDeciderConfig {
  /** `execution.checkpointing.max-concurrent-checkpoints` (default 1). */
  readonly maxConcurrentCheckpoints: number;
  /** `execution.checkpointing.min-pause` in ms (default 0). */
  readonly minPauseMs: number;
  /** Queue bound; defaults to {@link DEFAULT_MAX_QUEUED_REQUESTS}. */
  readonly maxQueuedRequests?: number;
}

/** The coordinator's state at the moment of deciding. */
export interface CheckpointRequestFacts {
  readonly now: number;
  /** Another trigger is still being set up (ids, storage location, coordinator snapshots). */
  readonly isTriggering: boolean;
  /** Checkpoints triggered and not yet completed or aborted. */
  readonly numPendingCheckpoints: number;
  /** Completed or aborted checkpoints whose files are still being deleted. */
  readonly numCleaningCheckpoints?: number;
  /** When the last checkpoint completed (ms); undefined if none has, so no pause applies. */
  readonly lastCheckpointCompletionMs: number | undefined;
}

/**
 * The decision for one request:
 * - `trigger`: run it now.
 * - `queue`: keep it until a trigger, completion, abort or cleanup changes the facts.
 * - `delay`: a periodic request inside the min-pause. Flink fails that request with
 *   MINIMUM_TIME_BETWEEN_CHECKPOINTS (which the failure manager ignores) and reschedules the
 *   periodic trigger for `untilMs`; do the same.
 */
export type CheckpointTriggerDecision =
  | { readonly kind: 'trigger' }
  | {
      readonly kind: 'queue';
      readonly reason:
        'trigger-in-progress' | 'too-many-pending-checkpoints' | 'too-many-cleaning-checkpoints';
    }
  | { readonly kind: 'delay'; readonly untilMs: number; readonly reason: 'MINIMUM_TIME_BETWEEN_CHECKPOINTS' };

/**
 * Decides for the request at the head of the queue (pure). User requests are never held back by
 * the min-pause; forced ones also ignore max-concurrent; nothing starts while another trigger is
 * being set up or while more checkpoints are being cleaned up than may run at once.
 */
export function decideCheckpointTrigger(
  request: CheckpointTriggerRequest,
  config: CheckpointRequestDeciderConfig,
  facts: CheckpointRequestFacts,
): CheckpointTriggerDecision {
  if (facts.isTriggering) return { kind: 'queue', reason: 'trigger-in-progress' };
  if ((facts.numCleaningCheckpoints ?? 0) > config.maxConcurrentCheckpoints) {
    return { kind: 'queue', reason: 'too-many-cleaning-checkpoints' };
  }
  if (facts.numPendingCheckpoints >= config.maxConcurrentCheckpoints) {
    return request.isForce ? { kind: 'trigger' } : { kind: 'queue', reason: 'too-many-pending-checkpoints' };
  }
  if (!request.isForce && request.isPeriodic && facts.lastCheckpointCompletionMs !== undefined) {
    const untilMs = facts.lastCheckpointCompletionMs + config.minPauseMs;
    if (untilMs > facts.now) return { kind: 'delay', untilMs, reason: 'MINIMUM_TIME_BETWEEN_CHECKPOINTS' };
  }
  return { kind: 'trigger' };
}

/**
 * Delay before the first periodic trigger: uniform in [minPause, interval], so that many jobs
 * started together do not checkpoint in lockstep. `random` is uniform in [0, 1).
 */
export function initialPeriodicTriggerDelay(intervalMs: number, minPauseMs: number, random: number): number {
  const low = Math.min(minPauseMs, intervalMs);
  return low + Math.floor(random * (intervalMs - low + 1));
}

/** A request the decider gave up on, and why; the caller fails it with that reason. */
export interface DroppedRequest<R> {
  readonly request: R;
  readonly reason: Extract<
    CheckpointFailureReason,
    'TOO_MANY_CHECKPOINT_REQUESTS' | 'MINIMUM_TIME_BETWEEN_CHECKPOINTS'
  >;
}

/** What to do after offering a request or re-checking the queue. */
export interface CheckpointRequestOutcome<R> {
  /** The request to trigger now, if any. */
  readonly execute: R | undefined;
  /** Requests to fail. */
  readonly dropped: readonly DroppedRequest<R>[];
  /** When a periodic request fell inside the min-pause: reschedule the periodic trigger here. */
  readonly rescheduleAtMs: number | undefined;
}

interface Queued<R> {
  readonly request: R;
  readonly seq: number;
}

/** Savepoints first, then forced, then user before periodic, then oldest first. */
function compare<R extends CheckpointTriggerRequest>(a: Queued<R>, b: Queued<R>): number {
  const x = a.request;
  const y = b.request;
  if (isSavepoint(x.kind) !== isSavepoint(y.kind)) return isSavepoint(x.kind) ? -1 : 1;
  if (x.isForce !== y.isForce) return x.isForce ? -1 : 1;
  if (x.isPeriodic !== y.isPeriodic) return x.isPeriodic ? 1 : -1;
  if (x.timestamp !== y.timestamp) return x.timestamp - y.timestamp;
  // Flink breaks ties by identity hash; arrival order is deterministic.
  return a.seq - b.seq;
}

/**
 * The queue of trigger requests (Flink's CheckpointRequestDecider): every request is queued, in
 * priority order, and the head is taken when {@link decideCheckpointTrigger} allows. Holds no
 * timers; the caller reschedules the periodic trigger and re-offers the queue after each trigger,
 * completion or abort via {@link chooseQueuedRequestToExecute}.
 */
export class CheckpointRequestDecider<R extends CheckpointTriggerRequest> {
  readonly #config: Required<CheckpointRequestDeciderConfig>;
  #queue: Queued<R>[] = [];
  #seq = 0;

  constructor(config: CheckpointRequestDeciderConfig) {
    const maxQueuedRequests = config.maxQueuedRequests ?? DEFAULT_MAX_QUEUED_REQUESTS;
    invariant(
      Number.isInteger(config.maxConcurrentCheckpoints) && config.maxConcurrentCheckpoints > 0,
      `max-concurrent-checkpoints must be a positive integer, got ${config.maxConcurrentCheckpoints}`,
    );
    invariant(maxQueuedRequests > 0, `the request queue bound must be positive, got ${maxQueuedRequests}`);
    this.#config = { ...config, maxQueuedRequests };
  }

  /**
   * Queues a new request and decides what runs. When the queue is full of user requests the new
   * one is dropped; otherwise the lowest-priority entry is evicted, both with
   * TOO_MANY_CHECKPOINT_REQUESTS.
   */
  chooseRequestToExecute(newRequest: R, facts: CheckpointRequestFacts): CheckpointRequestOutcome<R> {
    const last = this.#queue.at(-1);
    if (
      this.#queue.length >= this.#config.maxQueuedRequests &&
      last !== undefined &&
      !last.request.isPeriodic
    ) {
      return {
        execute: undefined,
        dropped: [{ request: newRequest, reason: 'TOO_MANY_CHECKPOINT_REQUESTS' }],
        rescheduleAtMs: undefined,
      };
    }
    const entry: Queued<R> = { request: newRequest, seq: this.#seq++ };
    const at = this.#queue.findIndex((q) => compare(entry, q) < 0);
    this.#queue.splice(at === -1 ? this.#queue.length : at, 0, entry);
    const dropped: DroppedRequest<R>[] = [];
    if (this.#queue.length > this.#config.maxQueuedRequests) {
      dropped.push({ request: this.#queue.pop()!.request, reason: 'TOO_MANY_CHECKPOINT_REQUESTS' });
    }
    const outcome = this.chooseQueuedRequestToExecute(facts);
    return { ...outcome, dropped: [...dropped, ...outcome.dropped] };
  }

  /** Re-checks the head of the queue after the facts changed. */
  chooseQueuedRequestToExecute(facts: CheckpointRequestFacts): CheckpointRequestOutcome<R> {
    const head = this.#queue[0];
    if (head === undefined) return { execute: undefined, dropped: [], rescheduleAtMs: undefined };
    const decision = decideCheckpointTrigger(head.request, this.#config, facts);
    switch (decision.kind) {
      case 'trigger':
        this.#queue.shift();
        return { execute: head.request, dropped: [], rescheduleAtMs: undefined };
      case 'queue':
        return { execute: undefined, dropped: [], rescheduleAtMs: undefined };
      case 'delay':
        this.#queue.shift();
        return {
          execute: undefined,
          dropped: [{ request: head.request, reason: decision.reason }],
          rescheduleAtMs: decision.untilMs,
        };
    }
  }

  /** Empties the queue (scheduler stopped, coordinator shut down); the caller fails each request. */
  abortAll(): readonly R[] {
    const all = this.#queue.map((q) => q.request);
    this.#queue = [];
    return all;
  }

  /** How many requests wait. */
  get numQueuedRequests(): number {
    return this.#queue.length;
  }
}
