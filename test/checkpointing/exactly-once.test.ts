// Exactly-once under failures: a keyed running count over a union and a rebalance gives the failure-free results whatever moment a user function throws at (parallelism 1-4), and AT_LEAST_ONCE loses nothing.
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  EmbeddedLmdbStateBackend,
  KeyedProcessFunction,
  RestartStrategies,
  ValueStateDescriptor,
  type CheckpointingMode,
  type Collector,
  type JobExecutionResult,
  type KeyedProcessContext,
  type RuntimeContext,
  type ValueState,
} from 'sluice';
import {
  InjectedFailure,
  completedCount,
  fileUri,
  isInProgress,
  latestCompletedId,
  newestBarrier,
  relativeToBarrier,
  resetBarrierPositions,
  runToEnd,
  stats,
  tracedGenerator,
  withTempDir,
  barrierPositions,
  type Traced,
} from '../support/checkpointing.js';
import { PARALLELISMS, envAt, expectSameMultiset } from '../support/helpers.js';
import { FileSystemCheckpointStorage } from '../../src/storage/filesystem/file-system-checkpoint-storage.js';

/** Records per source, and their rate: the job runs for about a second. */
const N = 400;
const RATE = 400;
const KEYS = 13;

interface Event {
  readonly src: 'a' | 'b';
  readonly i: number;
  readonly key: number;
}
type In = Traced<Event>;

const eventA = (i: number): Event => ({ src: 'a', i, key: i % KEYS });
const eventB = (i: number): Event => ({ src: 'b', i, key: (i * 5 + 3) % KEYS });
/** What the keyed function adds to its running sum for a record: distinct per record. */
const weight = (e: Event): number => (e.src === 'a' ? e.i : 100_000 + e.i);

// --- the failure-free model ---

/** Records per key over both sources. */
function expectedTotals(): Map<number, { count: number; sum: number }> {
  const totals = new Map<number, { count: number; sum: number }>();
  for (let i = 0; i < N; i++)
    for (const e of [eventA(i), eventB(i)]) {
      const t = totals.get(e.key) ?? { count: 0, sum: 0 };
      totals.set(e.key, { count: t.count + 1, sum: t.sum + weight(e) });
    }
  return totals;
}

/** The failure-free output: every key's running counts 1..n exactly once, and its final sum once. */
function expectedOutput(): string[] {
  const out: string[] = [];
  for (const [key, { count, sum }] of expectedTotals()) {
    for (let c = 1; c <= count; c++) out.push(`count ${key} ${c}`);
    out.push(`final ${key} ${count} ${sum}`);
  }
  return out;
}

// --- failure injection: module-level, so each failure happens once whatever subtask or attempt ---

/** Where a failure may be injected. */
type Site = 'map' | 'keyed';
interface Injection {
  readonly site: Site;
  readonly name: string;
  /** Whether to throw now, for `record` processed by a subtask in attempt `attempt`. */
  readonly when: (record: In, attempt: number) => boolean;
  /** What held when it fired (for assertions). */
  firedAt?: { attempt: number; latestCompleted: number; checkpoint: number };
}

/** How many storage calls `holdStorage` is holding right now. */
let storageCallsHeld = 0;

/**
 * Holds every call of the checkpoint storage's `method` that begins while `hold()` is true, until
 * `injection` fired: `writeState` is a subtask's asynchronous phase writing its state,
 * `finalizeCheckpoint` the JobManager's `_metadata` write that completes a checkpoint. A failure
 * meant to hit such a window then finds it open however slowly the machine runs, rather than
 * racing it. While a call is held, the sources' hold is lifted (see `runJob`), so records keep
 * coming for the injection to fire on. Tests run inline, so the storage is this module's class.
 */
function holdStorage(
  method: 'writeState' | 'finalizeCheckpoint',
  injection: Injection,
  hold: () => boolean,
): void {
  const proto = FileSystemCheckpointStorage.prototype;
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called with its instance below
  const original = proto[method] as (...args: unknown[]) => Promise<unknown>;
  vi.spyOn(proto, method).mockImplementation(async function (
    this: FileSystemCheckpointStorage,
    ...args: unknown[]
  ): Promise<never> {
    if (hold() && injection.firedAt === undefined) {
      storageCallsHeld++;
      try {
        await vi.waitUntil(() => injection.firedAt !== undefined, { timeout: 15_000, interval: 2 });
      } finally {
        storageCallsHeld--;
      }
    }
    return (await original.apply(this, args)) as never;
  });
}

