/** Handlers of the job endpoints: list, overview, details, status, exceptions, cancel, execution result. */
import type { JobStatus } from '../api/execution.js';
import type { ExecutionState } from '../runtime/task.js';
import { requireJob, type HandlerContext } from './handler-context.js';
import type { RestJob, RestVertex } from './rest-backend.js';
import {
  badQueryParameter,
  RestHandlerException,
  type RestRequest,
  type RestResponse,
  type Route,
} from './rest-router.js';
import {
  EXECUTION_STATES,
  JOB_STATUSES,
  type IOMetricsInfo,
  type JobDetails,
  type JobDetailsInfo,
  type JobExceptionsInfoWithHistory,
  type JobExecutionResultResponseBody,
  type JobIdsWithStatusOverview,
  type JobVertexDetailsInfo,
  type LowerCaseTaskCounts,
  type MultipleJobsDetails,
  type Plan,
  type RestExecutionState,
  type RootExceptionInfo,
} from './rest-schema.js';
import { serializedThrowable } from './rest-values.js';

/** Flink's default of `maxExceptions` (JobExceptionsHandler.MAX_NUMBER_EXCEPTION_TO_REPORT). */
const DEFAULT_MAX_EXCEPTIONS = 20;

/** The routes of the job endpoints. */
export function jobRoutes(ctx: HandlerContext): Route[] {
  return [
    {
      method: 'GET',
      path: '/jobs',
      handle: () => ({
        status: 200,
        body: {
          jobs: ctx.backend.jobs().map((j) => ({ id: j.jobId, status: j.status() })),
        } satisfies JobIdsWithStatusOverview,
      }),
    },
    {
      method: 'GET',
      path: '/jobs/overview',
      handle: () => ({
        status: 200,
        body: { jobs: ctx.backend.jobs().map((j) => jobDetails(j, ctx.now())) } satisfies MultipleJobsDetails,
      }),
    },
    {
      method: 'GET',
      path: '/jobs/:jobid',
      handle: (request) => ({ status: 200, body: jobDetailsInfo(requireJob(ctx, request), ctx.now()) }),
    },
    {
      method: 'GET',
      path: '/jobs/:jobid/status',
      handle: (request) => ({ status: 200, body: { status: requireJob(ctx, request).status() } }),
    },
    { method: 'PATCH', path: '/jobs/:jobid', action: 'cancel', handle: (request) => cancelJob(ctx, request) },
    // Flink's web UI cancels with this legacy GET (features.web-cancel).
    {
      method: 'GET',
      path: '/jobs/:jobid/yarn-cancel',
      action: 'cancel',
      handle: (request) => cancelJob(ctx, request),
    },
    {
      method: 'GET',
      path: '/jobs/:jobid/exceptions',
      handle: (request) => {
        const job = requireJob(ctx, request);
        const maxText = request.query.get('maxExceptions');
        const max = maxText === null ? DEFAULT_MAX_EXCEPTIONS : Number(maxText);
        if (maxText !== null && (!/^\d+$/u.test(maxText) || !Number.isSafeInteger(max)))
          throw badQueryParameter('maxExceptions', maxText);
        const filters = request.query.getAll('failureLabelFilter').flatMap((f) => f.split(','));
        for (const f of filters) if (!/^[^:]+:.+$/u.test(f)) throw badQueryParameter('failureLabelFilter', f);
        // Sluice attaches no failure labels yet, so any label filter leaves nothing.
        const all = filters.length > 0 ? [] : job.exceptions();
        const entries = all.slice(0, max).map((e): RootExceptionInfo => ({
          exceptionName: e.name,
          stacktrace: e.stacktrace,
          timestamp: e.timestamp,
          failureLabels: {},
          ...(e.taskName === undefined ? {} : { taskName: e.taskName }),
          ...(e.endpoint === undefined ? {} : { endpoint: e.endpoint }),
          ...(e.taskManagerId === undefined ? {} : { taskManagerId: e.taskManagerId }),
          concurrentExceptions: [],
        }));
        const body: JobExceptionsInfoWithHistory = {
          exceptionHistory: { entries, truncated: all.length > entries.length },
        };
        return { status: 200, body };
      },
    },
    {
      method: 'GET',
      path: '/jobs/:jobid/execution-result',
      handle: (request) => {
        const job = requireJob(ctx, request);
        const result = job.result();
        const body: JobExecutionResultResponseBody = result
          ? {
              status: { id: 'COMPLETED' },
              'job-execution-result': {
                id: job.jobId,
                name: job.name,
                'application-status': APPLICATION_STATUS[result.status],
                'accumulator-results': Object.fromEntries(
                  Object.entries(result.accumulators).map(([k, v]) => [
                    k,
                    Buffer.from(accumulatorJson(v), 'utf8').toString('base64'),
                  ]),
                ),
                'net-runtime': result.netRuntimeMs,
                ...(result.failure ? { 'failure-cause': serializedThrowable(result.failure) } : {}),
                'start-time': result.startTime,
                'end-time': result.endTime,
              },
            }
          : { status: { id: 'IN_PROGRESS' }, 'job-execution-result': null };
        return { status: 200, body };
      },
    },
  ];
}

