/** Accounting for one in-flight checkpoint on the coordinator: who must acknowledge, who did, and with what. */
import { invariant } from '../core/errors.js';
import type { CheckpointId } from '../core/ids.js';
import type { CheckpointFailureReason } from './checkpoint-failure-reason.js';
import { isSavepoint, type SnapshotKind } from './snapshot-kind.js';

/**
 * The outcome of an acknowledgement, as a value (Flink's TaskAcknowledgeResult): late and repeated
 * messages are normal in a distributed run, not errors.
 */
export const TaskAcknowledgeResults = {
  /** First acknowledgement of a task this checkpoint waits for; its payload is kept. */
  SUCCESS: 'SUCCESS',
  /** The task already acknowledged; the caller discards the new payload. */
  DUPLICATE: 'DUPLICATE',
  /** The checkpoint does not wait for this task; the caller discards the payload. */
  UNKNOWN: 'UNKNOWN',
  /** The checkpoint was aborted or finalized already; the caller discards the payload. */
  DISCARDED: 'DISCARDED',
} as const;

/** One of SUCCESS, DUPLICATE, UNKNOWN, DISCARDED. */
export type TaskAcknowledgeResult = keyof typeof TaskAcknowledgeResults;

/** What a pending checkpoint is created from. */
export interface PendingCheckpointInit {
  readonly checkpointId: CheckpointId;
  /** When the coordinator triggered it (ms); acknowledgement durations are measured from here. */
  readonly triggerTimestamp: number;
  /** Keys of the tasks that must acknowledge, e.g. `${vertexId}:${subtask}`. */
  readonly tasksToAcknowledge: Iterable<string>;
  /**
   * Tasks that had already finished when the checkpoint was planned (FLIP-147). They are not
   * waited for; the completed checkpoint records them so that restore skips their lifecycle.
   */
  readonly finishedTasks?: Iterable<string>;
  /** Defaults to a regular checkpoint. */
  readonly kind?: SnapshotKind;
}

/** Per-task statistics for the REST checkpoint details. */
export interface TaskAcknowledgement {
  /** When the acknowledgement arrived (ms). */
  readonly ackTimestamp: number;
  /** ackTimestamp - triggerTimestamp, Flink's end_to_end_duration of the subtask. */
  readonly endToEndDurationMs: number;
  /** Whether the task sent state; a stateless task acknowledges with none. */
  readonly hasState: boolean;
}

/** A fully acknowledged checkpoint, handed over for finalization (metadata write, store). */
export interface CompletedCheckpointData<P> {
  readonly checkpointId: CheckpointId;
  readonly kind: SnapshotKind;
  readonly triggerTimestamp: number;
  readonly completionTimestamp: number;
  /** The state each stateful task acknowledged with; stateless tasks are absent. */
  readonly taskStates: ReadonlyMap<string, P>;
  /** Tasks that were finished when the checkpoint was planned. */
  readonly finishedTasks: ReadonlySet<string>;
  readonly acknowledgements: ReadonlyMap<string, TaskAcknowledgement>;
}

/** The result of aborting: the payloads the caller must now discard (delete their private files). */
export interface AbortedPendingCheckpoint<P> {
  readonly discardedPayloads: readonly P[];
}

/**
 * One in-flight checkpoint (Flink's PendingCheckpoint), without I/O or futures: it only counts.
 * The coordinator owns it, feeds it acknowledgements, and carries out what it returns. Once aborted
 * or finalized it is disposed: it keeps its statistics but no longer holds state.
 */
export class PendingCheckpoint<P> {
  /** The checkpoint's id. */
  readonly checkpointId: CheckpointId;
  /** When it was triggered (ms). */
  readonly triggerTimestamp: number;
  /** Checkpoint, savepoint or synchronous savepoint. */
  readonly kind: SnapshotKind;

  readonly #notYetAcknowledged: Set<string>;
  readonly #acknowledged = new Map<string, TaskAcknowledgement>();
  readonly #finished: ReadonlySet<string>;
  readonly #numberOfTasks: number;
  #states = new Map<string, P>();
  #disposed = false;
  #failureReason: CheckpointFailureReason | undefined;

  constructor(init: PendingCheckpointInit) {
    this.checkpointId = init.checkpointId;
    this.triggerTimestamp = init.triggerTimestamp;
    this.kind = init.kind ?? 'checkpoint';
    this.#notYetAcknowledged = new Set(init.tasksToAcknowledge);
    this.#finished = new Set(init.finishedTasks ?? []);
    this.#numberOfTasks = this.#notYetAcknowledged.size;
    for (const task of this.#finished) {
      invariant(
        !this.#notYetAcknowledged.has(task),
        `task ${task} is both finished and expected to acknowledge`,
      );
    }
  }

