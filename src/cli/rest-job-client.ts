/** A JobClient for a job on a JobManager, kept current by polling the REST API (what `sluice run --jobmanager` watches). */
import type { SavepointFormatType } from '../protocol/snapshot-kind.js';
import type { CheckpointStats, CheckpointStatsSnapshot } from '../api/checkpoint-stats.js';
import { JobExecutionResult, type JobClient, type JobStatus, type VertexMetrics } from '../api/execution.js';
import { SluiceError } from '../core/errors.js';
import type { JobId } from '../core/ids.js';
import type {
  CheckpointingStatistics,
  CheckpointStatistics,
  JobDetailsInfo,
  JobExceptionsInfoWithHistory,
  JobExecutionResultResponseBody,
  MetricCollectionResponseBody,
} from '../rest/rest-schema.js';
import { errorDetail, rest, restCall } from './rest-client.js';
import { awaitSavepoint } from './savepoint-commands.js';

/** Options of `RestJobClient.connect`. */
export interface RestJobClientOptions {
  /** How often the REST API is polled, ms. Default 500. */
  readonly pollIntervalMs?: number;
  /** Polls that may fail in a row (JobManager briefly unreachable) before watching fails. Default 5. */
  readonly maxFailedPolls?: number;
}

/** What one poll found out. */
type PollOutcome =
  | { readonly kind: 'running' }
  | { readonly kind: 'finished'; readonly result: JobExecutionResult }
  | { readonly kind: 'failed'; readonly error: Error };

const TERMINAL: ReadonlySet<JobStatus> = new Set<JobStatus>(['FINISHED', 'FAILED', 'CANCELED']);

/**
 * A job on a JobManager as a JobClient. The getters answer from the latest poll (status and vertex
 * counters from `/jobs/:id`, checkpoint statistics from `/jobs/:id/checkpoints`, restarts from
 * `/jobs/:id/metrics`); the result comes from `/jobs/:id/execution-result` once the job ended, and
 * a failure carries the root exception of `/jobs/:id/exceptions`.
 */
export class RestJobClient implements JobClient {
  readonly jobId: JobId;
  readonly jobName: string;
  private status: JobStatus;
  private metrics: VertexMetrics[];
  private checkpoints: CheckpointStatsSnapshot | undefined;
  /** False once `/checkpoints` answered that the job does not checkpoint. */
  private checkpointing = true;
  private restarts = 0;
  private closed = false;
  private wake: (() => void) | undefined;
  private readonly result: Promise<JobExecutionResult>;

  private constructor(
    private readonly base: string,
    details: JobDetailsInfo,
    private readonly pollIntervalMs: number,
    private readonly maxFailedPolls: number,
  ) {
    this.jobId = details.jid as JobId;
    this.jobName = details.name;
    this.status = details.state;
    this.metrics = vertexMetrics(details);
    this.result = this.watch();
    // Callers may never ask for the result (a detached look); never report it as unhandled.
    this.result.catch(() => {});
  }

  /** Starts watching job `jobId` on the JobManager at `base`; fails at once for an unknown job. */
  static async connect(
    base: string,
    jobId: string,
    options: RestJobClientOptions = {},
  ): Promise<RestJobClient> {
    const details = await rest<JobDetailsInfo>(base, 'GET', `/jobs/${jobId}`);
    return new RestJobClient(base, details, options.pollIntervalMs ?? 500, options.maxFailedPolls ?? 5);
  }

  getJobStatus(): JobStatus {
    return this.status;
  }

  getMetrics(): VertexMetrics[] {
    return this.metrics;
  }

  getCheckpointStats(): CheckpointStatsSnapshot | undefined {
    return this.checkpoints;
  }

  getNumRestarts(): number {
    return this.restarts;
  }

  /** Resolves when the job finished; rejects with SLUICE_JOB_FAILED or SLUICE_JOB_CANCELLED. */
  getJobExecutionResult(): Promise<JobExecutionResult> {
    return this.result;
  }

