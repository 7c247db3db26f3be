// Unaligned checkpoints under backpressure: barriers overtake the in-flight data, which is stored
// with the checkpoint and replayed first on recovery; a slow keyed operator behind keyBy,
// rebalance and broadcast exchanges gives the failure-free results after an injected failure, at
// parallelism 1-4, unaligned from the start and aligned with a timeout.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  KeyedProcessFunction,
  RestartStrategies,
  ValueStateDescriptor,
  type Collector,
  type DataStream,
  type KeyedProcessContext,
  type RuntimeContext,
  type ValueState,
} from 'sluice';
import { join } from 'node:path';
import { resolveFileCheckpoint } from '../../src/storage/filesystem/file-system-checkpoint-storage.js';
import {
  InjectedFailure,
  fileUri,
  startJob,
  waitForCompleted,
  resetBarrierPositions,
  runToEnd,
  stats,
  tracedGenerator,
  withTempDir,
  type Traced,
} from '../support/checkpointing.js';
import { PARALLELISMS, envAt, expectSameMultiset } from '../support/helpers.js';

/** Records per source. */
const N = 600;
const KEYS = 7;
/** Busy time per record in the keyed operator: the backpressure that fills every channel. */
const SLOW_MS = 0.3;
/** Records per second per source: as fast as the network takes them, so every channel fills up. */
const RATE = 1_000_000;

interface Event {
  readonly src: 'a' | 'b';
  readonly i: number;
  readonly key: number;
}
type In = Traced<Event>;
type Exchange = 'keyBy' | 'rebalance' | 'broadcast';

const eventA = (i: number): Event => ({ src: 'a', i, key: i % KEYS });
const eventB = (i: number): Event => ({ src: 'b', i, key: (i * 3 + 1) % KEYS });
const weight = (e: Event): number => (e.src === 'a' ? e.i : 10_000 + e.i);

/** The failure-free output: each key's running counts once, and its final count and sum. */
function expectedOutput(copies: number): string[] {
  const totals = new Map<number, { count: number; sum: number }>();
  for (let i = 0; i < N; i++)
    for (const e of [eventA(i), eventB(i)]) {
      const t = totals.get(e.key) ?? { count: 0, sum: 0 };
      totals.set(e.key, { count: t.count + copies, sum: t.sum + copies * weight(e) });
    }
  const out: string[] = [];
  for (const [key, { count, sum }] of totals) {
    for (let c = 1; c <= count; c++) out.push(`count ${key} ${c}`);
    out.push(`final ${key} ${count} ${sum}`);
  }
  return out;
}

/** Bytes of in-flight data checkpoint `id` stored, over its acknowledged subtasks. */
function inFlightDataOf(id: number): number {
  const checkpoint = stats()?.history.find((c) => c.id === id);
  return checkpoint?.subtasks.reduce((n, s) => n + (s.persistedData ?? 0), 0) ?? 0;
}

/** The injected failure: armed per test; fires once, when a checkpoint with in-flight data completes. */
let failure: { fired: boolean; checkpoint: number; inFlightData: number } | undefined;
/** Records the keyed operator processed, over its subtasks (before the failure: each once). */
let processed = 0;

/**
 * Counts per key, slowly. Fails (once) when it hears a checkpoint that stored in-flight data
 * completed; or, should every record have been processed without one (the assertions then say
 * so), at the next checkpoint, so that the run still ends.
 */
class SlowRunningCount extends KeyedProcessFunction<number, In, string> {
  private count!: ValueState<number>;
  private sum!: ValueState<number>;
  private readonly expectedRecords: number;
  constructor(private readonly totals: Record<number, number>) {
    super();
    this.expectedRecords = Object.values(totals).reduce((n, c) => n + c, 0);
  }
  open(ctx: RuntimeContext): void {
    this.count = ctx.getState(new ValueStateDescriptor<number>('count', { defaultValue: 0 }));
    this.sum = ctx.getState(new ValueStateDescriptor<number>('sum', { defaultValue: 0 }));
  }
  notifyCheckpointComplete(checkpointId: number): void {
    if (failure === undefined || failure.fired) return;
    const inFlightData = inFlightDataOf(checkpointId);
    if (inFlightData === 0 && processed < this.expectedRecords) return;
    Object.assign(failure, { fired: true, checkpoint: checkpointId, inFlightData });
    throw new InjectedFailure('after an unaligned checkpoint with in-flight data completed');
  }
  processElement(record: In, ctx: KeyedProcessContext<number>, out: Collector<string>): void {
    const until = performance.now() + SLOW_MS;
    while (performance.now() < until);
    processed++;
    const key = ctx.getCurrentKey();
    const count = this.count.value()! + 1;
    const sum = this.sum.value()! + weight(record);
    this.count.update(count);
    this.sum.update(sum);
    out.collect(`count ${key} ${count}`);
    if (count === this.totals[key]) out.collect(`final ${key} ${count} ${sum}`);
  }
}

