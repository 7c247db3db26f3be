/**
 * The JobManager side of one job: hosts the source coordinators and the checkpoint coordinator,
 * deploys the job through a TaskManager gateway, follows every task, and on a failure applies
 * the restart strategy: cancel everything, restore from the latest completed checkpoint (falling
 * back to older ones that can be read), redeploy.
 */
import type { Clock } from '../core/clock.js';
import { SluiceError } from '../core/errors.js';
import type { OperatorId } from '../core/ids.js';
import { logger } from '../core/log.js';
import { MsgpackSerializer } from '../core/serializer.js';
import { mergeAccumulators, type AccumulatorRegistry } from '../api/accumulators.js';
import type { CheckpointStatsSnapshot } from '../api/checkpoint-stats.js';
import {
  JobExecutionResult,
  type CheckpointingSubmission,
  type JobClient,
  type JobStatus,
  type PipelineSubmission,
  type VertexMetrics,
} from '../api/execution.js';
import type { OperatorEvent } from '../api/operators/stream-operator.js';
import type { SourceSplit } from '../api/source/source.js';
import { failureReasonMessage, type CheckpointFailureReason } from '../protocol/checkpoint-failure-reason.js';
import {
  createRestartStrategy,
  notifyFailure,
  type RestartStrategyState,
} from '../protocol/restart-strategy.js';
import type {
  OperatorSubtaskState,
  SubtaskCheckpointMetrics,
  TaskCheckpointGateway,
  TaskRestoreState,
} from '../runtime/checkpoint-gateway.js';
import type { ExecutionState } from '../runtime/task.js';
import type { CheckpointStorage } from '../storage/checkpoint-storage.js';
import { createCheckpointStorage } from '../storage/create-checkpoint-storage.js';
import { CheckpointCoordinator, type TaskRef } from './checkpoint-coordinator.js';
import { restoreLatest, restoreFromPath, type LoadedRestore } from './job-restore.js';
import { pipelinedRegions } from './pipelined-regions.js';
import { SourceCoordinator } from './source-coordinator.js';
import type { StateBackendSettings } from '../state/state-backend.js';

/** What TaskManagers report back to the JobMaster. */
export interface JobMasterGateway {
  /** The deployment itself failed (no slots, a TaskManager refused or could not load the job). */
  onDeploymentFailed(error: Error): void;
  onTaskStateChanged(vertexIndex: number, subtask: number, state: ExecutionState, error?: Error): void;
  onTaskEnded(vertexIndex: number, subtask: number): void;
  onOperatorEvent(operatorId: OperatorId, subtask: number, event: OperatorEvent): void;
  onCollect(
    vertexIndex: number,
    subtask: number,
    collectId: string,
    records: readonly unknown[],
    commit: { checkpointId: number; subtask: number } | undefined,
  ): void;
  acknowledgeCheckpoint(
    vertexIndex: number,
    subtask: number,
    checkpointId: number,
    state: readonly OperatorSubtaskState[],
    metrics: SubtaskCheckpointMetrics,
  ): void;
  declineCheckpoint(
    vertexIndex: number,
    subtask: number,
    checkpointId: number,
    reason: CheckpointFailureReason,
    error?: Error,
  ): void;
}

/** One subtask of a job: a vertex index and a subtask index. */
export interface SubtaskAddress {
  readonly vertexIndex: number;
  readonly subtask: number;
}

/**
 * A job deployed on TaskManagers, as the JobMaster controls it. Commands for one subtask go to its
 * newest execution; after `restartTasks`, executions of several attempts run side by side.
 */
export interface DeployedJob {
  /** Cancels every task of the job and gives back its slots. */
  cancel(): void;
  /** Cancels these subtasks only (a pipelined region that failed). */
  cancelTasks(subtasks: readonly SubtaskAddress[]): void;
  /**
   * Deploys these subtasks again as attempt `attempt.attemptNumber`, reporting to `master`. The set
   * is closed under channels (a union of pipelined regions), so no channel leaves it.
   */
  restartTasks(
    subtasks: readonly SubtaskAddress[],
    master: JobMasterGateway,
    attempt: DeploymentAttempt,
  ): void;
  sendOperatorEvent(operatorId: OperatorId, subtask: number, event: OperatorEvent): void;
  triggerCheckpoint(vertexIndex: number, subtask: number, checkpointId: number, timestamp: number): void;
  notifyCheckpointComplete(checkpointId: number): void;
  notifyCheckpointAborted(checkpointId: number): void;
  /** Every task ended: let them all close and finish. */
  finishAll(): void;
  metrics(): VertexMetrics[];
  accumulators(): AccumulatorRegistry[];
}

/** One deployment of the job (the first, or one after a restart). */
export interface DeploymentAttempt {
  readonly attemptNumber: number;
  /** Restore state by `${vertexIndex}:${subtask}`. */
  readonly restore: ReadonlyMap<string, TaskRestoreState> | undefined;
  /** Per-task checkpoint gateway factory; undefined without checkpointing. */
  readonly checkpointing: ((vertexIndex: number, subtask: number) => TaskCheckpointGateway) | undefined;
}

