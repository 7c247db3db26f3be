/**
 * A vertex's task metrics, back pressure, TaskManagers and accumulators: the requests Flink's
 * dashboard polls on a job page and in a vertex's drawer.
 */
import { listParam, requireJob, requireVertex, type HandlerContext } from './handler-context.js';
import { subtaskIoMetrics } from './job-handlers.js';
import type { RestVertex } from './rest-backend.js';
import { badQueryParameter, RestHandlerException, type RestRequest, type Route } from './rest-router.js';
import type { IOMetricsInfo, Metric, MetricCollectionResponseBody } from './rest-schema.js';
import { aggregatedStatistics } from './rest-values.js';
import { backPressureLevel, metricIdsOf, metricNumberOf, metricValueOf } from './task-metrics.js';

/** The routes of a vertex's metrics, back pressure, TaskManagers and accumulators. */
export function vertexMetricRoutes(ctx: HandlerContext): Route[] {
  const vertexOf = (request: RestRequest): RestVertex => requireVertex(requireJob(ctx, request), request);
  return [
    {
      method: 'GET',
      path: '/jobs/:jobid/vertices/:vertexid/metrics',
      handle: (request) => ({
        status: 200,
        body: vertexMetrics(vertexOf(request), listParam(request, 'get')),
      }),
    },
    {
      method: 'GET',
      path: '/jobs/:jobid/vertices/:vertexid/subtasks/metrics',
      handle: (request) => ({ status: 200, body: aggregatedSubtaskMetrics(vertexOf(request), request) }),
    },
    {
      method: 'GET',
      path: '/jobs/:jobid/vertices/:vertexid/subtasks/:subtaskindex/metrics',
      handle: (request) => {
        const vertex = vertexOf(request);
        return {
          status: 200,
          body: subtaskMetrics(vertex, subtaskParam(request, vertex), listParam(request, 'get')),
        };
      },
    },
    {
      method: 'GET',
      path: '/jobs/:jobid/vertices/:vertexid/backpressure',
      handle: (request) => ({ status: 200, body: backPressure(vertexOf(request), ctx.now()) }),
    },
    {
      method: 'GET',
      path: '/jobs/:jobid/vertices/:vertexid/taskmanagers',
      handle: (request) => ({ status: 200, body: vertexTaskManagers(vertexOf(request), ctx.now()) }),
    },
    {
      method: 'GET',
      path: '/jobs/:jobid/vertices/:vertexid/accumulators',
      handle: (request) => ({ status: 200, body: { id: vertexOf(request).id, 'user-accumulators': [] } }),
    },
    {
      method: 'GET',
      path: '/jobs/:jobid/vertices/:vertexid/subtasks/accumulators',
      handle: (request) => {
        const vertex = vertexOf(request);
        return {
          status: 200,
          body: {
            id: vertex.id,
            parallelism: vertex.parallelism,
            subtasks: vertex.taskStates.map((_, subtask) => ({
              subtask,
              attempt: vertex.attemptNumbers[subtask] ?? 0,
              endpoint: vertex.locations[subtask]?.endpoint ?? '(unassigned)',
              'user-accumulators': [],
            })),
          },
        };
      },
    },
  ];
}

/** The subtask index path parameter: 400 unless it names one of the vertex's subtasks. */
function subtaskParam(request: RestRequest, vertex: RestVertex): number {
  const value = request.params['subtaskindex'] ?? '';
  const index = /^\d{1,9}$/u.test(value) ? Number(value) : -1;
  if (index < 0)
    throw new RestHandlerException(
      400,
      `Cannot resolve path parameter (subtaskindex) from value "${value}".`,
    );
  if (index >= vertex.parallelism)
    throw new RestHandlerException(
      404,
      `Invalid subtask index ${index} for vertex with parallelism ${vertex.parallelism}.`,
    );
  return index;
}

// --- GET /jobs/:jobid/vertices/:vertexid/metrics ---

/** Flink's vertex scope: `<subtask>.<metric>`; without `get` the ids, with it the values known. */
function vertexMetrics(vertex: RestVertex, requested: readonly string[]): MetricCollectionResponseBody {
  if (requested.length === 0)
    return Array.from({ length: vertex.parallelism }, (_, s) =>
      metricIdsOf(vertex, s).map((id): Metric => ({ id: `${s}.${id}` })),
    ).flat();
  return requested.flatMap((id): Metric[] => {
    const dot = id.indexOf('.');
    const subtask = dot > 0 ? Number(id.slice(0, dot)) : NaN;
    if (!Number.isInteger(subtask) || subtask < 0 || subtask >= vertex.parallelism) return [];
    const value = metricValueOf(vertex, subtask, id.slice(dot + 1));
    return value === undefined ? [] : [{ id, value }];
  });
}

