/**
 * The CheckpointCoordinator (JobManager side): triggers checkpoints periodically, tracks each
 * pending one until every task acknowledged, then writes `_metadata`, keeps the completed ones
 * the retention allows, and notifies the tasks; aborts on decline, failure or timeout. The
 * decisions come from src/protocol; this class carries them out (timers, storage, messages).
 */
import type { Cancellable, Clock } from '../core/clock.js';
import { SluiceError } from '../core/errors.js';
import type { CheckpointId, JobId, OperatorId } from '../core/ids.js';
import { logger } from '../core/log.js';
import type { CheckpointingSubmission } from '../api/execution.js';
import { CheckpointFailureManager } from '../protocol/checkpoint-failure-manager.js';
import { failureReasonMessage, type CheckpointFailureReason } from '../protocol/checkpoint-failure-reason.js';
import {
  decideCheckpointTrigger,
  initialPeriodicTriggerDelay,
} from '../protocol/checkpoint-request-decider.js';
import { addCheckpointAndSubsumeOldest } from '../protocol/completed-checkpoint-retention.js';
import { PendingCheckpoint } from '../protocol/pending-checkpoint.js';
import {
  isSavepoint,
  type SavepointFormatType,
  type SavepointTarget,
  type SnapshotKind,
} from '../protocol/snapshot-kind.js';
import type { OperatorSubtaskState, SubtaskCheckpointMetrics } from '../runtime/checkpoint-gateway.js';
import {
  METADATA_FORMAT_VERSION,
  type CheckpointMetadata,
  type OperatorSnapshot,
} from '../storage/checkpoint-metadata.js';
import type { CheckpointStorage, CheckpointStorageLocation } from '../storage/checkpoint-storage.js';
import { keyedStateSize, stateSize } from '../storage/state-handle.js';
import { CheckpointSharedState } from './checkpoint-shared-state.js';
import { CheckpointStatsTracker } from './checkpoint-stats-tracker.js';
import {
  discardSavepointLocation,
  initializeSavepointLocation,
  savepointStorage,
} from '../storage/filesystem/savepoint-storage.js';

/** The checkpoint settings the coordinator acts on (the submission's, minus storage and retention). */
export type CheckpointCoordinatorSettings = Omit<CheckpointingSubmission, 'retention' | 'storage'>;

/** A subtask as the coordinator addresses it. */
export interface TaskRef {
  readonly key: string;
  readonly vertexIndex: number;
  readonly subtask: number;
}

/** Which tasks a new checkpoint triggers, waits for, and records as finished. */
export interface CheckpointPlan {
  readonly trigger: readonly TaskRef[];
  readonly ack: readonly TaskRef[];
}

/** A checkpoint that completed: its metadata is durable. */
export interface CompletedCheckpoint {
  readonly checkpointId: CheckpointId;
  readonly kind: SnapshotKind;
  readonly metadata: CheckpointMetadata;
  /** What storage.resolveCheckpoint/readState take. */
  readonly pointer: string;
  /** The directory users pass to `-s`, or Flink's not-addressable marker. */
  readonly externalPointer: string;
  readonly stateSize: number;
}

/** What the coordinator needs from the job around it. */
export interface CheckpointCoordinatorContext {
  readonly jobId: JobId;
  readonly jobName: string;
  readonly clock: Clock;
  readonly storage: CheckpointStorage;
  /** The tasks to trigger and to wait for now; undefined when not every task is running yet. */
  plan(): CheckpointPlan | undefined;
  /** Sends the trigger to a task; `savepoint` for a savepoint's (it travels on with the barrier). */
  triggerTask(task: TaskRef, checkpointId: number, timestamp: number, savepoint?: SavepointTarget): void;
  notifyComplete(checkpointId: number): void;
  notifyAborted(checkpointId: number): void;
  /** Coordinator (split enumerator) state at the trigger, by name. */
  snapshotMasterStates(checkpointId: number): { name: string; data: Uint8Array }[];
  /**
   * Coordinators in another process snapshot first (Flink's coordinator checkpoint future); the
   * trigger waits for it, and `snapshotMasterStates` then reads what they took. Undefined: none.
   */
  prepareMasterStates?(checkpointId: number): Promise<void> | undefined;
  /** The job's operators, for the metadata. */
  operators(): readonly {
    operatorId: OperatorId;
    uid?: string;
    name?: string;
    parallelism: number;
    maxParallelism: number;
  }[];
  /** Too many checkpoint failures: fail the job (it fails over). */
  failJob(error: Error): void;
  /** The job's state backend type (`state.backend.type`), recorded in savepoints. */
  readonly stateBackend?: string;
}