/** Deploys all subtasks of a job (in-process now; over RPC in the cluster). */
export interface TaskManagerGateway {
  deploy(submission: PipelineSubmission, master: JobMasterGateway, attempt: DeploymentAttempt): DeployedJob;
}

const enumeratorStateName = (operatorId: OperatorId) => `enumerator:${operatorId}`;

/** Failures a JobMaster remembers for the REST API (Flink's `web.exception-history-size`). */
const EXCEPTION_HISTORY_SIZE = 16;

/** One failure of the job (a failed task, a checkpoint failure limit, a restore that failed). */
export interface JobFailureRecord {
  readonly timestamp: number;
  readonly error: Error;
  /** The failed task, when a task failed (absent for failures of the job as a whole). */
  readonly task?: { readonly vertexIndex: number; readonly subtask: number; readonly attemptNumber: number };
}

/** When the steps of one deployment attempt happened (ms since the epoch, on the JobMaster's clock). */
export interface AttemptTimings {
  readonly attemptNumber: number;
  /** The attempt began: the job started, or the restart delay after a failure was over. */
  readonly startedAt: number;
  /** The state to restore was read and planned, and the TaskManagers were asked to deploy. */
  readonly deployingAt: number | undefined;
  /** The JobMaster heard of the first task of the attempt RUNNING. */
  readonly firstRunningAt: number | undefined;
  /** The JobMaster heard of every task of the attempt RUNNING. */
  readonly allRunningAt: number | undefined;
}

/** How a checkpoint triggered with `triggerCheckpointNow()` ended. */
export type TriggeredCheckpoint =
  | { readonly kind: 'completed'; readonly checkpointId: number; readonly externalPath: string }
  | { readonly kind: 'failed'; readonly checkpointId: number | undefined; readonly error: Error };

/** Runs one job from deployment to a terminal status. */
export class JobMaster implements JobClient {
  private currentStatus: JobStatus = 'CREATED';
  private readonly statusEnteredAt = new Map<JobStatus, number>();
  private readonly failures: JobFailureRecord[] = [];
  private readonly checkpointWaiters = new Map<number, (outcome: TriggeredCheckpoint) => void>();
  private deployed: DeployedJob | undefined;
  private coordinators = new Map<OperatorId, SourceCoordinator<SourceSplit>>();
  private taskStates: ExecutionState[][] = [];
  /** The attempt of each subtask's current execution; messages of older executions are dropped. */
  private taskAttempts: number[][] = [];
  private ended: boolean[][] = [];
  private endedCount = 0;
  private finishedTasks = 0;
  /** The newest attempt number given out (a full restart or a region restart takes the next). */
  private attemptNumber = 0;
  /** Pipelined regions when failover is by region and there is more than one; else undefined. */
  private readonly regions: ReturnType<typeof pipelinedRegions> | undefined;
  /** Task failures of this turn, failed over together (a lost TaskManager fails several at once). */
  private failedTasks: { task: SubtaskAddress & { attemptNumber: number }; error: Error }[] = [];
  /** Every task had ended once, so periodic checkpoints were stopped. */
  private checkpointsStoppedAtEnd = false;
  private readonly vertexOfOperator: ReadonlyMap<OperatorId, number>;
  private numRestarts = 0;
  private restartState: RestartStrategyState;
  private startedAt = 0;
  private timings: { -readonly [K in keyof AttemptTimings]: AttemptTimings[K] } | undefined;
  private readonly storage: CheckpointStorage | undefined;
  private readonly checkpoints: CheckpointCoordinator | undefined;
  private readonly enumeratorSerializer = new MsgpackSerializer<unknown>();
  private readonly result: Promise<JobExecutionResult>;
  private settle!: { resolve: (r: JobExecutionResult) => void; reject: (e: Error) => void };
  private readonly log = logger('job-master');

