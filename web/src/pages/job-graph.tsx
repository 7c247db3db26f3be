/** The job graph as an SVG DAG: one box per vertex, coloured by how busy or back-pressured it is. */
import type { JobDetailsInfo } from '../api.js';
import { count, percent, rate } from '../format.js';

/** Per vertex: the busy and back-pressured fraction of time (0..1) and record rates, from subtask metrics. */
export interface VertexLoad {
  readonly busy: number | undefined;
  readonly backPressured: number | undefined;
  readonly inPerSecond: number | undefined;
  readonly outPerSecond: number | undefined;
}

const NODE_W = 250;
const NODE_H = 132;
const GAP_X = 90;
const GAP_Y = 36;
const PAD = 24;

interface Placed {
  readonly id: string;
  readonly x: number;
  readonly y: number;
}

/** Longest-path layering: a vertex sits one column right of its furthest input. */
function layout(job: JobDetailsInfo): { nodes: Map<string, Placed>; width: number; height: number } {
  const inputs = new Map(job.plan.nodes.map((n) => [n.id, (n.inputs ?? []).map((i) => i.id)]));
  const depth = new Map<string, number>();
  const depthOf = (id: string, seen: Set<string>): number => {
    const known = depth.get(id);
    if (known !== undefined) return known;
    if (seen.has(id)) return 0;
    seen.add(id);
    const d = Math.max(-1, ...(inputs.get(id) ?? []).map((i) => depthOf(i, seen))) + 1;
    depth.set(id, d);
    return d;
  };
  const columns: string[][] = [];
  for (const v of job.vertices) {
    const d = depthOf(v.id, new Set());
    (columns[d] ??= []).push(v.id);
  }
  const tallest = Math.max(1, ...columns.map((c) => c.length));
  const height = PAD * 2 + tallest * NODE_H + (tallest - 1) * GAP_Y;
  const nodes = new Map<string, Placed>();
  columns.forEach((column, c) => {
    const columnHeight = column.length * NODE_H + (column.length - 1) * GAP_Y;
    const top = (height - columnHeight) / 2;
    column.forEach((id, r) =>
      nodes.set(id, { id, x: PAD + c * (NODE_W + GAP_X), y: top + r * (NODE_H + GAP_Y) }),
    );
  });
  const width = PAD * 2 + columns.length * NODE_W + (columns.length - 1) * GAP_X;
  return { nodes, width, height };
}

/** Flink's colouring: back-pressured vertices grey to black, busy ones white to red. */
export function loadColour(load: VertexLoad | undefined): string {
  if (load?.busy === undefined || load.backPressured === undefined) return '#ffffff';
  if (load.backPressured > load.busy) return `hsl(220, 8%, ${Math.round(96 - load.backPressured * 46)}%)`;
  return `hsl(4, 85%, ${Math.round(99 - load.busy * 37)}%)`;
}

function textColour(fill: string): string {
  const l = /(\d+)%\)$/u.exec(fill);
  return l !== null && Number(l[1]) < 62 ? '#ffffff' : '#1f2937';
}

function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

export function JobGraph({ job, loads }: { job: JobDetailsInfo; loads: ReadonlyMap<string, VertexLoad> }) {
  const { nodes, width, height } = layout(job);
  const vertices = new Map(job.vertices.map((v) => [v.id, v]));
  return (
    <div class="graph-scroll">
      <svg
        class="job-graph"
        width={width}
        height={height}
        viewBox={`0 0 ${width} ${height}`}
        data-testid="job-graph"
      >
        <defs>
          <marker
            id="arrow"
            viewBox="0 0 10 10"
            refX="9"
            refY="5"
            markerWidth="7"
            markerHeight="7"
            orient="auto-start-reverse"
          >
            <path d="M 0 0 L 10 5 L 0 10 z" fill="#94a3b8" />
          </marker>
        </defs>
        {job.plan.nodes.flatMap((n) =>
          (n.inputs ?? []).map((input) => {
            const from = nodes.get(input.id);
            const to = nodes.get(n.id);
            if (from === undefined || to === undefined) return null;
            const x1 = from.x + NODE_W;
            const y1 = from.y + NODE_H / 2;
            const x2 = to.x - 2;
            const y2 = to.y + NODE_H / 2;
            const mx = (x1 + x2) / 2;
            return (
              <g key={`${input.id}-${n.id}`}>
                <path
                  d={`M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`}
                  class="edge"
                  marker-end="url(#arrow)"
                />
                <text x={mx} y={(y1 + y2) / 2 - 6} class="edge-label" text-anchor="middle">
                  {input.ship_strategy}
                </text>
              </g>
            );
          }),
        )}
        {[...nodes.values()].map((p) => {
          const v = vertices.get(p.id);
          if (v === undefined) return null;
          const load = loads.get(p.id);
          const fill = loadColour(load);
          const ink = textColour(fill);
          return (
            <g
              key={p.id}
              transform={`translate(${p.x},${p.y})`}
              class="node"
              data-testid="graph-node"
              data-vertex={v.id}
            >
              <rect width={NODE_W} height={NODE_H} rx="8" fill={fill} class="node-box" />
              <rect width="6" height={NODE_H} rx="3" class={`node-status status-${v.status.toLowerCase()}`} />
              <text x="16" y="24" class="node-title" fill={ink}>
                <title>{v.name}</title>
                {truncate(v.name, 30)}
              </text>
              <text x="16" y="44" class="node-line" fill={ink}>
                {v.status} · Parallelism {v.parallelism}
              </text>
              <text x="16" y="63" class="node-line" fill={ink}>
                Records in {count(v.metrics['read-records'])} · {rate(load?.inPerSecond)}
              </text>
              <text x="16" y="80" class="node-line" fill={ink}>
                Records out {count(v.metrics['write-records'])} · {rate(load?.outPerSecond)}
              </text>
              <text x="16" y="102" class="node-metric" fill={ink} data-testid="node-backpressured">
                Backpressured (max): {percent(load?.backPressured)}
              </text>
              <text x="16" y="120" class="node-metric" fill={ink} data-testid="node-busy">
                Busy (max): {percent(load?.busy)}
              </text>
            </g>
          );
        })}
      </svg>
    </div>
  );
}
