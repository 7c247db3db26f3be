// Recovery and checkpoint storage: cleanup by retention, resuming a retained checkpoint (also rescaled), falling back past a corrupt checkpoint, restart strategies, and checkpoints after a source finished.
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  KeyedProcessFunction,
  RestartStrategies,
  SluiceError,
  ValueStateDescriptor,
  type Collector,
  type ExternalizedCheckpointRetention,
  type JobClient,
  type KeyedProcessContext,
  type RestartStrategyConfiguration,
  type RuntimeContext,
  type ValueState,
} from 'sluice';
import {
  InjectedFailure,
  barrierPositions,
  checkpointDirs,
  corruptFile,
  exists,
  fileUri,
  listFiles,
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
import { captureLogs } from '../support/cluster.js';
import { responseSchema, validate } from '../rest/support/openapi.js';
import type { JobMaster } from '../../src/coordinator/job-master.js';
import { LocalRestBackend } from '../../src/rest/local-rest-backend.js';
import { FileSystemCheckpointStorage } from '../../src/storage/filesystem/file-system-checkpoint-storage.js';
import type { JobExceptionsInfoWithHistory } from '../../src/rest/rest-schema.js';
import { startRestServer } from '../../src/rest/rest-server.js';
import { resolveFileCheckpoint } from '../../src/storage/filesystem/file-system-checkpoint-storage.js';

const K = 7;

interface Num {
  readonly i: number;
  readonly key: number;
}
interface Counted {
  readonly i: number;
  readonly key: number;
  readonly count: number;
}

/** When set, the next record the counting function sees makes it throw with this message (once). */
let failNext: string | undefined;

function failIfAsked(): void {
  if (failNext === undefined) return;
  const message = failNext;
  failNext = undefined;
  throw new InjectedFailure(message);
}

/** Counts records per key in ValueState and emits each record with its key's running count. */
class Count extends KeyedProcessFunction<number, Traced<Num>, Counted> {
  private count!: ValueState<number>;
  open(ctx: RuntimeContext): void {
    this.count = ctx.getState(new ValueStateDescriptor<number>('count', { defaultValue: 0 }));
  }
  processElement(r: Traced<Num>, _ctx: KeyedProcessContext<number>, out: Collector<Counted>): void {
    failIfAsked();
    const count = this.count.value()! + 1;
    this.count.update(count);
    out.collect({ i: r.i, key: r.key, count });
  }
}

/**
 * The failure-free count of record i: the source runs at parallelism 1 and each key's records
 * reach its subtask in order, so key i % K has seen floor(i / K) + 1 records up to record i.
 */
const expectedCount = (i: number): number => Math.floor(i / K) + 1;

/** Records whose count is not the failure-free one (expected: none). */
function wrongCounts(records: readonly Counted[]): Counted[] {
  return records.filter((r) => r.count !== expectedCount(r.i));
}

/** The highest count emitted per key. */
function finalCounts(records: readonly Counted[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const r of records) out.set(r.key, Math.max(out.get(r.key) ?? 0, r.count));
  return out;
}

/** The per-key totals of a failure-free run over records 0..n-1. */
function expectedTotals(n: number): Map<number, number> {
  const out = new Map<number, number>();
  for (let i = 0; i < n; i++) out.set(i % K, (out.get(i % K) ?? 0) + 1);
  return out;
}

interface JobSettings {
  readonly dir?: string;
  readonly count?: number;
  readonly rate?: number;
  readonly keyedParallelism?: number;
  readonly intervalMs?: number;
  readonly retention?: ExternalizedCheckpointRetention;
  readonly numRetained?: number;
  /** Write every piece of state to a file of its own (data-inline-threshold 0). */
  readonly inlineNothing?: boolean;
  /** `execution.state-recovery.path`. */
  readonly restorePath?: string;
  /** `execution.state-recovery.claim-mode`. */
  readonly claimMode?: 'CLAIM' | 'NO_CLAIM';
  readonly restart?: RestartStrategyConfiguration;
  /** Records the source holds back (see tracedGenerator). */
  readonly hold?: Hold;
}

/** The counting program: a source at parallelism 1 of records i (key i % K), keyed running count. */
function countingJob(s: JobSettings) {
  const env = envAt(1);
  env.enableCheckpointing(s.intervalMs ?? 50);
  const config = env.getCheckpointConfig();
  if (s.dir !== undefined) config.setCheckpointStorage(fileUri(s.dir));
  if (s.retention !== undefined) config.setExternalizedCheckpointRetention(s.retention);
  if (s.numRetained !== undefined) config.setNumRetainedCheckpoints(s.numRetained);
  if (s.inlineNothing === true)
    env.configuration.setString('execution.checkpointing.data-inline-threshold', '0b');
  if (s.restorePath !== undefined)
    env.configuration.setString('execution.state-recovery.path', s.restorePath);
  if (s.claimMode !== undefined)
    env.configuration.setString('execution.state-recovery.claim-mode', s.claimMode);
  env.setRestartStrategy(s.restart ?? RestartStrategies.fixedDelay(3, 10));
  const stream = env
    .fromSource(
      tracedGenerator((i): Num => ({ i, key: i % K }), s.count ?? Infinity, s.rate ?? 1_000, s.hold),
      'numbers',
    )
    .keyBy((r) => r.key)
    .process(new Count())
    .uid('count')
    .name('count')
    .setParallelism(s.keyedParallelism ?? 2);
  return { env, stream };
}

/** Runs a counting job with RETAIN_ON_CANCELLATION until `completed` checkpoints, cancels it; returns its job dir. */
async function retainedCheckpoints(s: JobSettings & { dir: string }, completed: number) {
  const { env, stream } = countingJob({ ...s, retention: 'RETAIN_ON_CANCELLATION' });
  const job = await startJob(env, stream);
  try {
    await waitForCompleted(job.client, completed);
  } finally {
    await job.client.cancel();
  }
  const jobDir = join(s.dir, job.client.jobId);
  return { jobDir, client: job.client, chks: await checkpointDirs(jobDir) };
}

beforeEach(() => {
  failNext = undefined;
  resetBarrierPositions();
});
afterEach(() => {
  failNext = undefined;
  vi.restoreAllMocks();
});

describe('checkpoint storage and retention', () => {
  it('a job with file storage that finishes leaves no checkpoint directory behind (NO_EXTERNALIZED_CHECKPOINTS)', () =>
    withTempDir(async (dir) => {
      const N = 400;
      const started: { client?: JobClient } = {};
      const { env, stream } = countingJob({
        dir,
        count: N,
        rate: 800,
        inlineNothing: true,
        // Its end waits for the checkpoints the test looks for, however slow the machine.
        hold: { from: N, until: () => (started.client?.getCheckpointStats()?.counts.completed ?? 0) >= 2 },
      });
      const job = await startJob(env, stream);
      started.client = job.client;
      try {
        await waitForCompleted(job.client, 2);
        const jobDir = join(dir, job.client.jobId);
        expect((await checkpointDirs(jobDir)).length).toBeGreaterThanOrEqual(1);
        const result = await job.client.getJobExecutionResult();
        await job.ended;
        expect(result.checkpoints.completed).toBeGreaterThanOrEqual(2);
        expect(wrongCounts(job.records)).toEqual([]);
        expect(job.records.map((r) => r.i).sort((a, b) => a - b)).toEqual(range(0, N - 1));
        expect(await exists(jobDir)).toBe(false);
        expect(await readdir(dir)).toEqual([]);
      } finally {
        await job.client.cancel();
      }
    }));

  it('cancelling with DELETE_ON_CANCELLATION deletes the job checkpoint directory', () =>
    withTempDir(async (dir) => {
      const { env, stream } = countingJob({ dir, retention: 'DELETE_ON_CANCELLATION' });
      const job = await startJob(env, stream);
      await waitForCompleted(job.client, 2).finally(() => job.client.cancel());
      expect(await exists(join(dir, job.client.jobId))).toBe(false);
    }));

  it('cancelling with RETAIN_ON_CANCELLATION keeps exactly num-retained complete checkpoints and nothing else', () =>
    withTempDir(async (dir) => {
      const { jobDir, client, chks } = await retainedCheckpoints(
        { dir, numRetained: 3, inlineNothing: true },
        5,
      );
      expect(chks).toHaveLength(3);
      const ids = chks.map((c) => Number(c.slice('chk-'.length)));
      expect(ids[2]).toBeGreaterThanOrEqual(client.getCheckpointStats()!.latestCompleted!.id);
      const files = await listFiles(jobDir);
      expect(files.filter((f) => f.includes('inprogress'))).toEqual([]);
      // Only checkpoint directories hold files (shared/ and taskowned/ stay empty): each its
      // _metadata and the state files it wrote.
      for (const f of files) expect(f).toMatch(/^chk-\d+\/(_metadata|[0-9a-f]{8}-[0-9a-f-]{27})$/);
      for (const chk of chks) {
        expect(files).toContain(`${chk}/_metadata`);
        expect(
          files.filter((f) => f.startsWith(`${chk}/`) && !f.endsWith('/_metadata')).length,
        ).toBeGreaterThan(0);
      }
    }));
  it('a checkpoint whose directory is being created when the job is cancelled leaves nothing behind', () =>
    withTempDir(async (dir) => {
      const { env, stream } = countingJob({ dir, retention: 'RETAIN_ON_CANCELLATION', intervalMs: 20 });
      const job = await startJob(env, stream);
      let cancelling = false;
      let held: Promise<unknown> | undefined;
      try {
        await waitForCompleted(job.client, 2);
        // The next checkpoint's directory is created only once the cancel is under way.
        const proto = FileSystemCheckpointStorage.prototype;
        // eslint-disable-next-line @typescript-eslint/unbound-method -- called with its instance below
        const initialize = proto.initializeCheckpoint;
        vi.spyOn(proto, 'initializeCheckpoint').mockImplementation(function (
          this: FileSystemCheckpointStorage,
          ...args
        ) {
          const created = vi
            .waitUntil(() => cancelling, { timeout: 15_000, interval: 1 })
            .then(() => initialize.apply(this, args));
          held ??= created;
          return created;
        });
        await waitFor(() => held !== undefined, 'a checkpoint being triggered');
      } finally {
        cancelling = true;
        await job.client.cancel();
      }
      const jobDir = join(dir, job.client.jobId);
      const unfinished = async (): Promise<string[]> => {
        const dirs = await checkpointDirs(jobDir);
        const done = await Promise.all(dirs.map((d) => exists(join(jobDir, d, '_metadata'))));
        return dirs.filter((_, i) => !done[i]);
      };
      expect(await unfinished()).toEqual([]);
      await held!.catch(() => undefined);
      expect(await unfinished()).toEqual([]);
      expect((await checkpointDirs(jobDir)).length).toBeGreaterThanOrEqual(1);
    }));
});

describe('resuming from a retained checkpoint', () => {
  it.each([
    [2, 2],
    [2, 3],
    [3, 1],
  ])(
    'with keyed parallelism %i then %i, every key continues its count and ends at the failure-free total',
    (before, after) =>
      withTempDir(async (dir) => {
        const N = 2_000;
        const { chks, jobDir } = await retainedCheckpoints({ dir, count: N, keyedParallelism: before }, 3);
        expect(chks).toHaveLength(1);
        const retained = join(jobDir, chks[0]!);
        const id = Number(chks[0]!.slice('chk-'.length));
        // The source ran at parallelism 1: one reader, whose position at the barrier is the restore point.
        const position = [...barrierPositions.get(id)!.values()][0]!;
        expect(position).toBeGreaterThan(0);
        expect(position).toBeLessThan(N);

        const { env, stream } = countingJob({
          dir,
          count: N,
          rate: Infinity,
          keyedParallelism: after,
          restorePath: retained,
        });
        const { records, result } = await runToEnd(env, stream);
        expect(result.checkpoints.restored).toBe(1);
        expect(result.checkpoints.lastRestoredCheckpointId).toBe(id);
        // Restored counts continue: record `position` of key k counts on from the checkpoint.
        expect(wrongCounts(records)).toEqual([]);
        const resumed = records.filter((r) => r.i >= position).map((r) => r.i);
        expect(resumed.sort((a, b) => a - b)).toEqual(range(position, N - 1));
        // Earlier records appear only as the collect sink's output the checkpoint held, at most once.
        const earlier = records.filter((r) => r.i < position).map((r) => r.i);
        expect(new Set(earlier).size).toBe(earlier.length);
        expect(finalCounts(records)).toEqual(expectedTotals(N));
        // The checkpoint was only read (NO_CLAIM): it is still there.
        expect(await exists(join(retained, '_metadata'))).toBe(true);
      }),
  );

  it('with CLAIM the job owns the checkpoint it resumed from and deletes it once subsumed; with NO_CLAIM it stays', () =>
    withTempDir(async (dir) => {
      for (const claimMode of ['CLAIM', 'NO_CLAIM'] as const) {
        const first = await retainedCheckpoints({ dir, inlineNothing: true }, 2);
        const retained = join(first.jobDir, first.chks.at(-1)!);
        const files = await listFiles(retained);
        const { env, stream } = countingJob({
          dir,
          restorePath: retained,
          claimMode,
          retention: 'RETAIN_ON_CANCELLATION',
          inlineNothing: true,
        });
        const job = await startJob(env, stream);
        try {
          await waitForCompleted(job.client, 2);
        } finally {
          await job.client.cancel();
        }
        expect(job.client.getCheckpointStats()!.latestRestored?.id).toBe(
          Number(first.chks.at(-1)!.slice('chk-'.length)),
        );
        if (claimMode === 'CLAIM') expect(await exists(retained)).toBe(false);
        else expect(await listFiles(retained)).toEqual(files);
      }
    }));

  it('resuming with -s from a checkpoint whose state file is corrupt fails the job naming the damage', () =>
    withTempDir(async (dir) => {
      const { chks, jobDir } = await retainedCheckpoints({ dir, inlineNothing: true }, 2);
      const retained = join(jobDir, chks.at(-1)!);
      for (const f of await readdir(retained)) if (f !== '_metadata') await corruptFile(join(retained, f));

      const { env, stream } = countingJob({ restorePath: retained });
      const job = await startJob(env, stream);
      try {
        let error: unknown;
        await job.client.getJobExecutionResult().catch((e: unknown) => (error = e));
        expect(error).toBeInstanceOf(SluiceError);
        const e = error as SluiceError;
        expect(['SLUICE_CHECKPOINT_CORRUPT', 'SLUICE_RESTORE_FAILED']).toContain(e.code);
        expect(e.message).toMatch(/corrupt|checksum/);
        expect(e.message).toContain(retained);
        expect(job.client.getJobStatus()).toBe('FAILED');
      } finally {
        await job.client.cancel();
      }
    }));

  it('resuming with -s from a directory without _metadata fails with SLUICE_CHECKPOINT_NOT_FOUND', () =>
    withTempDir(async (dir) => {
      const incomplete = join(dir, 'chk-7');
      await mkdir(incomplete);
      const { env, stream } = countingJob({ restorePath: incomplete });
      const job = await startJob(env, stream);
      try {
        const error = await rejectsWith(job.client.getJobExecutionResult(), 'SLUICE_CHECKPOINT_NOT_FOUND');
        expect(error.message).toContain(incomplete);
      } finally {
        await job.client.cancel();
      }
    }));
});

describe('failover', () => {
  it('when the newest retained checkpoint is corrupt, recovery falls back to the previous one, says output is produced again, and counts stay right', () =>
    withTempDir(async (dir) => {
      // Checkpoints far enough apart that none completes between the corruption and the failure.
      const { env, stream } = countingJob({ dir, numRetained: 2, inlineNothing: true, intervalMs: 200 });
      env.getCheckpointConfig().setMinPauseBetweenCheckpoints(200);
      const logs = captureLogs(['job-master']);
      const job = await startJob(env, stream).finally(logs.restore);
      const server = await startRestServer({
        backend: new LocalRestBackend({ jobMasters: [job.client as JobMaster] }),
        port: 0,
      });
      try {
        await waitForCompleted(job.client, 2);
        const completed = job.client
          .getCheckpointStats()!
          .history.filter((c) => c.status === 'COMPLETED')
          .map((c) => c.id);
        const [newest, previous] = completed;
        const newestDir = job.client.getCheckpointStats()!.latestCompleted!.externalPath!;
        expect(newestDir).toMatch(new RegExp(`chk-${newest}$`));
        for (const f of await readdir(newestDir))
          if (f !== '_metadata') await corruptFile(join(newestDir, f));
        failNext = 'after the newest checkpoint was corrupted';
        await waitFor(() => job.client.getCheckpointStats()?.latestRestored !== undefined, 'the restore');
        expect(job.client.getCheckpointStats()!.latestRestored!.id).toBe(previous);
        expect(job.client.getNumRestarts()).toBe(1);
        // The WARN line and the REST exception history say the fallback repeats committed output.
        const said = new RegExp(
          `fell back to checkpoint ${previous}: checkpoint ${newest} \\(.*\\) cannot be read.*` +
            `output after checkpoint ${previous} will be produced again`,
          'su',
        );
        const warnings = logs.lines.filter((l) => l.level === 40 && said.test(l.msg));
        expect(warnings, JSON.stringify(logs.lines.map((l) => l.msg))).toHaveLength(1);
        const response = await fetch(`${server.url}/jobs/${job.client.jobId}/exceptions`);
        const body = (await response.json()) as JobExceptionsInfoWithHistory;
        expect(validate(responseSchema('/jobs/{jobid}/exceptions', 'GET', '200'), body)).toEqual([]);
        const entry = body.exceptionHistory.entries.find(
          (e) => e.exceptionName === 'SLUICE_RESTORE_FELL_BACK',
        );
        expect(entry?.stacktrace).toMatch(said);
        expect(entry?.timestamp).toBeGreaterThan(0);
        // The job runs on from there.
        const restoredCompleted = job.client.getCheckpointStats()!.counts.completed;
        await waitForCompleted(job.client, restoredCompleted + 2);
        expect(job.client.getJobStatus()).toBe('RUNNING');
      } finally {
        await job.client.cancel();
        await server.close();
      }
      // State and source positions rolled back together: every count is the failure-free one, and
      // no record is missing (the records between the two checkpoints may have been released twice).
      expect(job.records.length).toBeGreaterThan(0);
      expect(wrongCounts(job.records)).toEqual([]);
      const seen = new Set(job.records.map((r) => r.i));
      expect([...seen].sort((a, b) => a - b)).toEqual(range(0, seen.size - 1));
    }));

  // Issue 12 point 7: the JobManager sends handles only, each task reads and verifies its own state.
  it('when a task finds its keyed state file of the newest checkpoint corrupt, the job restores the previous one without another restart', () =>
    withTempDir(async (dir) => {
      const { env, stream } = countingJob({ dir, numRetained: 2, inlineNothing: true, intervalMs: 200 });
      env.getCheckpointConfig().setMinPauseBetweenCheckpoints(200);
      const job = await startJob(env, stream);
      const server = await startRestServer({
        backend: new LocalRestBackend({ jobMasters: [job.client as JobMaster] }),
        port: 0,
      });
      try {
        await waitForCompleted(job.client, 2);
        const newestDir = job.client.getCheckpointStats()!.latestCompleted!.externalPath!;
        const { metadata } = await resolveFileCheckpoint(newestDir);
        const newest = metadata.checkpointId;
        // Only the task's keyed state files: the same size, so only reading them finds the damage.
        const keyedFiles = metadata.operators
          .flatMap((op) => op.subtasks.flatMap((st) => st.keyed.map((k) => k.handle)))
          .flatMap((h) => (h.kind === 'file' ? [join(newestDir, h.path)] : []));
        expect(keyedFiles.length).toBeGreaterThan(0);
        for (const f of keyedFiles) await corruptFile(f);
        failNext = 'after the keyed state of the newest checkpoint was corrupted';
        await waitFor(() => job.client.getCheckpointStats()?.latestRestored !== undefined, 'the restore');
        expect(job.client.getCheckpointStats()!.latestRestored!.id).toBeLessThan(newest);
        // The failed read of checkpoint `newest` is part of the same recovery, not a new failure.
        expect(job.client.getNumRestarts()).toBe(1);
        const response = await fetch(`${server.url}/jobs/${job.client.jobId}/exceptions`);
        const body = (await response.json()) as JobExceptionsInfoWithHistory;
        const entry = body.exceptionHistory.entries.find(
          (e) => e.exceptionName === 'SLUICE_RESTORE_FELL_BACK',
        );
        expect(entry?.stacktrace).toMatch(
          new RegExp(
            `checkpoint ${newest} \\(task .* cannot restore from checkpoint ${newest} \\(.*checksum mismatch`,
            'su',
          ),
        );
        const restoredCompleted = job.client.getCheckpointStats()!.counts.completed;
        await waitForCompleted(job.client, restoredCompleted + 2);
        expect(job.client.getJobStatus()).toBe('RUNNING');
      } finally {
        await job.client.cancel();
        await server.close();
      }
      expect(wrongCounts(job.records)).toEqual([]);
      const seen = new Set(job.records.map((r) => r.i));
      expect([...seen].sort((a, b) => a - b)).toEqual(range(0, seen.size - 1));
    }));

  it('with restart strategy none, the first failure fails the job with the user error', async () => {
    const { env, stream } = countingJob({ restart: RestartStrategies.noRestart() });
    const job = await startJob(env, stream);
    try {
      await waitForCompleted(job.client, 1);
      failNext = 'no second chance';
      const error = await rejectsWith(job.client.getJobExecutionResult(), 'SLUICE_USER_FUNCTION_FAILED');
      expect(error.message).toContain('no second chance');
      expect(error.cause).toBeInstanceOf(InjectedFailure);
      expect(job.client.getNumRestarts()).toBe(0);
      expect(job.client.getJobStatus()).toBe('FAILED');
    } finally {
      await job.client.cancel();
    }
  });

  it('with fixed-delay and 1 attempt, the first failure restarts the job and the second fails it', async () => {
    const { env, stream } = countingJob({ restart: RestartStrategies.fixedDelay(1, 10) });
    const job = await startJob(env, stream);
    try {
      await waitForCompleted(job.client, 1);
      failNext = 'first failure';
      await waitFor(
        () =>
          job.client.getNumRestarts() === 1 && job.client.getCheckpointStats()?.latestRestored !== undefined,
        'the restart',
      );
      expect(job.client.getJobStatus()).toBe('RUNNING');
      failNext = 'second failure';
      const error = await rejectsWith(job.client.getJobExecutionResult(), 'SLUICE_USER_FUNCTION_FAILED');
      expect(error.message).toContain('second failure');
      expect(job.client.getNumRestarts()).toBe(1);
    } finally {
      await job.client.cancel();
    }
  });
});

interface Tagged {
  readonly src: 'bounded' | 'unbounded';
  readonly i: number;
  readonly key: string;
}

/** Counts per key; emits `key count`. */
class CountByName extends KeyedProcessFunction<string, Traced<Tagged>, string> {
  private count!: ValueState<number>;
  open(ctx: RuntimeContext): void {
    this.count = ctx.getState(new ValueStateDescriptor<number>('count', { defaultValue: 0 }));
  }
  processElement(r: Traced<Tagged>, ctx: KeyedProcessContext<string>, out: Collector<string>): void {
    failIfAsked();
    const count = this.count.value()! + 1;
    this.count.update(count);
    out.collect(`${ctx.getCurrentKey()} ${count}`);
  }
}

describe('checkpoints after tasks finish', () => {
  it('checkpoints keep completing after one of two sources finished, and a restore does not replay it', async () => {
    const B = 50;
    const env = envAt(2);
    env.enableCheckpointing(50);
    env.setRestartStrategy(RestartStrategies.fixedDelay(3, 10));
    const bounded = env.fromSource(
      tracedGenerator((i): Tagged => ({ src: 'bounded', i, key: 'b' }), B, 2_000),
      'bounded',
    );
    const unbounded = env.fromSource(
      tracedGenerator((i): Tagged => ({ src: 'unbounded', i, key: `u${i % 3}` }), Infinity, 500),
      'unbounded',
    );
    const counted = bounded
      .union(unbounded)
      .keyBy((r) => r.key)
      .process(new CountByName());
    const job = await startJob(env, counted);
    const boundedOut = () => job.records.filter((r) => r.startsWith('b '));
    try {
      // Every record of the bounded source is counted and released (a checkpoint after them completed).
      await waitFor(() => boundedOut().length === B, 'the bounded source to be fully counted');
      const after = job.client.getCheckpointStats()!.counts.completed;
      await waitForCompleted(job.client, after + 3);
      expect(job.client.getJobStatus()).toBe('RUNNING');

      // A failure now restores a checkpoint taken after the bounded source finished.
      failNext = 'after a source finished';
      await waitFor(() => job.client.getCheckpointStats()?.latestRestored !== undefined, 'the restore');
      const restored = job.client.getCheckpointStats()!.counts.completed;
      await waitForCompleted(job.client, restored + 2);
      expect(job.client.getJobStatus()).toBe('RUNNING');
    } finally {
      await job.client.cancel();
    }
    expect(boundedOut().sort()).toEqual(
      range(1, B)
        .map((c) => `b ${c}`)
        .sort(),
    );
  });
});