  constructor(
    private readonly submission: PipelineSubmission,
    private readonly taskManagers: TaskManagerGateway,
    private readonly clock: Clock,
    /** Split enumerators hosted in another process snapshot through this before each checkpoint. */
    prepareMasterStates?: (checkpointId: number) => Promise<void> | undefined,
  ) {
    this.statusEnteredAt.set('CREATED', clock.now());
    this.restartState = createRestartStrategy(submission.restartStrategy);
    const regions =
      submission.failoverStrategy === 'region' ? pipelinedRegions(submission.jobGraph) : undefined;
    this.regions = regions && regions.count > 1 ? regions : undefined;
    this.vertexOfOperator = new Map(
      submission.jobGraph.vertices.flatMap((v) => v.chain.map((n) => [n.operatorId, v.index] as const)),
    );
    this.result = new Promise((resolve, reject) => (this.settle = { resolve, reject }));
    // The caller may only look at the result later; never report it as unhandled meanwhile.
    this.result.catch(() => {});
    const cp = submission.checkpointing;
    if (cp) {
      this.storage = createCheckpointStorage(cp.storage);
      this.checkpoints = new CheckpointCoordinator(cp, {
        jobId: this.jobId,
        jobName: this.jobName,
        clock,
        storage: this.storage,
        plan: () => this.checkpointPlan(),
        triggerTask: (t, id, ts) => this.deployed?.triggerCheckpoint(t.vertexIndex, t.subtask, id, ts),
        notifyComplete: (id) => {
          for (const c of this.coordinators.values()) c.notifyCheckpointComplete(id);
          this.deployed?.notifyCheckpointComplete(id);
          this.settleCheckpointWaiter(id);
        },
        notifyAborted: (id) => {
          this.deployed?.notifyCheckpointAborted(id);
          this.settleCheckpointWaiter(id);
        },
        snapshotMasterStates: (id) => this.snapshotEnumerators(id),
        ...(prepareMasterStates ? { prepareMasterStates } : {}),
        operators: () =>
          submission.jobGraph.streamGraph.nodes.map((n) => ({
            operatorId: n.operatorId,
            ...(n.transformation.uid === undefined ? {} : { uid: n.transformation.uid }),
            parallelism: n.parallelism,
            maxParallelism: n.maxParallelism,
          })),
        failJob: (error) => this.handleFailure(error),
      });
    }
  }

  get jobId() {
    return this.submission.jobGraph.jobId;
  }
  get jobName() {
    return this.submission.jobGraph.jobName;
  }

  // Every status change goes through here, so the REST API can show when each status began.
  private get status(): JobStatus {
    return this.currentStatus;
  }
  private set status(status: JobStatus) {
    if (status !== this.currentStatus) this.statusEnteredAt.set(status, this.clock.now());
    this.currentStatus = status;
  }

  /** Deploys the job (restoring from `execution.state-recovery.path` if set). */
  start(): void {
    this.startedAt = this.clock.now();
    this.status = 'RUNNING';
    this.log.info(
      { jobId: this.jobId, job: this.jobName, regions: this.regions?.count ?? 1 },
      'job submitted',
    );
    void this.deployAttempt();
  }

  private newTimings(attempt: number) {
    const timings = {
      attemptNumber: attempt,
      startedAt: this.clock.now(),
      deployingAt: undefined as number | undefined,
      firstRunningAt: undefined as number | undefined,
      allRunningAt: undefined as number | undefined,
    };
    this.timings = timings;
    return timings;
  }

  private async deployAttempt(): Promise<void> {
    const attempt = this.attemptNumber;
    const timings = this.newTimings(attempt);
    let restore: Awaited<ReturnType<typeof restoreLatest>>;
    try {
      restore =
        attempt === 0 && this.submission.restorePath !== undefined
          ? await restoreFromPath(this.submission, this.submission.restorePath)
          : this.checkpoints && this.storage
            ? await restoreLatest(this.submission, this.storage, this.checkpoints.completedCheckpoints)
            : undefined;
    } catch (e) {
      // Nothing to restore from: restarting again cannot help.
      return this.failJob(e instanceof Error ? e : new Error(String(e)));
    }
    if (isJobTerminal(this.status) || attempt !== this.attemptNumber) return;
    if (restore) this.noteRestored(restore, 'job');
    const vertices = this.submission.jobGraph.vertices;
    this.taskStates = vertices.map((v) => new Array<ExecutionState>(v.parallelism).fill('CREATED'));
    this.taskAttempts = vertices.map((v) => new Array<number>(v.parallelism).fill(attempt));
    this.ended = vertices.map((v) => new Array<boolean>(v.parallelism).fill(false));
    this.endedCount = 0;
    this.finishedTasks = 0;
    this.checkpointsStoppedAtEnd = false;
    try {
      this.coordinators = new Map();
      for (const vertex of vertices) {
        const head = vertex.chain[0]!;
        if (!head.transformation.operator.source) continue;
        this.coordinators.set(
          head.operatorId,
          new SourceCoordinator(head.transformation.operator.source, vertex.parallelism, (subtask, event) =>
            this.deployed?.sendOperatorEvent(head.operatorId, subtask, event),
          ),
        );
      }
      const checkpoints = this.checkpoints;
      timings.deployingAt = this.clock.now();
      this.deployed = this.taskManagers.deploy(this.submission, this.gatewayFor(attempt), {
        attemptNumber: attempt,
        restore: restore?.plan.tasks,
        checkpointing:
          checkpoints && this.submission.checkpointing && this.storage
            ? this.taskGatewayFactory(checkpoints, this.storage)
            : undefined,
      });
      for (const [operatorId, c] of this.coordinators) {
        const bytes = restore?.plan.masterStates.get(enumeratorStateName(operatorId));
        c.start(
          bytes === undefined ? undefined : this.enumeratorSerializer.deserialize(bytes, 0, bytes.length),
        );
      }
      this.status = 'RUNNING';
      checkpoints?.startCheckpointScheduler();
    } catch (e) {
      this.handleFailure(e instanceof Error ? e : new Error(String(e)));
    }
  }

