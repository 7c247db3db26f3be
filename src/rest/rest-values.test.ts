/** Percentiles as Apache Commons Math's LEGACY estimation, Flink's summary of no data, durations and restart strategies as Flink prints them. */
import { describe, expect, it } from 'vitest';
import {
  aggregatedStatistics,
  describeRestartStrategy,
  formatDuration,
  percentile,
  serializedThrowable,
  statsSummary,
  stringifyError,
} from './rest-values.js';

describe('percentile', () => {
  const oneToTen = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

  it('interpolates at p·(n+1)/100 and clamps to the ends', () => {
    expect(percentile(oneToTen, 50)).toBe(5.5);
    expect(percentile(oneToTen, 90)).toBeCloseTo(9.9);
    expect(percentile(oneToTen, 99)).toBe(10);
    expect(percentile(oneToTen, 5)).toBe(1);
    expect(percentile([7], 99.9)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
  });

  it("computes in Commons Math's order (p / 100, then times n + 1), so the doubles are Flink's", () => {
    // 10, 13, ..., 43: p90 sits at 0.9 * 13 = 11.7. Computing 90 * 13 / 100 instead gives
    // 42.099999999999994, a double Flink never shows here.
    const twelve = Array.from({ length: 12 }, (_, i) => 10 + 3 * i);
    expect(percentile(twelve, 90)).toBe(42.1);
  });
});

describe('statsSummary', () => {
  it('is zeros and "NaN" without values, as Flink', () => {
    expect(statsSummary([])).toEqual({
      min: 0,
      max: 0,
      avg: 0,
      p50: 'NaN',
      p90: 'NaN',
      p95: 'NaN',
      p99: 'NaN',
      p999: 'NaN',
    });
  });

  it('divides the average like longs', () => {
    expect(statsSummary([2, 1])).toMatchObject({ min: 1, max: 2, avg: 1, p50: 1.5 });
  });

  it('counts durations measured below the millisecond in whole milliseconds, as Flink keeps longs', () => {
    const summary = statsSummary([15.6, 2.4, 7.9, 15.600000000000001]);
    expect(summary).toMatchObject({ min: 2, max: 15, avg: 9, p50: 11 });
    for (const value of Object.values(summary)) expect(Number.isInteger(value), String(value)).toBe(true);
  });
});

describe('aggregatedStatistics', () => {
  it("is all longs, as Flink's AggregatedTaskDetailsInfo: percentiles cut, not rounded", () => {
    // p75 of 1, 2, 3, 4 is 3.75: Flink's (long) makes it 3.
    expect(aggregatedStatistics([4, 1, 3, 2])).toEqual({
      min: 1,
      max: 4,
      avg: 2,
      sum: 10,
      median: 2,
      p25: 1,
      p75: 3,
      p95: 4,
    });
    expect(aggregatedStatistics([])).toMatchObject({ min: 0, max: 0, avg: 0, sum: 0, median: 0 });
  });
});

describe('errors', () => {
  it('prints causes as "Caused by:", and serializes the same text', () => {
    const error = new Error('outer', { cause: new TypeError('inner') });
    const text = stringifyError(error);
    expect(text).toMatch(/^Error: outer\n/u);
    expect(text).toContain('\nCaused by: TypeError: inner');
    const serialized = serializedThrowable(error);
    expect(serialized.class).toBe('Error');
    expect(Buffer.from(serialized['serialized-throwable'], 'base64').toString('utf8')).toBe(text);
  });
});

describe('durations and restart strategies', () => {
  it('formats a duration in the largest unit that divides it', () => {
    expect([0, 500, 1000, 1500, 60_000, 90_000, 7_200_000, 86_400_000].map(formatDuration)).toEqual([
      '0 ms',
      '500 ms',
      '1 s',
      '1500 ms',
      '1 min',
      '90 s',
      '2 h',
      '1 d',
    ]);
  });

  it("describes each restart strategy as Flink's web UI shows it", () => {
    expect(describeRestartStrategy(undefined)).toBe('Cluster level default restart strategy');
    expect(describeRestartStrategy({ kind: 'none' })).toBe('Restart deactivated.');
    expect(describeRestartStrategy({ kind: 'fixed-delay', attempts: 3, delayMs: 10_000 })).toBe(
      'Restart with fixed delay (10 s). #3 restart attempts.',
    );
    expect(
      describeRestartStrategy({
        kind: 'failure-rate',
        maxFailuresPerInterval: 2,
        failureRateIntervalMs: 60_000,
        delayMs: 1000,
      }),
    ).toBe('Failure rate restart with maximum of 2 failures within interval 1 min and fixed delay 1 s.');
    expect(
      describeRestartStrategy({
        kind: 'exponential-delay',
        initialBackoffMs: 1000,
        maxBackoffMs: 300_000,
        backoffMultiplier: 2,
        resetBackoffThresholdMs: 3_600_000,
        jitterFactor: 0.1,
        attemptsBeforeResetBackoff: 10,
      }),
    ).toBe(
      'Restart with exponential delay: starting at 1 s, increasing by 2, with maximum 5 min. Delay resets after 1 h with jitter 0.1.',
    );
  });
});