/** How a savepoint triggered with `triggerSavepoint` ended. */
export type SavepointOutcome =
  | { readonly kind: 'completed'; readonly checkpointId: number; readonly location: string }
  | { readonly kind: 'failed'; readonly checkpointId: number | undefined; readonly error: Error };

interface Pending {
  readonly checkpoint: PendingCheckpoint<readonly OperatorSubtaskState[]>;
  /** Where the snapshot goes: the job's chk-<n>, or a savepoint directory. */
  readonly location: CheckpointStorageLocation;
  /** What writes it: the job's checkpoint storage, or the savepoint directory's file storage. */
  readonly storage: CheckpointStorage;
  /** The savepoint's target, for a savepoint. */
  readonly savepoint: SavepointTarget | undefined;
  /** A savepoint's format (CANONICAL for checkpoints, unrecorded). */
  readonly formatType: SavepointFormatType;
  readonly masterStates: { name: string; data: Uint8Array }[];
  readonly timeout: Cancellable;
  readonly refs: ReadonlyMap<string, TaskRef>;
}

/** The coordinator of one job's checkpoints. */
export class CheckpointCoordinator {
  readonly stats: CheckpointStatsTracker;
  /** Reference counts of the shared (incremental) files of the retained checkpoints. */
  readonly sharedState: CheckpointSharedState;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private completed: CompletedCheckpoint[] = [];
  private periodic: Cancellable | undefined;
  private running = false;
  private triggering = false;
  private lastCompletionMs: number | undefined;
  /** Deletions of aborted checkpoints still running. */
  private readonly cleaning = new Set<Promise<void>>();
  /** Triggers under way: one may be creating its checkpoint's directory while the job ends. */
  private readonly triggers = new Set<Promise<unknown>>();
  /** Checkpoints writing their _metadata: shutdown waits for them, as an aborted one deletes its files only after. */
  private readonly completing = new Set<Promise<void>>();
  private readonly failures: CheckpointFailureManager;
  /** Callers of `triggerSavepoint` waiting for their savepoint to complete or fail. */
  private readonly savepointWaiters = new Map<number, (outcome: SavepointOutcome) => void>();
  private readonly log = logger('checkpoint-coordinator');

  constructor(
    readonly settings: CheckpointCoordinatorSettings,
    private readonly ctx: CheckpointCoordinatorContext,
  ) {
    this.stats = new CheckpointStatsTracker(settings.historySize);
    this.failures = new CheckpointFailureManager(settings.tolerableFailures);
    this.sharedState = new CheckpointSharedState(ctx.storage);
  }

  /** Completed checkpoints, oldest first. */
  get completedCheckpoints(): readonly CompletedCheckpoint[] {
    return this.completed;
  }

  /** Continues numbering after a restored checkpoint (ids are never reused). */
  setNextCheckpointId(id: number): void {
    this.nextId = Math.max(this.nextId, id);
  }

  /** Adopts a restored checkpoint as the newest completed one (so recovery can fall back to it). */
  adoptRestored(checkpoint: CompletedCheckpoint): void {
    if (!this.completed.some((c) => c.checkpointId === checkpoint.checkpointId))
      this.completed.push(checkpoint);
    // As Flink's restore: the registry is what the retained checkpoints' metadata say.
    this.sharedState.rebuild(this.completed);
    this.setNextCheckpointId(checkpoint.checkpointId + 1);
  }

  /** Starts periodic triggering (after the job's tasks are deployed). */
  startCheckpointScheduler(): void {
    this.running = true;
    this.scheduleNext(
      initialPeriodicTriggerDelay(this.settings.intervalMs, this.settings.minPauseMs, Math.random()),
    );
  }

  /** Stops periodic triggering; pending checkpoints are aborted with `reason`. */
  stopCheckpointScheduler(reason: CheckpointFailureReason): void {
    this.running = false;
    this.periodic?.cancel();
    this.periodic = undefined;
    this.abortPendingCheckpoints(reason);
  }