  private lastRestoredId: number | undefined;
  private restoredCount = 0;

  /** Counts and logs a restore of the job (or of some of its regions) from a checkpoint. */
  private noteRestored(restore: LoadedRestore, what: string): void {
    this.checkpoints?.adoptRestored(restore.checkpoint);
    this.checkpoints?.stats.reportRestored({
      id: restore.checkpoint.checkpointId,
      restoreTimestamp: this.clock.now(),
      isSavepoint: restore.checkpoint.metadata.isSavepoint,
      externalPath: restore.checkpoint.externalPointer,
    });
    this.lastRestoredId = restore.checkpoint.checkpointId;
    this.restoredCount++;
    this.log.info(
      {
        jobId: this.jobId,
        checkpointId: restore.checkpoint.checkpointId,
        path: restore.checkpoint.externalPointer,
      },
      `restoring ${what} from checkpoint ${restore.checkpoint.checkpointId} (${restore.checkpoint.externalPointer})`,
    );
  }

  /**
   * What the tasks of attempt `attempt` report through: a report of a subtask whose current
   * execution belongs to another attempt (one cancelled by a failover) is dropped here.
   */
  private gatewayFor(attempt: number): JobMasterGateway {
    const current = (vertexIndex: number, subtask: number) =>
      this.taskAttempts[vertexIndex]?.[subtask] === attempt;
    return {
      onDeploymentFailed: (error) => {
        if (this.taskAttempts.some((row) => row.includes(attempt))) this.onDeploymentFailed(error);
      },
      onTaskStateChanged: (v, s, state, error) => {
        if (current(v, s)) this.onTaskStateChanged(v, s, attempt, state, error);
      },
      onTaskEnded: (v, s) => {
        if (current(v, s)) this.onTaskEnded(v, s);
      },
      onOperatorEvent: (operatorId, s, event) => {
        const v = this.vertexOfOperator.get(operatorId);
        if (v !== undefined && current(v, s)) this.onOperatorEvent(operatorId, s, event);
      },
      onCollect: (v, s, collectId, records, commit) => {
        if (current(v, s)) this.submission.collectTargets.get(collectId)?.push(records, commit);
      },
      acknowledgeCheckpoint: (v, s, id, state, metrics) => {
        if (current(v, s)) this.acknowledgeCheckpoint(v, s, id, state, metrics);
      },
      declineCheckpoint: (v, s, id, reason, error) => {
        if (current(v, s)) this.declineCheckpoint(v, s, id, reason, error);
      },
    };
  }

  private taskGatewayFactory(checkpoints: CheckpointCoordinator, storage: CheckpointStorage) {
    const mode = this.submission.checkpointing!.mode;
    return (vertexIndex: number, subtask: number): TaskCheckpointGateway => ({
      mode,
      storage,
      location: (id) => checkpoints.location(id),
      acknowledgeCheckpoint: (id, state, metrics) =>
        this.acknowledgeCheckpoint(vertexIndex, subtask, id, state, metrics),
      declineCheckpoint: (id, reason, error) =>
        this.declineCheckpoint(vertexIndex, subtask, id, reason, error),
    });
  }

  private checkpointPlan(): { trigger: TaskRef[]; ack: TaskRef[] } | undefined {
    if (this.status !== 'RUNNING' || !this.deployed) return undefined;
    const vertices = this.submission.jobGraph.vertices;
    const trigger: TaskRef[] = [];
    const ack: TaskRef[] = [];
    for (const v of vertices)
      for (let s = 0; s < v.parallelism; s++) {
        if (this.taskStates[v.index]![s] !== 'RUNNING') return undefined;
        const ref = { key: `${v.index}:${s}`, vertexIndex: v.index, subtask: s };
        ack.push(ref);
        // Sources start barriers; tasks that ended get no more barriers, so they are triggered too.
        if (v.inputs.length === 0 || this.ended[v.index]![s]) trigger.push(ref);
      }
    if (this.endedCount === ack.length) return undefined;
    return { trigger, ack };
  }

  private snapshotEnumerators(checkpointId: number): { name: string; data: Uint8Array }[] {
    const out = [];
    for (const [operatorId, c] of this.coordinators) {
      const bytes = this.enumeratorSerializer.serialize(c.snapshotState(checkpointId));
      out.push({ name: enumeratorStateName(operatorId), data: bytes.slice() });
    }
    return out;
  }

  // --- from TaskManagers (asynchronous, as over RPC), through gatewayFor ---

  private onDeploymentFailed(error: Error): void {
    queueMicrotask(() => this.handleFailure(error));
  }

