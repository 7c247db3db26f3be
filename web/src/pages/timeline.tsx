/**
 * The Timeline tab (beyond Flink's dashboard): checkpoint duration and size over time, with the
 * job's failures and restores marked on the same time axis.
 */
import {
  getJson,
  type CheckpointingStatistics,
  type JobDetailsInfo,
  type JobExceptionsInfoWithHistory,
  type MetricValue,
} from '../api.js';
import { Card, ErrorBanner, Loading, Stat } from '../components/ui.js';
import { bytes, clock, duration, time } from '../format.js';
import { usePoll } from '../hooks.js';

/** A checkpoint on the chart. */
interface Point {
  readonly id: number;
  readonly at: number;
  readonly durationMs: number;
  readonly size: number;
  readonly status: string;
  readonly savepoint: boolean;
}

/**
 * Checkpoints seen so far, per job: the REST history keeps only the last
 * `web.checkpoints.history` entries, so the chart remembers older ones while the page is open.
 */
const seen = new Map<string, Map<number, Point>>();

function remember(jobId: string, stats: CheckpointingStatistics): Point[] {
  const points = seen.get(jobId) ?? new Map<number, Point>();
  seen.set(jobId, points);
  for (const c of stats.history)
    if (c.status !== 'IN_PROGRESS')
      points.set(c.id, {
        id: c.id,
        at: c.trigger_timestamp,
        durationMs: Math.max(0, c.end_to_end_duration),
        size: c.checkpointed_size,
        status: c.status,
        savepoint: c.is_savepoint,
      });
  return [...points.values()].sort((a, b) => a.at - b.at);
}

interface TimelineData {
  readonly points: Point[];
  readonly failures: readonly { at: number; name: string }[];
  readonly restores: readonly { at: number; id: number }[];
  readonly restarts: number | undefined;
}

async function load(jobId: string): Promise<TimelineData> {
  const [stats, exceptions, metrics] = await Promise.all([
    getJson<CheckpointingStatistics>(`/jobs/${jobId}/checkpoints`),
    getJson<JobExceptionsInfoWithHistory>(`/jobs/${jobId}/exceptions`),
    getJson<MetricValue[]>(`/jobs/${jobId}/metrics?get=numRestarts`),
  ]);
  const restored = stats.latest.restored;
  const restarts = metrics.find((m) => m.id === 'numRestarts')?.value;
  return {
    points: remember(jobId, stats),
    failures: exceptions.exceptionHistory.entries.map((e) => ({ at: e.timestamp, name: e.exceptionName })),
    restores: restored === null ? [] : [{ at: restored.restore_timestamp, id: restored.id }],
    restarts: restarts === undefined ? undefined : Number(restarts),
  };
}

const W = 960;
const H = 170;
const M = { left: 70, right: 16, top: 14, bottom: 26 };

/** A round axis maximum at or above `v`: 1, 2 or 5 times a power of ten (of 1024 for sizes). */
function niceMax(v: number, base: number): number {
  if (v <= 0) return 1;
  const unit = base ** Math.floor(Math.log(v) / Math.log(base));
  const scaled = v / unit;
  const step = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000].find((s) => s >= scaled) ?? base;
  return step * unit;
}

function ticks(max: number, n = 4): number[] {
  return Array.from({ length: n + 1 }, (_, i) => (max * i) / n);
}

