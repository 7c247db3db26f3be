/**
 * RestartStrategies: Flink 1.x's programmatic restart settings (`env.setRestartStrategy(...)`),
 * kept because users know them; each is a set of `restart-strategy.*` options. Flink's method
 * names (`fixedDelayRestart`, …) and Sluice's shorter ones (`fixedDelay`, …) are the same.
 */
import { invalidProgram } from '../core/errors.js';

/** A restart strategy as the options it stands for. */
export interface RestartStrategyConfiguration {
  readonly options: Readonly<Record<string, string>>;
}

function count(what: string, n: number): string {
  if (!Number.isInteger(n) || n < 0)
    throw invalidProgram(`RestartStrategies: ${what} must be a whole number >= 0, got ${String(n)}.`);
  return String(n);
}

function ms(what: string, n: number): string {
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0)
    throw invalidProgram(
      `RestartStrategies: ${what} must be a number of milliseconds >= 0, got ${String(n)}.`,
    );
  return `${Math.round(n)} ms`;
}

function factor(what: string, n: number, min: number): string {
  if (typeof n !== 'number' || !Number.isFinite(n) || n < min)
    throw invalidProgram(`RestartStrategies: ${what} must be a number >= ${min}, got ${String(n)}.`);
  return String(n);
}

function noRestartOptions(): RestartStrategyConfiguration {
  return { options: { 'restart-strategy.type': 'none' } };
}

function fixedDelayOptions(attempts: number, delayMs: number): RestartStrategyConfiguration {
  return {
    options: {
      'restart-strategy.type': 'fixed-delay',
      'restart-strategy.fixed-delay.attempts': count('the restart attempts', attempts),
      'restart-strategy.fixed-delay.delay': ms('the delay', delayMs),
    },
  };
}

function failureRateOptions(
  maxFailures: number,
  intervalMs: number,
  delayMs: number,
): RestartStrategyConfiguration {
  return {
    options: {
      'restart-strategy.type': 'failure-rate',
      'restart-strategy.failure-rate.max-failures-per-interval': count('the failure rate', maxFailures),
      'restart-strategy.failure-rate.failure-rate-interval': ms('the failure interval', intervalMs),
      'restart-strategy.failure-rate.delay': ms('the delay', delayMs),
    },
  };
}

function exponentialDelayOptions(
  initialMs: number,
  maxMs: number,
  multiplier: number,
  resetThresholdMs: number,
  jitterFactor: number,
): RestartStrategyConfiguration {
  return {
    options: {
      'restart-strategy.type': 'exponential-delay',
      'restart-strategy.exponential-delay.initial-backoff': ms('the initial backoff', initialMs),
      'restart-strategy.exponential-delay.max-backoff': ms('the max backoff', maxMs),
      'restart-strategy.exponential-delay.backoff-multiplier': factor(
        'the backoff multiplier',
        multiplier,
        1,
      ),
      'restart-strategy.exponential-delay.reset-backoff-threshold': ms(
        'the reset threshold',
        resetThresholdMs,
      ),
      'restart-strategy.exponential-delay.jitter-factor': factor('the jitter factor', jitterFactor, 0),
    },
  };
}

/**
 * Factories of restart strategies, under Flink's names and Sluice's shorter ones. Methods, not
 * references to the functions above, so the declarations name no unexported function.
 */
export const RestartStrategies = {
  /** Never restart: the first failure fails the job. */
  noRestart(): RestartStrategyConfiguration {
    return noRestartOptions();
  },
  /** Restart up to `attempts` times, waiting `delayMs` before each. */
  fixedDelayRestart(attempts: number, delayMs: number): RestartStrategyConfiguration {
    return fixedDelayOptions(attempts, delayMs);
  },
  /** Restart unless more than `failureRate` failures happen within `intervalMs`; wait `delayMs` before each. */
  failureRateRestart(failureRate: number, intervalMs: number, delayMs: number): RestartStrategyConfiguration {
    return failureRateOptions(failureRate, intervalMs, delayMs);
  },
  /** Restart with a back-off growing by `multiplier` from `initialMs` to `maxMs`. */
  exponentialDelayRestart(
    initialMs: number,
    maxMs: number,
    multiplier: number,
    resetThresholdMs: number,
    jitterFactor: number,
  ): RestartStrategyConfiguration {
    return exponentialDelayOptions(initialMs, maxMs, multiplier, resetThresholdMs, jitterFactor);
  },
  /** The cluster's restart strategy (the `restart-strategy.*` options, or Flink's default for the job). */
  fallBackRestart(): RestartStrategyConfiguration {
    return { options: {} };
  },
  /** The same as fixedDelayRestart. */
  fixedDelay(attempts: number, delayMs: number): RestartStrategyConfiguration {
    return fixedDelayOptions(attempts, delayMs);
  },
  /** The same as failureRateRestart. */
  failureRate(maxFailures: number, intervalMs: number, delayMs: number): RestartStrategyConfiguration {
    return failureRateOptions(maxFailures, intervalMs, delayMs);
  },
  /** The same as exponentialDelayRestart. */
  exponentialDelay(
    initialMs: number,
    maxMs: number,
    multiplier: number,
    resetThresholdMs: number,
    jitterFactor: number,
  ): RestartStrategyConfiguration {
    return exponentialDelayOptions(initialMs, maxMs, multiplier, resetThresholdMs, jitterFactor);
  },
};