  private onTaskStateChanged(
    vertexIndex: number,
    subtask: number,
    attempt: number,
    state: ExecutionState,
    error?: Error,
  ): void {
    const row = this.taskStates[vertexIndex];
    if (!row) return;
    row[subtask] = state;
    if (state === 'RUNNING') this.noteRunning();
    if (isJobTerminal(this.status) || this.status === 'RESTARTING') return;
    if (state === 'FAILED')
      this.taskFailed(error ?? new Error('a task failed without an error'), {
        vertexIndex,
        subtask,
        attemptNumber: attempt,
      });
    else if (state === 'FINISHED' && ++this.finishedTasks === this.totalTasks()) this.finishJob();
  }

  private onTaskEnded(vertexIndex: number, subtask: number): void {
    queueMicrotask(() => {
      if (this.status !== 'RUNNING' || this.ended[vertexIndex]?.[subtask] !== false) return;
      this.ended[vertexIndex][subtask] = true;
      this.checkpoints?.notifyTaskEnded({ key: `${vertexIndex}:${subtask}`, vertexIndex, subtask });
      if (++this.endedCount === this.totalTasks()) {
        // Every task ended: no checkpoint can start any more; let them all finish.
        this.checkpoints?.stopCheckpointScheduler('CHECKPOINT_COORDINATOR_SHUTDOWN');
        this.checkpointsStoppedAtEnd = true;
        this.deployed?.finishAll();
      }
    });
  }

  private onOperatorEvent(operatorId: OperatorId, subtask: number, event: OperatorEvent): void {
    queueMicrotask(() => {
      if (this.status !== 'RUNNING') return;
      try {
        this.coordinators.get(operatorId)?.handleEventFromOperator(subtask, event);
      } catch (e) {
        this.handleFailure(
          new SluiceError(
            'SLUICE_USER_FUNCTION_FAILED',
            `the split enumerator of a source failed: ${String(e)}`,
            {
              cause: e,
            },
          ),
        );
      }
    });
  }

  private acknowledgeCheckpoint(
    vertexIndex: number,
    subtask: number,
    checkpointId: number,
    state: readonly OperatorSubtaskState[],
    metrics: SubtaskCheckpointMetrics,
  ): void {
    queueMicrotask(() =>
      this.checkpoints?.receiveAcknowledgeMessage(`${vertexIndex}:${subtask}`, checkpointId, state, metrics),
    );
  }

  private declineCheckpoint(
    vertexIndex: number,
    subtask: number,
    checkpointId: number,
    reason: CheckpointFailureReason,
    error?: Error,
  ): void {
    queueMicrotask(() =>
      this.checkpoints?.receiveDeclineMessage(`${vertexIndex}:${subtask}`, checkpointId, reason, error),
    );
  }

  private noteRunning(): void {
    const timings = this.timings;
    if (!timings || timings.allRunningAt !== undefined) return;
    timings.firstRunningAt ??= this.clock.now();
    if (this.taskStates.every((row) => row.every((s) => s === 'RUNNING')))
      timings.allRunningAt = this.clock.now();
  }

  private totalTasks(): number {
    return this.taskStates.reduce((n, v) => n + v.length, 0);
  }

  /**
   * A task failed. With region failover (and more than one region) the failures of this turn are
   * gathered and their regions restarted together; otherwise the whole job restarts.
   */
  private taskFailed(error: Error, task: NonNullable<JobFailureRecord['task']>): void {
    if (!this.regions) return this.handleFailure(error, task);
    this.failedTasks.push({ task, error });
    if (this.failedTasks.length === 1) queueMicrotask(() => this.failoverRegions());
  }

  /** Flink's RestartPipelinedRegionFailoverStrategy: restart only the regions of the failed tasks. */
  private failoverRegions(): void {
    const failed = this.failedTasks.filter(
      ({ task }) => this.taskAttempts[task.vertexIndex]?.[task.subtask] === task.attemptNumber,
    );
    this.failedTasks = [];
    const regions = this.regions!;
    if (failed.length === 0 || this.status !== 'RUNNING') return;
    const { error, task } = failed[0]!;
    this.recordFailure(error, task);
    const restarting = new Set(failed.map(({ task: t }) => regions.regions[t.vertexIndex]![t.subtask]!));
    const subtasks: SubtaskAddress[] = [];
    for (const v of this.submission.jobGraph.vertices)
      for (let s = 0; s < v.parallelism; s++)
        if (restarting.has(regions.regions[v.index]![s]!))
          subtasks.push({ vertexIndex: v.index, subtask: s });
    // Every report of the cancelled executions is stale from now on.
    const attempt = ++this.attemptNumber;
    for (const { vertexIndex, subtask } of subtasks) {
      this.taskAttempts[vertexIndex]![subtask] = attempt;
      this.taskStates[vertexIndex]![subtask] = 'CANCELED';
      if (this.ended[vertexIndex]![subtask]) this.endedCount--;
      this.ended[vertexIndex]![subtask] = false;
    }
    this.finishedTasks = this.taskStates.reduce(
      (n, row) => n + row.filter((s) => s === 'FINISHED').length,
      0,
    );
    this.checkpoints?.abortPendingCheckpoints('JOB_FAILOVER_REGION');
    this.deployed?.cancelTasks(subtasks);
    const delayMs = this.restartDelay(
      error,
      `${restarting.size} pipelined region(s) of ${regions.count} failed over, restarting ${subtasks.length} of ${this.totalTasks()} tasks`,
    );
    if (delayMs === undefined) return;
    this.clock.schedule(delayMs, () => void this.redeployRegions(subtasks, attempt));
  }

