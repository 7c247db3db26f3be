/** Restart strategies as pure reducers: a failure at time t in, restart-after-delay or fail-the-job out. */
import { SluiceError, invariant } from '../core/errors.js';
import { RestartOptions } from '../core/config-options-checkpointing.js';

// Shape: a strategy's configuration plus its counters form one immutable state value, and
// `notifyFailure(state, { now, random })` returns the next state and the decision. This is Flink's
// RestartBackoffTimeStrategy (notifyFailure, then canRestart, then getBackoffTime) folded into one
// step, so the caller cannot forget a call or read the clock twice. `canRestart` and
// `getBackoffTime` are also exported, for the same questions asked between failures.

/** Never restart: the first failure fails the job. */
export interface NoRestartConfig {
  readonly kind: 'none';
}

/** Restart up to `attempts` times in total, waiting `delayMs` each time. */
export interface FixedDelayConfig {
  readonly kind: 'fixed-delay';
  readonly attempts: number;
  readonly delayMs: number;
}

/** Restart unless more than `maxFailuresPerInterval` failures fall within `failureRateIntervalMs`. */
export interface FailureRateConfig {
  readonly kind: 'failure-rate';
  readonly maxFailuresPerInterval: number;
  readonly failureRateIntervalMs: number;
  readonly delayMs: number;
}

/** Restart with a backoff growing by `backoffMultiplier` from `initialBackoffMs` up to `maxBackoffMs`. */
export interface ExponentialDelayConfig {
  readonly kind: 'exponential-delay';
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
  readonly backoffMultiplier: number;
  /** Running this long without a failure resets the backoff (and the attempt count) to the start. */
  readonly resetBackoffThresholdMs: number;
  /** Random share of the backoff added or subtracted, in [0, 1]. */
  readonly jitterFactor: number;
  /** Restarts allowed between two resets. */
  readonly attemptsBeforeResetBackoff: number;
}

/** One of the four strategies Flink offers. */
export type RestartStrategyConfig =
  NoRestartConfig | FixedDelayConfig | FailureRateConfig | ExponentialDelayConfig;

/** A strategy and what it has counted so far. */
export type RestartStrategyState =
  | { readonly kind: 'none'; readonly config: NoRestartConfig }
  | { readonly kind: 'fixed-delay'; readonly config: FixedDelayConfig; readonly failures: number }
  | {
      readonly kind: 'failure-rate';
      readonly config: FailureRateConfig;
      /** Times of the most recent failures, oldest first; at most maxFailuresPerInterval + 1. */
      readonly failureTimestamps: readonly number[];
    }
  | {
      readonly kind: 'exponential-delay';
      readonly config: ExponentialDelayConfig;
      /** Attempts since the last reset. */
      readonly attempt: number;
      /** When the restart for the current attempt is due; undefined before the first failure. */
      readonly nextRestartTimestamp: number | undefined;
    };

/** The facts of one failure. */
export interface FailureFacts {
  /** When the failure was observed (ms). */
  readonly now: number;
  /** Uniform in [0, 1); needed only by exponential-delay with a jitter factor above 0. */
  readonly random?: number;
}

/** What to do about a failure. */
export type RestartDecision =
  | {
      readonly kind: 'restart';
      readonly delayMs: number;
      /**
       * False when exponential-delay merged this failure into the restart already scheduled (it
       * happened before that restart was due): do not schedule a second restart or count it.
       */
      readonly newAttempt: boolean;
    }
  | { readonly kind: 'fail'; readonly reason: string };

/** The next state and the decision. */
export interface RestartTransition {
  readonly state: RestartStrategyState;
  readonly decision: RestartDecision;
}

/** A strategy that has seen no failure. Throws SLUICE_CONFIG_INVALID_VALUE for impossible settings. */
export function createRestartStrategy(config: RestartStrategyConfig): RestartStrategyState {
  validate(config);
  switch (config.kind) {
    case 'none':
      return { kind: 'none', config };
    case 'fixed-delay':
      return { kind: 'fixed-delay', config, failures: 0 };
    case 'failure-rate':
      return { kind: 'failure-rate', config, failureTimestamps: [] };
    case 'exponential-delay':
      return { kind: 'exponential-delay', config, attempt: 0, nextRestartTimestamp: undefined };
  }
}