  /**
   * Aborts every pending checkpoint with `reason` (a region failover: tasks that would acknowledge
   * them are gone); not counted as checkpoint failures, and periodic triggering goes on.
   */
  abortPendingCheckpoints(reason: CheckpointFailureReason): void {
    for (const id of [...this.pending.keys()]) this.abort(id, reason, undefined, false);
  }

  private scheduleNext(delayMs: number): void {
    this.periodic?.cancel();
    this.periodic = this.ctx.clock.schedule(delayMs, () => {
      this.periodic = undefined;
      void this.triggerPeriodic();
    });
  }

  private async triggerPeriodic(): Promise<void> {
    if (!this.running) return;
    const now = this.ctx.clock.now();
    const decision = decideCheckpointTrigger(
      { kind: 'checkpoint', isPeriodic: true, isForce: false, timestamp: now },
      { maxConcurrentCheckpoints: this.settings.maxConcurrent, minPauseMs: this.settings.minPauseMs },
      {
        now,
        isTriggering: this.triggering,
        numPendingCheckpoints: this.pending.size,
        lastCheckpointCompletionMs: this.lastCompletionMs,
      },
    );
    if (decision.kind === 'delay') return this.scheduleNext(decision.untilMs - now);
    // Queued requests are simply re-tried at the next tick: periodic checkpoints do not pile up.
    this.scheduleNext(this.settings.intervalMs);
    if (decision.kind === 'trigger') await this.triggerCheckpoint();
  }

  /** Triggers one checkpoint now (if every task runs); resolves once the trigger went out. */
  triggerCheckpoint(): Promise<number | undefined> {
    return this.tracked(this.trigger(undefined)).then((t) =>
      t.kind === 'triggered' ? t.checkpointId : undefined,
    );
  }

  /**
   * Triggers a savepoint into a new directory under `targetDirectory` and resolves once it
   * completed or failed; never rejects. A savepoint is aligned, a full snapshot of every state
   * written into its own directory (self-contained, relocatable), and never deleted by Sluice.
   * An intermediate savepoint (`savepoint`) enters no retention and commits nothing (Flink 1.15+);
   * a synchronous one (`sync-savepoint`, stop-with-savepoint) is retained and notified like a
   * checkpoint, so sinks commit. `refused` says why when no task can take it now.
   */
  async triggerSavepoint(
    kind: SavepointTarget['kind'],
    targetDirectory: string,
    refused: () => string,
    formatType: SavepointFormatType = 'CANONICAL',
  ): Promise<SavepointOutcome> {
    const triggered = await this.tracked(this.trigger({ kind, targetDirectory, formatType }));
    if (triggered.kind === 'not-triggered')
      return savepointFailed(undefined, triggered.error?.message ?? refused());
    const { checkpointId } = triggered;
    return new Promise<SavepointOutcome>((resolve) => {
      if (this.pending.has(checkpointId)) this.savepointWaiters.set(checkpointId, resolve);
      else resolve(this.savepointEnded(checkpointId));
    });
  }

  /** The outcome of a savepoint no longer pending, from its statistics. */
  private savepointEnded(checkpointId: number): SavepointOutcome {
    const stats = this.stats.get(checkpointId);
    return stats?.status === 'COMPLETED' && stats.externalPath !== undefined
      ? { kind: 'completed', checkpointId, location: stats.externalPath }
      : savepointFailed(checkpointId, stats?.failureMessage ?? 'the savepoint was aborted');
  }

  /** Settles the caller waiting for savepoint `checkpointId`, if any. */
  private settleSavepoint(checkpointId: number, outcome: SavepointOutcome): void {
    const settle = this.savepointWaiters.get(checkpointId);
    if (!settle) return;
    this.savepointWaiters.delete(checkpointId);
    settle(outcome);
  }

  /** Shutdown waits for triggers under way. */
  private tracked<T>(trigger: Promise<T>): Promise<T> {
    const tracked = trigger.finally(() => this.triggers.delete(tracked));
    this.triggers.add(tracked);
    return tracked;
  }