  /** Redeploys failed-over regions from the latest completed checkpoint, unless superseded. */
  private async redeployRegions(subtasks: readonly SubtaskAddress[], attempt: number): Promise<void> {
    const superseded = () =>
      this.status !== 'RUNNING' ||
      subtasks.some((t) => this.taskAttempts[t.vertexIndex]?.[t.subtask] !== attempt);
    if (superseded()) return;
    const timings = this.newTimings(attempt);
    const checkpoints = this.checkpoints;
    let restore: LoadedRestore | undefined;
    try {
      restore =
        checkpoints && this.storage
          ? await restoreLatest(this.submission, this.storage, checkpoints.completedCheckpoints)
          : undefined;
    } catch (e) {
      return this.failJob(e instanceof Error ? e : new Error(String(e)));
    }
    if (superseded()) return;
    const latest = checkpoints?.completedCheckpoints.at(-1);
    if (restore && latest && restore.checkpoint.checkpointId < latest.checkpointId)
      // The other regions went on past the checkpoint this region would fall back to, and split
      // assignments since then are forgotten: only the whole job can go back that far.
      return this.handleFailure(
        new SluiceError(
          'SLUICE_RESTORE_FAILED',
          `checkpoint ${latest?.checkpointId} cannot be read for a region failover; restarting the whole job from checkpoint ${restore.checkpoint.checkpointId}`,
        ),
      );
    if (restore) this.noteRestored(restore, `${subtasks.length} task(s)`);
    const keys = new Set<string>();
    for (const { vertexIndex, subtask } of subtasks) {
      keys.add(`${vertexIndex}:${subtask}`);
      this.taskStates[vertexIndex]![subtask] = 'CREATED';
    }
    const readers: { coordinator: SourceCoordinator<SourceSplit>; subtask: number }[] = [];
    for (const { vertexIndex, subtask } of subtasks) {
      const head = this.submission.jobGraph.vertices[vertexIndex]!.chain[0]!;
      const coordinator = this.coordinators.get(head.operatorId);
      if (!coordinator) continue;
      coordinator.subtaskReset(subtask, restore?.checkpoint.checkpointId);
      readers.push({ coordinator, subtask });
    }
    try {
      timings.deployingAt = this.clock.now();
      this.deployed?.restartTasks(subtasks, this.gatewayFor(attempt), {
        attemptNumber: attempt,
        restore: restore && new Map([...restore.plan.tasks].filter(([key]) => keys.has(key))),
        checkpointing:
          checkpoints && this.storage ? this.taskGatewayFactory(checkpoints, this.storage) : undefined,
      });
      for (const { coordinator, subtask } of readers) coordinator.addReader(subtask);
      if (this.checkpointsStoppedAtEnd && this.endedCount < this.totalTasks()) {
        this.checkpointsStoppedAtEnd = false;
        checkpoints?.startCheckpointScheduler();
      }
    } catch (e) {
      this.handleFailure(e instanceof Error ? e : new Error(String(e)));
    }
  }

  /**
   * Asks the restart strategy about one more failure: the delay before restarting (counted and
   * logged as `what`), or undefined once the job was failed with `error`.
   */
  private restartDelay(error: Error, what: string): number | undefined {
    const { state, decision } = notifyFailure(this.restartState, {
      now: this.clock.now(),
      random: Math.random(),
    });
    this.restartState = state;
    if (decision.kind === 'fail') {
      this.log.error({ jobId: this.jobId, job: this.jobName, err: error }, `job failed: ${decision.reason}`);
      this.failJob(error);
      return undefined;
    }
    this.numRestarts++;
    this.log.warn(
      {
        jobId: this.jobId,
        job: this.jobName,
        err: error,
        delayMs: decision.delayMs,
        restart: this.numRestarts,
      },
      `${what} (restart ${this.numRestarts} in ${decision.delayMs} ms): ${error.message}`,
    );
    return decision.delayMs;
  }

