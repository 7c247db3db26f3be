// Savepoints: triggered on a running job, self-contained (full snapshots even with incremental checkpoints), relocatable, restorable with results equal to an unbroken run, disposable.
import { cp, readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  KeyedProcessFunction,
  RestartStrategies,
  ValueStateDescriptor,
  type Collector,
  type JobClient,
  type KeyedProcessContext,
  type RuntimeContext,
  type Sink,
  type ValueState,
  type DataStream,
  type StreamExecutionEnvironment,
  JsonSerializer,
  TumblingEventTimeWindows,
  WatermarkStrategy,
  type OnTimerContext,
  type TypeSerializer,
} from 'sluice';
import {
  barrierPositions,
  exists,
  fileUri,
  listFiles,
  newestBarrier,
  resetBarrierPositions,
  runToEnd,
  startJob,
  tracedGenerator,
  waitForCompleted,
  withTempDir,
  type Hold,
  type Traced,
} from '../support/checkpointing.js';
import { envAt, range, rejectsWith, waitFor } from '../support/helpers.js';
import { resolveFileCheckpoint } from '../../src/storage/filesystem/file-system-checkpoint-storage.js';
import { disposeSavepoint } from '../../src/storage/filesystem/savepoint-storage.js';
import { inspect } from '../../src/cli/inspect-command.js';
import type { InspectedSnapshot } from '../../src/coordinator/savepoint-inspector.js';

const K = 7;
/** Records of the counting job's source. */
const N = 3_000;

interface Num {
  readonly i: number;
  readonly key: number;
}
interface Counted {
  readonly i: number;
  readonly key: number;
  readonly count: number;
}

/** Counts records per key in ValueState and emits each record with its key's running count. */
class Count extends KeyedProcessFunction<number, Traced<Num>, Counted> {
  private count!: ValueState<number>;
  open(ctx: RuntimeContext): void {
    this.count = ctx.getState(new ValueStateDescriptor<number>('count', { defaultValue: 0 }));
  }
  processElement(r: Traced<Num>, _ctx: KeyedProcessContext<number>, out: Collector<Counted>): void {
    const count = this.count.value()! + 1;
    this.count.update(count);
    out.collect({ i: r.i, key: r.key, count });
  }
}

/** Each key's count after records 0..n-1. */
function countsAfter(n: number): Map<number, number> {
  const counts = new Map<number, number>();
  for (let i = 0; i < n; i++) counts.set(i % K, (counts.get(i % K) ?? 0) + 1);
  return counts;
}

/** The count of record i in an unbroken run: key i % K has seen floor(i / K) + 1 records. */
const expectedCount = (i: number): number => Math.floor(i / K) + 1;

interface JobSettings {
  readonly checkpointDir: string;
  readonly savepointDir?: string;
  readonly count?: number;
  readonly rate?: number;
  readonly keyedParallelism?: number;
  readonly incremental?: boolean;
  readonly restorePath?: string;
  readonly hold?: Hold;
  /** The counting operator's uid (default `count`). */
  readonly countUid?: string;
  /** `execution.state-recovery.ignore-unclaimed-state` (`--allow-non-restored-state`). */
  readonly allowNonRestoredState?: boolean;
  /** `state.backend.type` (default hashmap). */
  readonly backend?: 'hashmap' | 'lmdb';
  /** The counting function (default `new Count()`). */
  readonly counter?: () => KeyedProcessFunction<number, Traced<Num>, Counted>;
}

/** A source at parallelism 1 of records i (key i % K), a keyed running count, every state in a file. */
function countingJob(s: JobSettings) {
  const env = envAt(1);
  env.enableCheckpointing(50);
  env.getCheckpointConfig().setCheckpointStorage(fileUri(s.checkpointDir));
  env.configuration.setString('execution.checkpointing.data-inline-threshold', '0b');
  if (s.savepointDir !== undefined)
    env.configuration.setString('execution.checkpointing.savepoint-dir', s.savepointDir);
  if (s.incremental === true) env.configuration.setString('execution.checkpointing.incremental', 'true');
  if (s.restorePath !== undefined)
    env.configuration.setString('execution.state-recovery.path', s.restorePath);
  if (s.backend !== undefined) env.configuration.setString('state.backend.type', s.backend);
  if (s.allowNonRestoredState === true)
    env.configuration.setString('execution.state-recovery.ignore-unclaimed-state', 'true');
  env.setRestartStrategy(RestartStrategies.noRestart());
  const stream = env
    .fromSource(
      tracedGenerator((i): Num => ({ i, key: i % K }), s.count ?? Infinity, s.rate ?? 2_000, s.hold),
      'numbers',
    )
    .uid('numbers')
    .keyBy((r) => r.key)
    .process(s.counter?.() ?? new Count())
    .uid(s.countUid ?? 'count')
    .name('count')
    .setParallelism(s.keyedParallelism ?? 2);
  return { env, stream };
}

