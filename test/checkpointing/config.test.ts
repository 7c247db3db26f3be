// Checkpoint configuration through CheckpointConfig setters, sluice.yaml and -D (with Flink 1.x aliases), bad values failing fast, and the checkpoint statistics a run leaves.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  Duration,
  KeyedProcessFunction,
  StreamExecutionEnvironment,
  ValueStateDescriptor,
  loadConfiguration,
  type Collector,
  type Configuration,
  type KeyedProcessContext,
  type RuntimeContext,
  type ValueState,
} from 'sluice';
import {
  checkpointDirs,
  fileUri,
  completedCount,
  runToEnd,
  startJob,
  tracedGenerator,
  waitForCompleted,
  withTempDir,
  type Traced,
} from '../support/checkpointing.js';
import { rejectsWith, throwsWith } from '../support/helpers.js';

/** Every checkpoint knob as the getters report it. */
function knobs(env: StreamExecutionEnvironment) {
  const c = env.getCheckpointConfig();
  return {
    enabled: c.isCheckpointingEnabled(),
    interval: c.getCheckpointInterval(),
    mode: c.getCheckpointingConsistencyMode(),
    timeout: c.getCheckpointTimeout(),
    minPause: c.getMinPauseBetweenCheckpoints(),
    maxConcurrent: c.getMaxConcurrentCheckpoints(),
    tolerable: c.getTolerableCheckpointFailureNumber(),
    retention: c.getExternalizedCheckpointRetention(),
  };
}

/** A configuration that records its warnings. */
function load(settings: Parameters<typeof loadConfiguration>[0] = {}): {
  config: Configuration;
  warnings: string[];
} {
  const warnings: string[] = [];
  const config = loadConfiguration({ ...settings, warn: (m) => warnings.push(m) });
  return { config, warnings };
}