  private async trigger(
    savepoint:
      { kind: SavepointTarget['kind']; targetDirectory: string; formatType: SavepointFormatType } | undefined,
  ): Promise<TriggerOutcome> {
    const plan = this.ctx.plan();
    if (!plan || plan.ack.length === 0) return NOT_TRIGGERED;
    const checkpointId = this.nextId++ as CheckpointId;
    const kind: SnapshotKind = savepoint?.kind ?? 'checkpoint';
    const timestamp = this.ctx.clock.now();
    this.triggering = true;
    let location: CheckpointStorageLocation;
    try {
      location = savepoint
        ? await initializeSavepointLocation(savepoint.targetDirectory, this.ctx.jobId, checkpointId)
        : await this.ctx.storage.initializeCheckpoint(this.ctx.jobId, checkpointId);
    } catch (e) {
      this.triggering = false;
      const error = e instanceof Error ? e : new Error(String(e));
      this.log.warn(
        { checkpointId, err: e },
        `could not initialize ${savepoint ? 'the savepoint directory' : 'checkpoint storage'}`,
      );
      this.onFailure(checkpointId, 'IO_EXCEPTION', error, kind);
      return { kind: 'not-triggered', error };
    }
    const target: SavepointTarget | undefined = savepoint && {
      kind: savepoint.kind,
      pointer: location.pointer,
    };
    const storage = target ? savepointStorage(target.pointer, this.ctx.storage) : this.ctx.storage;
    const discard = () =>
      target ? discardSavepointLocation(location) : this.ctx.storage.discardCheckpoint(location);
    this.triggering = false;
    const prepared = this.running ? this.ctx.prepareMasterStates?.(checkpointId) : undefined;
    if (prepared) {
      try {
        await prepared;
      } catch (e) {
        return this.enumeratorsFailed(checkpointId, discard, e, kind);
      }
    }
    if (!this.running) {
      await discard().catch(() => {});
      return NOT_TRIGGERED;
    }
    // The plan may have changed during the await; what counts is the state when triggers go out.
    const current = this.ctx.plan();
    if (!current) {
      await discard().catch(() => {});
      return NOT_TRIGGERED;
    }
    // Coordinator state and task triggers go out in one turn, so split assignments are either
    // in both the enumerator's and the reader's snapshot, or in neither.
    let masterStates: { name: string; data: Uint8Array }[];
    try {
      masterStates = this.ctx.snapshotMasterStates(checkpointId);
    } catch (e) {
      return this.enumeratorsFailed(checkpointId, discard, e, kind);
    }
    const checkpoint = new PendingCheckpoint<readonly OperatorSubtaskState[]>({
      checkpointId,
      triggerTimestamp: timestamp,
      tasksToAcknowledge: current.ack.map((t) => t.key),
      kind,
    });
    const timeout = this.ctx.clock.schedule(this.settings.timeoutMs, () =>
      this.abort(checkpointId, 'CHECKPOINT_EXPIRED', undefined, true),
    );
    this.pending.set(checkpointId, {
      checkpoint,
      location,
      storage,
      savepoint: target,
      formatType: savepoint?.formatType ?? 'CANONICAL',
      masterStates,
      timeout,
      refs: new Map(current.ack.map((t) => [t.key, t])),
    });
    this.stats.reportPending(
      checkpointId,
      timestamp,
      current.ack.length,
      target !== undefined,
      target?.kind === 'sync-savepoint',
      savepoint?.formatType,
    );
    this.log.debug(
      { checkpointId, job: this.ctx.jobName },
      `triggering ${snapshotName(kind)} ${checkpointId}`,
    );
    for (const task of current.trigger) this.ctx.triggerTask(task, checkpointId, timestamp, target);
    return { kind: 'triggered', checkpointId };
  }

  /** The enumerators could not snapshot for a checkpoint being triggered: it fails before reaching any task. */
  private async enumeratorsFailed(
    checkpointId: number,
    discard: () => Promise<void>,
    e: unknown,
    kind: SnapshotKind,
  ): Promise<TriggerOutcome> {
    await discard().catch(() => {});
    const error = e instanceof Error ? e : new Error(String(e));
    this.log.warn({ checkpointId, err: e }, 'the split enumerators could not snapshot');
    this.onFailure(checkpointId, 'TRIGGER_CHECKPOINT_FAILURE', error, kind);
    return { kind: 'not-triggered', error };
  }

