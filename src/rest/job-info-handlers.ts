/** Handlers of a job's plan, configuration, vertex details and job metrics. */
import { MIN_WATERMARK } from '../core/watermark.js';
import { listParam, requireJob, requireVertex, type HandlerContext } from './handler-context.js';
import { plan, subtaskIoMetrics } from './job-handlers.js';
import type { RestJob, RestVertex } from './rest-backend.js';
import type { Route } from './rest-router.js';
import type {
  JobConfigInfo,
  JobPlanInfo,
  JobVertexDetailsBody,
  Metric,
  MetricCollectionResponseBody,
  SubtaskExecutionAttemptDetailsInfo,
} from './rest-schema.js';
import { aggregatedStatistics, describeRestartStrategy } from './rest-values.js';
import { watermarkString } from './task-metrics.js';

/** The routes of a job's plan, configuration, vertex details and metrics. */
export function jobInfoRoutes(ctx: HandlerContext): Route[] {
  return [
    {
      method: 'GET',
      path: '/jobs/:jobid/plan',
      handle: (request) => {
        const job = requireJob(ctx, request);
        return { status: 200, body: { plan: plan(job, job.vertices()) } satisfies JobPlanInfo };
      },
    },
    {
      method: 'GET',
      path: '/jobs/:jobid/config',
      handle: (request) => ({ status: 200, body: jobConfig(requireJob(ctx, request)) }),
    },
    {
      method: 'GET',
      path: '/jobs/:jobid/vertices/:vertexid',
      handle: (request) => {
        const job = requireJob(ctx, request);
        return { status: 200, body: vertexDetails(job, requireVertex(job, request), ctx.now()) };
      },
    },
    {
      method: 'GET',
      path: '/jobs/:jobid/vertices/:vertexid/watermarks',
      handle: (request) => {
        return { status: 200, body: vertexWatermarks(requireVertex(requireJob(ctx, request), request)) };
      },
    },
    {
      method: 'GET',
      path: '/jobs/:jobid/metrics',
      handle: (request) => {
        const job = requireJob(ctx, request);
        return { status: 200, body: jobMetrics(job, listParam(request, 'get'), ctx.now()) };
      },
    },
  ];
}

function jobConfig(job: RestJob): JobConfigInfo {
  const config = job.executionConfig();
  return {
    jid: job.jobId,
    name: job.name,
    'execution-config': {
      'job-parallelism': config.parallelism,
      // Chained operators hand records on by reference, never copied: Flink's object reuse.
      'object-reuse-mode': true,
      'restart-strategy': describeRestartStrategy(config.restartStrategy),
      'user-config': config.userConfig,
    },
  };
}

// --- GET /jobs/:jobid/vertices/:vertexid/watermarks ---

/** Flink's JobVertexWatermarksHandler: `<subtask>.currentInputWatermark` per subtask. */
function vertexWatermarks(vertex: RestVertex): MetricCollectionResponseBody {
  const watermarks = vertex.metrics?.currentInputWatermarks;
  return Array.from({ length: vertex.parallelism }, (_, s): Metric => ({
    id: `${s}.currentInputWatermark`,
    value: watermarkString(watermarks?.[s] ?? MIN_WATERMARK),
  }));
}

// --- GET /jobs/:jobid/vertices/:vertexid ---

/** The IOMetricsInfo fields Flink aggregates over subtasks. */
const AGGREGATED_METRICS = [
  'read-bytes',
  'write-bytes',
  'read-records',
  'write-records',
  'accumulated-backpressured-time',
  'accumulated-idle-time',
  'accumulated-busy-time',
] as const;

/** The states whose durations Flink reports per subtask. */
const TIMED_STATES = ['CREATED', 'SCHEDULED', 'DEPLOYING', 'INITIALIZING', 'RUNNING'] as const;

const TERMINAL = new Set(['FINISHED', 'CANCELED', 'FAILED']);

function vertexDetails(job: RestJob, vertex: RestVertex, now: number): JobVertexDetailsBody {
  const subtasks = vertex.taskStates.map((state, subtask): SubtaskExecutionAttemptDetailsInfo => {
    const location = vertex.locations[subtask];
    // As Flink's SubtaskExecutionAttemptDetailsInfo: from deployment to the end of the execution.
    const start = vertex.startTimes[subtask] ?? -1;
    const end = TERMINAL.has(state) ? (vertex.stateTimestamps[subtask] ?? -1) : -1;
    const duration = start > 0 ? (end > 0 ? end : now) - start : -1;
    return {
      subtask,
      status: state,
      attempt: vertex.attemptNumbers[subtask] ?? 0,
      endpoint: location?.endpoint ?? '(unassigned)',
      'start-time': start,
      start_time: start,
      'end-time': end,
      duration,
      metrics: subtaskIoMetrics(vertex, subtask),
      'taskmanager-id': location?.taskManagerId ?? '(unassigned)',
      // Only the time since deployment is known per subtask: the states before RUNNING count as
      // 0 once deployed, and as not entered (-1) before.
      'status-duration': Object.fromEntries(
        TIMED_STATES.map((s) => [s, start < 0 ? -1 : s === 'RUNNING' ? duration : 0]),
      ),
    };
  });
  return {
    id: vertex.id,
    name: vertex.name,
    parallelism: vertex.parallelism,
    maxParallelism: vertex.maxParallelism,
    now,
    subtasks,
    aggregated: {
      metrics: Object.fromEntries(
        AGGREGATED_METRICS.map((m) => [m, aggregatedStatistics(subtasks.map((s) => s.metrics[m]))]),
      ),
      'status-duration': Object.fromEntries(
        TIMED_STATES.map((s) => [
          s,
          aggregatedStatistics(subtasks.map((t) => t['status-duration'][s] ?? -1)),
        ]),
      ),
    },
  };
}

