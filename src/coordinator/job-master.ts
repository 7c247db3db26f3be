/**
 * The JobManager side of one job, as the orchestrator of its collaborators: deploys the job
 * through a TaskManager gateway (source coordinators: `source-coordinators.ts`), follows every
 * task (`subtask-executions.ts`), and on a failure applies the restart strategy
 * (`job-failover.ts`): cancel everything (or the failed regions), restore from the latest
 * completed checkpoint, falling back to older ones that can be read (`restore-tracker.ts`),
 * redeploy. Checkpointing is wired to the deployment in `job-checkpoints.ts`.
 */
import type { Clock } from '../core/clock.js';
import { SluiceError } from '../core/errors.js';
import type { OperatorId } from '../core/ids.js';
import { logger } from '../core/log.js';
import { mergeAccumulators } from '../api/accumulators.js';
import type { CheckpointStatsSnapshot } from '../api/checkpoint-stats.js';
import {
  JobExecutionResult,
  type CheckpointingSubmission,
  type JobClient,
  type JobStatus,
  type PipelineSubmission,
  type VertexMetrics,
} from '../api/execution.js';
import type { OperatorEvent } from '../runtime/stream-operator.js';
import { failureReasonMessage } from '../protocol/checkpoint-failure-reason.js';
import type { ExecutionState } from '../runtime/task.js';
import type { CheckpointStorage } from '../storage/checkpoint-storage.js';
import {
  savepointFailed,
  type CheckpointCoordinator,
  type SavepointOutcome,
} from './checkpoint-coordinator.js';
import { SavepointFormatTypes, type SavepointFormatType } from '../protocol/snapshot-kind.js';
import { checkpointFailed, JobCheckpoints, type TriggeredCheckpoint } from './job-checkpoints.js';
import { StopWithSavepoint } from './savepoint-stop.js';
import { JobFailover, type FailedTask, type JobFailureRecord } from './job-failover.js';
import type {
  DeployedJob,
  JobMasterGateway,
  SubtaskAddress,
  TaskManagerGateway,
} from './job-master-gateway.js';
import type { LoadedRestore } from './job-restore.js';
import { RestoreTracker } from './restore-tracker.js';
import { SourceCoordinators } from './source-coordinators.js';
import { SubtaskExecutions, type CheckpointTaskPlan } from './subtask-executions.js';
import type { StateBackendSettings } from '../state/state-backend.js';

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