let injections: Injection[] = [];
let processedByKeyed = 0;

function maybeFail(site: Site, record: In, attempt: number): void {
  for (const injection of injections) {
    if (injection.site !== site || injection.firedAt !== undefined) continue;
    if (!injection.when(record, attempt)) continue;
    injection.firedAt = { attempt, latestCompleted: latestCompletedId(), checkpoint: newestBarrier() };
    throw new InjectedFailure(injection.name);
  }
}

/** A map that may throw (it runs after the union and the rebalance, so it has many input channels). */
class FailingMap {
  private attempt = 0;
  open(ctx: RuntimeContext): void {
    this.attempt = ctx.getAttemptNumber();
  }
  map(record: In): In {
    maybeFail('map', record, this.attempt);
    return record;
  }
}

/** Running count and sum per key in ValueState; emits each count, and the totals once a key is complete. */
class RunningCount extends KeyedProcessFunction<number, In, string> {
  private count!: ValueState<number>;
  private sum!: ValueState<number>;
  private attempt = 0;
  constructor(private readonly totals: Record<number, number>) {
    super();
  }
  open(ctx: RuntimeContext): void {
    this.attempt = ctx.getAttemptNumber();
    this.count = ctx.getState(new ValueStateDescriptor<number>('count', { defaultValue: 0 }));
    this.sum = ctx.getState(new ValueStateDescriptor<number>('sum', { defaultValue: 0 }));
  }
  processElement(record: In, ctx: KeyedProcessContext<number>, out: Collector<string>): void {
    processedByKeyed++;
    maybeFail('keyed', record, this.attempt);
    const key = ctx.getCurrentKey();
    const count = this.count.value()! + 1;
    const sum = this.sum.value()! + weight(record);
    this.count.update(count);
    this.sum.update(sum);
    out.collect(`count ${key} ${count}`);
    if (count === this.totals[key]) out.collect(`final ${key} ${count} ${sum}`);
  }
}

/** Runs the job at parallelism `p` with the current injections; returns its records and result. */
async function runJob(
  p: number,
  dir: string,
  {
    mode = 'EXACTLY_ONCE',
    flushEveryRecord = false,
    lmdb = false,
  }: { mode?: CheckpointingMode; flushEveryRecord?: boolean; lmdb?: boolean } = {},
) {
  const totals = Object.fromEntries([...expectedTotals()].map(([k, t]) => [k, t.count]));
  const env = envAt(p);
  // By default records wait in output buffers until a flush or a barrier sends them, so a barrier
  // arrives right behind a batch of records (which keeps other channels aligning meanwhile);
  // flushing every record instead keeps records arriving while checkpoints are written.
  if (flushEveryRecord) env.setBufferTimeout(0);
  if (lmdb) env.setStateBackend(new EmbeddedLmdbStateBackend());
  env.enableCheckpointing(50, mode);
  env.getCheckpointConfig().setMinPauseBetweenCheckpoints(50);
  // File storage with nothing inlined: every snapshot's asynchronous phase really writes files.
  env.getCheckpointConfig().setCheckpointStorage(fileUri(dir));
  env.configuration.setString('execution.checkpointing.data-inline-threshold', '0b');
  env.setRestartStrategy(RestartStrategies.fixedDelay(5, 10));
  // The second half of each source waits for 3 completed checkpoints, however slowly a loaded
  // machine takes them: the failures injected after a completion, or while a checkpoint is in
  // flight, have records to fire on, and every run takes at least 3 checkpoints (unless a test
  // holds a storage call for its injection: then the records it needs flow).
  const hold = { from: N / 2, until: () => completedCount() >= 3 || storageCallsHeld > 0 };
  const a = env.fromSource(tracedGenerator(eventA, N, RATE, hold), 'source a');
  const b = env.fromSource(tracedGenerator(eventB, N, RATE, hold), 'source b');
  const counted = a
    .union(b)
    .rebalance()
    .map(new FailingMap())
    .name('failing map')
    .keyBy((r) => r.key)
    .process(new RunningCount(totals))
    .name('running count');
  return runToEnd(env, counted);
}