/**
 * Runs the counting job until `checkpoints` checkpoints completed, takes a savepoint with
 * `trigger`, cancels the job, and returns the savepoint's path and the source's position at it.
 */
async function savepointOfRunningJob(
  s: JobSettings,
  trigger: (client: JobClient) => Promise<string>,
  checkpoints = 1,
): Promise<{ path: string; position: number; client: JobClient }> {
  // The source holds back the rest of its N records until the savepoint is taken, so it is taken
  // mid-way however slow the machine.
  let taken = false;
  const { env, stream } = countingJob({ count: N, ...s, hold: { from: N / 3, until: () => taken } });
  const job = await startJob(env, stream);
  let path: string;
  try {
    await waitForCompleted(job.client, checkpoints);
    path = await trigger(job.client);
    taken = true;
  } finally {
    await job.client.cancel();
  }
  const { metadata } = await resolveFileCheckpoint(path);
  const position = [...barrierPositions.get(metadata.checkpointId)!.values()][0]!;
  return { path, position, client: job.client };
}

/** Restores the counting job from `path` and runs it to its end at N records; checks it against an unbroken run. */
async function expectRestoresUnbroken(
  s: JobSettings & { restorePath: string },
  position: number,
  n: number,
): Promise<void> {
  const { env, stream } = countingJob({ ...s, count: n, rate: Infinity });
  const { records, result } = await runToEnd(env, stream);
  expect(result.checkpoints.restored).toBe(1);
  expect(records.filter((r) => r.count !== expectedCount(r.i))).toEqual([]);
  const resumed = records.filter((r) => r.i >= position).map((r) => r.i);
  expect(resumed.sort((a, b) => a - b)).toEqual(range(position, n - 1));
}

beforeEach(() => resetBarrierPositions());

describe('triggering a savepoint', () => {
  it('writes savepoint-<shortjobid>-<random>/_metadata under the target, and the job runs on', () =>
    withTempDir(async (dir) => {
      const checkpointDir = join(dir, 'checkpoints');
      const target = join(dir, 'savepoints');
      const { env, stream } = countingJob({ checkpointDir });
      const job = await startJob(env, stream);
      try {
        await waitForCompleted(job.client, 1);
        const path = await job.client.triggerSavepoint(target);
        expect(basename(path)).toMatch(
          new RegExp(`^savepoint-${job.client.jobId.slice(0, 6)}-[0-9a-f]{12}$`, 'u'),
        );
        expect(join(path, '..')).toBe(target);
        const { metadata } = await resolveFileCheckpoint(path);
        expect(metadata.isSavepoint).toBe(true);
        expect(metadata.jobId).toBe(job.client.jobId);
        // It is in the statistics as a savepoint, and checkpoints go on after it.
        const stats = job.client.getCheckpointStats()!;
        const entry = stats.history.find((c) => c.id === metadata.checkpointId)!;
        expect(entry).toMatchObject({ status: 'COMPLETED', isSavepoint: true, externalPath: path });
        const before = stats.counts.completed;
        await waitForCompleted(job.client, before + 2);
        expect(job.client.getJobStatus()).toBe('RUNNING');
        // Not subject to retention (num-retained 1): still there after later checkpoints.
        expect(await exists(join(path, '_metadata'))).toBe(true);
      } finally {
        await job.client.cancel();
      }
      // Cancelling deletes the job's checkpoints, never its savepoints.
      expect(await readdir(target)).toHaveLength(1);
    }));

  it('uses execution.checkpointing.savepoint-dir without a target; with neither it fails saying so', () =>
    withTempDir(async (dir) => {
      const savepointDir = join(dir, 'default-savepoints');
      const withDefault = await savepointOfRunningJob(
        { checkpointDir: join(dir, 'c1'), savepointDir },
        (client) => client.triggerSavepoint(),
      );
      expect(join(withDefault.path, '..')).toBe(savepointDir);

      const { env, stream } = countingJob({ checkpointDir: join(dir, 'c2') });
      const job = await startJob(env, stream);
      try {
        await waitForCompleted(job.client, 1);
        const error = await rejectsWith(job.client.triggerSavepoint(), 'SLUICE_SAVEPOINT_FAILED');
        expect(error.message).toMatch(/Config key \[execution\.checkpointing\.savepoint-dir\] is not set/u);
        expect(job.client.getJobStatus()).toBe('RUNNING');
      } finally {
        await job.client.cancel();
      }
    }));
});

