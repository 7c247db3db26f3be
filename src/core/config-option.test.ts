/** Parsing of every option type and the registry's Flink keys, defaults and aliases. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  booleanOption,
  durationOption,
  enumOption,
  floatOption,
  formatDuration,
  formatMemorySize,
  intOption,
  memoryOption,
  parseDuration,
  parseMemorySize,
  stringOption,
} from './config-option.js';
import {
  ALL_OPTIONS,
  CheckpointingOptions,
  ClusterOptions,
  NetworkOptions,
  PipelineOptions,
  RestartOptions,
  RestOptions,
  StateOptions,
  StateRecoveryOptions,
} from './config-options.js';
import { SluiceError } from './errors.js';

/** The thrown SluiceError, so tests can check code and message together. */
function thrown(fn: () => unknown): SluiceError {
  try {
    fn();
  } catch (error) {
    if (error instanceof SluiceError) return error;
    throw error;
  }
  throw new Error('expected a SluiceError');
}

describe('parseDuration', () => {
  it.each([
    ['0', 0],
    ['500', 500],
    ['500ms', 500],
    ['500 ms', 500],
    ['  500  ms  ', 500],
    ['1 milli', 1],
    ['2 millis', 2],
    ['3 millisecond', 3],
    ['4 milliseconds', 4],
    ['10s', 10_000],
    ['1 sec', 1_000],
    ['2 secs', 2_000],
    ['3 second', 3_000],
    ['4 seconds', 4_000],
    ['5min', 300_000],
    ['5m', 300_000],
    ['1 minute', 60_000],
    ['2 minutes', 120_000],
    ['1h', 3_600_000],
    ['1 hour', 3_600_000],
    ['2 hours', 7_200_000],
    ['1d', 86_400_000],
    ['1 day', 86_400_000],
    ['2 days', 172_800_000],
    ['1500us', 1.5],
    ['1500µs', 1.5],
    ['2 micros', 0.002],
    ['3 microseconds', 0.003],
    ['1500000ns', 1.5],
    ['5 nanos', 0.000005],
    ['6 nanoseconds', 0.000006],
    ['10S', 10_000],
    ['1 HOUR', 3_600_000],
  ])('reads %j as %d ms', (text, ms) => {
    expect(parseDuration(text)).toBeCloseTo(ms, 12);
  });

  it('takes numbers from code as milliseconds', () => {
    expect(parseDuration(250)).toBe(250);
    expect(parseDuration(0.5)).toBe(0.5);
  });

  it.each(['', '   ', 'ms', '10 apples', '-5s', '1.5s', '10 s s', 's10', '1 0s', '10msx', 'ten seconds'])(
    'rejects %j',
    (text) => {
      const error = thrown(() => parseDuration(text, 'k'));
      expect(error.code).toBe('SLUICE_CONFIG_INVALID_VALUE');
      expect(error.message).toBe(
        `k: ${JSON.stringify(text)} is not a duration; expected a number with a unit such as 500ms, 10s, 5min, 1h`,
      );
    },
  );

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY, true, null, undefined, {}])(
    'rejects %s from code',
    (raw) => {
      expect(thrown(() => parseDuration(raw)).code).toBe('SLUICE_CONFIG_INVALID_VALUE');
    },
  );

  it('rejects numbers beyond 2^53 instead of rounding them', () => {
    expect(thrown(() => parseDuration('99999999999999999999')).message).toContain('is too large');
    expect(thrown(() => parseDuration('9007199254740991 d')).message).toContain('is too large');
  });

  it('reads back what it formats, at any scale', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 40 }), (n) => {
        expect(parseDuration(`${n}ms`)).toBe(n);
        expect(parseDuration(`${n}s`)).toBe(n * 1000);
        expect(parseDuration(formatDuration(n))).toBe(n);
      }),
    );
  });

  it('formats in the largest exact unit, as Flink', () => {
    expect(formatDuration(0)).toBe('0 ms');
    expect(formatDuration(100)).toBe('100 ms');
    expect(formatDuration(10_000)).toBe('10 s');
    expect(formatDuration(300_000)).toBe('5 min');
    expect(formatDuration(3_600_000)).toBe('1 h');
    expect(formatDuration(86_400_000)).toBe('1 d');
    expect(formatDuration(1.5)).toBe('1500 us');
    expect(formatDuration(0.000005)).toBe('5 ns');
  });
});

