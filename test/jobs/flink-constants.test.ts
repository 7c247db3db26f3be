// Flink's enums and factories are runtime values in Sluice too (CheckpointingMode.EXACTLY_ONCE,
// RuntimeExecutionMode.BATCH, …), their string forms work as well, and bad values are refused.
import { describe, expect, it } from 'vitest';
import {
  Boundedness,
  CheckpointingMode,
  DataGeneratorSource,
  ExecutionConfig,
  ExternalizedCheckpointRetention,
  GlobalJobParameters,
  NumberSequenceSource,
  RestartStrategies,
  RuntimeExecutionMode,
} from 'sluice';
import { envAt, throwsWith } from '../support/helpers.js';

describe('Flink’s enums as values', () => {
  it('are objects of their names, usable where the strings are', () => {
    expect(CheckpointingMode).toEqual({ EXACTLY_ONCE: 'EXACTLY_ONCE', AT_LEAST_ONCE: 'AT_LEAST_ONCE' });
    expect(Object.values(ExternalizedCheckpointRetention).sort()).toEqual([
      'DELETE_ON_CANCELLATION',
      'NO_EXTERNALIZED_CHECKPOINTS',
      'RETAIN_ON_CANCELLATION',
    ]);
    expect(Object.values(RuntimeExecutionMode)).toEqual(['STREAMING', 'BATCH', 'AUTOMATIC']);
    expect(new NumberSequenceSource(1, 2).getBoundedness()).toBe(Boundedness.BOUNDED);
    expect(new DataGeneratorSource((i) => i, Infinity).getBoundedness()).toBe(
      Boundedness.CONTINUOUS_UNBOUNDED,
    );
  });

  it('configure checkpoints as Flink’s day-one code does', () => {
    const env = envAt(1);
    env.enableCheckpointing(1000, CheckpointingMode.AT_LEAST_ONCE);
    const config = env.getCheckpointConfig();
    config.setExternalizedCheckpointRetention(ExternalizedCheckpointRetention.RETAIN_ON_CANCELLATION);
    expect(config.getCheckpointingConsistencyMode()).toBe(CheckpointingMode.AT_LEAST_ONCE);
    expect(config.getExternalizedCheckpointRetention()).toBe('RETAIN_ON_CANCELLATION');
    config.setCheckpointingMode('EXACTLY_ONCE');
    expect(config.getCheckpointingConsistencyMode()).toBe('EXACTLY_ONCE');
  });

  it('refuse a value that is none of theirs, naming the option', () => {
    const config = envAt(1).getCheckpointConfig();
    const error = throwsWith(
      () => config.setCheckpointingConsistencyMode('TWICE' as CheckpointingMode),
      'SLUICE_CONFIG_INVALID_VALUE',
    );
    expect(error.message).toMatch(/execution\.checkpointing\.mode.*TWICE.*EXACTLY_ONCE, AT_LEAST_ONCE/u);
  });

  it('ExecutionConfig.GlobalJobParameters is Flink’s nested class', () => {
    class Settings extends ExecutionConfig.GlobalJobParameters {
      override toMap() {
        return new Map([['region', 'eu']]);
      }
    }
    expect(new Settings()).toBeInstanceOf(GlobalJobParameters);
    const env = envAt(1);
    env.getConfig().setGlobalJobParameters(new Settings());
    expect(env.getConfig().getGlobalJobParameters().toMap().get('region')).toBe('eu');
  });
});

describe('RestartStrategies', () => {
  const optionsOf = (strategy: { options: Readonly<Record<string, string>> }) => {
    const env = envAt(1).setRestartStrategy(strategy);
    return Object.fromEntries(
      Object.keys(strategy.options).map((key) => [key, env.configuration.getString(key)]),
    );
  };

  it('has Flink’s factory names, each the restart-strategy.* options it stands for', () => {
    expect(optionsOf(RestartStrategies.fixedDelayRestart(3, 10_000))).toEqual({
      'restart-strategy.type': 'fixed-delay',
      'restart-strategy.fixed-delay.attempts': '3',
      'restart-strategy.fixed-delay.delay': '10 s',
    });
    expect(optionsOf(RestartStrategies.failureRateRestart(2, 60_000, 500))['restart-strategy.type']).toBe(
      'failure-rate',
    );
    expect(
      optionsOf(RestartStrategies.exponentialDelayRestart(10, 1000, 2, 5000, 0.1))['restart-strategy.type'],
    ).toBe('exponential-delay');
    expect(optionsOf(RestartStrategies.noRestart())).toEqual({ 'restart-strategy.type': 'none' });
    expect(RestartStrategies.fallBackRestart().options).toEqual({});
    expect(RestartStrategies.fixedDelay(3, 10_000)).toEqual(RestartStrategies.fixedDelayRestart(3, 10_000));
  });

  it('refuses negative attempts, delays that are no number, and a multiplier below 1', () => {
    expect(
      throwsWith(() => RestartStrategies.fixedDelayRestart(-1, 0), 'SLUICE_PROGRAM_INVALID').message,
    ).toMatch(/restart attempts must be a whole number >= 0, got -1/u);
    expect(
      throwsWith(
        () => RestartStrategies.fixedDelayRestart(1, '1s' as unknown as number),
        'SLUICE_PROGRAM_INVALID',
      ).message,
    ).toMatch(/delay must be a number of milliseconds/u);
    expect(
      throwsWith(() => RestartStrategies.exponentialDelayRestart(1, 10, 0.5, 10, 0), 'SLUICE_PROGRAM_INVALID')
        .message,
    ).toMatch(/backoff multiplier must be a number >= 1/u);
  });
});