/**
 * Asserts the job restored the newest checkpoint completed when `injection` fired: the newest the
 * statistics showed then, or a newer one whose completion was still being recorded (the coordinator
 * stores a checkpoint before it reports it to the statistics).
 */
function expectRestoredNewestAt(result: JobExecutionResult, injection: Injection): void {
  const restored = result.checkpoints.lastRestoredCheckpointId;
  expect(restored).toBeGreaterThanOrEqual(injection.firedAt!.latestCompleted);
  expect(restored).toBeLessThanOrEqual(injection.firedAt!.checkpoint);
}

/**
 * A failure in a keyed subtask that already snapshotted checkpoint n (the record is after its
 * barrier) while n has not completed: its state is being written.
 */
function duringAsyncPhase(): Injection {
  return {
    site: 'keyed',
    name: 'during the async phase',
    when: (record) => {
      if (latestCompletedId() === 0) return false;
      const n = newestBarrier();
      return relativeToBarrier(record, n) === 'after' && isInProgress(n);
    },
  };
}

/** Asserts the run gave exactly the failure-free output (which holds the final per-key state). */
function expectFailureFreeOutput(records: readonly string[]): void {
  expectSameMultiset(records, expectedOutput());
}

beforeEach(() => {
  injections = [];
  processedByKeyed = 0;
  storageCallsHeld = 0;
  resetBarrierPositions();
});
afterEach(() => {
  injections = [];
  vi.restoreAllMocks();
});