describe('parseMemorySize', () => {
  it.each([
    ['0', 0],
    ['100', 100],
    ['100b', 100],
    ['100 bytes', 100],
    ['32k', 32 * 1024],
    ['32kb', 32 * 1024],
    ['32 KB', 32 * 1024],
    ['2 kibibytes', 2048],
    ['64m', 64 * 1024 ** 2],
    ['64mb', 64 * 1024 ** 2],
    ['1 mebibytes', 1024 ** 2],
    ['1g', 1024 ** 3],
    ['1GB', 1024 ** 3],
    ['1 gibibytes', 1024 ** 3],
    ['2t', 2 * 1024 ** 4],
    ['2 tb', 2 * 1024 ** 4],
    ['1 tebibytes', 1024 ** 4],
  ])('reads %j as %d bytes', (text, bytes) => {
    expect(parseMemorySize(text)).toBe(bytes);
  });

  it.each(['', 'kb', '32 kilobytes', '1.5mb', '-1kb', '32 k b'])('rejects %j', (text) => {
    const error = thrown(() => parseMemorySize(text, 'taskmanager.memory.segment-size'));
    expect(error.code).toBe('SLUICE_CONFIG_INVALID_VALUE');
    expect(error.message).toContain(
      `taskmanager.memory.segment-size: ${JSON.stringify(text)} is not a memory size`,
    );
  });

  it('takes whole non-negative numbers from code as bytes', () => {
    expect(parseMemorySize(4096)).toBe(4096);
    expect(thrown(() => parseMemorySize(1.5)).code).toBe('SLUICE_CONFIG_INVALID_VALUE');
    expect(thrown(() => parseMemorySize(-1)).code).toBe('SLUICE_CONFIG_INVALID_VALUE');
  });

  it('formats in the largest exact unit and reads it back', () => {
    expect(formatMemorySize(32 * 1024)).toBe('32 kb');
    expect(formatMemorySize(1025)).toBe('1025 bytes');
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 50 }), (n) => parseMemorySize(formatMemorySize(n)) === n),
    );
  });
});