describe('checkpoint knobs', () => {
  it('are off with Flink defaults until an interval is set', () => {
    const { config } = load({ cwd: '/nonexistent-dir-without-sluice-yaml' });
    expect(knobs(new StreamExecutionEnvironment(config))).toEqual({
      enabled: false,
      interval: -1,
      mode: 'EXACTLY_ONCE',
      timeout: 600_000,
      minPause: 0,
      maxConcurrent: 1,
      tolerable: 0,
      retention: 'NO_EXTERNALIZED_CHECKPOINTS',
    });
  });

  it('CheckpointConfig setters write the Flink keys, which read back through -D unchanged', () => {
    const env = new StreamExecutionEnvironment(load({ cwd: '/nonexistent' }).config);
    env.enableCheckpointing(250, 'AT_LEAST_ONCE');
    env
      .getCheckpointConfig()
      .setCheckpointTimeout(30_000)
      .setMinPauseBetweenCheckpoints(100)
      .setMaxConcurrentCheckpoints(2)
      .setTolerableCheckpointFailureNumber(3)
      .setExternalizedCheckpointRetention('RETAIN_ON_CANCELLATION')
      .setNumRetainedCheckpoints(4)
      .setCheckpointStorage('file:///var/sluice/checkpoints');
    const expected = {
      enabled: true,
      interval: 250,
      mode: 'AT_LEAST_ONCE',
      timeout: 30_000,
      minPause: 100,
      maxConcurrent: 2,
      tolerable: 3,
      retention: 'RETAIN_ON_CANCELLATION',
    };
    expect(knobs(env)).toEqual(expected);
    const written = env.configuration.toMap();
    expect(written).toMatchObject({
      'execution.checkpointing.interval': '250 ms',
      'execution.checkpointing.mode': 'AT_LEAST_ONCE',
      'execution.checkpointing.timeout': '30 s',
      'execution.checkpointing.min-pause': '100 ms',
      'execution.checkpointing.max-concurrent-checkpoints': '2',
      'execution.checkpointing.tolerable-failed-checkpoints': '3',
      'execution.checkpointing.externalized-checkpoint-retention': 'RETAIN_ON_CANCELLATION',
      'execution.checkpointing.num-retained': '4',
      'execution.checkpointing.dir': 'file:///var/sluice/checkpoints',
      'execution.checkpointing.storage': 'filesystem',
    });
    const reread = new StreamExecutionEnvironment(load({ cwd: '/nonexistent', dynamic: written }).config);
    expect(knobs(reread)).toEqual(expected);
  });

  it('come from sluice.yaml (nested or flat keys, durations with units), -D overrides the file, code overrides both', () =>
    withTempDir(async (dir) => {
      await writeFile(
        join(dir, 'sluice.yaml'),
        [
          'execution:',
          '  checkpointing:',
          '    interval: 2s',
          '    mode: AT_LEAST_ONCE',
          '    timeout: 10min',
          '    min-pause: 500 ms',
          '    max-concurrent-checkpoints: 3',
          'execution.checkpointing.tolerable-failed-checkpoints: 2',
          'execution.checkpointing.externalized-checkpoint-retention: DELETE_ON_CANCELLATION',
          '',
        ].join('\n'),
      );
      const fromFile = load({ cwd: dir });
      expect(fromFile.warnings).toEqual([]);
      expect(knobs(new StreamExecutionEnvironment(fromFile.config))).toEqual({
        enabled: true,
        interval: 2_000,
        mode: 'AT_LEAST_ONCE',
        timeout: 600_000,
        minPause: 500,
        maxConcurrent: 3,
        tolerable: 2,
        retention: 'DELETE_ON_CANCELLATION',
      });
      // The same file named explicitly (--config), with -D on top.
      const layered = load({
        cwd: '/',
        configFile: join(dir, 'sluice.yaml'),
        dynamic: [
          '-D',
          'execution.checkpointing.interval=1min',
          '-Dexecution.checkpointing.mode=EXACTLY_ONCE',
        ],
      });
      const env = new StreamExecutionEnvironment(layered.config);
      expect(knobs(env)).toMatchObject({ interval: 60_000, mode: 'EXACTLY_ONCE', minPause: 500 });
      env.getCheckpointConfig().setMinPauseBetweenCheckpoints(7);
      expect(knobs(env)).toMatchObject({ interval: 60_000, minPause: 7 });
    }));

  it('Flink 1.x state.checkpoints.dir and state.checkpoints.num-retained warn and work in a real run', () =>
    withTempDir(async (dir) => {
      await writeFile(
        join(dir, 'sluice.yaml'),
        [
          `state.checkpoints.dir: ${fileUri(join(dir, 'checkpoints'))}`,
          'state.checkpoints.num-retained: 2',
          'execution.checkpointing.interval: 40ms',
          'execution.checkpointing.externalized-checkpoint-retention: RETAIN_ON_CANCELLATION',
          '',
        ].join('\n'),
      );
      const { config, warnings } = load({ cwd: dir });
      expect(warnings).toEqual([
        expect.stringContaining('state.checkpoints.dir is deprecated; use execution.checkpointing.dir'),
        expect.stringContaining(
          'state.checkpoints.num-retained is deprecated; use execution.checkpointing.num-retained',
        ),
      ]);
      const env = StreamExecutionEnvironment.getExecutionEnvironment(config).setParallelism(2);
      const stream = env
        .fromSource(
          tracedGenerator((i) => ({ i, key: i % 5 }), Infinity, 1_000),
          'numbers',
        )
        .keyBy((r) => r.key)
        .process(new RunningCount());
      const job = await startJob(env, stream);
      await waitForCompleted(job.client, 4).finally(() => job.client.cancel());
      const chks = await checkpointDirs(join(dir, 'checkpoints', job.client.jobId));
      expect(chks).toHaveLength(2);
    }));
});