/** Records a failure and decides: restart after a delay, or fail the job. */
export function notifyFailure(state: RestartStrategyState, facts: FailureFacts): RestartTransition {
  const { now } = facts;
  let next: RestartStrategyState;
  let newAttempt = true;
  switch (state.kind) {
    case 'none':
      next = state;
      break;
    case 'fixed-delay':
      next = { ...state, failures: state.failures + 1 };
      break;
    case 'failure-rate': {
      const { maxFailuresPerInterval } = state.config;
      const kept =
        state.failureTimestamps.length > maxFailuresPerInterval
          ? state.failureTimestamps.slice(1)
          : state.failureTimestamps;
      next = { ...state, failureTimestamps: [...kept, now] };
      break;
    }
    case 'exponential-delay': {
      const due = state.nextRestartTimestamp;
      if (due !== undefined && now <= due) {
        // Failures before the scheduled restart (e.g. the other tasks of the same failover) are
        // one attempt, not several.
        next = state;
        newAttempt = false;
        break;
      }
      const attempt =
        due !== undefined && now - due >= state.config.resetBackoffThresholdMs ? 0 : state.attempt;
      next = {
        ...state,
        attempt: attempt + 1,
        nextRestartTimestamp: now + exponentialBackoff(state.config, attempt, facts.random),
      };
      break;
    }
  }
  const decision: RestartDecision = canRestart(next, now)
    ? { kind: 'restart', delayMs: getBackoffTime(next, now), newAttempt }
    : {
        kind: 'fail',
        reason: `The restart strategy allows no further restart: ${describeRestartStrategy(next.config)}.`,
      };
  return { state: next, decision };
}

/** Whether the failures recorded so far still allow a restart at `now`. */
export function canRestart(state: RestartStrategyState, now: number): boolean {
  switch (state.kind) {
    case 'none':
      return false;
    case 'fixed-delay':
      return state.failures <= state.config.attempts;
    case 'failure-rate': {
      const oldest = state.failureTimestamps[0];
      if (oldest === undefined || state.failureTimestamps.length <= state.config.maxFailuresPerInterval)
        return true;
      return now - oldest > state.config.failureRateIntervalMs;
    }
    case 'exponential-delay':
      return state.attempt <= state.config.attemptsBeforeResetBackoff;
  }
}

/** How long to wait at `now` before restarting (exponential-delay: until the scheduled restart). */
export function getBackoffTime(state: RestartStrategyState, now: number): number {
  switch (state.kind) {
    case 'none':
      return 0;
    case 'fixed-delay':
    case 'failure-rate':
      return state.config.delayMs;
    case 'exponential-delay':
      invariant(
        state.nextRestartTimestamp !== undefined,
        'exponential-delay backoff asked for before any failure',
      );
      return Math.max(0, state.nextRestartTimestamp - now);
  }
}

/**
 * The backoff of attempt number `attempt` (0-based since the last reset):
 * `initial · multiplier^attempt`, truncated to whole ms as Flink does, plus or minus a whole-ms
 * jitter of up to `jitterFactor` of it, clamped to [initial, max].
 */
export function exponentialBackoff(config: ExponentialDelayConfig, attempt: number, random?: number): number {
  // Cap before adding jitter so huge attempt numbers cannot overflow into Infinity or NaN.
  const base = Math.min(
    Math.trunc(config.initialBackoffMs * config.backoffMultiplier ** attempt),
    Number.MAX_SAFE_INTEGER,
  );
  let jitter = 0;
  const offset = Math.trunc(base * config.jitterFactor);
  if (offset > 0) {
    invariant(
      random !== undefined && random >= 0 && random < 1,
      'exponential-delay with a jitter factor needs a random number in [0, 1)',
    );
    jitter = Math.floor(random * (2 * offset + 1)) - offset;
  }
  return Math.max(config.initialBackoffMs, Math.min(base + jitter, config.maxBackoffMs));
}

/** A one-line description for logs, the job's REST config and the failure reason. */
export function describeRestartStrategy(config: RestartStrategyConfig): string {
  switch (config.kind) {
    case 'none':
      return 'none (no restarts)';
    case 'fixed-delay':
      return `fixed-delay (${config.attempts} attempts, ${config.delayMs} ms apart)`;
    case 'failure-rate':
      return (
        `failure-rate (at most ${config.maxFailuresPerInterval} failures per ${config.failureRateIntervalMs} ms, ` +
        `${config.delayMs} ms apart)`
      );
    case 'exponential-delay':
      return (
        `exponential-delay (${config.initialBackoffMs} ms to ${config.maxBackoffMs} ms, ` +
        `x${config.backoffMultiplier}, reset after ${config.resetBackoffThresholdMs} ms, ` +
        `jitter ${config.jitterFactor}, ${config.attemptsBeforeResetBackoff} attempts before reset)`
      );
  }
}

function configError(key: string, value: unknown, expected: string): SluiceError {
  return new SluiceError(
    'SLUICE_CONFIG_INVALID_VALUE',
    `Invalid value ${JSON.stringify(value)} for ${key}: expected ${expected}.`,
  );
}

function check(ok: boolean, key: string, value: unknown, expected: string): void {
  if (!ok) throw configError(key, value, expected);
}

const isInt = (v: number, min: number) => Number.isInteger(v) && v >= min;