/** `PATCH /jobs/:jobid?mode=cancel`, as Flink's JobCancellationHandler. */
async function cancelJob(ctx: HandlerContext, request: RestRequest): Promise<RestResponse> {
  const mode = request.query.get('mode') ?? 'cancel';
  if (mode.toLowerCase() === 'stop')
    throw new RestHandlerException(
      308,
      'The termination mode "stop" has been removed. For an ungraceful shutdown, please use ' +
        '"cancel" instead. For a graceful shutdown, please use "jobs/:jobId/stop" instead.',
    );
  if (mode.toLowerCase() !== 'cancel') throw badQueryParameter('mode', mode);
  const job = requireJob(ctx, request, 'Job could not be found.');
  const status = job.status();
  if (status === 'FINISHED' || status === 'FAILED')
    throw new RestHandlerException(
      409,
      `Job cancellation failed because the job has already reached another terminal state (${status}).`,
    );
  await job.cancel();
  return { status: 202, body: {} };
}

/** An accumulator value as JSON text (bigints as decimal strings; what JSON cannot hold as null). */
function accumulatorJson(value: unknown): string {
  try {
    return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) ?? 'null';
  } catch {
    return 'null';
  }
}

const APPLICATION_STATUS = { FINISHED: 'SUCCEEDED', FAILED: 'FAILED', CANCELED: 'CANCELED' } as const;

/** Start, end (-1 while running) and duration of a job, as Flink reports them. */
export function jobTimes(job: RestJob, now: number): { start: number; end: number; duration: number } {
  const end = job.endTime();
  return { start: job.startTime, end: end ?? -1, duration: (end ?? now) - job.startTime };
}

function jobDetails(job: RestJob, now: number): JobDetails {
  const { start, end, duration } = jobTimes(job, now);
  const counts = countStates(job.vertices().flatMap((v) => v.taskStates));
  const tasks = Object.fromEntries([
    ['total', EXECUTION_STATES.reduce((n, s) => n + counts[s], 0)],
    ...EXECUTION_STATES.map((s) => [s.toLowerCase(), counts[s]]),
  ]) as LowerCaseTaskCounts;
  return {
    jid: job.jobId,
    name: job.name,
    state: job.status(),
    'start-time': start,
    'end-time': end,
    duration,
    'last-modification': Math.max(start, ...job.statusTimestamps().values()),
    tasks,
    'pending-operators': 0,
  };
}

function jobDetailsInfo(job: RestJob, now: number): JobDetailsInfo {
  const { start, end, duration } = jobTimes(job, now);
  const stamps = job.statusTimestamps();
  const vertices = job.vertices();
  const vertexInfos = vertices.map((v) => vertexDetails(v, job.jobId, now));
  return {
    jid: job.jobId,
    name: job.name,
    isStoppable: false,
    state: job.status(),
    'job-type': job.executionConfig().runtimeMode,
    'start-time': start,
    'end-time': end,
    duration,
    // The job-wide pipeline.max-parallelism; -1 when unset, as Flink's default.
    maxParallelism: -1,
    now,
    timestamps: Object.fromEntries(JOB_STATUSES.map((s) => [s, stamps.get(s) ?? 0])) as Record<
      JobStatus,
      number
    >,
    vertices: vertexInfos,
    'status-counts': countStates(vertexInfos.map((v) => v.status)),
    plan: plan(job, vertices),
    'pending-operators': 0,
  };
}

/**
 * A vertex's details, its times as Flink's JobDetailsHandler takes them: it started when its first
 * subtask was deployed, and ended when its last subtask did, once all of them ended.
 */
