/** Duration (Flink 2.x) and Time (Flink 1.x): the same milliseconds under both names; bad input named. */
import { describe, expect, it } from 'vitest';
import { Duration, Time, toMillis } from './duration.js';

describe('Duration and Time', () => {
  it('convert units to milliseconds under both APIs', () => {
    expect(Duration.ofSeconds(5).toMillis()).toBe(5000);
    expect(Duration.ofMinutes(2).toMillis()).toBe(120_000);
    expect(Duration.ofHours(1).toMillis()).toBe(3_600_000);
    expect(Duration.ofDays(1).toMillis()).toBe(86_400_000);
    expect(Time.seconds(5).toMilliseconds()).toBe(5000);
    expect(Time.of(3, 'MINUTES').toMillis()).toBe(180_000);
    expect(Time.milliseconds(7).toMillis()).toBe(7);
  });

  it('accept plain milliseconds where a duration is taken, and name what is wrong', () => {
    expect(toMillis(250, 'x')).toBe(250);
    expect(toMillis(Duration.ofMillis(9), 'x')).toBe(9);
    expect(() => toMillis(-1, 'StateTtlConfig.newBuilder(ttl)')).toThrow(
      /StateTtlConfig.newBuilder\(ttl\) needs/,
    );
    expect(() => Duration.ofSeconds(Number.NaN)).toThrow(/Duration.ofSeconds needs/);
    expect(() => Time.of(1, 'WEEKS' as never)).toThrow(/unknown unit/);
  });
});
