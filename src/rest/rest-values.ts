/** Small value conversions shared by the handlers: errors as Flink prints them, statistics summaries. */
import type { RestartStrategyConfig } from '../protocol/restart-strategy.js';
import type { RestDouble, SerializedThrowable, StatsSummaryDto } from './rest-schema.js';

/** An error with its causes, as Flink's ExceptionUtils.stringifyException prints a throwable. */
export function stringifyError(error: Error): string {
  const parts: string[] = [];
  const seen = new Set<unknown>();
  let current: unknown = error;
  while (current !== undefined && current !== null && !seen.has(current)) {
    seen.add(current);
    const text =
      current instanceof Error ? (current.stack ?? `${current.name}: ${current.message}`) : describe(current);
    parts.push(parts.length === 0 ? text : `Caused by: ${text}`);
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join('\n');
}

/** A thrown non-Error value as text. */
function describe(value: unknown): string {
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value) ?? typeof value;
  } catch {
    return typeof value;
  }
}

/** An error as SerializedThrowableSerializer writes it (see SerializedThrowable in rest-schema). */
export function serializedThrowable(error: Error): SerializedThrowable {
  const stack = stringifyError(error);
  return {
    class: error.name,
    'stack-trace': stack,
    'serialized-throwable': Buffer.from(stack, 'utf8').toString('base64'),
  };
}

/**
 * A percentile of `sorted` (ascending) by Apache Commons Math's default (LEGACY) estimation,
 * which Flink's histogram statistics use; NaN without values.
 */
export function percentile(sorted: readonly number[], p: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  if (n === 1) return sorted[0]!;
  const pos = (p * (n + 1)) / 100;
  if (pos < 1) return sorted[0]!;
  if (pos >= n) return sorted[n - 1]!;
  const lower = sorted[Math.floor(pos) - 1]!;
  const upper = sorted[Math.floor(pos)]!;
  return lower + (pos - Math.floor(pos)) * (upper - lower);
}

const restDouble = (x: number): RestDouble => (Number.isNaN(x) ? 'NaN' : x);

/** Flink's StatsSummaryDto of `values`: min/max/avg 0 and percentiles "NaN" when there are none. */
export function statsSummary(values: readonly number[]): StatsSummaryDto {
  const sorted = [...values].sort((a, b) => a - b);
  const count = sorted.length;
  const sum = sorted.reduce((a, b) => a + b, 0);
  return {
    min: count === 0 ? 0 : sorted[0]!,
    max: count === 0 ? 0 : sorted[count - 1]!,
    // Flink's StatsSummary divides longs.
    avg: count === 0 ? 0 : Math.trunc(sum / count),
    p50: restDouble(percentile(sorted, 50)),
    p90: restDouble(percentile(sorted, 90)),
    p95: restDouble(percentile(sorted, 95)),
    p99: restDouble(percentile(sorted, 99)),
    p999: restDouble(percentile(sorted, 99.9)),
  };
}

/** The all-zero summary Flink reports for the deprecated `alignment_buffered`. */
export const ZERO_SUMMARY: StatsSummaryDto = {
  min: 0,
  max: 0,
  avg: 0,
  p50: 0,
  p90: 0,
  p95: 0,
  p99: 0,
  p999: 0,
};

const DURATION_UNITS: readonly (readonly [number, string])[] = [
  [86_400_000, 'd'],
  [3_600_000, 'h'],
  [60_000, 'min'],
  [1000, 's'],
];

/** A duration in the largest unit that divides it, as Flink's TimeUtils.formatWithHighestUnit (`10 s`, `1 min`). */
export function formatDuration(ms: number): string {
  if (ms !== 0) for (const [size, unit] of DURATION_UNITS) if (ms % size === 0) return `${ms / size} ${unit}`;
  return `${ms} ms`;
}

/** A restart strategy described as Flink's web UI shows it (`restart-strategy` of /jobs/:jobid/config). */
export function describeRestartStrategy(config: RestartStrategyConfig | undefined): string {
  switch (config?.kind) {
    case undefined:
      return 'Cluster level default restart strategy';
    case 'none':
      return 'Restart deactivated.';
    case 'fixed-delay':
      return `Restart with fixed delay (${formatDuration(config.delayMs)}). #${config.attempts} restart attempts.`;
    case 'failure-rate':
      return (
        `Failure rate restart with maximum of ${config.maxFailuresPerInterval} failures within interval ` +
        `${formatDuration(config.failureRateIntervalMs)} and fixed delay ${formatDuration(config.delayMs)}.`
      );
    case 'exponential-delay':
      return (
        `Restart with exponential delay: starting at ${formatDuration(config.initialBackoffMs)}, increasing by ` +
        `${config.backoffMultiplier}, with maximum ${formatDuration(config.maxBackoffMs)}. Delay resets after ` +
        `${formatDuration(config.resetBackoffThresholdMs)} with jitter ${config.jitterFactor}.`
      );
  }
}