async function runJob(p: number, dir: string, exchange: Exchange, alignedTimeoutMs: number) {
  const copies = exchange === 'broadcast' ? p : 1;
  const totals: Record<number, number> = {};
  for (let i = 0; i < N; i++)
    for (const e of [eventA(i), eventB(i)]) totals[e.key] = (totals[e.key] ?? 0) + copies;
  const env = envAt(p);
  env.enableCheckpointing(30);
  env.getCheckpointConfig().enableUnalignedCheckpoints();
  env.getCheckpointConfig().setAlignedCheckpointTimeout(alignedTimeoutMs);
  env.getCheckpointConfig().setCheckpointStorage(fileUri(dir));
  env.configuration.setString('execution.checkpointing.data-inline-threshold', '0b');
  // Small buffers, flushed at once: every channel holds a few of them under backpressure.
  env.configuration.setString('taskmanager.memory.segment-size', '256b');
  env.setBufferTimeout(0);
  env.setRestartStrategy(RestartStrategies.fixedDelay(3, 10));
  // The sources' end waits for the failure: it needs a checkpoint after their records.
  const hold = { from: N, until: () => failure?.fired ?? true };
  const a = env.fromSource(tracedGenerator(eventA, N, RATE, hold), 'source a');
  const b = env.fromSource(tracedGenerator(eventB, N, RATE, hold), 'source b');
  const union = a.union(b);
  const exchanged: DataStream<In> =
    exchange === 'keyBy'
      ? union
      : (exchange === 'rebalance' ? union.rebalance() : union.broadcast()).map((r) => r).name('forward');
  const counted = exchanged
    .keyBy((r) => r.key)
    .process(new SlowRunningCount(totals))
    .name('slow count');
  const run = await runToEnd(env, counted, 60_000);
  return { ...run, expected: expectedOutput(copies) };
}

beforeEach(() => {
  failure = undefined;
  processed = 0;
  resetBarrierPositions();
});
afterEach(() => {
  failure = undefined;
});

const unaligned: readonly [Exchange, number][] = [
  ['keyBy', 0],
  ['rebalance', 0],
  ['broadcast', 0],
];
// At parallelism 1 the slow operator reads one channel, so nothing there waits to align: only at 2+
// do its alignments time out and go unaligned with in-flight data.
const withTimeout: readonly [Exchange, number][] = [
  ['keyBy', 2],
  ['rebalance', 2],
];

describe.each(PARALLELISMS)('unaligned checkpoints at parallelism %i', (p) => {
  it.each(p === 1 ? unaligned : [...unaligned, ...withTimeout])(
    'through %s (aligned-checkpoint-timeout %i ms): a failure after a checkpoint with in-flight data restores exactly once',
    (exchange, timeout) =>
      withTempDir(async (dir) => {
        failure = { fired: false, checkpoint: 0, inFlightData: 0 };
        const { records, result, expected } = await runJob(p, dir, exchange, timeout);
        expect(failure.inFlightData).toBeGreaterThan(0);
        expectSameMultiset(records, expected);
        expect(result.numRestarts).toBe(1);
        // The checkpoint with in-flight data, or a newer one that completed meanwhile.
        expect(result.checkpoints.lastRestoredCheckpointId).toBeGreaterThanOrEqual(failure.checkpoint);
      }),
  );
});

describe('savepoints while unaligned checkpoints are on', () => {
  it('are aligned: no in-flight data, no subtask unaligned, while the checkpoints around them are unaligned', () =>
    withTempDir(async (dir) => {
      const env = envAt(2);
      env.enableCheckpointing(30);
      env.getCheckpointConfig().enableUnalignedCheckpoints();
      env.getCheckpointConfig().setCheckpointStorage(fileUri(join(dir, 'checkpoints')));
      env.configuration.setString('taskmanager.memory.segment-size', '256b');
      env.setBufferTimeout(0);
      const totals: Record<number, number> = {};
      const stream = env
        .fromSource(tracedGenerator(eventA, Number.MAX_SAFE_INTEGER, RATE), 'source a')
        .keyBy((r) => r.key)
        .process(new SlowRunningCount(totals))
        .name('slow count');
      const job = await startJob(env, stream);
      try {
        await waitForCompleted(job.client, 2);
        const path = await job.client.triggerSavepoint(join(dir, 'savepoints'));
        const { metadata } = await resolveFileCheckpoint(path);
        expect(metadata.isSavepoint).toBe(true);
        for (const op of metadata.operators)
          for (const subtask of op.subtasks) expect(subtask.channelState).toBeUndefined();
        const history = job.client.getCheckpointStats()!.history;
        const savepoint = history.find((c) => c.id === metadata.checkpointId)!;
        expect(savepoint.subtasks.some((s) => s.unaligned === true)).toBe(false);
        const checkpoints = history.filter((c) => !c.isSavepoint && c.status === 'COMPLETED');
        expect(checkpoints.some((c) => c.subtasks.some((s) => s.unaligned === true))).toBe(true);
      } finally {
        await job.client.cancel();
      }
    }));
});