describe('restoring a savepoint', () => {
  it('restores with results equal to an unbroken run', () =>
    withTempDir(async (dir) => {
      const checkpointDir = join(dir, 'checkpoints');
      const { path, position } = await savepointOfRunningJob({ checkpointDir }, (c) =>
        c.triggerSavepoint(join(dir, 'sp')),
      );
      expect(position).toBeGreaterThan(0);
      expect(position).toBeLessThan(N);
      const { metadata } = await resolveFileCheckpoint(path);
      expect(metadata).toMatchObject({ savepointFormat: 'CANONICAL', stateBackend: 'hashmap' });
      await expectRestoresUnbroken({ checkpointDir, restorePath: path }, position, N);
      // Restoring only read it.
      expect(await exists(join(path, '_metadata'))).toBe(true);
    }));

  it.each([
    ['hashmap', 'lmdb'],
    ['lmdb', 'hashmap'],
  ] as const)('taken with the %s backend, restores into %s (one canonical format)', (from, to) =>
    withTempDir(async (dir) => {
      const checkpointDir = join(dir, 'checkpoints');
      const { path, position } = await savepointOfRunningJob({ checkpointDir, backend: from }, (c) =>
        c.triggerSavepoint(join(dir, 'sp')),
      );
      await expectRestoresUnbroken({ checkpointDir, restorePath: path, backend: to }, position, N);
    }),
  );

  it.each(['hashmap', 'lmdb'] as const)(
    'in the NATIVE format (%s): recorded with its backend, restores into the same backend type only',
    (backend) =>
      withTempDir(async (dir) => {
        const checkpointDir = join(dir, 'checkpoints');
        const { path, position } = await savepointOfRunningJob({ checkpointDir, backend }, (c) =>
          c.triggerSavepoint(join(dir, 'sp'), 'NATIVE'),
        );
        const { metadata } = await resolveFileCheckpoint(path);
        expect(metadata).toMatchObject({
          isSavepoint: true,
          savepointFormat: 'NATIVE',
          stateBackend: backend,
        });
        const text: string[] = [];
        await inspect(path, { json: false }, (line) => text.push(line));
        expect(text).toContain(`  format:    NATIVE, taken with the ${backend} state backend`);
        // Moved elsewhere, it restores into the same backend type.
        const moved = join(dir, 'moved');
        await cp(path, moved, { recursive: true });
        await expectRestoresUnbroken({ checkpointDir, restorePath: moved, backend }, position, N);
        const other = backend === 'hashmap' ? 'lmdb' : 'hashmap';
        const refused = countingJob({ checkpointDir, count: N, restorePath: moved, backend: other });
        const error = await rejectsWith(runToEnd(refused.env, refused.stream), 'SLUICE_RESTORE_FAILED');
        expect(error.message).toContain(`NATIVE format of the ${backend} state backend`);
        expect(error.message).toContain(`this job uses ${other}`);
        expect(error.message).toContain('CANONICAL');
      }),
  );

  it('is relocatable: a savepoint directory moved elsewhere restores from its new place', () =>
    withTempDir(async (dir) => {
      const checkpointDir = join(dir, 'checkpoints');
      const { path, position } = await savepointOfRunningJob({ checkpointDir }, (c) =>
        c.triggerSavepoint(join(dir, 'sp')),
      );
      expect((await listFiles(path)).length).toBeGreaterThan(1);
      const moved = join(dir, 'elsewhere', 'renamed-savepoint');
      await cp(path, moved, { recursive: true });
      await disposeSavepoint(path);
      expect(await exists(path)).toBe(false);
      await expectRestoresUnbroken({ checkpointDir, restorePath: moved }, position, N);
    }));

  it('with incremental checkpoints on is self-contained: full snapshots in its own directory, restorable after the job’s checkpoints are gone', () =>
    withTempDir(async (dir) => {
      const checkpointDir = join(dir, 'checkpoints');
      // Several checkpoints first, so the keyed state is a chain of deltas in shared/ by then.
      const { path, position, client } = await savepointOfRunningJob(
        { checkpointDir, incremental: true },
        (c) => c.triggerSavepoint(join(dir, 'sp')),
        3,
      );
      const { metadata } = await resolveFileCheckpoint(path);
      const keyed = metadata.operators.flatMap((op) => op.subtasks.flatMap((st) => st.keyed));
      expect(keyed.length).toBeGreaterThan(0);
      for (const h of keyed) {
        expect(h.deltas).toBeUndefined();
        expect(h.handle.kind === 'file' ? h.handle.scope : 'inline').not.toBe('shared');
      }
      const files = metadata.operators.flatMap((op) =>
        op.subtasks.flatMap((st) => [...st.keyed.map((h) => h.handle), ...st.operator.map((h) => h.handle)]),
      );
      for (const f of files) if (f.kind === 'file') expect(f.path).not.toContain('/');
      // The job's own checkpoint directory (with shared/) was deleted when it was cancelled.
      expect(await exists(join(checkpointDir, client.jobId))).toBe(false);
      await expectRestoresUnbroken({ checkpointDir, incremental: true, restorePath: path }, position, N);
    }));
});

