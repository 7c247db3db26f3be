/** Durations as Flink's APIs take them: `Duration.ofSeconds(5)` (Flink 2.x, java.time) and `Time.seconds(5)` (Flink 1.x). */
import { SluiceError } from './errors.js';

/** A length of time in milliseconds (Flink 2.x's `java.time.Duration`, to the millisecond). */
export class Duration {
  private constructor(private readonly millis: number) {}

  static ofMillis(ms: number): Duration {
    return new Duration(checked(ms, 'Duration.ofMillis'));
  }
  static ofSeconds(seconds: number): Duration {
    return new Duration(checked(seconds, 'Duration.ofSeconds') * 1000);
  }
  static ofMinutes(minutes: number): Duration {
    return new Duration(checked(minutes, 'Duration.ofMinutes') * 60_000);
  }
  static ofHours(hours: number): Duration {
    return new Duration(checked(hours, 'Duration.ofHours') * 3_600_000);
  }
  static ofDays(days: number): Duration {
    return new Duration(checked(days, 'Duration.ofDays') * 86_400_000);
  }

  toMillis(): number {
    return this.millis;
  }
  /** Flink 1.x's `Time.toMilliseconds()`. */
  toMilliseconds(): number {
    return this.millis;
  }
  toString(): string {
    return `${this.millis} ms`;
  }
}

/** Flink 1.x's `org.apache.flink.api.common.time.Time`: the same durations, by their old names. */
export const Time = {
  milliseconds: (ms: number): Duration => Duration.ofMillis(ms),
  seconds: (s: number): Duration => Duration.ofSeconds(s),
  minutes: (m: number): Duration => Duration.ofMinutes(m),
  hours: (h: number): Duration => Duration.ofHours(h),
  days: (d: number): Duration => Duration.ofDays(d),
  of: (n: number, unit: 'MILLISECONDS' | 'SECONDS' | 'MINUTES' | 'HOURS' | 'DAYS'): Duration => {
    const ms = { MILLISECONDS: 1, SECONDS: 1000, MINUTES: 60_000, HOURS: 3_600_000, DAYS: 86_400_000 }[unit];
    if (ms === undefined)
      throw new SluiceError(
        'SLUICE_PROGRAM_INVALID',
        `Time.of: unknown unit ${String(unit)}; use SECONDS, MINUTES, ...`,
      );
    return Duration.ofMillis(checked(n, 'Time.of') * ms);
  },
} as const;

/** What APIs taking a duration accept: a Duration (or Flink 1.x Time), or milliseconds. */
export type DurationLike = Duration | number;

/** Milliseconds of `d`; throws SLUICE_PROGRAM_INVALID naming `what` for anything else or a negative value. */
export function toMillis(d: DurationLike, what: string): number {
  if (d instanceof Duration) return d.toMillis();
  return checked(d, what);
}

function checked(n: number, what: string): number {
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0)
    throw new SluiceError(
      'SLUICE_PROGRAM_INVALID',
      `${what} needs a finite, non-negative number (or a Duration such as Duration.ofSeconds(5)), got ${String(n)}.`,
    );
  return n;
}
