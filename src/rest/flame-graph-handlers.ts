/**
 * `GET /jobs/:jobid/vertices/:vertexid/flamegraph` as Flink's JobVertexFlameGraphHandler: the
 * first request starts sampling the CPU of the TaskManagers running the vertex and is answered
 * with Flink's "waiting" placeholder; later ones get the folded samples until
 * `rest.flamegraph.refresh-interval` passed, when a new sampling starts in the background.
 */
import { logger } from '../core/log.js';
import type { CpuSampling, FlameGraphNode } from '../runtime/cpu-flame-graph.js';
import { DEFAULT_FLAME_GRAPH_SETTINGS, type FlameGraphSettings } from './flame-graph-settings.js';
import { isTerminal } from '../runtime/task.js';
import { requireJob, requireVertex, type HandlerContext } from './handler-context.js';
import type { RestVertex } from './rest-backend.js';
import { RestHandlerException, type RestRequest, type Route } from './rest-router.js';

/** Flink's VertexFlameGraph: `data` only once samples exist; a negative `endTimestamp` says why not. */
export interface VertexFlameGraph {
  readonly endTimestamp: number;
  readonly data?: FlameGraphNode;
}

/** VertexFlameGraph.terminated(), disabled() and waiting(). */
const TERMINATED: VertexFlameGraph = { endTimestamp: -1 };
const DISABLED: VertexFlameGraph = { endTimestamp: -2 };
const WAITING: VertexFlameGraph = { endTimestamp: -3 };

/** Flink's ThreadStates: which samples a graph shows. */
type FlameGraphType = 'FULL' | 'ON_CPU' | 'OFF_CPU';
const TYPES: readonly FlameGraphType[] = ['FULL', 'ON_CPU', 'OFF_CPU'];

/** V8's node for samples taken while the event loop waited: the off-CPU time of a Node.js process. */
const IDLE = '(idle)';

/** The routes of the flame graph endpoint. */
export function flameGraphRoutes(ctx: HandlerContext): Route[] {
  const settings = ctx.flameGraph ?? DEFAULT_FLAME_GRAPH_SETTINGS;
  const sample = ctx.backend.sampleCpu?.bind(ctx.backend);
  const tracker = sample && new VertexFlameGraphTracker(sample, settings, ctx.now);
  return [
    {
      method: 'GET',
      path: '/jobs/:jobid/vertices/:vertexid/flamegraph',
      handle: (request) => {
        const job = requireJob(ctx, request);
        const vertex = requireVertex(job, request);
        const type = typeParam(request);
        const subtask = subtaskParam(request, vertex);
        if (!settings.enabled || !tracker) return { status: 200, body: DISABLED };
        if (vertex.taskStates.length > 0 && vertex.taskStates.every(isTerminal))
          return { status: 200, body: TERMINATED };
        const locations = subtask === undefined ? vertex.locations : [vertex.locations[subtask]];
        const taskManagers = [...new Set(locations.flatMap((l) => (l ? [l.taskManagerId] : [])))];
        const key = `${job.jobId}/${vertex.id}/${subtask ?? 'all'}`;
        const stats = taskManagers.length === 0 ? undefined : tracker.stats(key, taskManagers);
        const body: VertexFlameGraph = stats
          ? { endTimestamp: stats.endTimestamp, data: ofType(stats.graph, type) }
          : WAITING;
        return { status: 200, body };
      },
    },
  ];
}

/** `type`: FULL when absent, as Flink; its values in any case (the dashboard sends `on_cpu`). */
function typeParam(request: RestRequest): FlameGraphType {
  const raw = request.query.get('type');
  if (raw === null) return 'FULL';
  const type = TYPES.find((t) => t === raw.toUpperCase());
  if (!type)
    throw new RestHandlerException(
      400,
      `Unknown Flame Graph type ${raw}: use one of ${TYPES.map((t) => t.toLowerCase()).join(', ')}.`,
    );
  return type;
}

function subtaskParam(request: RestRequest, vertex: RestVertex): number | undefined {
  const raw = request.query.get('subtaskindex');
  if (raw === null) return undefined;
  const index = Number(raw);
  if (!/^\d+$/u.test(raw) || index >= vertex.parallelism)
    throw new RestHandlerException(
      400,
      `Invalid subtask index ${raw}: vertex ${vertex.id} has subtasks 0 to ${vertex.parallelism - 1}.`,
    );
  return index;
}

/** The graph of `type`: on-CPU without the event loop's idle samples, off-CPU only those. */
function ofType(graph: FlameGraphNode, type: FlameGraphType): FlameGraphNode {
  if (type === 'FULL') return graph;
  const children = graph.children.filter((c) => (c.name === IDLE) === (type === 'OFF_CPU'));
  return { name: graph.name, value: children.reduce((n, c) => n + c.value, 0), children };
}

interface TrackedGraph {
  stats: { readonly endTimestamp: number; readonly graph: FlameGraphNode } | undefined;
  sampling: boolean;
  lastAccess: number;
}

/** Flink's JobVertexThreadInfoTracker: one cached graph per vertex, resampled after the refresh interval. */
class VertexFlameGraphTracker {
  private readonly graphs = new Map<string, TrackedGraph>();
  private readonly log = logger('rest-flamegraph');

  constructor(
    private readonly sample: (
      taskManagerIds: readonly string[],
      sampling: CpuSampling,
    ) => Promise<FlameGraphNode>,
    private readonly settings: FlameGraphSettings,
    private readonly now: () => number,
  ) {}

  /** The newest graph of `key`, starting a sampling of `taskManagerIds` when there is none or it is stale. */
  stats(key: string, taskManagerIds: readonly string[]): TrackedGraph['stats'] {
    const now = this.now();
    this.cleanUp(now);
    let tracked = this.graphs.get(key);
    if (!tracked) this.graphs.set(key, (tracked = { stats: undefined, sampling: false, lastAccess: now }));
    tracked.lastAccess = now;
    const stale = !tracked.stats || now - tracked.stats.endTimestamp >= this.settings.refreshIntervalMs;
    if (stale && !tracked.sampling) this.startSampling(tracked, key, taskManagerIds);
    return tracked.stats;
  }

  private startSampling(tracked: TrackedGraph, key: string, taskManagerIds: readonly string[]): void {
    tracked.sampling = true;
    void this.sample(taskManagerIds, this.settings.sampling)
      .then(
        (graph) => (tracked.stats = { endTimestamp: this.now(), graph }),
        (e: unknown) =>
          this.log.warn({ err: e, vertex: key }, `sampling the CPU for a flame graph of ${key} failed`),
      )
      .finally(() => (tracked.sampling = false));
  }

  /** Forgets graphs nobody asked for within `rest.flamegraph.cleanup-interval`. */
  private cleanUp(now: number): void {
    for (const [key, tracked] of this.graphs)
      if (!tracked.sampling && now - tracked.lastAccess >= this.settings.cleanupIntervalMs)
        this.graphs.delete(key);
  }
}