describe('restoring a savepoint into a changed job', () => {
  it('refuses a savepoint with state of an operator the job does not have, naming its uid; allowed, the new operator starts empty', () =>
    withTempDir(async (dir) => {
      const checkpointDir = join(dir, 'checkpoints');
      const { path, position } = await savepointOfRunningJob({ checkpointDir }, (c) =>
        c.triggerSavepoint(join(dir, 'sp')),
      );
      const refused = countingJob({ checkpointDir, count: N, restorePath: path, countUid: 'count-v2' });
      const error = await rejectsWith(runToEnd(refused.env, refused.stream), 'SLUICE_RESTORE_FAILED');
      expect(error.message).toMatch(/this job does not have: uid 'count'(, operator [0-9a-f]{32})?\./u);
      expect(error.message).toContain('--allow-non-restored-state');

      const allowed = countingJob({
        checkpointDir,
        count: N,
        rate: Infinity,
        restorePath: path,
        countUid: 'count-v2',
        allowNonRestoredState: true,
      });
      const { records, result } = await runToEnd(allowed.env, allowed.stream);
      expect(result.checkpoints.restored).toBe(1);
      // The source (uid 'numbers') resumed where it was; the renamed count started from zero.
      expect(records.map((r) => r.i).sort((a, b) => a - b)).toEqual(range(position, N - 1));
      const byKey = new Map<number, number>();
      for (const r of [...records].sort((a, b) => a.i - b.i)) {
        byKey.set(r.key, (byKey.get(r.key) ?? 0) + 1);
        expect(r.count).toBe(byKey.get(r.key));
      }
    }));
});

/** What the event-time job emits: a window's count of a key, or a key's timer firing. */
interface Fired {
  readonly kind: 'window' | 'timer';
  readonly key: number;
  readonly count: number;
}

/** Registers, once per key (remembered in state, so a restored job registers none), an event-time timer far ahead. */
class TimerAtEnd extends KeyedProcessFunction<number, Traced<Num>, Fired> {
  private registered!: ValueState<boolean>;
  open(ctx: RuntimeContext): void {
    this.registered = ctx.getState(new ValueStateDescriptor<boolean>('registered'));
  }
  processElement(_r: Traced<Num>, ctx: KeyedProcessContext<number>, _out: Collector<Fired>): void {
    if (this.registered.value() === true) return;
    this.registered.update(true);
    ctx.timerService().registerEventTimeTimer(FAR_AHEAD);
  }
  onTimer(_timestamp: number, ctx: OnTimerContext<number>, out: Collector<Fired>): void {
    out.collect({ kind: 'timer', key: ctx.getCurrentKey(), count: 0 });
  }
}

/** An event time no watermark of the job reaches before its end (record i has time i). */
const FAR_AHEAD = 1e12;