  /** Where tasks write checkpoint `checkpointId`, while it is pending. */
  location(checkpointId: number): CheckpointStorageLocation | undefined {
    return this.pending.get(checkpointId)?.location;
  }

  /** A task reached the end of its input: it gets no more barriers, so trigger it directly. */
  notifyTaskEnded(task: TaskRef): void {
    for (const [id, p] of this.pending)
      if (p.refs.has(task.key) && p.checkpoint.notYetAcknowledgedTasks().includes(task.key))
        this.ctx.triggerTask(task, id, p.checkpoint.triggerTimestamp, p.savepoint);
  }

  receiveAcknowledgeMessage(
    taskKey: string,
    checkpointId: number,
    state: readonly OperatorSubtaskState[],
    metrics: SubtaskCheckpointMetrics,
  ): void {
    const p = this.pending.get(checkpointId);
    if (!p) {
      // Late or for an aborted checkpoint: its directory is discarded with it, the shared files
      // it wrote here.
      if (state.length > 0)
        this.discardSharedLater(
          checkpointId,
          this.ctx.storage.locationOf(this.ctx.jobId, checkpointId as CheckpointId),
          [state],
        );
      return;
    }
    const now = this.ctx.clock.now();
    const result = p.checkpoint.acknowledgeTask(taskKey, state.length > 0 ? state : undefined, now);
    if (result !== 'SUCCESS') return;
    this.stats.reportAck(checkpointId, taskKey, now, metrics);
    if (!p.checkpoint.isFullyAcknowledged()) return;
    const completing = this.completePendingCheckpoint(checkpointId, p).finally(() =>
      this.completing.delete(completing),
    );
    this.completing.add(completing);
  }

  receiveDeclineMessage(
    taskKey: string,
    checkpointId: number,
    reason: CheckpointFailureReason,
    error?: Error,
  ): void {
    if (!this.pending.has(checkpointId)) return;
    this.log.info(
      { checkpointId, task: taskKey, reason, err: error },
      `checkpoint ${checkpointId} declined by ${taskKey}`,
    );
    this.abort(checkpointId, reason, error, true);
  }

