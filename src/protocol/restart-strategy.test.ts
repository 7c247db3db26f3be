/** Restart strategies: Flink's *RestartBackoffTimeStrategyTest and factory-loader scenarios, plus backoff properties. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SluiceError } from '../core/errors.js';
import {
  DEFAULT_EXPONENTIAL_DELAY,
  canRestart,
  createRestartStrategy,
  exponentialBackoff,
  getBackoffTime,
  notifyFailure,
  restartStrategyFromConfig,
  type ExponentialDelayConfig,
  type RestartDecision,
  type RestartStrategyConfig,
  type RestartStrategyState,
} from './restart-strategy.js';

/** A strategy driven by a manual clock, with Flink's three calls. */
class Driver {
  state: RestartStrategyState;
  now = 0;
  constructor(
    config: RestartStrategyConfig,
    private readonly random: () => number = () => 0.5,
  ) {
    this.state = createRestartStrategy(config);
  }
  fail(): RestartDecision {
    const { state, decision } = notifyFailure(this.state, { now: this.now, random: this.random() });
    this.state = state;
    return decision;
  }
  advance(ms: number): this {
    this.now += ms;
    return this;
  }
  canRestart(): boolean {
    return canRestart(this.state, this.now);
  }
  backoff(): number {
    return getBackoffTime(this.state, this.now);
  }
}

const expo = (
  initialBackoffMs: number,
  maxBackoffMs: number,
  backoffMultiplier: number,
  resetBackoffThresholdMs: number,
  jitterFactor: number,
  attemptsBeforeResetBackoff: number,
): ExponentialDelayConfig => ({
  kind: 'exponential-delay',
  initialBackoffMs,
  maxBackoffMs,
  backoffMultiplier,
  resetBackoffThresholdMs,
  jitterFactor,
  attemptsBeforeResetBackoff,
});

const INT_MAX = 2_147_483_647;

/** Every backoff the strategy can produce after `failures` failures, over a fine grid of random values. */
function backoffRange(config: ExponentialDelayConfig, failures: number, advance: number): number[] {
  const seen = new Set<number>();
  for (let i = 0; i < 1000; i++) {
    const d = new Driver(config, () => i / 1000);
    for (let f = 0; f < failures; f++) {
      d.advance(advance);
      expect(d.fail()).toMatchObject({ newAttempt: true });
    }
    seen.add(d.backoff());
  }
  return [...seen].sort((a, b) => a - b);
}