  /** Cancels the job (PATCH /jobs/:id); resolves once the JobManager reports it ended. */
  async cancel(): Promise<void> {
    await rest(this.base, 'PATCH', `/jobs/${this.jobId}?mode=cancel`);
    await this.result.then(
      () => undefined,
      () => undefined,
    );
  }

  triggerSavepoint(targetDirectory?: string, formatType?: SavepointFormatType): Promise<string> {
    return awaitSavepoint(this.base, this.jobId, `/jobs/${this.jobId}/savepoints`, {
      'cancel-job': false,
      ...(formatType === undefined ? {} : { formatType }),
      ...(targetDirectory === undefined ? {} : { 'target-directory': targetDirectory }),
    });
  }

  stopWithSavepoint(
    advanceToEndOfEventTime: boolean,
    targetDirectory?: string,
    formatType?: SavepointFormatType,
  ): Promise<string> {
    return awaitSavepoint(this.base, this.jobId, `/jobs/${this.jobId}/stop`, {
      drain: advanceToEndOfEventTime,
      ...(formatType === undefined ? {} : { formatType }),
      ...(targetDirectory === undefined ? {} : { targetDirectory }),
    });
  }

  /** Stops polling; a result not known yet rejects. The job itself is not touched. */
  close(): void {
    this.closed = true;
    this.wake?.();
  }

