/**
 * The failover side of a JobMaster (Flink's ExecutionFailureHandler): the restart strategy's
 * decisions, the failure history, and which subtasks a region failover restarts.
 */
import type { Clock } from '../core/clock.js';
import type { JobId } from '../core/ids.js';
import type { Logger } from '../core/log.js';
import type { PipelineSubmission } from '../api/execution.js';
import {
  createRestartStrategy,
  notifyFailure,
  type RestartStrategyState,
} from '../protocol/restart-strategy.js';
import type { SubtaskAddress } from './job-master-gateway.js';
import { pipelinedRegions } from './pipelined-regions.js';

/** Failures a JobMaster remembers for the REST API (Flink's `web.exception-history-size`). */
const EXCEPTION_HISTORY_SIZE = 16;

/** One failure of the job (a failed task, a checkpoint failure limit, a restore that failed). */
export interface JobFailureRecord {
  readonly timestamp: number;
  readonly error: Error;
  /** The failed task, when a task failed (absent for failures of the job as a whole). */
  readonly task?: { readonly vertexIndex: number; readonly subtask: number; readonly attemptNumber: number };
}

/** A failed task's execution. */
export type FailedTask = NonNullable<JobFailureRecord['task']>;

/** The subtasks a region failover restarts. */
export interface RegionRestart {
  /** How many regions fail over, of how many. */
  readonly regions: number;
  readonly ofRegions: number;
  readonly subtasks: readonly SubtaskAddress[];
}

/** Restart decisions and failure history of one job. */
export class JobFailover {
  private readonly failures: JobFailureRecord[] = [];
  private restartState: RestartStrategyState;
  private restarts = 0;
  /** Pipelined regions when failover is by region and there is more than one; else undefined. */
  private readonly regions: ReturnType<typeof pipelinedRegions> | undefined;
  /** Task failures of this turn, failed over together (a lost TaskManager fails several at once). */
  private gathered: { task: FailedTask; error: Error }[] = [];

  constructor(
    private readonly job: { readonly jobId: JobId; readonly jobName: string },
    private readonly submission: PipelineSubmission,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {
    this.restartState = createRestartStrategy(submission.restartStrategy);
    const regions =
      submission.failoverStrategy === 'region' ? pipelinedRegions(submission.jobGraph) : undefined;
    this.regions = regions && regions.count > 1 ? regions : undefined;
  }

  /** How many pipelined regions fail over independently (1: the whole job restarts). */
  get regionCount(): number {
    return this.regions?.count ?? 1;
  }

  /** Whether a task failure restarts its region only (region failover, more than one region). */
  get byRegion(): boolean {
    return this.regions !== undefined;
  }

  /** How many times the job (or a region of it) restarted. */
  get numRestarts(): number {
    return this.restarts;
  }

  /** The most recent failures, oldest first (at most EXCEPTION_HISTORY_SIZE). */
  get history(): readonly JobFailureRecord[] {
    return this.failures;
  }

  record(error: Error, task: FailedTask | undefined): void {
    this.failures.push({ timestamp: this.clock.now(), error, ...(task ? { task } : {}) });
    if (this.failures.length > EXCEPTION_HISTORY_SIZE) this.failures.shift();
  }

  /** Whether `error` is the failure recorded last. */
  isLast(error: Error): boolean {
    return this.failures.at(-1)?.error === error;
  }

  /** Gathers a task failure of this turn; true for the first of the turn. */
  gather(error: Error, task: FailedTask): boolean {
    this.gathered.push({ task, error });
    return this.gathered.length === 1;
  }

  /** Takes the failures gathered this turn whose executions `isCurrent` still holds. */
  takeGathered(isCurrent: (task: FailedTask) => boolean): { task: FailedTask; error: Error }[] {
    const failed = this.gathered.filter(({ task }) => isCurrent(task));
    this.gathered = [];
    return failed;
  }

  /** Drops the failures gathered this turn (the whole job fails over instead). */
  clearGathered(): void {
    this.gathered = [];
  }

  /** The subtasks of the regions of the `failed` tasks (Flink's RestartPipelinedRegionFailoverStrategy). */
  regionRestart(failed: readonly FailedTask[]): RegionRestart {
    const regions = this.regions!;
    const restarting = new Set(failed.map((t) => regions.regions[t.vertexIndex]![t.subtask]!));
    const subtasks: SubtaskAddress[] = [];
    for (const v of this.submission.jobGraph.vertices)
      for (let s = 0; s < v.parallelism; s++)
        if (restarting.has(regions.regions[v.index]![s]!))
          subtasks.push({ vertexIndex: v.index, subtask: s });
    return { regions: restarting.size, ofRegions: regions.count, subtasks };
  }

  /**
   * Asks the restart strategy about one more failure: the delay before restarting (counted and
   * logged as `what`), or undefined when the job must fail with `error` (logged here).
   */
  restartDelay(error: Error, what: string): number | undefined {
    const { state, decision } = notifyFailure(this.restartState, {
      now: this.clock.now(),
      random: Math.random(),
    });
    this.restartState = state;
    const { jobId, jobName } = this.job;
    if (decision.kind === 'fail') {
      this.log.error({ jobId, job: jobName, err: error }, `job failed: ${decision.reason}`);
      return undefined;
    }
    this.restarts++;
    this.log.warn(
      { jobId, job: jobName, err: error, delayMs: decision.delayMs, restart: this.restarts },
      `${what} (restart ${this.restarts} in ${decision.delayMs} ms): ${error.message}`,
    );
    return decision.delayMs;
  }
}