function validate(config: RestartStrategyConfig): void {
  const k = RestartOptions;
  switch (config.kind) {
    case 'none':
      return;
    case 'fixed-delay':
      check(
        isInt(config.attempts, 0),
        k.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS.key,
        config.attempts,
        'an integer ≥ 0',
      );
      check(config.delayMs >= 0, k.RESTART_STRATEGY_FIXED_DELAY_DELAY.key, config.delayMs, 'a duration ≥ 0');
      return;
    case 'failure-rate':
      check(
        isInt(config.maxFailuresPerInterval, 1),
        k.RESTART_STRATEGY_FAILURE_RATE_MAX_FAILURES_PER_INTERVAL.key,
        config.maxFailuresPerInterval,
        'an integer ≥ 1',
      );
      check(
        config.failureRateIntervalMs > 0,
        k.RESTART_STRATEGY_FAILURE_RATE_FAILURE_RATE_INTERVAL.key,
        config.failureRateIntervalMs,
        'a duration > 0',
      );
      check(config.delayMs >= 0, k.RESTART_STRATEGY_FAILURE_RATE_DELAY.key, config.delayMs, 'a duration ≥ 0');
      return;
    case 'exponential-delay':
      check(
        config.initialBackoffMs >= 1,
        k.RESTART_STRATEGY_EXPONENTIAL_DELAY_INITIAL_BACKOFF.key,
        config.initialBackoffMs,
        'at least 1 ms',
      );
      check(
        config.maxBackoffMs >= config.initialBackoffMs,
        k.RESTART_STRATEGY_EXPONENTIAL_DELAY_MAX_BACKOFF.key,
        config.maxBackoffMs,
        `at least the initial backoff (${config.initialBackoffMs} ms)`,
      );
      // Flink requires > 1; Sluice's option parser allows 1 (a constant backoff), so accept it here.
      check(
        config.backoffMultiplier >= 1,
        k.RESTART_STRATEGY_EXPONENTIAL_DELAY_BACKOFF_MULTIPLIER.key,
        config.backoffMultiplier,
        'a number ≥ 1',
      );
      check(
        config.resetBackoffThresholdMs >= 1,
        k.RESTART_STRATEGY_EXPONENTIAL_DELAY_RESET_BACKOFF_THRESHOLD.key,
        config.resetBackoffThresholdMs,
        'at least 1 ms',
      );
      check(
        config.jitterFactor >= 0 && config.jitterFactor <= 1,
        k.RESTART_STRATEGY_EXPONENTIAL_DELAY_JITTER_FACTOR.key,
        config.jitterFactor,
        'a number in [0, 1]',
      );
      check(
        isInt(config.attemptsBeforeResetBackoff, 1),
        k.RESTART_STRATEGY_EXPONENTIAL_DELAY_ATTEMPTS.key,
        config.attemptsBeforeResetBackoff,
        'an integer ≥ 1',
      );
      return;
  }
}

/**
 * The restart options as already-parsed values (durations in ms), keyed by Flink's option names so
 * they map one-to-one to the configuration. Absent or undefined means "not set".
 */
export interface RestartStrategyOptionValues {
  readonly 'restart-strategy.type'?: string | undefined;
  readonly 'restart-strategy.fixed-delay.attempts'?: number | undefined;
  readonly 'restart-strategy.fixed-delay.delay'?: number | undefined;
  readonly 'restart-strategy.failure-rate.max-failures-per-interval'?: number | undefined;
  readonly 'restart-strategy.failure-rate.failure-rate-interval'?: number | undefined;
  readonly 'restart-strategy.failure-rate.delay'?: number | undefined;
  readonly 'restart-strategy.exponential-delay.initial-backoff'?: number | undefined;
  readonly 'restart-strategy.exponential-delay.max-backoff'?: number | undefined;
  readonly 'restart-strategy.exponential-delay.backoff-multiplier'?: number | undefined;
  readonly 'restart-strategy.exponential-delay.reset-backoff-threshold'?: number | undefined;
  readonly 'restart-strategy.exponential-delay.jitter-factor'?: number | undefined;
  readonly 'restart-strategy.exponential-delay.attempts-before-reset-backoff'?: number | undefined;
}

/** Where the options come from and whether the job checkpoints. */
export interface RestartStrategyContext {
  /** Whether checkpointing is enabled; decides the default strategy. */
  readonly checkpointingEnabled: boolean;
  /** The cluster's (config file's) values, used when the job sets no `restart-strategy.type`. */
  readonly clusterValues?: RestartStrategyOptionValues;
}

