/** Small value conversions shared by the handlers: errors as Flink prints them, statistics summaries. */
import type { RestartStrategyConfig } from '../protocol/restart-strategy.js';
import type {
  AggregatedStatistics,
  RestDouble,
  SerializedThrowable,
  StatsSummaryDto,
} from './rest-schema.js';

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
 * The `p`th percentile (0 < p <= 100) of `sorted` (ascending) by Apache Commons Math's default
 * (LEGACY) estimation, which Flink's statistics use; NaN without values. The arithmetic is
 * Commons Math's step for step (p / 100 first, then times n + 1), so the doubles are Flink's to
 * the last bit, noise such as 42.099999999999994 included where Flink has it and not elsewhere.
 */
export function percentile(sorted: readonly number[], p: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  if (n === 1) return sorted[0]!;
  const quantile = p / 100;
  const pos = quantile === 1 ? n : quantile * (n + 1);
  if (pos < 1) return sorted[0]!;
  if (pos >= n) return sorted[n - 1]!;
  const whole = Math.floor(pos);
  const lower = sorted[whole - 1]!;
  const upper = sorted[whole]!;
  return lower + (pos - whole) * (upper - lower);
}

const restDouble = (x: number): RestDouble => (Number.isNaN(x) ? 'NaN' : x);

/**
 * Flink's StatsSummaryDto of `values`: min/max/avg 0 and percentiles "NaN" when there are none.
 * As Flink's StatsSummary takes longs, values are whole first (a duration measured below the
 * millisecond counts its whole milliseconds); min, max and avg are longs (avg by long division);
 * the percentiles are doubles, asked as Flink asks them (getQuantile(0.9) is percentile 0.9 * 100).
 */
export function statsSummary(values: readonly number[]): StatsSummaryDto {
  const sorted = values.map(Math.trunc).sort((a, b) => a - b);
  const count = sorted.length;
  const sum = sorted.reduce((a, b) => a + b, 0);
  const quantile = (q: number) => restDouble(percentile(sorted, q * 100));
  return {
    min: count === 0 ? 0 : sorted[0]!,
    max: count === 0 ? 0 : sorted[count - 1]!,
    avg: count === 0 ? 0 : Math.trunc(sum / count),
    p50: quantile(0.5),
    p90: quantile(0.9),
    p95: quantile(0.95),
    p99: quantile(0.99),
    p999: quantile(0.999),
  };
}

/**
 * Flink's aggregated statistics of one value over the subtasks (AggregatedTaskDetailsInfo): all
 * longs, the average by long division and each percentile cut to its whole part, as `(long)` does.
 */
export function aggregatedStatistics(values: readonly number[]): AggregatedStatistics {
  const sorted = values.map(Math.trunc).sort((a, b) => a - b);
  const sum = sorted.reduce((a, b) => a + b, 0);
  const at = (p: number) => (sorted.length === 0 ? 0 : Math.trunc(percentile(sorted, p)));
  return {
    min: sorted[0] ?? 0,
    max: sorted[sorted.length - 1] ?? 0,
    avg: sorted.length === 0 ? 0 : Math.trunc(sum / sorted.length),
    sum,
    median: at(50),
    p25: at(25),
    p75: at(75),
    p95: at(95),
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