function vertexDetails(v: RestVertex, slotSharingGroupId: string, now: number): JobVertexDetailsInfo {
  const counts = countStates(v.taskStates);
  const deployed = v.startTimes.filter((t) => t > 0);
  const start = deployed.length === 0 ? -1 : Math.min(...deployed);
  const ended = v.taskStates.every((s) => s === 'FINISHED' || s === 'CANCELED' || s === 'FAILED');
  const end = start < 0 || !ended ? -1 : Math.max(...v.stateTimestamps);
  return {
    id: v.id,
    // Every vertex is in the one default slot sharing group, as in Flink by default.
    slotSharingGroupId,
    name: v.name,
    maxParallelism: v.maxParallelism,
    parallelism: v.parallelism,
    status: vertexState(counts, v.parallelism),
    'start-time': start,
    'end-time': end,
    duration: start < 0 ? -1 : (end >= 0 ? end : now) - start,
    tasks: counts,
    metrics: ioMetrics(v),
  };
}

/** A vertex's counters, summed over its subtasks. */
export function ioMetrics(v: RestVertex): IOMetricsInfo {
  const m = v.metrics;
  const subtasks = m?.subtasks ?? [];
  const sum = (name: string): number => subtasks.reduce((n, c) => n + (c?.[name] ?? 0), 0);
  // As Flink, a source reads no records (it has no network input).
  const isSource = v.inputs.length === 0;
  return {
    'read-bytes': isSource ? 0 : (m?.bytesIn ?? 0),
    // A source reads nothing from the network: its (zero) input is known once it reported.
    'read-bytes-complete': m !== undefined && (isSource || m.bytesIn !== undefined),
    'write-bytes': m?.bytesOut ?? 0,
    'write-bytes-complete': m !== undefined,
    'read-records': isSource ? 0 : (m?.recordsIn ?? 0),
    'read-records-complete': m !== undefined,
    'write-records': m?.recordsOut ?? 0,
    'write-records-complete': m !== undefined,
    'accumulated-backpressured-time': Math.round(sum('backPressuredTimeMs')),
    'accumulated-idle-time': Math.round(sum('idleTimeMs')),
    'accumulated-busy-time': Math.round(sum('busyTimeMs')),
  };
}

/** One subtask's IOMetricsInfo from its own counters; zeros marked incomplete until it reported. */
export function subtaskIoMetrics(v: RestVertex, subtask: number): IOMetricsInfo {
  const c = v.metrics?.subtasks?.[subtask];
  const isSource = v.inputs.length === 0;
  const known = c !== undefined;
  const read = (name: string): number => Math.round(c?.[name] ?? 0);
  return {
    'read-bytes': isSource ? 0 : read('bytesIn'),
    'read-bytes-complete': known,
    'write-bytes': read('bytesOut'),
    'write-bytes-complete': known,
    'read-records': isSource ? 0 : read('recordsIn'),
    'read-records-complete': known,
    'write-records': read('recordsOut'),
    'write-records-complete': known,
    'accumulated-backpressured-time': read('backPressuredTimeMs'),
    'accumulated-idle-time': read('idleTimeMs'),
    'accumulated-busy-time': read('busyTimeMs'),
  };
}

/** The job plan as Flink's JsonPlanGenerator writes it: one node per vertex. */
export function plan(job: RestJob, vertices: readonly RestVertex[]): Plan {
  return {
    jid: job.jobId,
    name: job.name,
    type: 'STREAMING',
    nodes: vertices.map((v) => ({
      id: v.id,
      parallelism: v.parallelism,
      operator: '',
      operator_strategy: '',
      description: v.name,
      ...(v.inputs.length === 0
        ? {}
        : {
            inputs: v.inputs.map((input, num) => ({
              num,
              id: input.sourceId,
              ship_strategy: input.shipStrategy,
              exchange: 'pipelined_bounded',
            })),
          }),
      optimizer_properties: {},
    })),
  };
}

function countStates(
  states: readonly (ExecutionState | RestExecutionState)[],
): Record<RestExecutionState, number> {
  const counts = Object.fromEntries(EXECUTION_STATES.map((s) => [s, 0])) as Record<
    RestExecutionState,
    number
  >;
  for (const s of states) counts[s]++;
  return counts;
}

/** A vertex's state from its subtasks' (Flink's ExecutionJobVertex.getAggregateJobVertexState). */
function vertexState(counts: Record<RestExecutionState, number>, parallelism: number): RestExecutionState {
  if (counts.FAILED > 0) return 'FAILED';
  if (counts.CANCELING > 0) return 'CANCELING';
  if (counts.CANCELED > 0) return 'CANCELED';
  if (counts.INITIALIZING > 0) return 'INITIALIZING';
  if (counts.RUNNING > 0) return 'RUNNING';
  if (counts.FINISHED > 0) return counts.FINISHED === parallelism ? 'FINISHED' : 'RUNNING';
  return 'CREATED';
}