describe('option types', () => {
  it('reads integers and checks their range', () => {
    const option = intOption('x.count', 3, 'test', { min: 1, max: 10 });
    expect(option.parse('7')).toBe(7);
    expect(option.parse(' +7 ')).toBe(7);
    expect(option.parse(7)).toBe(7);
    expect(thrown(() => option.parse('1.5')).message).toBe(
      'x.count: "1.5" is not an integer; expected a whole number',
    );
    expect(thrown(() => option.parse(2.5)).message).toBe(
      'x.count: 2.5 is not an integer; expected a whole number',
    );
    expect(thrown(() => option.parse('11')).message).toBe(
      'x.count: "11" is out of range; expected an integer between 1 and 10',
    );
    expect(thrown(() => option.parse('1e3')).code).toBe('SLUICE_CONFIG_INVALID_VALUE');
    expect(thrown(() => intOption('y', 0, 't', { min: 0 }).parse(-1)).message).toContain(
      'an integer of at least 0',
    );
  });

  it('reads floats', () => {
    const option = floatOption('x.factor', 1.5, 'test', { min: 1 });
    expect(option.parse('2')).toBe(2);
    expect(option.parse('2.25')).toBe(2.25);
    expect(option.parse('.5e1')).toBe(5);
    expect(thrown(() => option.parse('0.5')).message).toContain(
      'is out of range; expected a number of at least 1',
    );
    expect(thrown(() => option.parse('fast')).message).toContain('is not a number');
    expect(thrown(() => option.parse('0x10')).code).toBe('SLUICE_CONFIG_INVALID_VALUE');
  });

  it('reads booleans ignoring case, and nothing else', () => {
    const option = booleanOption('x.enabled', false, 'test');
    expect(option.parse('TRUE')).toBe(true);
    expect(option.parse('False')).toBe(false);
    expect(option.parse(true)).toBe(true);
    for (const bad of ['yes', '1', 'on', 1]) {
      expect(thrown(() => option.parse(bad)).message).toContain('is not a boolean; expected true or false');
    }
  });

  it('reads strings as given', () => {
    const option = stringOption('x.name', undefined, 'test');
    expect(option.parse(' padded ')).toBe(' padded ');
    expect(option.defaultValue).toBeUndefined();
    expect(thrown(() => option.parse(5)).code).toBe('SLUICE_CONFIG_INVALID_VALUE');
  });

  it('matches enums ignoring case and returns the declared spelling', () => {
    const option = enumOption('x.mode', ['EXACTLY_ONCE', 'AT_LEAST_ONCE'], 'EXACTLY_ONCE', 'test');
    expect(option.parse('at_least_once')).toBe('AT_LEAST_ONCE');
    expect(option.enumValues).toEqual(['EXACTLY_ONCE', 'AT_LEAST_ONCE']);
    expect(thrown(() => option.parse('exactly-once')).message).toBe(
      'x.mode: "exactly-once" is not a valid value; expected one of EXACTLY_ONCE, AT_LEAST_ONCE',
    );
  });

  it('bounds durations and sizes in their own units', () => {
    const timeout = durationOption('x.timeout', '1s', 'test', { min: 1, max: 60_000 });
    expect(timeout.parse('1 min')).toBe(60_000);
    expect(thrown(() => timeout.parse('2min')).message).toBe(
      'x.timeout: "2min" is out of range; expected a duration between 1 ms and 1 min',
    );
    const size = memoryOption('x.size', '1kb', 'test', { max: 1024 * 1024 });
    expect(thrown(() => size.parse('2mb')).message).toContain('expected a size of at most 1 mb');
  });

  it('fails at definition when a default is invalid', () => {
    expect(() => durationOption('x.bad', 'soon', 'test')).toThrow(/x\.bad: "soon" is not a duration/u);
  });
});

