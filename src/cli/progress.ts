/** The live progress `sluice run` shows while a job runs: status, records per vertex over all attempts, rate, checkpoints. */
import type { JobClient, VertexMetrics } from '../api/execution.js';
import { StatusLine } from './status-line.js';

function compact(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return String(Math.round(n));
}

/** One vertex as the progress line shows it: its full name and the records it took in. */
export interface VertexProgress {
  readonly name: string;
  /** Records into the vertex over every attempt of the job (replayed records count again). */
  readonly records: number;
}

/** Records into each vertex over every attempt, when the executor keeps count (undefined otherwise). */
export type AttemptTotalsSource = () => readonly number[] | undefined;

/**
 * Records per vertex summed over the job's attempts. A client reports the counters of the
 * current attempt, which start again from zero when the job (or a region of it) restarts. With a
 * `source` that counts every execution (local mode's cluster does), its figures are used; else a
 * counter that went down was restarted, and what it had counted when last seen stays in the total.
 */
export class AttemptTotals {
  private names: string[] = [];
  private readonly base: number[] = [];
  private readonly last: number[] = [];

  constructor(private readonly source?: AttemptTotalsSource) {}

  /** Takes the current counters; returns the totals. */
  sample(metrics: readonly VertexMetrics[]): VertexProgress[] {
    if (metrics.length > 0) this.names = metrics.map((m) => m.name);
    metrics.forEach((m, i) => {
      const last = this.last[i] ?? 0;
      if (m.recordsIn < last) this.base[i] = (this.base[i] ?? 0) + last - m.recordsIn;
      this.last[i] = m.recordsIn;
    });
    const counted = this.source?.();
    return this.names.map((name, i) => ({
      name,
      records:
        counted?.length === this.names.length ? counted[i]! : (this.base[i] ?? 0) + (this.last[i] ?? 0),
    }));
  }
}

/** What one progress line says. */
export interface ProgressState {
  readonly jobName: string;
  readonly status: string;
  readonly elapsedMs: number;
  readonly vertices: readonly VertexProgress[];
  /** Source records per second. */
  readonly rate: number;
  readonly checkpoints: { readonly completed: number; readonly latest: number | undefined } | undefined;
  readonly restarts: number;
}

function figures(p: ProgressState): string[] {
  const parts = [`${compact(p.rate)} records/s`];
  if (p.checkpoints)
    parts.push(
      `checkpoints ${p.checkpoints.completed}${p.checkpoints.latest === undefined ? '' : ` (last #${p.checkpoints.latest})`}`,
    );
  if (p.restarts > 0) parts.push(`restarts ${p.restarts} (counts include replayed records)`);
  return parts;
}

function head(p: ProgressState): string {
  return `[sluice] ${p.jobName} ${p.status} ${(p.elapsedMs / 1000).toFixed(1)}s`;
}

/** The flow through the vertices, full names, in topological order. */
function flowParts(p: ProgressState): string[] {
  return p.vertices.map((v) => `${v.name} ${compact(v.records)}`);
}

/** The whole progress on one line (logs, pipes). */
export function progressLine(p: ProgressState): string {
  const flow = flowParts(p).join(' → ');
  return [head(p), ...(flow === '' ? [] : [flow]), ...figures(p)].join(' | ');
}

/** `parts` joined by `separator` into lines of at most `width` columns, broken between parts only. */
function wrap(parts: readonly string[], separator: string, width: number, indent: string): string[] {
  const lines: string[] = [];
  let line = '';
  for (const part of parts) {
    const next = line === '' ? `${indent}${part}` : `${line}${separator}${part}`;
    if (line !== '' && next.length > width) {
      lines.push(`${line}${separator.trimEnd()}`);
      line = `${indent}${part}`;
    } else line = next;
  }
  if (line !== '') lines.push(line);
  return lines;
}

/**
 * The progress as a terminal block `width` columns wide: status and figures first, then the
 * flow; lines break between items, so no vertex name is cut.
 */
export function progressBlock(p: ProgressState, width: number): string[] {
  return [...wrap([head(p), ...figures(p)], ' · ', width, ''), ...wrap(flowParts(p), ' → ', width, '  ')];
}

/** Samples a job's client into progress states, with totals over attempts and a recent rate. */
export class ProgressTracker {
  private readonly totals: AttemptTotals;
  private readonly window: { at: number; records: number }[] = [];

  constructor(
    private readonly client: JobClient,
    private readonly started: number,
    totals?: AttemptTotalsSource,
  ) {
    this.totals = new AttemptTotals(totals);
  }

  sample(now: number): ProgressState {
    const client = this.client;
    const vertices = this.totals.sample(client.getMetrics());
    const source = vertices[0]?.records ?? 0;
    const status = client.getJobStatus();
    // While running, the rate of the last few seconds; at the end, the average of the run.
    this.window.push({ at: now, records: source });
    while (this.window.length > 2 && now - this.window[0]!.at > 3000) this.window.shift();
    const from = status === 'RUNNING' ? this.window[0]! : { at: this.started, records: 0 };
    const rate = now > from.at ? ((source - from.records) / (now - from.at)) * 1000 : 0;
    const stats = client.getCheckpointStats();
    return {
      jobName: client.jobName,
      status,
      elapsedMs: now - this.started,
      vertices,
      rate: Math.max(0, rate),
      checkpoints: stats && { completed: stats.counts.completed, latest: stats.latestCompleted?.id },
      restarts: client.getNumRestarts(),
    };
  }
}

/**
 * Shows the progress of `client` until the job ends: on a terminal as a block that stays below
 * all other output, otherwise as a line every `intervalMs` (5 s) and one at the end.
 */
export function showProgress(
  client: JobClient,
  options: {
    readonly out?: NodeJS.WriteStream;
    readonly intervalMs?: number;
    readonly totals?: AttemptTotalsSource | undefined;
  } = {},
): Promise<void> {
  const out = options.out ?? process.stderr;
  const intervalMs = options.intervalMs ?? (out.isTTY ? 250 : 5000);
  const tracker = new ProgressTracker(client, Date.now(), options.totals);
  const status = out.isTTY
    ? new StatusLine({
        terminal: out,
        others: process.stdout.isTTY && process.stdout !== out ? [process.stdout] : [],
      })
    : undefined;
  const tick = () => {
    const state = tracker.sample(Date.now());
    if (status) status.set(progressBlock(state, Math.max(20, (out.columns || 80) - 1)));
    else out.write(`${progressLine(state)}\n`);
  };
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  const done = () => {
    clearInterval(timer);
    tick();
    status?.close();
  };
  return client.getJobExecutionResult().then(done, done);
}