/** Runs one job from deployment to a terminal status. */
export class JobMaster implements JobClient {
  private currentStatus: JobStatus = 'CREATED';
  private readonly statusEnteredAt = new Map<JobStatus, number>();
  private deployed: DeployedJob | undefined;
  private sources: SourceCoordinators;
  private readonly executions: SubtaskExecutions;
  /** The newest attempt number given out (a full restart or a region restart takes the next). */
  private attemptNumber = 0;
  /** Every task had ended once, so periodic checkpoints were stopped. */
  private checkpointsStoppedAtEnd = false;
  /** The stop-with-savepoint under way, if any. */
  private stopping: StopWithSavepoint | undefined;
  private readonly vertexOfOperator: ReadonlyMap<OperatorId, number>;
  private readonly failover: JobFailover;
  private readonly restores: RestoreTracker;
  /** The restore the tasks of `attempt` are reading, until they all run (then it is counted). */
  private restoring: { readonly attempt: number; readonly restore: LoadedRestore } | undefined;
  private startedAt = 0;
  private timings: { -readonly [K in keyof AttemptTimings]: AttemptTimings[K] } | undefined;
  private readonly checkpoints: JobCheckpoints | undefined;
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
    const vertices = submission.jobGraph.vertices;
    this.sources = SourceCoordinators.none(vertices, this.log);
    this.executions = new SubtaskExecutions(vertices, clock);
    this.failover = new JobFailover(this, submission, clock, this.log);
    this.vertexOfOperator = new Map(
      vertices.flatMap((v) => v.chain.map((n) => [n.operatorId, v.index] as const)),
    );
    this.result = new Promise((resolve, reject) => (this.settle = { resolve, reject }));
    // The caller may only look at the result later; never report it as unhandled meanwhile.
    this.result.catch(() => {});
    const cp = submission.checkpointing;
    this.checkpoints = cp
      ? new JobCheckpoints(
          cp,
          submission,
          clock,
          {
            jobId: this.jobId,
            jobName: this.jobName,
            plan: () => this.checkpointPlan(),
            deployed: () => this.deployed,
            sources: () => this.sources,
            failJob: (error) => this.handleFailure(error),
          },
          prepareMasterStates,
        )
      : undefined;
    this.restores = new RestoreTracker(this.jobId, submission, this.checkpoints, clock, this.log);
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
      { jobId: this.jobId, job: this.jobName, regions: this.failover.regionCount },
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
    let restore: LoadedRestore | undefined;
    try {
      restore = await this.restores.forJob(attempt);
    } catch (e) {
      // Nothing to restore from: restarting again cannot help.
      return this.failJob(e instanceof Error ? e : new Error(String(e)));
    }
    if (isJobTerminal(this.status) || attempt !== this.attemptNumber) return;
    this.noteDeploying(attempt, restore, 'job');
    this.executions.deployAll(attempt);
    this.checkpointsStoppedAtEnd = false;
    try {
      this.sources = SourceCoordinators.create(
        this.submission.jobGraph.vertices,
        (operatorId, subtask, event) => this.deployed?.sendOperatorEvent(operatorId, subtask, event),
        this.log,
      );
      timings.deployingAt = this.clock.now();
      this.executions.deployed(timings.deployingAt);
      this.deployed = this.taskManagers.deploy(this.submission, this.gatewayFor(attempt), {
        attemptNumber: attempt,
        restore: restore?.plan.tasks,
        checkpointing: this.checkpoints?.taskGateways(),
      });
      this.sources.start(restore?.plan.masterStates);
      this.status = 'RUNNING';
      this.checkpoints?.coordinator.startCheckpointScheduler();
    } catch (e) {
      this.handleFailure(e instanceof Error ? e : new Error(String(e)));
    }
  }

  /** The tasks of `attempt` are deployed with `restore` to read (undefined: a fresh start). */
  private noteDeploying(attempt: number, restore: LoadedRestore | undefined, what: string): void {
    this.restoring = restore && { attempt, restore };
    if (restore) this.restores.noteDeploying(restore, what);
  }

  /**
   * Every task runs, so the tasks of the restoring attempt read their state: the restore counts;
   * one that fell back past newer checkpoints goes into the exception history.
   */
  private noteRestored(): void {
    const restoring = this.restoring;
    this.restoring = undefined;
    if (!restoring) return;
    const fellBack = this.restores.noteRestored(restoring.restore);
    if (fellBack) this.failover.record(fellBack, undefined);
  }

  /**
   * A task of `attempt` could not read the state it restores (SLUICE_RESTORE_STATE_UNREADABLE):
   * the checkpoint is unusable, and the whole job restores from an older one at once (not a new
   * failure for the restart strategy: the recovery in progress goes on, as when the JobManager
   * finds a file missing before deploying); from a `-s` path, the job fails. False when `error`
   * is not that, or concerns no restore in progress.
   */
  private restoreUnreadable(attempt: number, error: Error | undefined): boolean {
    const restoring = this.restoring;
    if (
      !(error instanceof SluiceError) ||
      error.code !== 'SLUICE_RESTORE_STATE_UNREADABLE' ||
      restoring?.attempt !== attempt
    )
      return false;
    this.restoring = undefined;
    const fatal = this.restores.markUnusable(restoring.restore, error);
    if (fatal) {
      this.failJob(fatal);
      return true;
    }
    this.cancelForRestart();
    this.restartJob(0);
    return true;
  }

  /**
   * What the tasks of attempt `attempt` report through: a report of a subtask whose current
   * execution belongs to another attempt (one cancelled by a failover) is dropped here.
   */
  private gatewayFor(attempt: number): JobMasterGateway {
    const current = (vertexIndex: number, subtask: number) =>
      this.executions.isCurrent(vertexIndex, subtask, attempt);
    return {
      onDeploymentFailed: (error) => {
        if (this.executions.hasAttempt(attempt)) this.onDeploymentFailed(error);
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
        if (current(v, s)) this.checkpoints?.acknowledge(v, s, id, state, metrics);
      },
      declineCheckpoint: (v, s, id, reason, error) => {
        if (current(v, s)) this.checkpoints?.decline(v, s, id, reason, error);
      },
    };
  }

  private checkpointPlan(): CheckpointTaskPlan | undefined {
    if (this.status !== 'RUNNING' || !this.deployed) return undefined;
    return this.executions.checkpointPlan(this.stopping?.drained === true);
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
    // Once the job ended, every task's last state is set (see endTasks); a late report is stale.
    if (isJobTerminal(this.status) || !this.executions.setState(vertexIndex, subtask, state)) return;
    if (state === 'RUNNING') this.noteRunning();
    if (this.status === 'RESTARTING') return;
    if (state === 'FAILED' && this.restoreUnreadable(attempt, error)) return;
    if (state === 'FAILED')
      this.taskFailed(error ?? new Error('a task failed without an error'), {
        vertexIndex,
        subtask,
        attemptNumber: attempt,
      });
    else if (state === 'FINISHED' && this.executions.noteFinished()) this.finishJob();
  }

  private onTaskEnded(vertexIndex: number, subtask: number): void {
    queueMicrotask(() => {
      if (this.status !== 'RUNNING') return;
      const ended = this.executions.noteEnded(vertexIndex, subtask);
      if (ended === 'stale') return;
      this.checkpoints?.coordinator.notifyTaskEnded({
        key: `${vertexIndex}:${subtask}`,
        vertexIndex,
        subtask,
      });
      // A draining stop-with-savepoint takes its savepoint of the ended tasks first.
      if (ended === 'all-ended' && !this.stopping?.takeAllEnded()) this.finishAllEnded();
    });
  }

  /** Every task ended: no checkpoint can start any more; let them all finish. */
  private finishAllEnded(): void {
    this.checkpoints?.coordinator.stopCheckpointScheduler('CHECKPOINT_COORDINATOR_SHUTDOWN');
    this.checkpointsStoppedAtEnd = true;
    this.deployed?.finishAll();
  }

  private onOperatorEvent(operatorId: OperatorId, subtask: number, event: OperatorEvent): void {
    queueMicrotask(() => {
      if (this.status !== 'RUNNING') return;
      try {
        this.sources.handleEventFromOperator(operatorId, subtask, event);
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

  private noteRunning(): void {
    const timings = this.timings;
    if (!timings || timings.allRunningAt !== undefined) return;
    timings.firstRunningAt ??= this.clock.now();
    if (!this.executions.allRunning) return;
    timings.allRunningAt = this.clock.now();
    this.noteRestored();
  }

  // --- failover ---

  /**
   * A task failed. With region failover (and more than one region) the failures of this turn are
   * gathered and their regions restarted together; otherwise the whole job restarts.
   */
  private taskFailed(error: Error, task: FailedTask): void {
    if (!this.failover.byRegion) return this.handleFailure(error, task);
    if (this.failover.gather(error, task)) queueMicrotask(() => this.failoverRegions());
  }

  /** Flink's RestartPipelinedRegionFailoverStrategy: restart only the regions of the failed tasks. */
  private failoverRegions(): void {
    const failed = this.failover.takeGathered((t) =>
      this.executions.isCurrent(t.vertexIndex, t.subtask, t.attemptNumber),
    );
    if (failed.length === 0 || this.status !== 'RUNNING') return;
    const { error, task } = failed[0]!;
    this.failover.record(error, task);
    const restart = this.failover.regionRestart(failed.map((f) => f.task));
    const { subtasks } = restart;
    // Every report of the cancelled executions is stale from now on.
    const attempt = ++this.attemptNumber;
    this.executions.restart(subtasks, attempt);
    this.checkpoints?.coordinator.abortPendingCheckpoints('JOB_FAILOVER_REGION');
    this.stopping?.failedOver();
    this.deployed?.cancelTasks(subtasks);
    const delayMs = this.restartDelay(
      error,
      `${restart.regions} pipelined region(s) of ${restart.ofRegions} failed over, restarting ${subtasks.length} of ${this.executions.total} tasks`,
    );
    if (delayMs === undefined) return;
    this.clock.schedule(delayMs, () => void this.redeployRegions(subtasks, attempt));
  }

  /** Redeploys failed-over regions from the latest completed checkpoint, unless superseded. */
  private async redeployRegions(subtasks: readonly SubtaskAddress[], attempt: number): Promise<void> {
    const superseded = () =>
      this.status !== 'RUNNING' ||
      subtasks.some((t) => !this.executions.isCurrent(t.vertexIndex, t.subtask, attempt));
    if (superseded()) return;
    const timings = this.newTimings(attempt);
    let restore: LoadedRestore | undefined;
    try {
      restore = await this.restores.latest();
    } catch (e) {
      return this.failJob(e instanceof Error ? e : new Error(String(e)));
    }
    if (superseded()) return;
    const fallback = this.restores.regionFallbackError(restore);
    if (fallback) return this.handleFailure(fallback);
    this.noteDeploying(attempt, restore, `${subtasks.length} task(s)`);
    const keys = new Set(subtasks.map(({ vertexIndex, subtask }) => `${vertexIndex}:${subtask}`));
    this.executions.redeploying(subtasks);
    const addReaders = this.sources.resetReaders(subtasks, restore?.checkpoint.checkpointId);
    try {
      timings.deployingAt = this.clock.now();
      this.executions.deployed(timings.deployingAt, subtasks);
      this.deployed?.restartTasks(subtasks, this.gatewayFor(attempt), {
        attemptNumber: attempt,
        restore: restore && new Map([...restore.plan.tasks].filter(([key]) => keys.has(key))),
        checkpointing: this.checkpoints?.taskGateways(),
      });
      addReaders();
      if (this.checkpointsStoppedAtEnd && !this.executions.allEnded) {
        this.checkpointsStoppedAtEnd = false;
        this.checkpoints?.coordinator.startCheckpointScheduler();
      }
    } catch (e) {
      this.handleFailure(e instanceof Error ? e : new Error(String(e)));
    }
  }

  /** The restart strategy's delay for one more failure, or undefined once the job failed with `error`. */
  private restartDelay(error: Error, what: string): number | undefined {
    const delayMs = this.failover.restartDelay(error, what);
    if (delayMs === undefined) this.failJob(error);
    return delayMs;
  }

  /** A failure that restarts the whole job (if the strategy allows; else the job fails). */
  private handleFailure(error: Error, task?: FailedTask): void {
    if (isJobTerminal(this.status) || this.status === 'RESTARTING') return;
    this.failover.record(error, task);
    this.cancelForRestart();
    const delayMs = this.restartDelay(error, 'job failed over');
    if (delayMs === undefined) return;
    this.restartJob(delayMs);
  }

  /** Cancels every task of the job for a restart of the whole job. */
  private cancelForRestart(): void {
    this.restoring = undefined;
    this.checkpoints?.coordinator.stopCheckpointScheduler('JOB_FAILOVER_REGION');
    this.stopping?.failedOver();
    this.deployed?.cancel();
    this.deployed = undefined;
    this.sources.close();
    this.failover.clearGathered();
    // Reports of the cancelled executions are stale from now on.
    this.executions.cancelAll();
  }

  /** Deploys the whole job again after `delayMs` (its tasks were cancelled: `cancelForRestart`). */
  private restartJob(delayMs: number): void {
    this.status = 'RESTARTING';
    this.clock.schedule(delayMs, () => {
      if (this.status !== 'RESTARTING') return;
      this.attemptNumber++;
      void this.deployAttempt();
    });
  }

  // --- terminal states ---

  private counts() {
    const stats = this.checkpoints?.coordinator.stats.snapshot();
    return {
      completed: stats?.counts.completed ?? 0,
      failed: stats?.counts.failed ?? 0,
      ...this.restores.counts,
    };
  }

  private finishJob(): void {
    this.status = 'FINISHED';
    this.sources.close();
    const runtime = this.clock.now() - this.startedAt;
    this.log.info({ jobId: this.jobId, job: this.jobName, runtimeMs: runtime }, 'job finished');
    const result = new JobExecutionResult(
      this.jobId,
      runtime,
      mergeAccumulators(this.deployed?.accumulators() ?? []),
      this.counts(),
      this.failover.numRestarts,
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
    if (!this.failover.isLast(error)) this.failover.record(error, undefined);
    this.status = 'FAILING';
    this.deployed?.cancel();
    this.sources.close();
    this.executions.endTasks();
    this.status = 'FAILED';
    void this.shutdownCheckpoints('FAILED').finally(() => this.settle.reject(error));
  }

  private shutdownCheckpoints(outcome: 'FINISHED' | 'FAILED' | 'CANCELED'): Promise<void> {
    return this.checkpoints?.shutdown(outcome) ?? Promise.resolve();
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
    return this.executions.executionStates;
  }

  /** The newest deployment attempt (0 for the first, +1 per restart of the job or of a region). */
  get currentAttemptNumber(): number {
    return this.attemptNumber;
  }

  /** When each subtask entered its current state (ms since the epoch), by vertex index then subtask. */
  get taskStateTimestamps(): readonly (readonly number[])[] {
    return this.executions.stateTimestamps;
  }

  /** When each subtask's current execution was deployed; undefined while it was not. */
  get taskDeploymentTimestamps(): readonly (readonly (number | undefined)[])[] {
    return this.executions.deploymentTimestamps;
  }

  /** The attempt of each subtask's current execution, by vertex index then subtask. */
  get taskAttemptNumbers(): readonly (readonly number[])[] {
    return this.executions.attemptNumbers;
  }

  /** When the steps of the current (or last) deployment attempt happened; undefined before the first. */
  get lastAttemptTimings(): AttemptTimings | undefined {
    return this.timings && { ...this.timings };
  }

  /** The most recent failures, oldest first (at most 16, Flink's `web.exception-history-size`). */
  get exceptionHistory(): readonly JobFailureRecord[] {
    return this.failover.history;
  }

  /** The restart strategy the job was submitted with (Flink's defaults resolved). */
  get restartStrategy(): PipelineSubmission['restartStrategy'] {
    return this.submission.restartStrategy;
  }

  /** The keyed state backend the job's tasks use (absent: the heap). */
  get stateBackend(): StateBackendSettings | undefined {
    return this.submission.stateBackend;
  }

  /** STREAMING or BATCH, as the job runs (`execution.runtime-mode`, AUTOMATIC resolved). */
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
    return this.checkpoints?.coordinator;
  }

  /** Where checkpoints are written; undefined without checkpointing. */
  get checkpointStorage(): CheckpointStorage | undefined {
    return this.checkpoints?.storage;
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
    return this.checkpoints.triggerNow(() =>
      isJobTerminal(this.status)
        ? `job '${this.jobName}' (${this.jobId}) is ${this.status}.`
        : failureReasonMessage('NOT_ALL_REQUIRED_TASKS_RUNNING'),
    );
  }

  /** Where a savepoint goes without a target directory (`execution.checkpointing.savepoint-dir`). */
  get defaultSavepointDirectory(): string | undefined {
    return this.checkpoints?.savepointDirectory;
  }

  /**
   * Triggers a savepoint into `targetDirectory` now and resolves once it completed or failed;
   * never rejects. The job goes on running (Flink's intermediate savepoint).
   */
  async triggerSavepointNow(
    targetDirectory: string,
    formatType: SavepointFormatType = 'CANONICAL',
  ): Promise<SavepointOutcome> {
    if (!this.checkpoints)
      return savepointFailed(
        undefined,
        `savepoints need checkpointing, which is not enabled for job '${this.jobName}' (${this.jobId}); set execution.checkpointing.interval.`,
      );
    return this.checkpoints.coordinator.triggerSavepoint(
      'savepoint',
      targetDirectory,
      () =>
        isJobTerminal(this.status)
          ? `job '${this.jobName}' (${this.jobId}) is ${this.status}.`
          : failureReasonMessage('NOT_ALL_REQUIRED_TASKS_RUNNING'),
      formatType,
    );
  }

  /**
   * Stop-with-savepoint now (Flink's `stopWithSavepoint`): resolves once the job ended FINISHED
   * after its savepoint completed, or once the savepoint failed and the job runs on; never rejects.
   * With `drain`, the sources first end their input so every operator sees its end.
   */
  async stopWithSavepointNow(
    targetDirectory: string,
    drain: boolean,
    formatType: SavepointFormatType = 'CANONICAL',
  ): Promise<SavepointOutcome> {
    const refused = () =>
      isJobTerminal(this.status)
        ? `job '${this.jobName}' (${this.jobId}) is ${this.status}.`
        : failureReasonMessage('NOT_ALL_REQUIRED_TASKS_RUNNING');
    if (!this.checkpoints)
      return savepointFailed(
        undefined,
        `stop-with-savepoint needs checkpointing, which is not enabled for job '${this.jobName}' (${this.jobId}); set execution.checkpointing.interval.`,
      );
    if (this.stopping) return savepointFailed(undefined, 'a stop-with-savepoint of this job is under way.');
    if (this.status !== 'RUNNING' || !this.deployed) return savepointFailed(undefined, refused());
    const stop = new StopWithSavepoint(
      {
        coordinator: this.checkpoints.coordinator,
        endSourceInput: () => this.deployed?.endSourceInput(),
        finishAllEnded: () => this.finishAllEnded(),
        refused,
        terminated: this.result.then(
          () => undefined,
          () => undefined,
        ),
      },
      targetDirectory,
      drain,
      formatType,
    );
    this.stopping = stop;
    try {
      return await stop.run();
    } finally {
      this.stopping = undefined;
    }
  }

  // --- JobClient ---
  async stopWithSavepoint(
    advanceToEndOfEventTime: boolean,
    targetDirectory?: string,
    formatType?: SavepointFormatType,
  ): Promise<string> {
    const target = targetDirectory ?? this.defaultSavepointDirectory;
    if (target === undefined) throw savepointError(this.jobId, NO_SAVEPOINT_TARGET);
    const format = checkedFormatType(this.jobId, formatType);
    const outcome = await this.stopWithSavepointNow(target, advanceToEndOfEventTime, format);
    if (outcome.kind === 'failed') throw savepointError(this.jobId, outcome.error.message, outcome.error);
    return outcome.location;
  }

  async triggerSavepoint(targetDirectory?: string, formatType?: SavepointFormatType): Promise<string> {
    const target = targetDirectory ?? this.defaultSavepointDirectory;
    if (target === undefined) throw savepointError(this.jobId, NO_SAVEPOINT_TARGET);
    const outcome = await this.triggerSavepointNow(target, checkedFormatType(this.jobId, formatType));
    if (outcome.kind === 'failed') throw savepointError(this.jobId, outcome.error.message, outcome.error);
    return outcome.location;
  }

  getJobStatus(): JobStatus {
    return this.status;
  }

  async cancel(): Promise<void> {
    if (isJobTerminal(this.status)) return;
    this.status = 'CANCELLING';
    this.deployed?.cancel();
    this.sources.close();
    this.executions.endTasks();
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
    return this.checkpoints?.coordinator.stats.snapshot();
  }

  getNumRestarts(): number {
    return this.failover.numRestarts;
  }
}

/** Whether a job status is final (Flink's JobStatus.isGloballyTerminalState). */
export function isJobTerminal(status: JobStatus): boolean {
  return status === 'FINISHED' || status === 'FAILED' || status === 'CANCELED';
}

/** Flink's message when a savepoint has no target directory and none is configured. */
export const NO_SAVEPOINT_TARGET =
  'Config key [execution.checkpointing.savepoint-dir] is not set. Property [target-directory] must be provided.';

/** A savepoint of `jobId` that did not complete, saying why. */
function savepointError(jobId: string, why: string, cause?: Error): SluiceError {
  return new SluiceError(
    'SLUICE_SAVEPOINT_FAILED',
    `the savepoint of job ${jobId} failed: ${why}`,
    cause === undefined ? undefined : { cause },
  );
}

/** A JobClient's format type: CANONICAL when absent; anything but CANONICAL or NATIVE is refused. */
function checkedFormatType(jobId: string, formatType: unknown): SavepointFormatType {
  if (formatType === undefined) return 'CANONICAL';
  if ((SavepointFormatTypes as readonly unknown[]).includes(formatType))
    return formatType as SavepointFormatType;
  throw savepointError(
    jobId,
    `the savepoint format type must be 'CANONICAL' or 'NATIVE' (Flink's SavepointFormatType), got ${JSON.stringify(formatType) ?? typeof formatType}.`,
  );
}