/** The counting job's source in event time, into a window per key that ends far ahead and TimerAtEnd. */
function eventTimeJob(s: JobSettings) {
  const env = envAt(1);
  env.enableCheckpointing(50);
  env.getCheckpointConfig().setCheckpointStorage(fileUri(s.checkpointDir));
  if (s.restorePath !== undefined)
    env.configuration.setString('execution.state-recovery.path', s.restorePath);
  env.setRestartStrategy(RestartStrategies.noRestart());
  const keyed = env
    .fromSource(
      tracedGenerator((i): Num => ({ i, key: i % K }), s.count ?? Infinity, s.rate ?? 2_000, s.hold),
      WatermarkStrategy.forMonotonousTimestamps<Traced<Num>>().withTimestampAssigner((r) => r.i),
      'numbers',
    )
    .uid('numbers')
    .keyBy((r) => r.key);
  const windows = keyed
    .map((r): Fired => ({ kind: 'window', key: r.key, count: 1 }))
    .uid('ones')
    .keyBy((f) => f.key)
    .window(TumblingEventTimeWindows.of(FAR_AHEAD))
    .reduce((a, b) => ({ kind: 'window', key: a.key, count: a.count + b.count }))
    .uid('windows');
  const timers = keyed.process(new TimerAtEnd()).uid('timers');
  return { env, stream: windows.union(timers) };
}

/** Firings sorted, for comparing. */
function firings(records: readonly Fired[]): Fired[] {
  return [...records].sort((a, b) => a.kind.localeCompare(b.kind) || a.key - b.key);
}

/** What the event-time job fires at MAX_WATERMARK after records 0..n-1: each key's window count and timer. */
function firingsAfter(n: number): Fired[] {
  const counts = countsAfter(n);
  return firings([
    ...[...counts].map(([key, count]): Fired => ({ kind: 'window', key, count })),
    ...[...counts.keys()].map((key): Fired => ({ kind: 'timer', key, count: 0 })),
  ]);
}

/** A count's serializer: version 1 writes numbers; version 2 writes `{ n }`, migrating numbers when given `migrate`. */
function countSerializer(version: 1 | 2, migrate = true): TypeSerializer<unknown> {
  const json = new JsonSerializer();
  return {
    name: 'count',
    version,
    serialize: (value) => json.serialize(value),
    deserialize: (bytes, start, end) => json.deserialize(bytes, start, end),
    ...(version === 2 && migrate ? { migrate: (old: unknown) => ({ n: old as number }) } : {}),
  };
}

/** Version 1 of the counting function: Count, with the count's serializer at version 1. */
class CountV1 extends KeyedProcessFunction<number, Traced<Num>, Counted> {
  private count!: ValueState<number>;
  open(ctx: RuntimeContext): void {
    this.count = ctx.getState(
      new ValueStateDescriptor<number>('count', {
        defaultValue: 0,
        serializer: countSerializer(1) as TypeSerializer<number>,
      }),
    );
  }
  processElement(r: Traced<Num>, _ctx: KeyedProcessContext<number>, out: Collector<Counted>): void {
    const count = this.count.value()! + 1;
    this.count.update(count);
    out.collect({ i: r.i, key: r.key, count });
  }
}

/** Version 2: the count is an object now, its serializer at version 2 (with a migration, or without). */
class CountV2 extends KeyedProcessFunction<number, Traced<Num>, Counted> {
  private count!: ValueState<{ n: number }>;
  constructor(private readonly migrate: boolean) {
    super();
  }
  open(ctx: RuntimeContext): void {
    this.count = ctx.getState(
      new ValueStateDescriptor<{ n: number }>('count', {
        defaultValue: { n: 0 },
        serializer: countSerializer(2, this.migrate) as TypeSerializer<{ n: number }>,
      }),
    );
  }
  processElement(r: Traced<Num>, _ctx: KeyedProcessContext<number>, out: Collector<Counted>): void {
    const count = this.count.value()!.n + 1;
    this.count.update({ n: count });
    out.collect({ i: r.i, key: r.key, count });
  }
}