// --- GET /jobs/:jobid/metrics ---

/** A job-scope gauge; as Flink, every value is sent as a string. */
type Gauge = (job: RestJob, now: number) => number | string;

/** Restart and uptime gauges, which every job has (Flink's JobManager job metrics). */
const JOB_GAUGES: Readonly<Record<string, Gauge>> = {
  numRestarts: (job) => job.numRestarts(),
  // Deprecated in Flink in favour of numRestarts, with the same value.
  fullRestarts: (job) => job.numRestarts(),
  // Flink's UpTimeGauge: time since RUNNING was entered, 0 when not running, -1 once ended.
  uptime: (job, now) => {
    const status = job.status();
    if (status === 'FINISHED' || status === 'FAILED' || status === 'CANCELED') return -1;
    const running = job.statusTimestamps().get('RUNNING');
    return status === 'RUNNING' && running !== undefined ? now - running : 0;
  },
};

/**
 * Checkpoint gauges, which only jobs that checkpoint have (DefaultCheckpointStatsTracker); the
 * gauges of the last checkpoint are -1 (the path "n/a") until one completes.
 */
const CHECKPOINT_GAUGES: Readonly<Record<string, Gauge>> = {
  totalNumberOfCheckpoints: (job) => job.checkpointStats()?.counts.total ?? 0,
  numberOfInProgressCheckpoints: (job) => job.checkpointStats()?.counts.inProgress ?? 0,
  numberOfCompletedCheckpoints: (job) => job.checkpointStats()?.counts.completed ?? 0,
  numberOfFailedCheckpoints: (job) => job.checkpointStats()?.counts.failed ?? 0,
  lastCheckpointRestoreTimestamp: (job) => job.checkpointStats()?.latestRestored?.restoreTimestamp ?? -1,
  lastCheckpointSize: (job) => job.checkpointStats()?.latestCompleted?.checkpointedSize ?? -1,
  lastCheckpointFullSize: (job) => job.checkpointStats()?.latestCompleted?.stateSize ?? -1,
  lastCheckpointDuration: (job) => job.checkpointStats()?.latestCompleted?.endToEndDurationMs ?? -1,
  lastCheckpointProcessedData: (job) => {
    const last = job.checkpointStats()?.latestCompleted;
    return last ? last.subtasks.reduce((n, s) => n + s.bytesProcessedDuringAlignment, 0) : -1;
  },
  // Sluice's checkpoints are aligned: nothing in flight is persisted.
  lastCheckpointPersistedData: (job) => (job.checkpointStats()?.latestCompleted ? 0 : -1),
  lastCheckpointExternalPath: (job) => job.checkpointStats()?.latestCompleted?.externalPath ?? 'n/a',
  lastCompletedCheckpointId: (job) => job.checkpointStats()?.latestCompleted?.id ?? -1,
  lastCheckpointCompletedTimestamp: (job) => job.checkpointStats()?.latestCompleted?.latestAckTimestamp ?? -1,
};

/** The job's gauges by Flink's names: restarts and uptime, and the checkpoint gauges when it checkpoints. */
function jobGauges(job: RestJob): Readonly<Record<string, Gauge>> {
  return { ...JOB_GAUGES, ...(job.checkpointStats() === undefined ? {} : CHECKPOINT_GAUGES) };
}

/** The values of the job's gauges now (a path is a string). */
export function jobGaugeValues(job: RestJob, now: number): Record<string, number | string> {
  return Object.fromEntries(Object.entries(jobGauges(job)).map(([id, gauge]) => [id, gauge(job, now)]));
}

/** The ids of the job's metrics, or the values of the `requested` ones (unknown names are left out, as Flink). */
function jobMetrics(job: RestJob, requested: readonly string[], now: number): MetricCollectionResponseBody {
  const gauges = jobGauges(job);
  if (requested.length === 0) return Object.keys(gauges).map((id): Metric => ({ id }));
  return requested.flatMap((id): Metric[] => {
    const gauge = Object.hasOwn(gauges, id) ? gauges[id] : undefined;
    return gauge ? [{ id, value: String(gauge(job, now)) }] : [];
  });
}