  private async completePendingCheckpoint(checkpointId: number, p: Pending): Promise<void> {
    p.timeout.cancel();
    const data = p.checkpoint.finalizeCheckpoint(this.ctx.clock.now());
    const kind = p.checkpoint.kind;
    // A savepoint holds full snapshots only: it refers to no shared file, and is never counted.
    const missing = isSavepoint(kind)
      ? undefined
      : this.sharedState.reserve(checkpointId, data.taskStates.values());
    if (missing !== undefined)
      return this.dropUnrestorable(checkpointId, p, data.taskStates.values(), missing);
    let completed: CompletedCheckpoint;
    try {
      const masterStates = [];
      for (const m of p.masterStates)
        masterStates.push({ name: m.name, handle: await p.storage.writeState(p.location, m.data) });
      const metadata = this.buildMetadata(
        checkpointId,
        data.triggerTimestamp,
        data.completionTimestamp,
        data.taskStates,
        p,
        masterStates,
        isSavepoint(kind),
      );
      const finalized = await p.storage.finalizeCheckpoint(p.location, metadata);
      const size = metadata.operators.reduce(
        (n, op) =>
          n +
          op.subtasks.reduce(
            (m, st) =>
              m +
              st.keyed.reduce((k, h) => k + keyedStateSize(h), 0) +
              st.operator.reduce((k, h) => k + stateSize(h), 0),
            0,
          ),
        0,
      );
      completed = {
        checkpointId: checkpointId as CheckpointId,
        kind,
        metadata,
        pointer: finalized.pointer,
        externalPointer: finalized.externalPointer,
        stateSize: size,
      };
    } catch (e) {
      if (this.pending.get(checkpointId) !== p) {
        // Aborted meanwhile (reported and counted there): only its files are left to delete.
        this.discardPendingLater(checkpointId, p);
        return;
      }
      this.pending.delete(checkpointId);
      const error = e instanceof Error ? e : new Error(String(e));
      this.log.warn(
        { checkpointId, err: error },
        `${snapshotName(kind)} ${checkpointId} could not be finalized`,
      );
      this.stats.reportFailed(checkpointId, this.ctx.clock.now(), error.message);
      this.discardPendingLater(checkpointId, p);
      this.ctx.notifyAborted(checkpointId);
      this.settleSavepoint(checkpointId, savepointFailed(checkpointId, error.message));
      this.onFailure(checkpointId, 'FINALIZE_CHECKPOINT_FAILURE', error, kind);
      return;
    }
    if (this.pending.get(checkpointId) !== p) {
      // Aborted while its metadata was being written (the job failed over or stopped): it must not
      // complete now, as recovery may already have chosen an older checkpoint. Its files go only
      // now that no write of ours can recreate them.
      this.discardPendingLater(checkpointId, p);
      return;
    }
    this.pending.delete(checkpointId);
    if (kind === 'savepoint') return this.completeIntermediateSavepoint(completed, data);
    const subsumed = addCheckpointAndSubsumeOldest(this.completed, completed, this.settings.numRetained);
    this.completed = [...subsumed.retained];
    // Registered (reserved, above) before the subsumed ones are unregistered: files both use
    // never reach 0.
    this.sharedState.registerCompleted(completed);
    // Older pending checkpoints can no longer complete usefully.
    for (const [id, older] of this.pending)
      if (id < checkpointId && older.checkpoint.canBeSubsumed())
        this.abort(id, 'CHECKPOINT_SUBSUMED', undefined, false);
    this.lastCompletionMs = data.completionTimestamp;
    this.failures.handleCheckpointSuccess(checkpointId as CheckpointId);
    this.reportCompleted(completed, data);
    this.ctx.notifyComplete(checkpointId);
    this.settleSavepoint(checkpointId, savepointCompleted(completed));
    // As Flink: report and notify first, then delete what the new checkpoint subsumed, in the
    // background (shutdown waits for it), so no failure can find the statistics behind the store.
    for (const s of subsumed.subsumed)
      if (s.discardState) {
        this.discardLater(s.checkpoint.checkpointId, s.checkpoint.pointer, 'subsumed');
        this.cleanUp(s.checkpoint.checkpointId, 'subsumed', this.sharedState.discardCheckpoint(s.checkpoint));
      }
  }

  /**
   * An intermediate savepoint completed (Flink 1.15+): it is the user's, outside the store, so it
   * subsumes nothing and aborts no pending checkpoint, and tasks are not notified (nothing commits).
   */
  private completeIntermediateSavepoint(
    completed: CompletedCheckpoint,
    data: { readonly triggerTimestamp: number; readonly completionTimestamp: number },
  ): void {
    this.reportCompleted(completed, data);
    this.settleSavepoint(completed.checkpointId, savepointCompleted(completed));
  }

  /** Statistics and the log line of a completed checkpoint or savepoint. */
  private reportCompleted(
    completed: CompletedCheckpoint,
    data: { readonly triggerTimestamp: number; readonly completionTimestamp: number },
  ): void {
    const { checkpointId, stateSize, externalPointer: path } = completed;
    this.stats.reportCompleted(checkpointId, data.completionTimestamp, stateSize, path);
    const duration = data.completionTimestamp - data.triggerTimestamp;
    const where = isSavepoint(completed.kind) ? ` at ${path}` : '';
    this.log.info(
      { checkpointId, job: this.ctx.jobName, sizeBytes: stateSize, durationMs: duration, path },
      `completed ${snapshotName(completed.kind)} ${checkpointId} (${stateSize} bytes, ${duration} ms)${where}`,
    );
  }

  /**
   * A fully acknowledged checkpoint that builds on shared state already deleted: completing it
   * would leave a checkpoint that cannot be restored. It is dropped, not counted as a failure:
   * the task that built on an outdated base has heard of the newer checkpoint by the next one.
   */
  private dropUnrestorable(
    checkpointId: number,
    p: Pending,
    states: Iterable<readonly OperatorSubtaskState[]>,
    why: string,
  ): void {
    this.pending.delete(checkpointId);
    this.stats.reportFailed(checkpointId, this.ctx.clock.now(), why);
    this.log.info({ checkpointId, job: this.ctx.jobName }, `checkpoint ${checkpointId} dropped: ${why}`);
    this.discardLater(checkpointId, p.location);
    this.discardSharedLater(checkpointId, p.location, states);
    this.ctx.notifyAborted(checkpointId);
  }