  private async watch(): Promise<JobExecutionResult> {
    let failedPolls = 0;
    for (;;) {
      if (this.closed) throw new Error(`stopped watching job ${this.jobId} before it ended.`);
      let outcome: PollOutcome | undefined;
      try {
        outcome = await this.poll();
        failedPolls = 0;
      } catch (e) {
        if (++failedPolls >= this.maxFailedPolls) throw e;
      }
      if (outcome?.kind === 'finished') return outcome.result;
      if (outcome?.kind === 'failed') throw outcome.error;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.pollIntervalMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  private async poll(): Promise<PollOutcome> {
    const details = await rest<JobDetailsInfo>(this.base, 'GET', `/jobs/${this.jobId}`);
    this.status = details.state;
    this.metrics = vertexMetrics(details);
    if (this.checkpointing) {
      const answer = await restCall(this.base, 'GET', `/jobs/${this.jobId}/checkpoints`);
      if (answer.status === 404) this.checkpointing = false;
      else if (answer.status === 200)
        this.checkpoints = checkpointSnapshot(answer.json as CheckpointingStatistics);
      else
        throw new Error(
          `GET /jobs/${this.jobId}/checkpoints failed (${answer.status}): ${errorDetail(answer)}`,
        );
    }
    const metrics = await rest<MetricCollectionResponseBody>(
      this.base,
      'GET',
      `/jobs/${this.jobId}/metrics?get=numRestarts`,
    );
    this.restarts = Number(metrics.find((m) => m.id === 'numRestarts')?.value ?? this.restarts);
    return TERMINAL.has(this.status) ? this.ending() : { kind: 'running' };
  }

  /** The outcome of a job in a terminal status; running again while its result is not out yet. */
  private async ending(): Promise<PollOutcome> {
    const body = await rest<JobExecutionResultResponseBody>(
      this.base,
      'GET',
      `/jobs/${this.jobId}/execution-result`,
    );
    const result = body['job-execution-result'];
    if (body.status.id !== 'COMPLETED' || result === null) return { kind: 'running' };
    const job = `job '${this.jobName}' (${this.jobId})`;
    switch (result['application-status']) {
      case 'SUCCEEDED': {
        const counts = this.checkpoints?.counts;
        return {
          kind: 'finished',
          result: new JobExecutionResult(
            this.jobId,
            result['net-runtime'],
            decodeAccumulators(result['accumulator-results']),
            {
              completed: counts?.completed ?? 0,
              failed: counts?.failed ?? 0,
              restored: counts?.restored ?? 0,
              lastRestoredCheckpointId: this.checkpoints?.latestRestored?.id,
            },
            this.restarts,
          ),
        };
      }
      case 'CANCELED':
        return { kind: 'failed', error: new SluiceError('SLUICE_JOB_CANCELLED', `${job} was cancelled.`) };
      default: {
        const cause = (await this.rootException()) ?? firstLine(result['failure-cause']?.['stack-trace']);
        return {
          kind: 'failed',
          error: new SluiceError(
            'SLUICE_JOB_FAILED',
            `${job} failed: ${cause ?? 'no exception was recorded'}`,
          ),
        };
      }
    }
  }

  /** The first line of the newest entry of the exception history, if any. */
  private async rootException(): Promise<string | undefined> {
    const answer = await restCall(this.base, 'GET', `/jobs/${this.jobId}/exceptions?maxExceptions=1`);
    if (answer.status !== 200) return undefined;
    const root = (answer.json as JobExceptionsInfoWithHistory).exceptionHistory.entries[0];
    return root && (firstLine(root.stacktrace) ?? root.exceptionName);
  }
}

function firstLine(text: string | undefined): string | undefined {
  const line = text?.split('\n')[0]?.trim();
  return line === '' ? undefined : line;
}

/** The counters of each vertex, in the order of the job's vertices. */
function vertexMetrics(details: JobDetailsInfo): VertexMetrics[] {
  const sources = new Set(details.plan.nodes.filter((n) => !n.inputs?.length).map((n) => n.id));
  return details.vertices.map((v) => ({
    name: v.name,
    parallelism: v.parallelism,
    // A source reads nothing from the network (Flink reports 0): what it emitted stands in.
    recordsIn: sources.has(v.id) ? v.metrics['write-records'] : v.metrics['read-records'],
    recordsOut: v.metrics['write-records'],
    bytesOut: v.metrics['write-bytes'],
    // Channel occupancy is not part of Flink's REST vertex counters.
    maxInputChannelBytes: 0,
    maxOutputChannelBytes: 0,
  }));
}

function checkpointSnapshot(body: CheckpointingStatistics): CheckpointStatsSnapshot {
  const restored = body.latest.restored;
  return {
    counts: {
      restored: body.counts.restored,
      total: body.counts.total,
      inProgress: body.counts.in_progress,
      completed: body.counts.completed,
      failed: body.counts.failed,
    },
    latestCompleted: body.latest.completed ? checkpointStats(body.latest.completed) : undefined,
    latestSavepoint: body.latest.savepoint ? checkpointStats(body.latest.savepoint) : undefined,
    latestFailed: body.latest.failed ? checkpointStats(body.latest.failed) : undefined,
    latestRestored: restored
      ? {
          id: restored.id,
          restoreTimestamp: restored.restore_timestamp,
          isSavepoint: restored.is_savepoint,
          externalPath: restored.external_path,
        }
      : undefined,
    history: body.history.map(checkpointStats),
  };
}

function checkpointStats(c: CheckpointStatistics): CheckpointStats {
  return {
    id: c.id,
    status: c.status,
    isSavepoint: c.is_savepoint,
    triggerTimestamp: c.trigger_timestamp,
    latestAckTimestamp: c.latest_ack_timestamp < 0 ? undefined : c.latest_ack_timestamp,
    endToEndDurationMs: c.end_to_end_duration,
    checkpointedSize: c.checkpointed_size,
    stateSize: c.state_size,
    numSubtasks: c.num_subtasks,
    // Per-subtask acknowledgements are in /checkpoints/details, which progress does not need.
    subtasks: [],
    ...(c.className === 'failed'
      ? { failureTimestamp: c.failure_timestamp, failureMessage: c.failure_message }
      : {}),
    ...(c.className === 'completed' ? { externalPath: c.external_path } : {}),
  };
}

/** Accumulators as Sluice's REST API sends them: the base64 of their JSON. */
function decodeAccumulators(encoded: Readonly<Record<string, string>>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(encoded).map(([name, value]) => {
      const text = Buffer.from(value, 'base64').toString('utf8');
      try {
        return [name, JSON.parse(text) as unknown];
      } catch {
        return [name, text];
      }
    }),
  );
}
