// Serialization never changes data silently: each supported kind of value crosses a keyBy
// exchange and is restored from checkpointed keyed state exactly; what cannot be kept fails the
// job naming the operator, the field and the fix.
import { isDeepStrictEqual } from 'node:util';
import { beforeEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import {
  DataGeneratorSource,
  KeyedProcessFunction,
  RestartStrategies,
  StreamExecutionEnvironment,
  ValueStateDescriptor,
  type Collector,
  type KeyedProcessContext,
  type RuntimeContext,
  type ValueState,
} from 'sluice';
import {
  Reading,
  Sample,
  TYPES,
  buildJob,
  resetFailure,
  restoredEnough,
  type TypeName,
} from '../fixtures/faithful-types-job.js';
import {
  checkpointDirs,
  fileUri,
  startJob,
  waitForCompleted,
  withTempDir,
} from '../support/checkpointing.js';
import { collectUntil, envAt, rejectsWith } from '../support/helpers.js';

beforeEach(resetFailure);

describe.each(Object.keys(TYPES) as TypeName[])('a record holding %s', (type) => {
  it('crosses an exchange and comes back from checkpointed keyed state unchanged', async () => {
    const env = StreamExecutionEnvironment.getExecutionEnvironment();
    const result = buildJob(env, type);
    const { records, client } = await collectUntil(env, result, restoredEnough, 20_000);
    expect(client.getNumRestarts()).toBeGreaterThanOrEqual(1);
    expect(records.filter((r) => !r.exchangeOk)).toEqual([]);
    expect(records.filter((r) => !r.stateOk)).toEqual([]);
    // Restored values were there, and checked.
    expect(records.filter((r) => r.restoredState).length).toBeGreaterThan(0);
    for (const r of records.slice(0, 50)) expect(isDeepStrictEqual(r.value, TYPES[type](r.i))).toBe(true);
  });
});

class Unregistered {
  constructor(readonly n: number) {}
}

describe('what cannot be kept fails the job, naming the operator, the field and the fix', () => {
  it('a record field holding a function, at the exchange it would cross', async () => {
    const env = envAt(2);
    const result = env
      .fromData(1, 2, 3)
      .map((n) => ({ n, user: { name: 'a', onClick: () => n } }))
      .name('enrich')
      .keyBy((r) => r.n)
      .map((r) => r.n)
      .executeAndCollect();
    const error = await rejectsWith(result, 'SLUICE_SERIALIZATION_FAILED');
    expect(error.message).toContain("a record of operator 'enrich'");
    expect(error.message).toContain('record.user.onClick is a function');
    expect(error.message).toContain('remove the function');
  });

  it('an instance of an unregistered class, naming registerType', async () => {
    const env = envAt(2);
    const result = env
      .fromData(1, 2, 3)
      .map((n) => ({ n, payload: [new Unregistered(n)] }))
      .rebalance()
      .map((r) => r.n)
      .executeAndCollect();
    const error = await rejectsWith(result, 'SLUICE_SERIALIZATION_FAILED');
    expect(error.message).toContain(
      'record.payload[0] is an instance of class Unregistered, which is not registered',
    );
    expect(error.message).toContain('env.registerType(Unregistered)');
  });
});

/** Keeps the key's latest value in ValueState 'latest' and emits whether the state was restored. */
class KeepLatest<T> extends KeyedProcessFunction<number, number, boolean> {
  private latest!: ValueState<T>;
  constructor(private readonly make: (i: number) => T) {
    super();
  }
  open(ctx: RuntimeContext): void {
    this.latest = ctx.getState(new ValueStateDescriptor<T>('latest'));
  }
  processElement(i: number, _ctx: KeyedProcessContext<number>, out: Collector<boolean>): void {
    out.collect(this.latest.value() instanceof Reading);
    this.latest.update(this.make(i));
  }
}

/** A job keeping `make(i)` per key, checkpointing every 20 ms, optionally resuming `restorePath`. */
function keepingJob<T>(
  make: (i: number) => T,
  settings: { dir?: string; restorePath?: string; register?: boolean },
) {
  const env = envAt(2);
  if (settings.register !== false) env.registerType(Reading).registerType(Sample);
  env.enableCheckpointing(20);
  env.setRestartStrategy(RestartStrategies.noRestart());
  const config = env.getCheckpointConfig();
  if (settings.dir !== undefined) {
    config.setCheckpointStorage(fileUri(settings.dir));
    config.setExternalizedCheckpointRetention('RETAIN_ON_CANCELLATION');
  }
  if (settings.restorePath !== undefined)
    env.configuration.setString('execution.state-recovery.path', settings.restorePath);
  const stream = env
    .fromSource(new DataGeneratorSource((i) => i, Infinity, { recordsPerSecond: 2_000 }), 'numbers')
    .uid('numbers')
    .keyBy((i) => i % 4)
    .process(new KeepLatest(make))
    .uid('keep-latest');
  return { env, stream };
}

describe('checkpointed state', () => {
  it('holding a function fails the checkpoint, naming the operator, the field and the fix', async () => {
    const { stream } = keepingJob((n) => ({ n, cb: () => n }), {});
    const error = await rejectsWith(stream.executeAndCollect(), 'SLUICE_CHECKPOINT_FAILED');
    expect(error.message).toContain("cannot serialize state of operator 'KeyedProcess'");
    expect(error.message).toContain('value.cb is a function');
  });

  it('of a registered class restores with -s only where the class is registered, under the same name', () =>
    withTempDir(async (dir) => {
      const first = keepingJob((i) => new Reading('s', i), { dir });
      const job = await startJob(first.env, first.stream);
      try {
        await waitForCompleted(job.client, 2);
      } finally {
        await job.client.cancel();
      }
      const jobDir = join(dir, job.client.jobId);
      const retained = join(jobDir, (await checkpointDirs(jobDir)).at(-1)!);

      const unregistered = keepingJob((i) => new Reading('s', i), { restorePath: retained, register: false });
      const error = await rejectsWith(unregistered.stream.executeAndCollect(), 'SLUICE_SERIALIZATION_FAILED');
      expect(error.message).toContain("cannot deserialize state of operator 'KeyedProcess'");
      // A Reading holds Samples, which are read first.
      expect(error.message).toContain("a class registered as 'Sample', which this job does not register");
      expect(error.message).toContain("env.registerType(TheClass, 'Sample')");

      const registered = keepingJob((i) => new Reading('s', i), { restorePath: retained });
      const { records } = await collectUntil(
        registered.env,
        registered.stream.collectAsync(),
        (rows) => rows.length >= 8,
      );
      // The first value read per key is the restored one, an instance of Reading again.
      expect(records.filter(Boolean).length).toBeGreaterThan(0);
    }));
});