  private buildMetadata(
    checkpointId: number,
    triggerTimestamp: number,
    completionTimestamp: number,
    taskStates: ReadonlyMap<string, readonly OperatorSubtaskState[]>,
    p: Pending,
    masterStates: CheckpointMetadata['masterStates'],
    savepoint: boolean,
  ): CheckpointMetadata {
    const byOperator = new Map<OperatorId, Map<number, OperatorSubtaskState>>();
    for (const [key, states] of taskStates) {
      const ref = p.refs.get(key)!;
      for (const s of states) {
        let subtasks = byOperator.get(s.operatorId);
        if (!subtasks) byOperator.set(s.operatorId, (subtasks = new Map<number, OperatorSubtaskState>()));
        subtasks.set(ref.subtask, s);
      }
    }
    const operators: OperatorSnapshot[] = this.ctx.operators().map((op) => {
      const subtasks = byOperator.get(op.operatorId);
      return {
        operatorId: op.operatorId,
        ...(op.uid === undefined ? {} : { uid: op.uid }),
        ...(op.name === undefined ? {} : { name: op.name }),
        parallelism: op.parallelism,
        maxParallelism: op.maxParallelism,
        subtasks: [...(subtasks ?? new Map<number, OperatorSubtaskState>())]
          .sort((a, b) => a[0] - b[0])
          .map(([subtask, s]) => ({
            subtask,
            keyed: [...s.keyed],
            operator: [...s.operator],
            ...(s.channelState === undefined ? {} : { channelState: s.channelState }),
          })),
      };
    });
    return {
      formatVersion: METADATA_FORMAT_VERSION,
      jobId: this.ctx.jobId,
      checkpointId: checkpointId as CheckpointId,
      triggerTimestamp,
      completionTimestamp,
      isSavepoint: savepoint,
      ...(savepoint ? { savepointFormat: p.formatType } : {}),
      ...(savepoint && this.ctx.stateBackend !== undefined ? { stateBackend: this.ctx.stateBackend } : {}),
      operators,
      masterStates,
    };
  }

  /** Aborts pending checkpoint `checkpointId`: files deleted, tasks told, failure counted. */
  private abort(
    checkpointId: number,
    reason: CheckpointFailureReason,
    error: Error | undefined,
    count: boolean,
  ): void {
    const p = this.pending.get(checkpointId);
    if (!p) return;
    this.pending.delete(checkpointId);
    p.timeout.cancel();
    // Fully acknowledged and being finalized: completePendingCheckpoint deletes its files once
    // its own writes are done (deleting them now would race with the _metadata write).
    const finalizing = p.checkpoint.isDisposed;
    const { discardedPayloads } = p.checkpoint.abort(reason);
    const message = error
      ? `${failureReasonMessage(reason).replace(/\.$/u, '')}: ${error.message}`
      : failureReasonMessage(reason);
    this.stats.reportFailed(checkpointId, this.ctx.clock.now(), message);
    // A checkpoint in flight when the job ends is dropped as a matter of course: not news.
    const level = reason === 'CHECKPOINT_COORDINATOR_SHUTDOWN' && !p.savepoint ? 'debug' : 'info';
    this.log[level](
      { checkpointId, job: this.ctx.jobName, reason },
      `${snapshotName(p.checkpoint.kind)} ${checkpointId} aborted: ${message}`,
    );
    if (!finalizing) {
      if (p.savepoint) this.cleanUp(checkpointId, 'aborted', discardSavepointLocation(p.location));
      else {
        this.discardLater(checkpointId, p.location);
        this.discardSharedLater(checkpointId, p.location, discardedPayloads);
      }
    }
    this.ctx.notifyAborted(checkpointId);
    this.settleSavepoint(checkpointId, savepointFailed(checkpointId, message));
    if (count) this.onFailure(checkpointId, reason, error, p.checkpoint.kind);
  }

  /** Deletes the files of a pending checkpoint or savepoint that will not complete, in the background. */
  private discardPendingLater(checkpointId: number, p: Pending): void {
    if (p.savepoint) return this.cleanUp(checkpointId, 'aborted', discardSavepointLocation(p.location));
    this.discardLater(checkpointId, p.location);
    this.cleanUp(checkpointId, 'aborted', this.sharedState.release(checkpointId, p.location));
  }