  /** A failure that restarts the whole job (if the strategy allows; else the job fails). */
  private handleFailure(error: Error, task?: JobFailureRecord['task']): void {
    if (isJobTerminal(this.status) || this.status === 'RESTARTING') return;
    this.recordFailure(error, task);
    this.checkpoints?.stopCheckpointScheduler('JOB_FAILOVER_REGION');
    this.deployed?.cancel();
    this.deployed = undefined;
    this.closeCoordinators();
    this.failedTasks = [];
    // Reports of the cancelled executions are stale from now on.
    for (const row of this.taskAttempts) row.fill(-1);
    for (const row of this.taskStates)
      for (let s = 0; s < row.length; s++) if (row[s] !== 'FINISHED') row[s] = 'CANCELED';
    const delayMs = this.restartDelay(error, 'job failed over');
    if (delayMs === undefined) return;
    this.status = 'RESTARTING';
    this.clock.schedule(delayMs, () => {
      if (this.status !== 'RESTARTING') return;
      this.attemptNumber++;
      void this.deployAttempt();
    });
  }

  private counts() {
    const stats = this.checkpoints?.stats.snapshot();
    return {
      completed: stats?.counts.completed ?? 0,
      failed: stats?.counts.failed ?? 0,
      restored: this.restoredCount,
      lastRestoredCheckpointId: this.lastRestoredId,
    };
  }

  private finishJob(): void {
    this.status = 'FINISHED';
    this.closeCoordinators();
    const runtime = this.clock.now() - this.startedAt;
    this.log.info({ jobId: this.jobId, job: this.jobName, runtimeMs: runtime }, 'job finished');
    const result = new JobExecutionResult(
      this.jobId,
      runtime,
      mergeAccumulators(this.deployed?.accumulators() ?? []),
      this.counts(),
      this.numRestarts,
    );
    void this.shutdownCheckpoints('FINISHED').finally(() => this.settle.resolve(result));
  }

  /**
   * Fails the job from outside its tasks (Flink's OperatorCoordinator.Context.failJob): a failover
   * when `restartable` and the restart strategy allow, else the job fails for good.
   */
  failGlobally(error: Error, restartable: boolean): void {
    if (restartable) this.handleFailure(error);
    else this.failJob(error);
  }

  private failJob(error: Error): void {
    if (isJobTerminal(this.status)) return;
    if (this.failures.at(-1)?.error !== error) this.recordFailure(error, undefined);
    this.status = 'FAILING';
    this.deployed?.cancel();
    this.closeCoordinators();
    this.status = 'FAILED';
    void this.shutdownCheckpoints('FAILED').finally(() => this.settle.reject(error));
  }

  /** Keeps or deletes checkpoints per `externalized-checkpoint-retention`, as Flink. */
  private async shutdownCheckpoints(outcome: 'FINISHED' | 'FAILED' | 'CANCELED'): Promise<void> {
    if (!this.checkpoints) return;
    const retention = this.submission.checkpointing!.retention;
    const keep =
      outcome === 'FAILED'
        ? retention !== 'NO_EXTERNALIZED_CHECKPOINTS'
        : outcome === 'CANCELED' && retention === 'RETAIN_ON_CANCELLATION';
    await this.checkpoints.shutdown(keep);
  }

  private closeCoordinators(): void {
    for (const c of this.coordinators.values()) {
      try {
        c.close();
      } catch (e) {
        this.log.warn({ err: e }, 'closing a split enumerator failed');
      }
    }
    this.coordinators = new Map();
  }

  private recordFailure(error: Error, task: JobFailureRecord['task']): void {
    this.failures.push({ timestamp: this.clock.now(), error, ...(task ? { task } : {}) });
    if (this.failures.length > EXCEPTION_HISTORY_SIZE) this.failures.shift();
  }

  private settleCheckpointWaiter(checkpointId: number): void {
    const settle = this.checkpointWaiters.get(checkpointId);
    if (!settle) return;
    this.checkpointWaiters.delete(checkpointId);
    settle(this.checkpointOutcome(checkpointId) ?? checkpointFailed(checkpointId, 'checkpoint aborted'));
  }

  private checkpointOutcome(checkpointId: number): TriggeredCheckpoint | undefined {
    const completed = this.checkpoints?.completedCheckpoints.find((c) => c.checkpointId === checkpointId);
    const stats = this.checkpoints?.stats.get(checkpointId);
    if (completed || stats?.status === 'COMPLETED')
      return {
        kind: 'completed',
        checkpointId,
        externalPath: completed?.externalPointer ?? stats?.externalPath ?? '',
      };
    if (stats?.status === 'FAILED')
      return checkpointFailed(checkpointId, stats.failureMessage ?? 'checkpoint failed');
    return undefined;
  }

  // --- read-only views for the REST API ---

  /** When the job was submitted (ms since the epoch). */
  get startTime(): number {
    return this.statusEnteredAt.get('CREATED')!;
  }

  /** When the job reached its terminal status, or undefined while it is not terminal. */
  get endTime(): number | undefined {
    return isJobTerminal(this.currentStatus) ? this.statusEnteredAt.get(this.currentStatus) : undefined;
  }

  /** When each status was last entered (ms since the epoch); statuses never reached are absent. */
  get statusTimestamps(): ReadonlyMap<JobStatus, number> {
    return this.statusEnteredAt;
  }

