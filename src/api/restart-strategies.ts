/**
 * RestartStrategies: Flink 1.x's programmatic restart settings (`env.setRestartStrategy(...)`),
 * kept because users know them; each is a set of `restart-strategy.*` options.
 */

/** A restart strategy as the options it stands for. */
export interface RestartStrategyConfiguration {
  readonly options: Readonly<Record<string, string>>;
}

const ms = (n: number) => `${Math.round(n)} ms`;

/** Factories of restart strategies. */
export const RestartStrategies = {
  /** Never restart: the first failure fails the job. */
  noRestart(): RestartStrategyConfiguration {
    return { options: { 'restart-strategy.type': 'none' } };
  },
  /** Restart up to `attempts` times, waiting `delayMs` before each. */
  fixedDelay(attempts: number, delayMs: number): RestartStrategyConfiguration {
    return {
      options: {
        'restart-strategy.type': 'fixed-delay',
        'restart-strategy.fixed-delay.attempts': String(attempts),
        'restart-strategy.fixed-delay.delay': ms(delayMs),
      },
    };
  },
  /** Restart unless more than `maxFailures` happen within `intervalMs`; wait `delayMs` before each. */
  failureRate(maxFailures: number, intervalMs: number, delayMs: number): RestartStrategyConfiguration {
    return {
      options: {
        'restart-strategy.type': 'failure-rate',
        'restart-strategy.failure-rate.max-failures-per-interval': String(maxFailures),
        'restart-strategy.failure-rate.failure-rate-interval': ms(intervalMs),
        'restart-strategy.failure-rate.delay': ms(delayMs),
      },
    };
  },
  /** Restart with a back-off growing by `multiplier` from `initialMs` to `maxMs`. */
  exponentialDelay(
    initialMs: number,
    maxMs: number,
    multiplier: number,
    resetThresholdMs: number,
    jitterFactor: number,
  ): RestartStrategyConfiguration {
    return {
      options: {
        'restart-strategy.type': 'exponential-delay',
        'restart-strategy.exponential-delay.initial-backoff': ms(initialMs),
        'restart-strategy.exponential-delay.max-backoff': ms(maxMs),
        'restart-strategy.exponential-delay.backoff-multiplier': String(multiplier),
        'restart-strategy.exponential-delay.reset-backoff-threshold': ms(resetThresholdMs),
        'restart-strategy.exponential-delay.jitter-factor': String(jitterFactor),
      },
    };
  },
};