/** One panel: a value per checkpoint over time, as a line with dots or as bars. */
function Panel(props: {
  title: string;
  points: readonly Point[];
  value: (p: Point) => number;
  format: (n: number) => string;
  kind: 'line' | 'bars';
  /** 1000 for durations (ms), 1024 for sizes, so axis labels come out round. */
  base: number;
  from: number;
  to: number;
  marks: TimelineData;
  testId: string;
}) {
  const { points, value, from, to } = props;
  const max = niceMax(Math.max(0, ...points.map(value)) * 1.05, props.base);
  const span = Math.max(1, to - from);
  const x = (t: number) => M.left + ((t - from) / span) * (W - M.left - M.right);
  const y = (v: number) => H - M.bottom - (v / max) * (H - M.top - M.bottom);
  const line = points
    .map((p, i) => `${i === 0 ? 'M' : 'L'}${x(p.at).toFixed(1)},${y(value(p)).toFixed(1)}`)
    .join(' ');
  const barWidth = Math.max(2, Math.min(14, ((W - M.left - M.right) / Math.max(1, points.length)) * 0.6));
  return (
    <figure class="chart">
      <figcaption>{props.title}</figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} class="chart-svg" data-testid={props.testId}>
        {ticks(max).map((t) => (
          <g key={t}>
            <line x1={M.left} x2={W - M.right} y1={y(t)} y2={y(t)} class="grid" />
            <text x={M.left - 8} y={y(t) + 4} class="axis" text-anchor="end">
              {props.format(t)}
            </text>
          </g>
        ))}
        {[0, 0.25, 0.5, 0.75, 1].map((f) => (
          <text
            key={f}
            x={M.left + f * (W - M.left - M.right)}
            y={H - 6}
            class="axis"
            text-anchor={f === 0 ? 'start' : f === 1 ? 'end' : 'middle'}
          >
            {clock(from + f * span, false)}
          </text>
        ))}
        {props.marks.failures.map((f) => (
          <line key={`f${f.at}`} x1={x(f.at)} x2={x(f.at)} y1={M.top} y2={H - M.bottom} class="mark-failure">
            <title>{`${time(f.at)}: ${f.name} (restart)`}</title>
          </line>
        ))}
        {props.marks.restores.map((r) => (
          <line key={`r${r.at}`} x1={x(r.at)} x2={x(r.at)} y1={M.top} y2={H - M.bottom} class="mark-restore">
            <title>{`${time(r.at)}: restored from checkpoint ${r.id}`}</title>
          </line>
        ))}
        {props.kind === 'line' && points.length > 1 && <path d={line} class="series-line" />}
        {points.map((p) =>
          props.kind === 'line' ? (
            <circle
              key={p.id}
              cx={x(p.at)}
              cy={y(value(p))}
              r="3.5"
              class={p.status === 'FAILED' ? 'dot dot-failed' : p.savepoint ? 'dot dot-savepoint' : 'dot'}
            >
              <title>{`#${p.id} ${time(p.at)}: ${props.format(value(p))}`}</title>
            </circle>
          ) : (
            <rect
              key={p.id}
              x={x(p.at) - barWidth / 2}
              y={y(value(p))}
              width={barWidth}
              height={Math.max(0, H - M.bottom - y(value(p)))}
              class={p.status === 'FAILED' ? 'bar bar-failed' : 'bar'}
            >
              <title>{`#${p.id} ${time(p.at)}: ${props.format(value(p))}`}</title>
            </rect>
          ),
        )}
      </svg>
    </figure>
  );
}

export function TimelineTab({ job }: { job: JobDetailsInfo }) {
  const data = usePoll(() => load(job.jid), `timeline:${job.jid}`);
  if (data.error !== undefined && data.data === undefined) return <ErrorBanner error={data.error} />;
  const d = data.data;
  if (d === undefined) return <Loading />;
  const from = Math.min(job['start-time'], ...d.points.map((p) => p.at));
  const to = Math.max(job['end-time'] > 0 ? job['end-time'] : job.now, ...d.points.map((p) => p.at));
  const completed = d.points.filter((p) => p.status === 'COMPLETED');
  const last = completed[completed.length - 1];
  return (
    <>
      <div class="stats">
        <Stat label="Checkpoints charted" value={d.points.length} />
        <Stat label="Last duration" value={last === undefined ? '–' : duration(last.durationMs)} />
        <Stat label="Last size" value={last === undefined ? '–' : bytes(last.size)} />
        <Stat label="Restarts" value={d.restarts ?? '–'} testId="timeline-restarts" />
        <Stat label="Failures" value={d.failures.length} />
      </div>
      <Card title="Checkpoint timeline" class="timeline-card">
        <Panel
          title="End to end duration"
          points={d.points}
          value={(p) => p.durationMs}
          format={duration}
          kind="line"
          base={1000}
          from={from}
          to={to}
          marks={d}
          testId="chart-duration"
        />
        <Panel
          title="Checkpointed data size"
          points={d.points}
          value={(p) => p.size}
          format={bytes}
          kind="bars"
          base={1024}
          from={from}
          to={to}
          marks={d}
          testId="chart-size"
        />
        <div class="legend">
          <span class="swatch swatch-line" /> completed
          <span class="swatch swatch-failed" /> failed checkpoint
          <span class="swatch swatch-savepoint" /> savepoint
          <span class="swatch swatch-failure" /> job failure / restart
          <span class="swatch swatch-restore" /> restore
        </div>
      </Card>
    </>
  );
}