describe('restoring a savepoint into an upgraded job (state evolution)', () => {
  it.each(['hashmap', 'lmdb'] as const)(
    '%s: a newer serializer version with a migration migrates the counts; without one the restore fails naming the uid and the state',
    (backend) =>
      withTempDir(async (dir) => {
        const checkpointDir = join(dir, 'checkpoints');
        const { path, position } = await savepointOfRunningJob(
          { checkpointDir, backend, counter: () => new CountV1() },
          (c) => c.triggerSavepoint(join(dir, 'sp')),
        );
        // Migrated: the counts go on from the savepoint's, as in an unbroken run.
        await expectRestoresUnbroken(
          { checkpointDir, backend, restorePath: path, counter: () => new CountV2(true) },
          position,
          N,
        );
        // No migration from version 1: the job fails, saying which operator and state, and why.
        const refused = countingJob({
          checkpointDir,
          backend,
          count: N,
          restorePath: path,
          counter: () => new CountV2(false),
        });
        const error = await rejectsWith(
          runToEnd(refused.env, refused.stream),
          'SLUICE_STATE_MIGRATION_FAILED',
        );
        expect(error.message).toContain("state 'count' of operator 'count' (uid 'count')");
        expect(error.message).toContain('count v1');
        expect(error.message).toContain('migrate(oldValue, fromVersion)');
      }),
  );
});

describe('inspecting a savepoint (sluice inspect)', () => {
  it('describes it as text and JSON, and dumps a keyed state as JSON lines equal to the counts at its barrier', () =>
    withTempDir(async (dir) => {
      const checkpointDir = join(dir, 'checkpoints');
      const { path, position } = await savepointOfRunningJob({ checkpointDir, incremental: true }, (c) =>
        c.triggerSavepoint(join(dir, 'sp')),
      );
      const { metadata } = await resolveFileCheckpoint(path);
      const text: string[] = [];
      await inspect(path, { json: false }, (line) => text.push(line));
      expect(text[0]).toBe(`Savepoint ${metadata.checkpointId} of job ${metadata.jobId}`);
      expect(text).toContain(`  path:      ${path}`);
      const count = text.findIndex((l) => l.startsWith("Operator 'count' uid 'count'"));
      expect(text[count]).toMatch(/parallelism 2, max parallelism 128$/u);
      expect(text.slice(count)).toEqual(
        expect.arrayContaining([
          '  subtask 0:',
          expect.stringMatching(/^ {4}keyed, key groups 0-63: \d+(\.\d)? (B|KiB) in [0-9a-f-]{36}$/u),
          expect.stringMatching(/^ {6}count \(value\): \d+ B$/u),
        ]),
      );
      expect(text).toEqual(
        expect.arrayContaining([expect.stringMatching(/^ {4}operator state '.+' \(SPLIT_DISTRIBUTE\): /u)]),
      );

      const json: string[] = [];
      await inspect(path, { json: true }, (line) => json.push(line));
      const described = JSON.parse(json.join('\n')) as InspectedSnapshot;
      expect(described).toMatchObject({
        type: 'SAVEPOINT',
        id: metadata.checkpointId,
        jobId: metadata.jobId,
      });
      const op = described.operators.find((o) => o.uid === 'count')!;
      expect(op.name).toBe('count');
      expect(op.subtasks.map((st) => st.keyed[0]!.keyGroups)).toEqual([
        { start: 0, end: 63 },
        { start: 64, end: 127 },
      ]);

      const lines: string[] = [];
      await inspect(path, { json: false, operator: 'count', state: 'count' }, (line) => lines.push(line));
      const dumped = new Map(
        lines.map((l) => JSON.parse(l) as { key: number; value: number }).map((e) => [e.key, e.value]),
      );
      const expected = countsAfter(position);
      expect(dumped).toEqual(expected);

      const noState = await rejectsWith(
        inspect(path, { json: false, operator: 'count', state: 'nope' }, () => {}),
        'SLUICE_INSPECT_FAILED',
      );
      expect(noState.message).toContain("it has 'count'");
      const noOperator = await rejectsWith(
        inspect(path, { json: false, operator: 'nope', state: 'count' }, () => {}),
        'SLUICE_INSPECT_FAILED',
      );
      expect(noOperator.message).toContain("uid 'count'");
    }));
});