// --- GET /jobs/:jobid/vertices/:vertexid/subtasks/:subtaskindex/metrics ---

function subtaskMetrics(
  vertex: RestVertex,
  subtask: number,
  requested: readonly string[],
): MetricCollectionResponseBody {
  if (requested.length === 0) return metricIdsOf(vertex, subtask).map((id): Metric => ({ id }));
  return requested.flatMap((id): Metric[] => {
    const value = metricValueOf(vertex, subtask, id);
    return value === undefined ? [] : [{ id, value }];
  });
}

// --- GET /jobs/:jobid/vertices/:vertexid/subtasks/metrics ---

const AGGREGATIONS = ['min', 'max', 'avg', 'sum', 'skew'] as const;
type Aggregation = (typeof AGGREGATIONS)[number];

/** One metric aggregated over subtasks, as Flink's AggregatedMetric (only the asked-for modes). */
interface AggregatedMetric {
  readonly id: string;
  readonly min?: number;
  readonly max?: number;
  readonly avg?: number;
  readonly sum?: number;
  readonly skew?: number;
}

function aggregatedSubtaskMetrics(vertex: RestVertex, request: RestRequest): readonly AggregatedMetric[] {
  const requested = listParam(request, 'get');
  if (requested.length === 0)
    return [...new Set(vertex.taskStates.flatMap((_, s) => metricIdsOf(vertex, s)))].map((id) => ({ id }));
  const modes = aggregationModes(listParam(request, 'agg'));
  const subtasks = subtaskSelection(listParam(request, 'subtasks'), vertex.parallelism);
  return requested.flatMap((id): AggregatedMetric[] => {
    const values = subtasks
      .map((s) => metricNumberOf(vertex, s, id))
      .filter((v): v is number => v !== undefined);
    if (values.length === 0) return [];
    const aggregate: Record<string, number> = {};
    for (const mode of modes) aggregate[mode] = aggregateOf(mode, values);
    return [{ id, ...aggregate }];
  });
}

function aggregationModes(requested: readonly string[]): readonly Aggregation[] {
  if (requested.length === 0) return AGGREGATIONS;
  return requested.map((mode) => {
    const known = AGGREGATIONS.find((a) => a === mode.toLowerCase());
    if (!known) throw badQueryParameter('agg', mode);
    return known;
  });
}

/** Flink's `subtasks` parameter: ranges like `1,3,5-9`; every subtask when absent. */
function subtaskSelection(ranges: readonly string[], parallelism: number): number[] {
  if (ranges.length === 0) return Array.from({ length: parallelism }, (_, s) => s);
  const out = new Set<number>();
  for (const range of ranges) {
    const m = /^(\d+)(?:-(\d+))?$/u.exec(range);
    if (!m) throw badQueryParameter('subtasks', range);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    for (let s = from; s <= to && s < parallelism; s++) out.add(s);
  }
  return [...out].sort((a, b) => a - b);
}

/** Flink's skew: how far the largest value lies above the average, as a percentage of the average. */
function aggregateOf(mode: Aggregation, values: readonly number[]): number {
  const sum = values.reduce((a, b) => a + b, 0);
  const avg = sum / values.length;
  switch (mode) {
    case 'min':
      return Math.min(...values);
    case 'max':
      return Math.max(...values);
    case 'sum':
      return sum;
    case 'avg':
      return avg;
    case 'skew': {
      const max = Math.max(...values);
      return avg === 0 ? 0 : Math.round(((max - avg) / avg) * 100);
    }
  }
}

// --- GET /jobs/:jobid/vertices/:vertexid/backpressure ---

/**
 * Flink's JobVertexBackPressureHandler: per subtask the share of time back-pressured (and idle,
 * busy) over the last minute, and the vertex's level from its worst subtask.
 */
function backPressure(vertex: RestVertex, now: number): unknown {
  const subtasks = vertex.taskStates.map((_, subtask) => {
    const c = vertex.metrics?.subtasks?.[subtask];
    const ratio = (c?.['backPressuredTimeMsPerSecond'] ?? 0) / 1000;
    return {
      subtask,
      'attempt-number': vertex.attemptNumbers[subtask] ?? 0,
      backpressureLevel: backPressureLevel(ratio),
      ratio,
      idleRatio: (c?.['idleTimeMsPerSecond'] ?? 0) / 1000,
      busyRatio: (c?.['busyTimeMsPerSecond'] ?? 0) / 1000,
    };
  });
  const worst = subtasks.reduce((max, s) => Math.max(max, s.ratio), 0);
  return { status: 'ok', backpressureLevel: backPressureLevel(worst), 'end-timestamp': now, subtasks };
}