describe('the option registry', () => {
  it('has Flink defaults', () => {
    expect(PipelineOptions.DEFAULT_PARALLELISM.defaultValue).toBe(1);
    expect(PipelineOptions.MAX_PARALLELISM.defaultValue).toBe(-1);
    expect(PipelineOptions.OPERATOR_CHAINING.defaultValue).toBe(true);
    expect(PipelineOptions.OBJECT_REUSE.defaultValue).toBe(false);
    expect(PipelineOptions.RUNTIME_MODE.defaultValue).toBe('STREAMING');
    expect(PipelineOptions.BUFFER_TIMEOUT.defaultValue).toBe(100);
    expect(NetworkOptions.MEMORY_SEGMENT_SIZE.defaultValue).toBe(32 * 1024);
    expect(NetworkOptions.NETWORK_BUFFERS_PER_CHANNEL.defaultValue).toBe(2);
    expect(NetworkOptions.NETWORK_MAX_BUFFERS_PER_CHANNEL.defaultValue).toBe(10);
    expect(ClusterOptions.HEARTBEAT_INTERVAL.defaultValue).toBe(10_000);
    expect(ClusterOptions.HEARTBEAT_TIMEOUT.defaultValue).toBe(50_000);
    expect(ClusterOptions.SLOT_REQUEST_TIMEOUT.defaultValue).toBe(300_000);
    expect(ClusterOptions.EXECUTION_FAILOVER_STRATEGY.defaultValue).toBe('region');
    expect(ClusterOptions.TASK_MANAGERS.defaultValue).toBeUndefined();
    expect(RestOptions.PORT.defaultValue).toBe(8081);
    expect(RestOptions.CHECKPOINTS_HISTORY_SIZE.defaultValue).toBe(10);
    expect(StateOptions.STATE_BACKEND.defaultValue).toBe('hashmap');
    expect(CheckpointingOptions.CHECKPOINTING_INTERVAL.defaultValue).toBeUndefined();
    expect(CheckpointingOptions.CHECKPOINTING_TIMEOUT.defaultValue).toBe(600_000);
    expect(CheckpointingOptions.FS_SMALL_FILE_THRESHOLD.defaultValue).toBe(20 * 1024);
    expect(CheckpointingOptions.FILE_MERGING_MAX_FILE_SIZE.defaultValue).toBe(32 * 1024 * 1024);
    expect(StateRecoveryOptions.RESTORE_MODE.defaultValue).toBe('NO_CLAIM');
    expect(StateRecoveryOptions.CHECKPOINT_ID_OF_IGNORED_IN_FLIGHT_DATA.defaultValue).toBe(-1);
    expect(RestartOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_MAX_BACKOFF.defaultValue).toBe(60_000);
    expect(RestartOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_RESET_BACKOFF_THRESHOLD.defaultValue).toBe(
      3_600_000,
    );
  });

  it('accepts all of Flink’s restart-strategy spellings', () => {
    const parse = (text: string): string => RestartOptions.RESTART_STRATEGY.parse(text);
    expect(['none', 'off', 'disable', 'NONE'].map(parse)).toEqual(['none', 'none', 'none', 'none']);
    expect(['fixed-delay', 'fixeddelay'].map(parse)).toEqual(['fixed-delay', 'fixed-delay']);
    expect(['failure-rate', 'failurerate'].map(parse)).toEqual(['failure-rate', 'failure-rate']);
    expect(['exponential-delay', 'ExponentialDelay'].map(parse)).toEqual([
      'exponential-delay',
      'exponential-delay',
    ]);
  });

  it('allows -1 or 1..32768 as max parallelism', () => {
    expect(PipelineOptions.MAX_PARALLELISM.parse('-1')).toBe(-1);
    expect(PipelineOptions.MAX_PARALLELISM.parse('32768')).toBe(32768);
    expect(thrown(() => PipelineOptions.MAX_PARALLELISM.parse('0')).message).toContain('or -1 to derive it');
    expect(thrown(() => PipelineOptions.MAX_PARALLELISM.parse('32769')).code).toBe(
      'SLUICE_CONFIG_INVALID_VALUE',
    );
  });

  it("accepts a Flink config's rocksdb (which runs on lmdb) and rejects backends Sluice does not have", () => {
    expect(StateOptions.STATE_BACKEND.parse('RocksDB')).toBe('rocksdb');
    expect(thrown(() => StateOptions.STATE_BACKEND.parse('forst')).message).toContain(
      'one of hashmap, lmdb, rocksdb',
    );
  });

  it('maps every Flink 1.x key of the reference table to its Flink 2.x key', () => {
    const table: Record<string, string> = {
      'state.checkpoints.dir': 'execution.checkpointing.dir',
      'state.savepoints.dir': 'execution.checkpointing.savepoint-dir',
      'state.checkpoint-storage': 'execution.checkpointing.storage',
      'state.checkpoints.num-retained': 'execution.checkpointing.num-retained',
      'state.backend.incremental': 'execution.checkpointing.incremental',
      'state.storage.fs.memory-threshold': 'execution.checkpointing.data-inline-threshold',
      'state.storage.fs.write-buffer-size': 'execution.checkpointing.write-buffer-size',
      'execution.checkpointing.unaligned': 'execution.checkpointing.unaligned.enabled',
      'execution.savepoint.path': 'execution.state-recovery.path',
      'execution.savepoint.ignore-unclaimed-state': 'execution.state-recovery.ignore-unclaimed-state',
      'execution.savepoint-restore-mode': 'execution.state-recovery.claim-mode',
      'state.backend.local-recovery': 'execution.state-recovery.from-local',
    };
    for (const [old, current] of Object.entries(table)) {
      const option = ALL_OPTIONS.find((o) => o.key === current);
      expect(option?.deprecatedKeys, current).toContain(old);
    }
  });

  it('has no key twice, counting deprecated keys', () => {
    const keys = ALL_OPTIONS.flatMap((option) => [option.key, ...option.deprecatedKeys]);
    expect(keys.filter((key, i) => keys.indexOf(key) !== i)).toEqual([]);
  });

  it('formats every default so that parsing it gives the default back', () => {
    for (const option of ALL_OPTIONS) {
      if (option.defaultValue === undefined) continue;
      expect(option.parse(option.format(option.defaultValue)), option.key).toEqual(option.defaultValue);
      expect(option.description, option.key).not.toBe('');
    }
  });
});
