/** Percentiles as Apache Commons Math's LEGACY estimation, and Flink's summary of no data. */
import { describe, expect, it } from 'vitest';
import { percentile, serializedThrowable, statsSummary, stringifyError } from './rest-values.js';

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