  /** Deletes a checkpoint's files in the background; shutdown waits for every such deletion. */
  private discardLater(
    checkpointId: number,
    where: CheckpointStorageLocation | string,
    what: 'aborted' | 'subsumed' = 'aborted',
  ): void {
    this.cleanUp(checkpointId, what, this.ctx.storage.discardCheckpoint(where));
  }

  /** Deletes the shared files an uncompleted checkpoint's acknowledged state wrote, in the background. */
  private discardSharedLater(
    checkpointId: number,
    where: CheckpointStorageLocation | string,
    states: Iterable<readonly OperatorSubtaskState[]>,
  ): void {
    this.cleanUp(checkpointId, 'aborted', this.sharedState.discardUncompleted(where, states));
  }

  /** Tracks a deletion: shutdown waits for it, and a failure is logged, never thrown. */
  private cleanUp(checkpointId: number, what: 'aborted' | 'subsumed', deletion: Promise<void>): void {
    const done = deletion
      .catch((e: unknown) => this.log.warn({ checkpointId, err: e }, `could not delete a ${what} checkpoint`))
      .finally(() => this.cleaning.delete(done));
    this.cleaning.add(done);
  }

  private onFailure(
    checkpointId: number,
    reason: CheckpointFailureReason,
    error: Error | undefined,
    kind: SnapshotKind = 'checkpoint',
  ): void {
    const decision = this.failures.handleCheckpointException({
      reason,
      checkpointId: checkpointId as CheckpointId,
      kind,
    });
    if (decision.kind === 'fail-job')
      this.ctx.failJob(
        new SluiceError(
          'SLUICE_CHECKPOINT_FAILED',
          `${decision.message} Checkpoint ${checkpointId} failed: ${failureReasonMessage(reason).replace(/\.$/u, '')}` +
            `${error ? ` (${error.message})` : ''}. Raise execution.checkpointing.tolerable-failed-checkpoints to tolerate more.`,
          { cause: error },
        ),
      );
  }

  /** The job ended; deletes what the retention policy does not keep. */
  async shutdown(keepCompleted: boolean): Promise<void> {
    this.stopCheckpointScheduler('CHECKPOINT_COORDINATOR_SHUTDOWN');
    // No aborted checkpoint's directory may outlive the job: neither one still being created (its
    // trigger discards it once it sees the coordinator stopped), nor one aborted while it was being
    // finalized, whose deletion is queued only once its own writes are done.
    await Promise.allSettled([...this.triggers]);
    await Promise.allSettled([...this.completing]);
    await Promise.all([...this.cleaning]);
    if (keepCompleted) return;
    // Savepoints, and the snapshot the job was started from (-s, NO_CLAIM), belong to the user.
    for (const c of this.completed)
      if (!isSavepoint(c.kind)) await this.ctx.storage.discardCheckpoint(c.pointer).catch(() => {});
    this.completed = [];
    await this.ctx.storage.disposeJob(this.ctx.jobId, { keepCheckpoints: false }).catch(() => {});
  }
}

/** What a trigger did: sent a checkpoint to the tasks, or did not (with the error, if one failed it). */
type TriggerOutcome =
  | { readonly kind: 'triggered'; readonly checkpointId: number }
  | { readonly kind: 'not-triggered'; readonly error?: Error };

const NOT_TRIGGERED: TriggerOutcome = { kind: 'not-triggered' };

/** How logs name a snapshot of this kind. */
function snapshotName(kind: SnapshotKind): string {
  return kind === 'checkpoint' ? 'checkpoint' : kind === 'savepoint' ? 'savepoint' : 'stop-with-savepoint';
}

/** The outcome of a savepoint that completed. */
function savepointCompleted(completed: CompletedCheckpoint): SavepointOutcome {
  return { kind: 'completed', checkpointId: completed.checkpointId, location: completed.externalPointer };
}

/** A failed savepoint, with Flink's exception name. */
export function savepointFailed(checkpointId: number | undefined, message: string): SavepointOutcome {
  const error = new Error(message);
  error.name = 'CheckpointException';
  return { kind: 'failed', checkpointId, error };
}