describe('inspecting an incremental checkpoint (sluice inspect)', () => {
  it('shows the chain of a keyed handle and dumps the state as of the checkpoint', () =>
    withTempDir(async (dir) => {
      const checkpointDir = join(dir, 'checkpoints');
      const { env, stream } = countingJob({ checkpointDir, incremental: true });
      env.getCheckpointConfig().setExternalizedCheckpointRetention('RETAIN_ON_CANCELLATION');
      // Deltas never outweigh their base here, so the chain grows.
      env.configuration.setString('execution.checkpointing.incremental.max-delta-ratio', '1000');
      const job = await startJob(env, stream);
      try {
        await waitForCompleted(job.client, 3);
      } finally {
        await job.client.cancel();
      }
      const jobDir = join(checkpointDir, job.client.jobId);
      const chk = (await readdir(jobDir))
        .filter((n) => n.startsWith('chk-'))
        .sort()
        .at(-1)!;
      const path = join(jobDir, chk);
      const { metadata } = await resolveFileCheckpoint(path);
      const text: string[] = [];
      await inspect(path, { json: false }, (line) => text.push(line));
      expect(text[0]).toBe(`Checkpoint ${metadata.checkpointId} of job ${metadata.jobId}`);
      // Base and deltas, in shared/.
      expect(text).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^ {4}keyed, key groups 0-63: .+ in shared\/.+ \+ .+ in shared\//u),
        ]),
      );
      const lines: string[] = [];
      await inspect(path, { json: false, operator: 'count', state: 'count' }, (line) => lines.push(line));
      const position = [...barrierPositions.get(metadata.checkpointId)!.values()][0]!;
      const expected = countsAfter(position);
      expect(
        new Map(
          lines.map((l) => JSON.parse(l) as { key: number; value: number }).map((e) => [e.key, e.value]),
        ),
      ).toEqual(expected);
    }));
});

describe('disposing of a savepoint', () => {
  it('deletes a savepoint directory, and refuses a checkpoint or a directory without _metadata', () =>
    withTempDir(async (dir) => {
      const checkpointDir = join(dir, 'checkpoints');
      const { path } = await savepointOfRunningJob({ checkpointDir }, (c) =>
        c.triggerSavepoint(join(dir, 'sp')),
      );
      const notOne = await rejectsWith(disposeSavepoint(join(dir, 'sp')), 'SLUICE_CHECKPOINT_NOT_FOUND');
      expect(notOne.message).toMatch(/_metadata/u);
      // A retained checkpoint is not a savepoint.
      const retained = join(dir, 'retained');
      const { env, stream } = countingJob({ checkpointDir: retained });
      env.getCheckpointConfig().setExternalizedCheckpointRetention('RETAIN_ON_CANCELLATION');
      const job = await startJob(env, stream);
      try {
        await waitForCompleted(job.client, 1);
      } finally {
        await job.client.cancel();
      }
      const jobDir = join(retained, job.client.jobId);
      const chk = (await readdir(jobDir)).find((n) => n.startsWith('chk-'))!;
      const refused = await rejectsWith(
        disposeSavepoint(join(jobDir, chk)),
        'SLUICE_SAVEPOINT_DISPOSE_REFUSED',
      );
      expect(refused.message).toMatch(/not a savepoint/u);
      expect(await exists(join(jobDir, chk, '_metadata'))).toBe(true);

      expect(await disposeSavepoint(join(path, '_metadata'))).toBe(path);
      expect(await exists(path)).toBe(false);
    }));
});

/**
 * Starts a job whose source holds back everything after N/3 records (so the stop comes before its
 * end), stops it with a savepoint once a checkpoint completed, and waits for its end; returns the
 * job, the savepoint's path and the source's position at it.
 */
async function stopHeldJob<T>(
  job: { env: StreamExecutionEnvironment; stream: DataStream<T> },
  drain: boolean,
  target: string,
) {
  const running = await startJob(job.env, job.stream);
  let path: string;
  try {
    await waitForCompleted(running.client, 1);
    path = await running.client.stopWithSavepoint(drain, target);
  } catch (e) {
    await running.client.cancel();
    throw e;
  }
  expect(running.client.getJobStatus()).toBe('FINISHED');
  await running.client.getJobExecutionResult();
  await running.ended;
  const { metadata } = await resolveFileCheckpoint(path);
  expect(metadata.isSavepoint).toBe(true);
  const position = [...barrierPositions.get(metadata.checkpointId)!.values()][0]!;
  expect(position).toBeGreaterThan(0);
  return { records: running.records, path, position };
}