// --- GET /jobs/:jobid/vertices/:vertexid/taskmanagers ---

const EXECUTION_STATES = [
  'CREATED',
  'SCHEDULED',
  'DEPLOYING',
  'RUNNING',
  'FINISHED',
  'CANCELING',
  'CANCELED',
  'FAILED',
  'RECONCILING',
  'INITIALIZING',
] as const;

/** Flink's JobVertexTaskManagersHandler: the vertex's subtasks grouped by the TaskManager they run on. */
function vertexTaskManagers(vertex: RestVertex, now: number): unknown {
  const groups = new Map<string, { endpoint: string; subtasks: number[] }>();
  vertex.taskStates.forEach((_, subtask) => {
    const location = vertex.locations[subtask];
    const id = location?.taskManagerId ?? '(unassigned)';
    const group = groups.get(id) ?? { endpoint: location?.endpoint ?? '(unassigned)', subtasks: [] };
    group.subtasks.push(subtask);
    groups.set(id, group);
  });
  const taskmanagers = [...groups].map(([taskManagerId, { endpoint, subtasks }]) => {
    const starts = subtasks.map((s) => vertex.startTimes[s] ?? -1).filter((t) => t > 0);
    const start = starts.length === 0 ? -1 : Math.min(...starts);
    const counts = Object.fromEntries(EXECUTION_STATES.map((s) => [s, 0]));
    for (const s of subtasks) counts[vertex.taskStates[s]!] = (counts[vertex.taskStates[s]!] ?? 0) + 1;
    const metrics = sumIoMetrics(subtasks.map((s) => subtaskIoMetrics(vertex, s)));
    return {
      endpoint,
      status: groupStatus(subtasks.map((s) => vertex.taskStates[s]!)),
      'start-time': start,
      'end-time': -1,
      duration: start > 0 ? now - start : -1,
      metrics,
      'status-counts': counts,
      'taskmanager-id': taskManagerId,
      aggregated: {
        metrics: Object.fromEntries(
          (Object.keys(metrics) as (keyof IOMetricsInfo)[])
            .filter((k) => typeof metrics[k] === 'number')
            .map((k) => [
              k,
              aggregatedStatistics(subtasks.map((s) => subtaskIoMetrics(vertex, s)[k] as number)),
            ]),
        ),
        // Only the time since deployment is known per subtask, all of it RUNNING (as the vertex page shows).
        'status-duration': {
          RUNNING: aggregatedStatistics(
            subtasks.map((s) => {
              const started = vertex.startTimes[s] ?? -1;
              return started > 0 ? now - started : -1;
            }),
          ),
        },
      },
    };
  });
  return { id: vertex.id, name: vertex.name, now, taskmanagers };
}

/** The status a group of subtasks shows: the least advanced one's (as Flink's ExecutionJobVertex#getAggregateJobVertexState). */
function groupStatus(states: readonly string[]): string {
  for (const s of [
    'FAILED',
    'CANCELING',
    'CANCELED',
    'RUNNING',
    'INITIALIZING',
    'DEPLOYING',
    'SCHEDULED',
    'CREATED',
  ])
    if (states.includes(s)) return s;
  return states.length > 0 && states.every((s) => s === 'FINISHED') ? 'FINISHED' : 'CREATED';
}

function sumIoMetrics(all: readonly IOMetricsInfo[]): IOMetricsInfo {
  const sum = (k: keyof IOMetricsInfo): number => all.reduce((n, m) => n + (m[k] as number), 0);
  const complete = (k: keyof IOMetricsInfo): boolean => all.every((m) => m[k] === true);
  return {
    'read-bytes': sum('read-bytes'),
    'read-bytes-complete': complete('read-bytes-complete'),
    'write-bytes': sum('write-bytes'),
    'write-bytes-complete': complete('write-bytes-complete'),
    'read-records': sum('read-records'),
    'read-records-complete': complete('read-records-complete'),
    'write-records': sum('write-records'),
    'write-records-complete': complete('write-records-complete'),
    'accumulated-backpressured-time': sum('accumulated-backpressured-time'),
    'accumulated-idle-time': sum('accumulated-idle-time'),
    'accumulated-busy-time': sum('accumulated-busy-time'),
  };
}