describe.each(PARALLELISMS)('EXACTLY_ONCE at parallelism %i', (p) => {
  it('without failures, the output is every running count once and checkpoints complete', () =>
    withTempDir(async (dir) => {
      const { records, result } = await runJob(p, dir);
      expectFailureFreeOutput(records);
      expect(result.numRestarts).toBe(0);
      expect(result.checkpoints.completed).toBeGreaterThanOrEqual(3);
      expect(result.checkpoints.restored).toBe(0);
    }));

  it('a failure before the first checkpoint completes replays from the start, exactly once', () =>
    withTempDir(async (dir) => {
      const before: Injection = {
        site: 'keyed',
        name: 'before the first checkpoint',
        when: (_r, attempt) => attempt === 0 && processedByKeyed >= 5 && latestCompletedId() === 0,
      };
      injections = [before];
      const { records, result } = await runJob(p, dir);
      expect(before.firedAt?.latestCompleted).toBe(0);
      expectFailureFreeOutput(records);
      expect(result.numRestarts).toBe(1);
      expect(result.checkpoints.restored).toBe(0);
      expect(result.checkpoints.lastRestoredCheckpointId).toBeUndefined();
    }));

  it('a failure during alignment (a record before its barrier while another barrier is in) restores exactly once', () =>
    withTempDir(async (dir) => {
      const aligning: Injection = {
        site: 'map',
        name: 'during alignment',
        when: (record) => {
          if (latestCompletedId() === 0) return false;
          const n = newestBarrier();
          // Its reader emitted barrier n after this record, another reader's barrier n is out too,
          // and the checkpoint is pending: this map subtask has not taken checkpoint n yet.
          return (
            relativeToBarrier(record, n) === 'before' &&
            (barrierPositions.get(n)?.size ?? 0) >= 2 &&
            isInProgress(n)
          );
        },
      };
      // The moment it needs comes from timing: a loaded machine may run a whole job without one
      // (checkpoints rare next to records), so a run in which it never came is run again.
      let run: Awaited<ReturnType<typeof runJob>> | undefined;
      for (let tries = 0; tries < 3 && aligning.firedAt === undefined; tries++) {
        processedByKeyed = 0;
        resetBarrierPositions();
        injections = [aligning];
        run = await runJob(p, join(dir, `try-${tries}`));
      }
      expect(aligning.firedAt).toBeDefined();
      const { records, result } = run!;
      expectFailureFreeOutput(records);
      expect(result.numRestarts).toBe(1);
      expect(result.checkpoints.restored).toBeGreaterThanOrEqual(1);
      expectRestoredNewestAt(result, aligning);
    }));

  it('a failure during an asynchronous snapshot phase (after the barrier, checkpoint pending) restores exactly once', () =>
    withTempDir(async (dir) => {
      const asyncPhase = duringAsyncPhase();
      injections = [asyncPhase];
      holdStorage('writeState', asyncPhase, () => latestCompletedId() >= 1);
      const { records, result } = await runJob(p, dir, { flushEveryRecord: true });
      expect(asyncPhase.firedAt).toBeDefined();
      expectFailureFreeOutput(records);
      expect(result.numRestarts).toBe(1);
      expect(result.checkpoints.restored).toBeGreaterThanOrEqual(1);
      expectRestoredNewestAt(result, asyncPhase);
    }));

  // Regression: a checkpoint aborted by the failover while its _metadata was being written was
  // still added to the completed ones, with its files deleted by the abort: recovery then found
  // nothing readable and failed the job (SLUICE_RESTORE_FAILED).
  it('a failure while a fully acknowledged checkpoint is being finalized restores a readable checkpoint, exactly once', () =>
    withTempDir(async (dir) => {
      const finalizing: Injection = {
        site: 'keyed',
        name: 'while finalizing',
        when: () => {
          const pending = stats()?.history.find((c) => c.status === 'IN_PROGRESS');
          return (
            latestCompletedId() >= 1 &&
            pending !== undefined &&
            pending.subtasks.length === pending.numSubtasks
          );
        },
      };
      injections = [finalizing];
      holdStorage('finalizeCheckpoint', finalizing, () => latestCompletedId() >= 1);
      const { records, result } = await runJob(p, dir, { flushEveryRecord: true });
      expect(finalizing.firedAt).toBeDefined();
      expectFailureFreeOutput(records);
      expect(result.numRestarts).toBe(1);
      expect(result.checkpoints.restored).toBe(1);
      expectRestoredNewestAt(result, finalizing);
    }));

  it('a failure right after a checkpoint completes restores that checkpoint, exactly once', () =>
    withTempDir(async (dir) => {
      const afterCompletion: Injection = {
        site: 'keyed',
        name: 'right after a completion',
        when: () => latestCompletedId() >= 2,
      };
      injections = [afterCompletion];
      const { records, result } = await runJob(p, dir);
      expect(afterCompletion.firedAt).toBeDefined();
      expectFailureFreeOutput(records);
      expect(result.numRestarts).toBe(1);
      expect(result.checkpoints.restored).toBe(1);
      expectRestoredNewestAt(result, afterCompletion);
    }));

  it('two failures in a row (the second right after the restore) still give exactly-once results', () =>
    withTempDir(async (dir) => {
      const first: Injection = {
        site: 'keyed',
        name: 'first of two',
        when: (_r, attempt) => attempt === 0 && latestCompletedId() >= 1,
      };
      let inSecondAttempt = 0;
      const second: Injection = {
        site: 'map',
        name: 'second of two',
        // The third record the restored job processes, before any new checkpoint completes.
        when: (_r, attempt) =>
          attempt === 1 && ++inSecondAttempt >= 3 && latestCompletedId() === stats()?.latestRestored?.id,
      };
      injections = [first, second];
      // No checkpoint of the restored attempt completes before the second failure. (Only the
      // restored attempt's: the failover may wait for a finalization already under way.)
      holdStorage(
        'finalizeCheckpoint',
        second,
        () => first.firedAt !== undefined && stats()?.latestRestored !== undefined,
      );
      const { records, result } = await runJob(p, dir);
      expect(first.firedAt).toBeDefined();
      expect(second.firedAt).toBeDefined();
      expectFailureFreeOutput(records);
      expect(result.numRestarts).toBe(2);
      expect(result.checkpoints.restored).toBe(2);
      expectRestoredNewestAt(result, first);
    }));
});

