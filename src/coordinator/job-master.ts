/**
 * The JobManager side of one job: hosts the source coordinators, deploys the job through a
 * TaskManager gateway, follows every task's state, and decides the job's status and result.
 */
import { SluiceError } from '../core/errors.js';
import type { Clock } from '../core/clock.js';
import type { OperatorId } from '../core/ids.js';
import { logger } from '../core/log.js';
import { mergeAccumulators, type AccumulatorRegistry } from '../api/accumulators.js';
import {
  JobExecutionResult,
  type JobClient,
  type JobStatus,
  type PipelineSubmission,
  type VertexMetrics,
} from '../api/execution.js';
import type { OperatorEvent } from '../api/operators/stream-operator.js';
import type { SourceSplit } from '../api/source/source.js';
import type { ExecutionState } from '../runtime/task.js';
import { SourceCoordinator } from './source-coordinator.js';

/** What TaskManagers report back to the JobMaster. */
export interface JobMasterGateway {
  onTaskStateChanged(vertexIndex: number, subtask: number, state: ExecutionState, error?: Error): void;
  onOperatorEvent(operatorId: OperatorId, subtask: number, event: OperatorEvent): void;
  onCollect(collectId: string, records: readonly unknown[]): void;
}

/** A job deployed on TaskManagers, as the JobMaster controls it. */
export interface DeployedJob {
  cancel(): void;
  sendOperatorEvent(operatorId: OperatorId, subtask: number, event: OperatorEvent): void;
  metrics(): VertexMetrics[];
  accumulators(): AccumulatorRegistry[];
}

/** Deploys all subtasks of a job (in-process now; over RPC in the cluster). */
export interface TaskManagerGateway {
  deploy(submission: PipelineSubmission, master: JobMasterGateway): DeployedJob;
}

/** Runs one job from deployment to a terminal status. */
export class JobMaster implements JobMasterGateway, JobClient {
  private status: JobStatus = 'CREATED';
  private deployed: DeployedJob | undefined;
  private readonly coordinators = new Map<OperatorId, SourceCoordinator<SourceSplit>>();
  private readonly taskStates: ExecutionState[][];
  private finishedTasks = 0;
  private startedAt = 0;
  private readonly result: Promise<JobExecutionResult>;
  private settle!: { resolve: (r: JobExecutionResult) => void; reject: (e: Error) => void };
  private readonly log = logger('job-master');

  constructor(
    private readonly submission: PipelineSubmission,
    private readonly taskManagers: TaskManagerGateway,
    private readonly clock: Clock,
  ) {
    this.taskStates = submission.jobGraph.vertices.map((v) =>
      new Array<ExecutionState>(v.parallelism).fill('CREATED'),
    );
    this.result = new Promise((resolve, reject) => (this.settle = { resolve, reject }));
    // The caller may only look at the result later; never report it as unhandled meanwhile.
    this.result.catch(() => {});
  }

  get jobId() {
    return this.submission.jobGraph.jobId;
  }
  get jobName() {
    return this.submission.jobGraph.jobName;
  }

  /** Starts the source coordinators, then deploys every subtask. */
  start(): void {
    this.startedAt = this.clock.now();
    this.status = 'RUNNING';
    this.log.info({ jobId: this.jobId, job: this.jobName }, 'job submitted');
    try {
      for (const vertex of this.submission.jobGraph.vertices) {
        const head = vertex.chain[0]!;
        const source = head.transformation.operator.source;
        if (!source) continue;
        const coordinator = new SourceCoordinator(source, vertex.parallelism, (subtask, event) =>
          this.deployed?.sendOperatorEvent(head.operatorId, subtask, event),
        );
        this.coordinators.set(head.operatorId, coordinator);
      }
      this.deployed = this.taskManagers.deploy(this.submission, this);
      for (const c of this.coordinators.values()) c.start();
    } catch (e) {
      this.failJob(e instanceof Error ? e : new Error(String(e)));
    }
  }

  onTaskStateChanged(vertexIndex: number, subtask: number, state: ExecutionState, error?: Error): void {
    this.taskStates[vertexIndex]![subtask] = state;
    if (isJobTerminal(this.status)) return;
    if (state === 'FAILED') this.failJob(error ?? new Error('a task failed without an error'));
    else if (state === 'FINISHED' && ++this.finishedTasks === this.totalTasks()) this.finishJob();
  }

  onOperatorEvent(operatorId: OperatorId, subtask: number, event: OperatorEvent): void {
    // Events cross to the JobManager asynchronously, as over RPC: never re-enter a task's slice.
    queueMicrotask(() => {
      if (isJobTerminal(this.status)) return;
      try {
        this.coordinators.get(operatorId)?.handleEventFromOperator(subtask, event);
      } catch (e) {
        this.failJob(
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

  onCollect(collectId: string, records: readonly unknown[]): void {
    this.submission.collectTargets.get(collectId)?.push(records);
  }

  private totalTasks(): number {
    return this.taskStates.reduce((n, v) => n + v.length, 0);
  }

  private finishJob(): void {
    this.status = 'FINISHED';
    this.closeCoordinators();
    const runtime = this.clock.now() - this.startedAt;
    this.log.info({ jobId: this.jobId, job: this.jobName, runtimeMs: runtime }, 'job finished');
    this.settle.resolve(
      new JobExecutionResult(this.jobId, runtime, mergeAccumulators(this.deployed?.accumulators() ?? [])),
    );
  }

  private failJob(error: Error): void {
    if (isJobTerminal(this.status)) return;
    this.status = 'FAILING';
    this.deployed?.cancel();
    this.closeCoordinators();
    this.status = 'FAILED';
    this.log.error({ jobId: this.jobId, job: this.jobName, err: error }, 'job failed');
    this.settle.reject(error);
  }

  private closeCoordinators(): void {
    for (const c of this.coordinators.values()) {
      try {
        c.close();
      } catch (e) {
        this.log.warn({ err: e }, 'closing a split enumerator failed');
      }
    }
  }

  // --- JobClient ---
  getJobStatus(): JobStatus {
    return this.status;
  }

  cancel(): Promise<void> {
    if (!isJobTerminal(this.status)) {
      this.status = 'CANCELLING';
      this.deployed?.cancel();
      this.closeCoordinators();
      this.status = 'CANCELED';
      this.log.info({ jobId: this.jobId, job: this.jobName }, 'job cancelled');
      this.settle.reject(
        new SluiceError('SLUICE_JOB_CANCELLED', `job '${this.jobName}' (${this.jobId}) was cancelled.`),
      );
    }
    return Promise.resolve();
  }

  getJobExecutionResult(): Promise<JobExecutionResult> {
    return this.result;
  }

  getMetrics(): VertexMetrics[] {
    return this.deployed?.metrics() ?? [];
  }
}

/** Whether a job status is final (Flink's JobStatus.isGloballyTerminalState). */
export function isJobTerminal(status: JobStatus): boolean {
  return status === 'FINISHED' || status === 'FAILED' || status === 'CANCELED';
}
