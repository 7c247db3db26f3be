/** Small value conversions shared by the handlers: errors as Flink prints them, statistics summaries. */
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