describe('unaligned checkpoints', () => {
  it("take Flink's setters and keys, and the job's checkpoints are unaligned", () =>
    withTempDir(async (dir) => {
      const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(1);
      env.enableCheckpointing(40);
      env.getCheckpointConfig().setCheckpointStorage(fileUri(dir));
      env
        .getCheckpointConfig()
        .enableUnalignedCheckpoints()
        .setAlignedCheckpointTimeout(Duration.ofSeconds(2));
      expect(env.getCheckpointConfig().isUnalignedCheckpointsEnabled()).toBe(true);
      expect(env.getCheckpointConfig().getAlignedCheckpointTimeout()).toBe(2000);
      expect(env.configuration.toMap()).toMatchObject({
        'execution.checkpointing.unaligned.enabled': 'true',
        'execution.checkpointing.aligned-checkpoint-timeout': '2 s',
      });
      // Without the timeout every checkpoint is unaligned from its first barrier on.
      env.getCheckpointConfig().setAlignedCheckpointTimeout(0);
      const stream = env
        .fromSource(
          tracedGenerator((i) => ({ i, key: i % 5 }), Infinity, 1_000),
          'numbers',
        )
        .keyBy((r) => r.key)
        .process(new RunningCount());
      const job = await startJob(env, stream);
      await waitForCompleted(job.client, 2).finally(() => job.client.cancel());
      const completed = job.client.getCheckpointStats()!.history.filter((c) => c.status === 'COMPLETED');
      expect(completed.length).toBeGreaterThanOrEqual(2);
      for (const c of completed) for (const s of c.subtasks) expect(s.unaligned).toBe(true);
    }));
});

describe('bad checkpoint settings fail fast, naming key, value and what is expected', () => {
  it('a bad duration in sluice.yaml names the key, the value, the expected form and the file', () =>
    withTempDir(async (dir) => {
      await writeFile(join(dir, 'sluice.yaml'), 'execution.checkpointing.interval: 10 apples\n');
      const error = throwsWith(() => loadConfiguration({ cwd: dir }), 'SLUICE_CONFIG_INVALID_VALUE');
      expect(error.message).toContain('execution.checkpointing.interval');
      expect(error.message).toContain('10 apples');
      expect(error.message).toMatch(/expected .*(500ms|10s)/);
      expect(error.message).toContain('sluice.yaml');
    }));

  it.each([
    ['execution.checkpointing.interval', '10 apples', /expected a number with a unit/],
    ['execution.checkpointing.interval', '0 ms', /at least/],
    ['execution.checkpointing.timeout', 'soon', /expected a number with a unit/],
    ['execution.checkpointing.mode', 'SOMETIMES', /EXACTLY_ONCE, AT_LEAST_ONCE/],
    [
      'execution.checkpointing.externalized-checkpoint-retention',
      'KEEP',
      /NO_EXTERNALIZED_CHECKPOINTS, RETAIN_ON_CANCELLATION, DELETE_ON_CANCELLATION/,
    ],
    ['execution.checkpointing.max-concurrent-checkpoints', '0', /at least 1/],
    ['execution.checkpointing.tolerable-failed-checkpoints', '-1', /at least 0/],
    ['execution.checkpointing.num-retained', '0', /at least 1/],
    ['execution.checkpointing.data-inline-threshold', '2mb', /at most 1 mb/],
    ['web.checkpoints.history', '0', /at least 1/],
    ['restart-strategy.type', 'sometimes', /fixed-delay/],
    ['restart-strategy.fixed-delay.attempts', 'three', /integer/],
  ])('-D %s=%s', (key, value, expected) => {
    const error = throwsWith(
      () => loadConfiguration({ dynamic: [`-D${key}=${value}`] }),
      'SLUICE_CONFIG_INVALID_VALUE',
    );
    expect(error.message).toContain(key);
    expect(error.message).toContain(value);
    expect(error.message).toMatch(expected);
    expect(error.message).toContain('-D');
  });

  it('setting a bad value in code throws at once', () => {
    const env = new StreamExecutionEnvironment(load({ cwd: '/nonexistent' }).config);
    const error = throwsWith(
      () => env.configuration.setString('execution.checkpointing.interval', '10 apples'),
      'SLUICE_CONFIG_INVALID_VALUE',
    );
    expect(error.message).toContain('execution.checkpointing.interval');
    const config = env.getCheckpointConfig();
    throwsWith(() => config.setCheckpointInterval(0), 'SLUICE_PROGRAM_INVALID');
    throwsWith(() => config.setCheckpointTimeout(-5), 'SLUICE_PROGRAM_INVALID');
    throwsWith(() => config.setMinPauseBetweenCheckpoints(1.5), 'SLUICE_PROGRAM_INVALID');
    throwsWith(() => config.setMaxConcurrentCheckpoints(0), 'SLUICE_PROGRAM_INVALID');
    throwsWith(() => config.setTolerableCheckpointFailureNumber(-1), 'SLUICE_PROGRAM_INVALID');
    throwsWith(() => config.setNumRetainedCheckpoints(0), 'SLUICE_PROGRAM_INVALID');
    throwsWith(() => config.setCheckpointStorage(''), 'SLUICE_PROGRAM_INVALID');
    // Nothing was changed by the rejected calls.
    expect(config.isCheckpointingEnabled()).toBe(false);
  });

  it.each([
    ['execution.checkpointing.storage', 'rocks', /jobmanager or filesystem/],
    ['execution.checkpointing.dir', 'relative/checkpoints', /relative path/],
    ['execution.checkpointing.dir', 's3://bucket/checkpoints', /s3/],
  ])('submitting a job with %s=%s fails naming the key and value', async (key, value, expected) => {
    const env = new StreamExecutionEnvironment(
      load({ cwd: '/nonexistent', dynamic: { 'execution.checkpointing.interval': '1s', [key]: value } })
        .config,
    );
    if (key === 'execution.checkpointing.dir')
      env.configuration.setString('execution.checkpointing.storage', 'filesystem');
    env.fromSequence(1, 10).collectAsync();
    const error = await rejectsWith(env.executeAsync(), 'SLUICE_CONFIG_INVALID_VALUE');
    expect(error.message).toContain(key);
    expect(error.message).toContain(value);
    expect(error.message).toMatch(expected);
  });
});