describe('EXACTLY_ONCE on the lmdb state backend at parallelism 2', () => {
  it('a failure during an asynchronous snapshot phase restores exactly once', () =>
    withTempDir(async (dir) => {
      const asyncPhase = duringAsyncPhase();
      injections = [asyncPhase];
      holdStorage('writeState', asyncPhase, () => latestCompletedId() >= 1);
      const { records, result } = await runJob(2, dir, { flushEveryRecord: true, lmdb: true });
      expect(asyncPhase.firedAt).toBeDefined();
      expectFailureFreeOutput(records);
      expect(result.numRestarts).toBe(1);
      expect(result.checkpoints.restored).toBeGreaterThanOrEqual(1);
      expectRestoredNewestAt(result, asyncPhase);
    }));
});

describe.each(PARALLELISMS)('AT_LEAST_ONCE at parallelism %i', (p) => {
  it('with a failure right after a completion and another while a checkpoint is pending, no running count is lost', () =>
    withTempDir(async (dir) => {
      const afterCompletion: Injection = {
        site: 'keyed',
        name: 'right after a completion',
        when: () => latestCompletedId() >= 2,
      };
      const unaligned: Injection = {
        site: 'map',
        name: 'while a checkpoint is pending',
        when: (record) => {
          const n = newestBarrier();
          return (
            afterCompletion.firedAt !== undefined &&
            latestCompletedId() > afterCompletion.firedAt.latestCompleted &&
            relativeToBarrier(record, n) !== 'unknown' &&
            isInProgress(n)
          );
        },
      };
      injections = [afterCompletion, unaligned];
      holdStorage(
        'writeState',
        unaligned,
        () =>
          afterCompletion.firedAt !== undefined &&
          latestCompletedId() > afterCompletion.firedAt.latestCompleted,
      );
      const { records, result } = await runJob(p, dir, { mode: 'AT_LEAST_ONCE' });
      expect(afterCompletion.firedAt).toBeDefined();
      expect(unaligned.firedAt).toBeDefined();
      expect(result.numRestarts).toBe(2);
      expect(result.checkpoints.restored).toBe(2);
      // Every expected (key, count) at least once; a record may count twice after a restore.
      const seen = new Set(records);
      const missing = expectedOutput().filter((r) => r.startsWith('count') && !seen.has(r));
      expect(missing).toEqual([]);
      // Final state: each key counted every one of its records (possibly some twice).
      const finalCounts = new Map<number, number>();
      for (const r of records) {
        const [kind, key, count] = r.split(' ');
        if (kind === 'count')
          finalCounts.set(Number(key), Math.max(finalCounts.get(Number(key)) ?? 0, Number(count)));
      }
      for (const [key, { count }] of expectedTotals())
        expect(finalCounts.get(key)).toBeGreaterThanOrEqual(count);
    }));

  it('without failures, at-least-once output is exactly the failure-free output', () =>
    withTempDir(async (dir) => {
      const { records, result } = await runJob(p, dir, { mode: 'AT_LEAST_ONCE' });
      expectFailureFreeOutput(records);
      expect(result.checkpoints.completed).toBeGreaterThanOrEqual(3);
    }));
});

it('executeAndCollect() returns exactly the failure-free output across a failure', () =>
  withTempDir(async (dir) => {
    const once: Injection = { site: 'keyed', name: 'mid-run', when: () => processedByKeyed === N };
    injections = [once];
    const env = envAt(2);
    env.enableCheckpointing(50);
    env.getCheckpointConfig().setCheckpointStorage(fileUri(dir));
    env.setRestartStrategy(RestartStrategies.fixedDelay(5, 10));
    const totals = Object.fromEntries([...expectedTotals()].map(([k, t]) => [k, t.count]));
    const records = await env
      .fromSource(tracedGenerator(eventA, N, RATE), 'source a')
      .union(env.fromSource(tracedGenerator(eventB, N, RATE), 'source b'))
      .keyBy((r) => r.key)
      .process(new RunningCount(totals))
      .executeAndCollect('exactly once');
    expect(once.firedAt).toBeDefined();
    expectFailureFreeOutput(records);
  }));