describe('stop-with-savepoint', () => {
  it.each([
    ['without drain', false],
    ['with drain', true],
  ])(
    '%s: the job ends FINISHED with every record before the savepoint committed, and the savepoint restores',
    (_name, drain) =>
      withTempDir(async (dir) => {
        const checkpointDir = join(dir, 'checkpoints');
        const hold = { from: N / 3, until: () => false };
        const job = countingJob({ checkpointDir, count: N, hold });
        const { records, path, position } = await stopHeldJob(job, drain, join(dir, 'sp'));
        expect(position).toBeLessThanOrEqual(N / 3);
        // The sink committed everything before the savepoint, once (it was notified of it).
        expect(records.map((r) => r.i).sort((a, b) => a - b)).toEqual(range(0, position - 1));
        expect(records.filter((r) => r.count !== expectedCount(r.i))).toEqual([]);
        await expectRestoresUnbroken({ checkpointDir, restorePath: path }, position, N);
      }),
  );

  it.each([
    ['with drain', true],
    ['without drain', false],
  ])(
    '%s and event time: pending windows and timers fire before the job ends only when drained; restored, they fire then',
    (_name, drain) =>
      withTempDir(async (dir) => {
        const checkpointDir = join(dir, 'checkpoints');
        const hold = { from: N / 3, until: () => false };
        const job = eventTimeJob({ checkpointDir, count: N, hold });
        const { records, path, position } = await stopHeldJob(job, drain, join(dir, 'sp'));
        if (drain) {
          // MAX_WATERMARK came before the savepoint: every window and timer fired, over the records before it.
          expect(firings(records)).toEqual(firingsAfter(position));
          return;
        }
        expect(records).toEqual([]);
        // The windows' contents and the timers are in the savepoint: they fire at the restored job's end.
        const restored = eventTimeJob({ checkpointDir, count: N, rate: Infinity, restorePath: path });
        const after = await runToEnd(restored.env, restored.stream);
        expect(after.result.checkpoints.restored).toBe(1);
        expect(firings(after.records)).toEqual(firingsAfter(N));
      }),
  );

  it('that times out leaves the job running: its sources resume, and a later stop succeeds', () =>
    withTempDir(async (dir) => {
      // A sink whose pre-barrier flush waits while `stall` is set holds back every acknowledgement.
      let stall = false;
      const stalling: Sink<Counted> = {
        createWriter: () => ({
          write() {},
          flush: () =>
            new Promise<void>((resolve) => {
              const poll = setInterval(() => stall || (clearInterval(poll), resolve()), 5);
            }),
          close() {},
        }),
      };
      const { env, stream } = countingJob({ checkpointDir: join(dir, 'checkpoints'), count: N, rate: 500 });
      env.configuration.setString('execution.checkpointing.timeout', '500ms');
      env.configuration.setString('execution.checkpointing.tolerable-failed-checkpoints', '1000');
      stream.sinkTo(stalling);
      const job = await startJob(env, stream);
      try {
        await waitForCompleted(job.client, 1);
        stall = true;
        const error = await rejectsWith(
          job.client.stopWithSavepoint(false, join(dir, 'sp')),
          'SLUICE_SAVEPOINT_FAILED',
        );
        expect(error.message).toMatch(/timed out/u);
        stall = false;
        // The source stopped at the savepoint's barrier; aborting it let it go on past it.
        const at = Math.max(...barrierPositions.get(newestBarrier())!.values());
        await waitFor(() => job.records.some((r) => r.i >= at + 50), 'records after the failed stop');
        expect(job.client.getJobStatus()).toBe('RUNNING');
        expect(await readdir(join(dir, 'sp'))).toEqual([]);
        await job.client.stopWithSavepoint(false, join(dir, 'sp'));
        expect(job.client.getJobStatus()).toBe('FINISHED');
      } finally {
        await job.client.cancel();
      }
    }));

  it('fails without a target and no savepoint-dir, and the job runs on', () =>
    withTempDir(async (dir) => {
      const { env, stream } = countingJob({ checkpointDir: join(dir, 'checkpoints') });
      const job = await startJob(env, stream);
      try {
        await waitForCompleted(job.client, 1);
        const error = await rejectsWith(job.client.stopWithSavepoint(false), 'SLUICE_SAVEPOINT_FAILED');
        expect(error.message).toMatch(/savepoint-dir\] is not set/u);
        const failed = await rejectsWith(
          job.client.stopWithSavepoint(false, 'not/absolute'),
          'SLUICE_SAVEPOINT_FAILED',
        );
        expect(failed.message).toMatch(/relative path/u);
        const completed = job.client.getCheckpointStats()!.counts.completed;
        await waitForCompleted(job.client, completed + 2);
        expect(job.client.getJobStatus()).toBe('RUNNING');
      } finally {
        await job.client.cancel();
      }
    }));
});