describe('exponential-delay (ExponentialDelayRestartBackoffTimeStrategyTest)', () => {
  it('allows attempts-before-reset-backoff restarts, then fails', () => {
    // ExponentialDelayRestartBackoffTimeStrategyTest#testMaxAttempts: canRestart holds before each of
    // failures 1..14; as notifyFailure-then-canRestart (what the failure handler does), 13 restart.
    const maxAttempts = 13;
    const d = new Driver(expo(1, 3, 1.2, 10, 0.25, maxAttempts));
    for (let i = 0; i <= maxAttempts; i++) {
      expect(d.canRestart()).toBe(true);
      const decision = d.fail();
      expect(decision.kind).toBe(i < maxAttempts ? 'restart' : 'fail');
      d.advance(3 + 1);
    }
    expect(d.canRestart()).toBe(false);
  });

  it('has no backoff before the first failure', () => {
    // ExponentialDelayRestartBackoffTimeStrategyTest#testNotCallNotifyFailure
    expect(() => new Driver(expo(42, 45, 2, 8, 0, 10)).backoff()).toThrow(SluiceError);
  });

  it('starts with the initial backoff', () => {
    // ExponentialDelayRestartBackoffTimeStrategyTest#testInitialBackoff
    const d = new Driver(expo(42, 45, 2, 8, 0, INT_MAX));
    expect(d.fail()).toEqual({ kind: 'restart', delayMs: 42, newAttempt: true });
  });

  it('never exceeds the maximum backoff', () => {
    // ExponentialDelayRestartBackoffTimeStrategyTest#testMaxBackoff
    const d = new Driver(expo(1, 6, 2, 8, 0.25, INT_MAX), () => 0.999);
    for (let i = 0; i < 10; i++) {
      d.fail();
      expect(d.backoff()).toBeLessThanOrEqual(6);
      d.advance(7);
    }
  });

  it('grows the backoff, then resets it after a failure-free threshold', () => {
    // ExponentialDelayRestartBackoffTimeStrategyTest#testResetBackoff
    const reset = 8;
    const d = new Driver(expo(1, 5, 2, reset, 0.25, INT_MAX));
    expect(d.fail()).toMatchObject({ kind: 'restart', newAttempt: true });
    d.advance(reset + d.backoff() - 1);
    expect(d.fail()).toMatchObject({ newAttempt: true });
    expect(d.backoff()).toBe(2); // increased
    d.advance(reset + d.backoff());
    expect(d.fail()).toMatchObject({ newAttempt: true });
    expect(d.backoff()).toBe(1); // reset
  });

  it('multiplies the backoff, truncating to whole milliseconds', () => {
    // ExponentialDelayRestartBackoffTimeStrategyTest#testBackoffMultiplier
    const d = new Driver(expo(4, 300, 2.3, INT_MAX, 0, 10));
    expect(d.fail()).toMatchObject({ delayMs: 4 });
    d.advance(301);
    expect(d.fail()).toMatchObject({ delayMs: 9 }); // 4 * 2.3
    d.advance(301);
    expect(d.fail()).toMatchObject({ delayMs: 21 }); // 4 * 2.3 * 2.3
  });

  it('adds whole-millisecond jitter within the factor', () => {
    // ExponentialDelayRestartBackoffTimeStrategyTest#testJitter
    const config = expo(2, 7, 2, INT_MAX, 0.25, INT_MAX);
    expect(backoffRange(config, 2, 8)).toEqual([3, 4, 5]);
    expect(backoffRange(config, 3, 8)).toEqual([6, 7]);
    expect(backoffRange(config, 4, 8)).toEqual([7]);
  });

  it('keeps jittered backoffs within [initial, max]', () => {
    // ExponentialDelayRestartBackoffTimeStrategyTest#testJitterNoHigherThanMax
    const config = expo(1, 7, 2, INT_MAX, 1, INT_MAX);
    expect(backoffRange(config, 1, 8)).toEqual([1, 2]);
    expect(backoffRange(config, 2, 8)).toEqual([1, 2, 3, 4]);
    expect(backoffRange(config, 3, 8)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('resets, grows and resets again with mixed settings', () => {
    // ExponentialDelayRestartBackoffTimeStrategyTest#testMultipleSettings
    const reset = 80;
    const d = new Driver(expo(1, 9, 2, reset, 0.25, INT_MAX));
    expect(d.fail()).toEqual({ kind: 'restart', delayMs: 1, newAttempt: true });
    d.advance(reset + 1);
    expect(d.fail()).toEqual({ kind: 'restart', delayMs: 1, newAttempt: true }); // initial after the first
    d.advance(4);
    expect(d.fail()).toEqual({ kind: 'restart', delayMs: 2, newAttempt: true }); // grows
    d.advance(reset + 9 + 1);
    expect(d.fail()).toEqual({ kind: 'restart', delayMs: 1, newAttempt: true }); // reset
    d.advance(9 + 1);
    expect(d.fail()).toEqual({ kind: 'restart', delayMs: 2, newAttempt: true }); // grows again
  });

  /** Flink's checkMultipleExceptionsAreMerged: every failure until the restart is due is one attempt. */
  function checkMerged(d: Driver, expectedBackoff: number): void {
    let first = true;
    for (let advance = 0; advance < expectedBackoff; advance++) {
      for (let i = 0; i < 10; i++) {
        const decision = d.fail();
        expect(decision).toEqual({ kind: 'restart', delayMs: expectedBackoff - advance, newAttempt: first });
        first = false;
        expect(d.canRestart()).toBe(true);
      }
      d.advance(1);
    }
  }

  it('merges failures before the scheduled restart into one attempt', () => {
    // ExponentialDelayRestartBackoffTimeStrategyTest#testMergeMultipleExceptionsIntoOneAttempt
    const d = new Driver(expo(2, 6, 2, 80, 0, 3));
    checkMerged(d, 2);
    d.advance(1);
    checkMerged(d, 4);
    d.advance(1);
    checkMerged(d, 6);
    d.advance(1);
    expect(d.fail().kind).toBe('fail'); // fourth attempt > 3
    expect(d.canRestart()).toBe(false);
  });

  it('merges failures correctly across resets', () => {
    // ExponentialDelayRestartBackoffTimeStrategyTest#testMergingExceptionsWorksWithResetting
    const d = new Driver(expo(2, 6, 2, 80, 0, 3));
    for (let round = 0; round < 10; round++) {
      checkMerged(d, 2);
      d.advance(1);
      checkMerged(d, 4);
      d.advance(1);
      checkMerged(d, 6);
      d.advance(80);
    }
  });

  it('follows the documented example: 1, 2, 4, 8, 10, 10 seconds', () => {
    // docs/ops/state/task_failure_recovery: initial 1 s, multiplier 2, max 10 s, no jitter
    const d = new Driver(expo(1000, 10_000, 2, 3_600_000, 0, INT_MAX));
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      const decision = d.fail();
      if (decision.kind === 'restart') delays.push(decision.delayMs);
      d.advance(decision.kind === 'restart' ? decision.delayMs + 1 : 0);
    }
    expect(delays).toEqual([1000, 2000, 4000, 8000, 10_000, 10_000]);
  });

  it('needs a random number only when jitter applies', () => {
    const noJitter = createRestartStrategy(expo(1000, 60_000, 1.5, 3_600_000, 0, 5));
    expect(notifyFailure(noJitter, { now: 0 }).decision).toEqual({
      kind: 'restart',
      delayMs: 1000,
      newAttempt: true,
    });
    expect(() => notifyFailure(createRestartStrategy(DEFAULT_EXPONENTIAL_DELAY), { now: 0 })).toThrow(
      SluiceError,
    );
  });

  it('rejects impossible settings', () => {
    expect(() => createRestartStrategy(expo(0, 10, 2, 1, 0, 1))).toThrow(/initial-backoff/);
    expect(() => createRestartStrategy(expo(10, 5, 2, 1, 0, 1))).toThrow(/max-backoff/);
    expect(() => createRestartStrategy(expo(1, 5, 0.5, 1, 0, 1))).toThrow(/backoff-multiplier/);
    expect(() => createRestartStrategy(expo(1, 5, 2, 1, 1.5, 1))).toThrow(/jitter-factor/);
    expect(() => createRestartStrategy(expo(1, 5, 2, 1, 0, 0))).toThrow(/attempts-before-reset-backoff/);
  });
});

describe('exponential-delay properties', () => {
  const configArb = fc
    .record({
      initial: fc.integer({ min: 1, max: 10_000 }),
      extra: fc.integer({ min: 0, max: 1_000_000 }),
      multiplier: fc.double({ min: 1, max: 4, noNaN: true }),
      jitter: fc.double({ min: 0, max: 1, noNaN: true }),
    })
    .map(({ initial, extra, multiplier, jitter }) => ({
      config: expo(initial, initial + extra, multiplier, Number.MAX_SAFE_INTEGER, 0, INT_MAX),
      jitter,
    }));

  it('grows by the multiplier up to max-backoff and never beyond it', () => {
    fc.assert(
      fc.property(configArb, fc.integer({ min: 1, max: 60 }), ({ config }, failures) => {
        const d = new Driver(config);
        let previous = 0;
        for (let k = 0; k < failures; k++) {
          const decision = d.fail();
          expect(decision.kind).toBe('restart');
          const delay = decision.kind === 'restart' ? decision.delayMs : -1;
          expect(delay).toBeLessThanOrEqual(config.maxBackoffMs);
          expect(delay).toBeGreaterThanOrEqual(previous);
          const uncapped = Math.trunc(config.initialBackoffMs * config.backoffMultiplier ** k);
          expect(delay).toBe(Math.max(config.initialBackoffMs, Math.min(uncapped, config.maxBackoffMs)));
          previous = delay;
          d.advance(delay + 1);
        }
      }),
    );
  });

  it('keeps jittered backoffs within [initial, max] and within the jitter band', () => {
    fc.assert(
      fc.property(
        configArb,
        fc.integer({ min: 0, max: 80 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        ({ config, jitter }, attempt, random) => {
          const withJitter = { ...config, jitterFactor: jitter };
          const backoff = exponentialBackoff(withJitter, attempt, random);
          const base = Math.min(
            Math.trunc(config.initialBackoffMs * config.backoffMultiplier ** attempt),
            Number.MAX_SAFE_INTEGER,
          );
          const offset = Math.trunc(base * jitter);
          expect(Number.isSafeInteger(backoff)).toBe(true);
          expect(backoff).toBeGreaterThanOrEqual(config.initialBackoffMs);
          expect(backoff).toBeLessThanOrEqual(config.maxBackoffMs);
          expect(backoff).toBeGreaterThanOrEqual(
            Math.min(config.maxBackoffMs, Math.max(config.initialBackoffMs, base - offset)),
          );
          expect(backoff).toBeLessThanOrEqual(Math.max(config.initialBackoffMs, base + offset));
        },
      ),
    );
  });
});

describe('fixed-delay and failure-rate', () => {
  it('allows exactly the configured number of restarts', () => {
    // FixedDelayRestartBackoffTimeStrategyTest#testNumberOfRestarts
    const d = new Driver({ kind: 'fixed-delay', attempts: 3, delayMs: 0 });
    for (let left = 3; left > 0; left--) {
      expect(d.fail()).toEqual({ kind: 'restart', delayMs: 0, newAttempt: true });
      // Asking twice must not count anything.
      expect(d.canRestart()).toBe(true);
      expect(d.canRestart()).toBe(true);
    }
    expect(d.fail().kind).toBe('fail');
    expect(d.canRestart()).toBe(false);
  });

  it('waits the fixed delay', () => {
    // FixedDelayRestartBackoffTimeStrategyTest#testBackoffTime
    const d = new Driver({ kind: 'fixed-delay', attempts: 1, delayMs: 10_000 });
    expect(d.backoff()).toBe(10_000);
    expect(d.fail()).toEqual({ kind: 'restart', delayMs: 10_000, newAttempt: true });
    expect(d.fail().kind).toBe('fail'); // attempts = 1: the second failure fails the job
  });

  it('keeps restarting while failures stay within the rate', () => {
    // FailureRateRestartBackoffTimeStrategyTest#testManyFailuresWithinRate
    const d = new Driver({
      kind: 'failure-rate',
      maxFailuresPerInterval: 1,
      failureRateIntervalMs: 1,
      delayMs: 0,
    });
    for (let i = 0; i < 3; i++) {
      expect(d.fail().kind).toBe('restart');
      d.advance(1 + 1);
    }
    expect(d.canRestart()).toBe(true);
  });

  it('fails the job on the failure that exceeds the rate', () => {
    // FailureRateRestartBackoffTimeStrategyTest#testFailuresExceedingRate: 3 per 10 s
    const d = new Driver({
      kind: 'failure-rate',
      maxFailuresPerInterval: 3,
      failureRateIntervalMs: 10_000,
      delayMs: 0,
    });
    for (let i = 0; i < 3; i++) expect(d.fail().kind).toBe('restart');
    const decision = d.fail();
    expect(decision.kind).toBe('fail');
    expect(decision.kind === 'fail' && decision.reason).toMatch(
      /failure-rate \(at most 3 failures per 10000 ms/,
    );
    // Once the oldest failure leaves the window, restarting is allowed again.
    d.advance(10_001);
    expect(d.canRestart()).toBe(true);
  });

  it('waits the configured delay', () => {
    // FailureRateRestartBackoffTimeStrategyTest#testBackoffTime
    expect(
      new Driver({
        kind: 'failure-rate',
        maxFailuresPerInterval: 1,
        failureRateIntervalMs: 1,
        delayMs: 10_000,
      }).backoff(),
    ).toBe(10_000);
  });

  it('never restarts with none', () => {
    expect(new Driver({ kind: 'none' }).fail()).toMatchObject({ kind: 'fail' });
  });
});

describe('restartStrategyFromConfig (RestartBackoffTimeStrategyFactoryLoaderTest)', () => {
  it('defaults to exponential-delay with Flink defaults when checkpointing is enabled', () => {
    // RestartBackoffTimeStrategyFactoryLoaderTest#testNoStrategySpecifiedWhenCheckpointingEnabled
    expect(restartStrategyFromConfig({}, { checkpointingEnabled: true })).toEqual({
      kind: 'exponential-delay',
      initialBackoffMs: 1000,
      maxBackoffMs: 60_000,
      backoffMultiplier: 1.5,
      resetBackoffThresholdMs: 3_600_000,
      jitterFactor: 0.1,
      attemptsBeforeResetBackoff: INT_MAX,
    });
  });

  it('defaults to no restart when checkpointing is disabled', () => {
    // RestartBackoffTimeStrategyFactoryLoaderTest#testNoStrategySpecifiedWhenCheckpointingDisabled
    expect(restartStrategyFromConfig({}, { checkpointingEnabled: false })).toEqual({ kind: 'none' });
  });

  it('prefers the job configuration over the cluster configuration', () => {
    // RestartBackoffTimeStrategyFactoryLoaderTest#testFixedDelayStrategySpecifiedInJobConfig /
    // #testFailureRateStrategySpecifiedInClusterConfig
    const cluster = { 'restart-strategy.type': 'failure-rate' };
    expect(
      restartStrategyFromConfig(
        { 'restart-strategy.type': 'fixed-delay', 'restart-strategy.fixed-delay.attempts': 5 },
        { checkpointingEnabled: true, clusterValues: cluster },
      ),
    ).toEqual({ kind: 'fixed-delay', attempts: 5, delayMs: 1000 });
    expect(restartStrategyFromConfig({}, { checkpointingEnabled: true, clusterValues: cluster })).toEqual({
      kind: 'failure-rate',
      maxFailuresPerInterval: 1,
      failureRateIntervalMs: 60_000,
      delayMs: 1000,
    });
  });

  it('throws on an unknown strategy name', () => {
    // RestartBackoffTimeStrategyFactoryLoaderTest#testInvalidStrategySpecifiedInJobConfig / #...InClusterConfig
    expect(() =>
      restartStrategyFromConfig({ 'restart-strategy.type': 'sometimes' }, { checkpointingEnabled: true }),
    ).toThrow(/restart-strategy\.type/);
    expect(() =>
      restartStrategyFromConfig({ 'restart-strategy.type': 'constructor' }, { checkpointingEnabled: true }),
    ).toThrow(SluiceError);
    expect(() =>
      restartStrategyFromConfig(
        {},
        { checkpointingEnabled: false, clusterValues: { 'restart-strategy.type': 'invalid-strategy' } },
      ),
    ).toThrow(SluiceError);
  });

  it('lets a job switch restarts off whatever the cluster says', () => {
    // RestartBackoffTimeStrategyFactoryLoaderTest#testNoRestartStrategySpecifiedInJobConfig
    expect(
      restartStrategyFromConfig(
        { 'restart-strategy.type': 'none' },
        { checkpointingEnabled: false, clusterValues: { 'restart-strategy.type': 'fixed-delay' } },
      ),
    ).toEqual({ kind: 'none' });
  });

  it('accepts Flink’s alternative spellings, case-insensitively', () => {
    expect(
      restartStrategyFromConfig({ 'restart-strategy.type': 'OFF' }, { checkpointingEnabled: true }),
    ).toEqual({ kind: 'none' });
    expect(
      restartStrategyFromConfig({ 'restart-strategy.type': 'disable' }, { checkpointingEnabled: true }).kind,
    ).toBe('none');
    expect(
      restartStrategyFromConfig({ 'restart-strategy.type': 'FixedDelay' }, { checkpointingEnabled: false })
        .kind,
    ).toBe('fixed-delay');
    expect(
      restartStrategyFromConfig({ 'restart-strategy.type': 'failurerate' }, { checkpointingEnabled: false })
        .kind,
    ).toBe('failure-rate');
    expect(
      restartStrategyFromConfig(
        { 'restart-strategy.type': 'exponentialdelay' },
        { checkpointingEnabled: false },
      ).kind,
    ).toBe('exponential-delay');
  });

  it('uses the configured values and validates them', () => {
    expect(
      restartStrategyFromConfig(
        {
          'restart-strategy.type': 'exponential-delay',
          'restart-strategy.exponential-delay.initial-backoff': 10,
          'restart-strategy.exponential-delay.max-backoff': 100,
          'restart-strategy.exponential-delay.jitter-factor': 0,
        },
        { checkpointingEnabled: false },
      ),
    ).toMatchObject({ initialBackoffMs: 10, maxBackoffMs: 100, jitterFactor: 0, backoffMultiplier: 1.5 });
    expect(() =>
      restartStrategyFromConfig(
        {
          'restart-strategy.type': 'exponential-delay',
          'restart-strategy.exponential-delay.initial-backoff': 120_000,
        },
        { checkpointingEnabled: false },
      ),
    ).toThrow(/max-backoff/);
  });

  it('ignores exponential-delay values when no type is set, as Flink does', () => {
    expect(
      restartStrategyFromConfig(
        { 'restart-strategy.exponential-delay.max-backoff': 5000 },
        { checkpointingEnabled: true },
      ),
    ).toEqual(DEFAULT_EXPONENTIAL_DELAY);
  });
});