  /**
   * Records a task's acknowledgement. `payload` is its state, or undefined for a stateless task.
   * Anything but SUCCESS leaves ownership of the payload with the caller, who must discard it.
   */
  acknowledgeTask(taskKey: string, payload: P | undefined, ackTimestamp: number): TaskAcknowledgeResult {
    if (this.#disposed) return 'DISCARDED';
    if (!this.#notYetAcknowledged.delete(taskKey)) {
      return this.#acknowledged.has(taskKey) ? 'DUPLICATE' : 'UNKNOWN';
    }
    this.#acknowledged.set(taskKey, {
      ackTimestamp,
      endToEndDurationMs: Math.max(0, ackTimestamp - this.triggerTimestamp),
      hasState: payload !== undefined,
    });
    if (payload !== undefined) this.#states.set(taskKey, payload);
    return 'SUCCESS';
  }

  /** Every task it waits for has acknowledged, and it was neither aborted nor finalized. */
  isFullyAcknowledged(): boolean {
    return !this.#disposed && this.#notYetAcknowledged.size === 0;
  }

  /**
   * Whether a newer completed checkpoint may abort this one as CHECKPOINT_SUBSUMED. Savepoints
   * never are: the user asked for that exact snapshot.
   */
  canBeSubsumed(): boolean {
    return !isSavepoint(this.kind);
  }

  /**
   * Aborts the checkpoint and hands back the acknowledged state for the caller to discard. Aborting
   * a disposed checkpoint returns nothing to discard. Subsuming a savepoint is a bug and throws.
   */
  abort(reason: CheckpointFailureReason): AbortedPendingCheckpoint<P> {
    invariant(
      reason !== 'CHECKPOINT_SUBSUMED' || this.canBeSubsumed(),
      `savepoint ${this.checkpointId} cannot be subsumed`,
    );
    if (this.#disposed) return { discardedPayloads: [] };
    this.#disposed = true;
    this.#failureReason = reason;
    const discardedPayloads = [...this.#states.values()];
    this.#states = new Map();
    return { discardedPayloads };
  }

  /**
   * Turns the fully acknowledged checkpoint into its completed form and disposes this one; the
   * state moves to the result, so nothing is discarded. Throws if acknowledgements are missing.
   */
  finalizeCheckpoint(completionTimestamp: number): CompletedCheckpointData<P> {
    invariant(
      this.isFullyAcknowledged(),
      `checkpoint ${this.checkpointId} finalized before every task acknowledged or after it was disposed`,
    );
    this.#disposed = true;
    const taskStates = this.#states;
    this.#states = new Map();
    return {
      checkpointId: this.checkpointId,
      kind: this.kind,
      triggerTimestamp: this.triggerTimestamp,
      completionTimestamp,
      taskStates,
      finishedTasks: this.#finished,
      acknowledgements: new Map(this.#acknowledged),
    };
  }

  /** Aborted or finalized: it no longer accepts acknowledgements. */
  get isDisposed(): boolean {
    return this.#disposed;
  }

  /** Why it was aborted, if it was. */
  get failureReason(): CheckpointFailureReason | undefined {
    return this.#failureReason;
  }

  /** How many tasks it waits for in total (excluding finished ones). */
  get numberOfTasks(): number {
    return this.#numberOfTasks;
  }

  /** How many of them have acknowledged. */
  get numberOfAcknowledgedTasks(): number {
    return this.#acknowledged.size;
  }

  /** The tasks still missing, for "checkpoint n expired waiting for …" messages. */
  notYetAcknowledgedTasks(): readonly string[] {
    return [...this.#notYetAcknowledged];
  }

  /** The tasks that were finished when it was planned. */
  get finishedTasks(): ReadonlySet<string> {
    return this.#finished;
  }

  /** Acknowledgement statistics per task, in arrival order. */
  get acknowledgements(): ReadonlyMap<string, TaskAcknowledgement> {
    return this.#acknowledged;
  }

  /** The latest acknowledgement time, Flink's latest_ack_timestamp; undefined before the first. */
  get latestAckTimestamp(): number | undefined {
    let latest: number | undefined;
    for (const ack of this.#acknowledged.values()) {
      if (latest === undefined || ack.ackTimestamp > latest) latest = ack.ackTimestamp;
    }
    return latest;
  }
}
