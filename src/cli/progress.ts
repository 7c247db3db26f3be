/** The live progress line `sluice run` shows while a job runs (records per vertex, rate, status). */
import type { JobClient, VertexMetrics } from '../api/execution.js';

function compact(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return String(n);
}

function shortName(name: string): string {
  return name.length > 24 ? `${name.slice(0, 23)}…` : name;
}

/** One line: status, elapsed, records into each vertex (in topological order), source rate. */
export function progressLine(
  client: JobClient,
  elapsedMs: number,
  metrics: readonly VertexMetrics[],
): string {
  const flow = metrics.map((m) => `${shortName(m.name)} ${compact(m.recordsIn)}`).join(' → ');
  const source = metrics[0]?.recordsIn ?? 0;
  const rate = elapsedMs > 0 ? compact(Math.round((source / elapsedMs) * 1000)) : '0';
  const stats = client.getCheckpointStats();
  const checkpoint = stats
    ? ` | checkpoints ${stats.counts.completed}${stats.latestCompleted ? ` (last #${stats.latestCompleted.id})` : ''}`
    : '';
  const restarts = client.getNumRestarts() > 0 ? ` | restarts ${client.getNumRestarts()}` : '';
  return `[sluice] ${client.jobName} ${client.getJobStatus()} ${(elapsedMs / 1000).toFixed(1)}s | ${flow} | ${rate} records/s${checkpoint}${restarts}`;
}

/**
 * Prints the progress of `client` to `out` every `intervalMs` until the job ends: rewriting one
 * line on a terminal, one line per tick otherwise.
 */
export function showProgress(
  client: JobClient,
  out: NodeJS.WriteStream = process.stderr,
  intervalMs = out.isTTY ? 250 : 1000,
): Promise<void> {
  const started = Date.now();
  const tick = () => {
    const line = progressLine(client, Date.now() - started, client.getMetrics());
    out.write(out.isTTY ? `\r\u001b[2K${line}` : `${line}\n`);
  };
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  const done = () => {
    clearInterval(timer);
    tick();
    if (out.isTTY) out.write('\n');
  };
  return client.getJobExecutionResult().then(done, done);
}