// --- statistics ---

const KEYS = 50;

class RunningCount extends KeyedProcessFunction<number, Traced<{ i: number; key: number }>, string> {
  private count!: ValueState<number>;
  open(ctx: RuntimeContext): void {
    this.count = ctx.getState(new ValueStateDescriptor<number>('count', { defaultValue: 0 }));
  }
  processElement(
    _r: Traced<{ i: number; key: number }>,
    ctx: KeyedProcessContext<number>,
    out: Collector<string>,
  ): void {
    const count = this.count.value()! + 1;
    this.count.update(count);
    out.collect(`${ctx.getCurrentKey()} ${count}`);
  }
}

describe('checkpoint statistics after a run', () => {
  it('keep at most web.checkpoints.history entries, each completed one with per-subtask timings and sizes', () =>
    withTempDir(async (dir) => {
      const { config } = load({
        cwd: '/nonexistent',
        dynamic: {
          'execution.checkpointing.interval': '30ms',
          'execution.checkpointing.dir': fileUri(dir),
          'web.checkpoints.history': '3',
        },
      });
      const env = StreamExecutionEnvironment.getExecutionEnvironment(config).setParallelism(2);
      // More checkpoints than the history keeps, however slowly the machine runs them.
      const hold = { from: 300, until: () => completedCount() > 3 };
      const a = env.fromSource(
        tracedGenerator((i) => ({ i, key: i % KEYS }), 300, 600, hold),
        'a',
      );
      const b = env.fromSource(
        tracedGenerator((i) => ({ i, key: (i * 3) % KEYS }), 300, 600, hold),
        'b',
      );
      const counted = a
        .union(b)
        .rebalance()
        .keyBy((r) => r.key)
        .process(new RunningCount())
        .name('running count');
      const { records, result, client } = await runToEnd(env, counted);
      expect(records).toHaveLength(600);

      const stats = client.getCheckpointStats()!;
      expect(stats.counts.completed).toBe(result.checkpoints.completed);
      expect(stats.counts.completed).toBeGreaterThan(3);
      expect(stats.counts.total).toBe(stats.counts.completed + stats.counts.failed + stats.counts.inProgress);
      expect(stats.counts.restored).toBe(0);
      expect(stats.history.length).toBeLessThanOrEqual(3);
      expect(stats.history.length).toBe(3);
      // Newest first.
      const ids = stats.history.map((c) => c.id);
      expect(ids).toEqual([...ids].sort((x, y) => y - x));
      expect(stats.latestCompleted?.id).toBe(
        Math.max(...stats.history.filter((c) => c.status === 'COMPLETED').map((c) => c.id)),
      );

      // Task keys of the keyed vertex, whose subtasks all hold keys by the end.
      const vertices = client.getMetrics().map((m) => m.name);
      const keyedVertex = vertices.findIndex((name) => name.includes('running count'));
      expect(keyedVertex).toBeGreaterThanOrEqual(0);
      const completed = stats.history.filter((c) => c.status === 'COMPLETED');
      expect(completed.length).toBeGreaterThan(0);
      for (const c of completed) {
        expect(c.isSavepoint).toBe(false);
        expect(c.subtasks).toHaveLength(c.numSubtasks);
        expect(c.endToEndDurationMs).toBeGreaterThanOrEqual(0);
        expect(c.latestAckTimestamp).toBeGreaterThanOrEqual(c.triggerTimestamp);
        expect(c.checkpointedSize).toBeGreaterThan(0);
        expect(c.stateSize).toBeGreaterThan(0);
        expect(c.externalPath).toMatch(new RegExp(`chk-${c.id}$`));
        for (const s of c.subtasks) {
          expect(s.syncDurationMs, s.taskKey).toBeGreaterThanOrEqual(0);
          expect(s.asyncDurationMs, s.taskKey).toBeGreaterThanOrEqual(0);
          expect(s.alignmentDurationMs, s.taskKey).toBeGreaterThanOrEqual(0);
          expect(s.startDelayMs, s.taskKey).toBeGreaterThanOrEqual(0);
          expect(s.bytesProcessedDuringAlignment, s.taskKey).toBeGreaterThanOrEqual(0);
          expect(s.endToEndDurationMs, s.taskKey).toBeGreaterThanOrEqual(0);
          expect(s.ackTimestamp, s.taskKey).toBeGreaterThanOrEqual(c.triggerTimestamp);
        }
      }
      const newest = stats.latestCompleted!;
      const keyed = newest.subtasks.filter((s) => s.taskKey.startsWith(`${keyedVertex}:`));
      expect(keyed).toHaveLength(2);
      for (const s of keyed) expect(s.checkpointedSize, s.taskKey).toBeGreaterThan(0);
    }));

  it('-D restart-strategy.type=none makes a failure final even though checkpointing is on', async () => {
    const { config } = load({
      cwd: '/nonexistent',
      dynamic: ['-Dexecution.checkpointing.interval=20ms', '-Drestart-strategy.type=none'],
    });
    const env = StreamExecutionEnvironment.getExecutionEnvironment(config).setParallelism(1);
    let seen = 0;
    env
      .fromSource(
        tracedGenerator((i) => ({ i }), Infinity, 1_000),
        'numbers',
      )
      .map((r) => {
        if (++seen === 50) throw new Error('fiftieth record');
        return r;
      })
      .collectAsync();
    const client = await env.executeAsync();
    try {
      const error = await rejectsWith(client.getJobExecutionResult(), 'SLUICE_USER_FUNCTION_FAILED');
      expect(error.message).toContain('fiftieth record');
      expect(client.getNumRestarts()).toBe(0);
    } finally {
      await client.cancel();
    }
  });
});