/** Every spelling Flink accepts for `restart-strategy.type`, case-insensitively. */
const TYPE_NAMES: ReadonlyMap<string, RestartStrategyConfig['kind']> = new Map([
  ['none', 'none'],
  ['off', 'none'],
  ['disable', 'none'],
  ['fixed-delay', 'fixed-delay'],
  ['fixeddelay', 'fixed-delay'],
  ['failure-rate', 'failure-rate'],
  ['failurerate', 'failure-rate'],
  ['exponential-delay', 'exponential-delay'],
  ['exponentialdelay', 'exponential-delay'],
]);

/** exponential-delay with every option at its default: Flink's choice when checkpointing is on. */
export const DEFAULT_EXPONENTIAL_DELAY: ExponentialDelayConfig = {
  kind: 'exponential-delay',
  initialBackoffMs: RestartOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_INITIAL_BACKOFF.defaultValue,
  maxBackoffMs: RestartOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_MAX_BACKOFF.defaultValue,
  backoffMultiplier: RestartOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_BACKOFF_MULTIPLIER.defaultValue,
  resetBackoffThresholdMs:
    RestartOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_RESET_BACKOFF_THRESHOLD.defaultValue,
  jitterFactor: RestartOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_JITTER_FACTOR.defaultValue,
  attemptsBeforeResetBackoff: RestartOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_ATTEMPTS.defaultValue,
};

/**
 * The strategy the options select, as Flink's RestartBackoffTimeStrategyFactoryLoader: the job's
 * `restart-strategy.type` if set (with the job's values), else the cluster's (with the cluster's
 * values), else exponential-delay with defaults when checkpointing is enabled and none otherwise.
 * As in Flink, the default ignores stray `exponential-delay.*` values set without a type. Throws
 * SLUICE_CONFIG_INVALID_VALUE for an unknown type or impossible values.
 */
export function restartStrategyFromConfig(
  values: RestartStrategyOptionValues,
  context: RestartStrategyContext,
): RestartStrategyConfig {
  const config =
    fromValues(values) ??
    (context.clusterValues === undefined ? undefined : fromValues(context.clusterValues)) ??
    (context.checkpointingEnabled ? DEFAULT_EXPONENTIAL_DELAY : { kind: 'none' });
  validate(config);
  return config;
}

function fromValues(v: RestartStrategyOptionValues): RestartStrategyConfig | undefined {
  const raw = v['restart-strategy.type'];
  if (raw === undefined) return undefined;
  const kind = TYPE_NAMES.get(raw.trim().toLowerCase());
  if (kind === undefined) {
    throw configError(
      RestartOptions.RESTART_STRATEGY.key,
      raw,
      'one of none (off, disable), fixed-delay, failure-rate, exponential-delay',
    );
  }
  const o = RestartOptions;
  switch (kind) {
    case 'none':
      return { kind };
    case 'fixed-delay':
      return {
        kind,
        attempts:
          v['restart-strategy.fixed-delay.attempts'] ?? o.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS.defaultValue,
        delayMs: v['restart-strategy.fixed-delay.delay'] ?? o.RESTART_STRATEGY_FIXED_DELAY_DELAY.defaultValue,
      };
    case 'failure-rate':
      return {
        kind,
        maxFailuresPerInterval:
          v['restart-strategy.failure-rate.max-failures-per-interval'] ??
          o.RESTART_STRATEGY_FAILURE_RATE_MAX_FAILURES_PER_INTERVAL.defaultValue,
        failureRateIntervalMs:
          v['restart-strategy.failure-rate.failure-rate-interval'] ??
          o.RESTART_STRATEGY_FAILURE_RATE_FAILURE_RATE_INTERVAL.defaultValue,
        delayMs:
          v['restart-strategy.failure-rate.delay'] ?? o.RESTART_STRATEGY_FAILURE_RATE_DELAY.defaultValue,
      };
    case 'exponential-delay':
      return {
        kind,
        initialBackoffMs:
          v['restart-strategy.exponential-delay.initial-backoff'] ??
          DEFAULT_EXPONENTIAL_DELAY.initialBackoffMs,
        maxBackoffMs:
          v['restart-strategy.exponential-delay.max-backoff'] ?? DEFAULT_EXPONENTIAL_DELAY.maxBackoffMs,
        backoffMultiplier:
          v['restart-strategy.exponential-delay.backoff-multiplier'] ??
          DEFAULT_EXPONENTIAL_DELAY.backoffMultiplier,
        resetBackoffThresholdMs:
          v['restart-strategy.exponential-delay.reset-backoff-threshold'] ??
          DEFAULT_EXPONENTIAL_DELAY.resetBackoffThresholdMs,
        jitterFactor:
          v['restart-strategy.exponential-delay.jitter-factor'] ?? DEFAULT_EXPONENTIAL_DELAY.jitterFactor,
        attemptsBeforeResetBackoff:
          v['restart-strategy.exponential-delay.attempts-before-reset-backoff'] ??
          DEFAULT_EXPONENTIAL_DELAY.attemptsBeforeResetBackoff,
      };
  }
}