  /** The deployed job graph (vertices, their ids, parallelism and edges). */
  get jobGraph(): PipelineSubmission['jobGraph'] {
    return this.submission.jobGraph;
  }

  /** The execution state of every subtask of the current attempt, by vertex index then subtask. */
  get taskExecutionStates(): readonly (readonly ExecutionState[])[] {
    return this.taskStates;
  }

  /** The newest deployment attempt (0 for the first, +1 per restart of the job or of a region). */
  get currentAttemptNumber(): number {
    return this.attemptNumber;
  }

  /** The attempt of each subtask's current execution, by vertex index then subtask. */
  get taskAttemptNumbers(): readonly (readonly number[])[] {
    return this.taskAttempts;
  }

  /** When the steps of the current (or last) deployment attempt happened; undefined before the first. */
  get lastAttemptTimings(): AttemptTimings | undefined {
    return this.timings && { ...this.timings };
  }

  /** The most recent failures, oldest first (at most 16, Flink's `web.exception-history-size`). */
  get exceptionHistory(): readonly JobFailureRecord[] {
    return this.failures;
  }

  /** The restart strategy the job was submitted with (Flink's defaults resolved). */
  get restartStrategy(): PipelineSubmission['restartStrategy'] {
    return this.submission.restartStrategy;
  }

  /** STREAMING or BATCH, as the job runs (`execution.runtime-mode`, AUTOMATIC resolved). */
  /** The keyed state backend the job's tasks use (absent: the heap). */
  get stateBackend(): StateBackendSettings | undefined {
    return this.submission.stateBackend;
  }

  get runtimeMode(): 'STREAMING' | 'BATCH' {
    return this.submission.runtimeMode ?? 'STREAMING';
  }

  /** The job's global parameters (`setGlobalJobParameters`), as strings. */
  get globalJobParameters(): Readonly<Record<string, string>> {
    return this.submission.globalJobParameters ?? {};
  }

  /** The checkpoint settings; undefined without checkpointing. */
  get checkpointing(): CheckpointingSubmission | undefined {
    return this.submission.checkpointing;
  }

  /** The checkpoint coordinator; undefined without checkpointing. */
  get checkpointCoordinator(): CheckpointCoordinator | undefined {
    return this.checkpoints;
  }

  /** Where checkpoints are written; undefined without checkpointing. */
  get checkpointStorage(): CheckpointStorage | undefined {
    return this.storage;
  }

  /**
   * Triggers a checkpoint now, outside the periodic schedule (Flink's manual trigger), and
   * resolves once it completed or failed; never rejects.
   */
  async triggerCheckpointNow(): Promise<TriggeredCheckpoint> {
    if (!this.checkpoints)
      return checkpointFailed(
        undefined,
        `checkpointing is not enabled for job '${this.jobName}' (${this.jobId}); set execution.checkpointing.interval.`,
      );
    const checkpointId = await this.checkpoints.triggerCheckpoint();
    if (checkpointId === undefined)
      return checkpointFailed(
        undefined,
        isJobTerminal(this.status)
          ? `job '${this.jobName}' (${this.jobId}) is ${this.status}.`
          : failureReasonMessage('NOT_ALL_REQUIRED_TASKS_RUNNING'),
      );
    return (
      this.checkpointOutcome(checkpointId) ??
      new Promise<TriggeredCheckpoint>((resolve) => this.checkpointWaiters.set(checkpointId, resolve))
    );
  }

  // --- JobClient ---
  getJobStatus(): JobStatus {
    return this.status;
  }

  async cancel(): Promise<void> {
    if (isJobTerminal(this.status)) return;
    this.status = 'CANCELLING';
    this.deployed?.cancel();
    this.closeCoordinators();
    this.status = 'CANCELED';
    this.log.info({ jobId: this.jobId, job: this.jobName }, 'job cancelled');
    await this.shutdownCheckpoints('CANCELED');
    this.settle.reject(
      new SluiceError('SLUICE_JOB_CANCELLED', `job '${this.jobName}' (${this.jobId}) was cancelled.`),
    );
  }

  getJobExecutionResult(): Promise<JobExecutionResult> {
    return this.result;
  }

  getMetrics(): VertexMetrics[] {
    return this.deployed?.metrics() ?? [];
  }

  getCheckpointStats(): CheckpointStatsSnapshot | undefined {
    return this.checkpoints?.stats.snapshot();
  }

  getNumRestarts(): number {
    return this.numRestarts;
  }
}

/** A failed manual checkpoint, with Flink's exception name. */
function checkpointFailed(checkpointId: number | undefined, message: string): TriggeredCheckpoint {
  const error = new Error(message);
  error.name = 'CheckpointException';
  return { kind: 'failed', checkpointId, error };
}

/** Whether a job status is final (Flink's JobStatus.isGloballyTerminalState). */
export function isJobTerminal(status: JobStatus): boolean {
  return status === 'FINISHED' || status === 'FAILED' || status === 'CANCELED';
}
