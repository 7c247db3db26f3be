// Checkpoint barriers across the two inputs of a KeyedCoProcessFunction whose first input is slow
// (backpressured back to its source) while the second is fast: aligned checkpoints block the fast
// input behind its barrier until the slow one's arrives, unaligned ones store the in-flight data of
// both; either way a failure after a completed checkpoint restores exactly once.
import { beforeEach, describe, expect, it } from 'vitest';
import {
  KeyedCoProcessFunction,
  RestartStrategies,
  ValueStateDescriptor,
  type Collector,
  type KeyedProcessContext,
  type RuntimeContext,
  type ValueState,
} from 'sluice';
import {
  InjectedFailure,
  fileUri,
  resetBarrierPositions,
  runToEnd,
  stats,
  tracedGenerator,
  withTempDir,
  type Traced,
} from '../support/checkpointing.js';
import { expectSameMultiset, envAt } from '../support/helpers.js';

const N = 500;
const KEYS = 7;
/** Busy time per record of input 1: its channels fill up and its source stalls. */
const SLOW_MS = 0.3;

interface A {
  readonly i: number;
  readonly key: number;
}
interface B {
  readonly j: number;
  readonly key: number;
  readonly w: number;
}
const eventA = (i: number): A => ({ i, key: i % KEYS });
const eventB = (j: number): B => ({ j, key: (j * 3 + 1) % KEYS, w: 1000 + j });

/** The failure-free output: each key's running totals once, and its final total. */
function expectedOutput(): string[] {
  const totals = new Map<number, { count: number; sum: number }>();
  const add = (key: number, w: number) => {
    const t = totals.get(key) ?? { count: 0, sum: 0 };
    totals.set(key, { count: t.count + 1, sum: t.sum + w });
  };
  for (let i = 0; i < N; i++) {
    add(eventA(i).key, i);
    add(eventB(i).key, eventB(i).w);
  }
  const out: string[] = [];
  for (const [key, { count, sum }] of totals) {
    for (let c = 1; c <= count; c++) out.push(`count ${key} ${c}`);
    out.push(`final ${key} ${count} ${sum}`);
  }
  return out;
}

function inFlightDataOf(id: number): number {
  const checkpoint = stats()?.history.find((c) => c.id === id);
  return checkpoint?.subtasks.reduce((n, s) => n + (s.persistedData ?? 0), 0) ?? 0;
}

let failure: { fired: boolean; checkpoint: number; inFlightData: number; unaligned: boolean } | undefined;
let processed = 0;
/** The most bytes a subtask processed while aligning, over the checkpoints that completed. */
let mostAlignedBytes = 0;

/** Counts and sums per key over both inputs; input 1 slowly. Fails once after a suitable checkpoint completed. */
class SlowFirstInput extends KeyedCoProcessFunction<number, Traced<A>, Traced<B>, string> {
  private count!: ValueState<number>;
  private sum!: ValueState<number>;
  constructor(private readonly totals: Record<number, number>) {
    super();
  }
  open(ctx: RuntimeContext): void {
    this.count = ctx.getState(new ValueStateDescriptor<number>('count', { defaultValue: 0 }));
    this.sum = ctx.getState(new ValueStateDescriptor<number>('sum', { defaultValue: 0 }));
  }
  notifyCheckpointComplete(checkpointId: number): void {
    if (failure === undefined || failure.fired) return;
    for (const s of stats()?.history.find((c) => c.id === checkpointId)?.subtasks ?? [])
      mostAlignedBytes = Math.max(mostAlignedBytes, s.bytesProcessedDuringAlignment);
    const inFlightData = inFlightDataOf(checkpointId);
    // Unaligned: wait for a checkpoint that stored in-flight data (unless everything was processed).
    if (failure.unaligned && inFlightData === 0 && processed < 2 * N) return;
    Object.assign(failure, { fired: true, checkpoint: checkpointId, inFlightData });
    throw new InjectedFailure('after a checkpoint of the two-input operator completed');
  }
  processElement1(a: Traced<A>, ctx: KeyedProcessContext<number>, out: Collector<string>): void {
    const until = performance.now() + SLOW_MS;
    while (performance.now() < until);
    this.add(ctx.getCurrentKey(), a.i, out);
  }
  processElement2(b: Traced<B>, ctx: KeyedProcessContext<number>, out: Collector<string>): void {
    this.add(ctx.getCurrentKey(), b.w, out);
  }
  private add(key: number, w: number, out: Collector<string>): void {
    processed++;
    const count = this.count.value()! + 1;
    const sum = this.sum.value()! + w;
    this.count.update(count);
    this.sum.update(sum);
    out.collect(`count ${key} ${count}`);
    if (count === this.totals[key]) out.collect(`final ${key} ${count} ${sum}`);
  }
}

async function runJob(p: number, dir: string, unaligned: boolean) {
  const totals: Record<number, number> = {};
  for (let i = 0; i < N; i++)
    for (const key of [eventA(i).key, eventB(i).key]) totals[key] = (totals[key] ?? 0) + 1;
  const env = envAt(p);
  env.enableCheckpointing(30);
  if (unaligned) env.getCheckpointConfig().enableUnalignedCheckpoints();
  env.getCheckpointConfig().setCheckpointStorage(fileUri(dir));
  env.configuration.setString('execution.checkpointing.data-inline-threshold', '0b');
  env.configuration.setString('taskmanager.memory.segment-size', '256b');
  env.setBufferTimeout(0);
  env.setRestartStrategy(RestartStrategies.fixedDelay(3, 10));
  const hold = { from: N, until: () => failure?.fired ?? true };
  const a = env.fromSource(tracedGenerator(eventA, N, 1_000_000, hold), 'slow input');
  const b = env.fromSource(tracedGenerator(eventB, N, 1_000_000, hold), 'fast input');
  const counted = a
    .keyBy((r) => r.key)
    .connect(b.keyBy((r) => r.key))
    .process(new SlowFirstInput(totals))
    .name('two-input count');
  return runToEnd(env, counted, 60_000);
}

beforeEach(() => {
  failure = undefined;
  processed = 0;
  mostAlignedBytes = 0;
  resetBarrierPositions();
});

describe.each([1, 2, 3])('barriers across two inputs, the first backpressured, at parallelism %i', (p) => {
  it.each([false, true])(
    'unaligned %s: a failure after a completed checkpoint restores exactly once',
    (unaligned) =>
      withTempDir(async (dir) => {
        failure = { fired: false, checkpoint: 0, inFlightData: 0, unaligned };
        const { records, result } = await runJob(p, dir, unaligned);
        expect(failure.fired).toBe(true);
        if (unaligned) expect(failure.inFlightData).toBeGreaterThan(0);
        else {
          expect(failure.inFlightData).toBe(0);
          // The backpressured input's queued records were processed while the fast input waited at its barrier.
          expect(mostAlignedBytes).toBeGreaterThan(0);
        }
        expectSameMultiset(records, expectedOutput());
        expect(result.numRestarts).toBe(1);
        expect(result.checkpoints.lastRestoredCheckpointId).toBeGreaterThanOrEqual(failure.checkpoint);
      }),
  );
});
