// BATCH runtime mode (execution.runtime-mode), as Flink's: keyed aggregations emit each key's
// final value at the end of input, processing-time timers fire at the end of input, no
// checkpoints are taken, AUTOMATIC picks BATCH when every source is bounded, and an unbounded
// source in BATCH is refused.
import { describe, expect, it } from 'vitest';
import {
  Configuration,
  DataGeneratorSource,
  KeyedProcessFunction,
  PipelineOptions,
  RuntimeExecutionMode,
  StreamExecutionEnvironment,
  ValueStateDescriptor,
  type Collector,
  type KeyedProcessContext,
  type OnTimerContext,
  type ValueState,
} from 'sluice';
import {
  PARALLELISMS,
  envAt,
  expectSameMultiset,
  range,
  rejectsWith,
  throwsWith,
} from '../support/helpers.js';

type Row = [string, number, number];

/** key k0..k4, a value unique per record (so minBy/maxBy have no ties), and a second field. */
const ROWS: Row[] = range(1, 200).map((i) => [`k${i % 5}`, (i * 37) % 211, i]);

function finalPerKey(reduce: (a: Row, b: Row) => Row): Row[] {
  const finals = new Map<string, Row>();
  for (const row of ROWS) {
    const current = finals.get(row[0]);
    finals.set(row[0], current === undefined ? row : reduce(current, row));
  }
  return [...finals.values()];
}

const byValue = (a: Row, b: Row) => a[1] - b[1];
const AGGREGATIONS = {
  sum: finalPerKey((a, b) => [a[0], a[1] + b[1], a[2]]),
  min: finalPerKey((a, b) => [a[0], Math.min(a[1], b[1]), a[2]]),
  max: finalPerKey((a, b) => [a[0], Math.max(a[1], b[1]), a[2]]),
  minBy: finalPerKey((a, b) => (byValue(b, a) < 0 ? b : a)),
  maxBy: finalPerKey((a, b) => (byValue(b, a) > 0 ? b : a)),
};

describe.each(PARALLELISMS)('BATCH at parallelism %i', (p) => {
  it.each(Object.keys(AGGREGATIONS) as (keyof typeof AGGREGATIONS)[])(
    'keyBy().%s(1) emits only each key’s final value, at the end of input',
    async (kind) => {
      const env = envAt(p).setRuntimeMode(RuntimeExecutionMode.BATCH);
      const keyed = env
        .fromCollection(ROWS)
        .rebalance()
        .keyBy((r) => r[0]);
      const result = keyed[kind](1).collectAsync();
      await env.execute();
      // min and max keep the other fields of the key's first record, which arrives in any order
      // at parallelism > 1: compare the key and the aggregated field there.
      const rows = await result.toArray();
      const shape = (r: Row) => ((kind === 'min' || kind === 'max') && p > 1 ? [r[0], r[1]] : r);
      expectSameMultiset(rows.map(shape), AGGREGATIONS[kind].map(shape));
    },
  );

  it('reduce emits one final value per key; STREAMING emits every step and ends with the same', async () => {
    const run = async (mode: RuntimeExecutionMode) => {
      const env = envAt(p).setRuntimeMode(mode);
      const result = env
        .fromSequence(1, 1_000)
        .keyBy((x) => x % 7)
        .reduce((a, b) => a + b)
        .collectAsync();
      await env.execute();
      return result.toArray();
    };
    const expected = range(0, 6).map((k) =>
      range(1, 1_000)
        .filter((x) => x % 7 === k)
        .reduce((a, b) => a + b, 0),
    );
    expectSameMultiset(await run('BATCH'), expected);
    const streaming = await run('STREAMING');
    expect(streaming).toHaveLength(1_000);
    expect(expected.every((sum) => streaming.includes(sum))).toBe(true);
  });

  it('processing-time timers fire at the end of input, each key’s in time order, with its final state', async () => {
    const rows = await countThenReport(envAt(p).setRuntimeMode('BATCH'));
    // Each key registered two timers an hour ahead; both fired, in order, seeing all 20 records.
    expectSameMultiset(
      rows,
      [0, 1, 2].flatMap((k) => [`key ${k}: first timer, count 20`, `key ${k}: second timer, count 20`]),
    );
    for (const k of [0, 1, 2]) {
      const mine = rows.filter((r) => r.startsWith(`key ${k}:`));
      expect(mine).toEqual([`key ${k}: first timer, count 20`, `key ${k}: second timer, count 20`]);
    }
  });
});

/**
 * Counts its key's records; on the first registers two processing-time timers an hour ahead, and
 * reports when they fire. A timer registered while timers fire at the end of a batch job is
 * ignored, as in Flink, so re-registering in onTimer cannot loop forever.
 */
class CountThenReport extends KeyedProcessFunction<number, number, string> {
  private count!: ValueState<number>;
  private hour!: ValueState<number>;
  open() {
    this.count = this.getRuntimeContext().getState(new ValueStateDescriptor<number>('count'));
    this.hour = this.getRuntimeContext().getState(new ValueStateDescriptor<number>('hour'));
  }
  processElement(_x: number, ctx: KeyedProcessContext<number>, _out: Collector<string>) {
    const n = (this.count.value() ?? 0) + 1;
    this.count.update(n);
    if (n === 1) {
      const hour = ctx.timerService().currentProcessingTime() + 3_600_000;
      this.hour.update(hour);
      ctx.timerService().registerProcessingTimeTimer(hour + 1);
      ctx.timerService().registerProcessingTimeTimer(hour);
    }
  }
  onTimer(timestamp: number, ctx: OnTimerContext<number>, out: Collector<string>) {
    const which = timestamp === this.hour.value() ? 'first' : 'second';
    // As Flink, a timer's context has the timer's time as its timestamp.
    if (ctx.timestamp() !== timestamp)
      throw new Error(`ctx.timestamp() is ${ctx.timestamp()}, not ${timestamp}`);
    out.collect(`key ${ctx.getCurrentKey()}: ${which} timer, count ${this.count.value()}`);
    ctx.timerService().registerProcessingTimeTimer(timestamp + 1_000);
  }
}

/** Runs CountThenReport over 1..60 keyed by x % 3 and returns what it emitted. */
async function countThenReport(env: StreamExecutionEnvironment): Promise<string[]> {
  const result = env
    .fromSequence(1, 60)
    .keyBy((x) => x % 3)
    .process(new CountThenReport())
    .collectAsync();
  await env.execute();
  return result.toArray();
}

describe('runtime modes', () => {
  it('STREAMING drops processing-time timers still pending at the end of input', async () => {
    expect(await countThenReport(envAt(2))).toEqual([]);
  });

  it('execution.runtime-mode: BATCH in the configuration, and the string forms, select BATCH', async () => {
    const configuration = new Configuration().set(PipelineOptions.RUNTIME_MODE, 'batch');
    const env = StreamExecutionEnvironment.getExecutionEnvironment(configuration);
    const result = env
      .fromElements(1, 2, 3, 4)
      .keyBy((x) => x % 2)
      .sum()
      .collectAsync();
    await env.execute();
    expectSameMultiset(await result.toArray(), [6, 4]);
    expect(envAt(1).setRuntimeMode('AUTOMATIC').configuration.get(PipelineOptions.RUNTIME_MODE)).toBe(
      'AUTOMATIC',
    );
  });

  it('a bad runtime mode is refused naming setRuntimeMode()', () => {
    const error = throwsWith(
      () => envAt(1).setRuntimeMode('FAST' as RuntimeExecutionMode),
      'SLUICE_CONFIG_INVALID_VALUE',
    );
    expect(error.message).toMatch(
      /execution\.runtime-mode.*FAST.*STREAMING, BATCH, AUTOMATIC.*setRuntimeMode\(\)/u,
    );
  });

  it('AUTOMATIC runs a job of bounded sources in BATCH, and a job with an unbounded one in STREAMING', async () => {
    const bounded = envAt(2).setRuntimeMode(RuntimeExecutionMode.AUTOMATIC);
    const sums = bounded
      .fromSequence(1, 100)
      .keyBy((x) => x % 2)
      .sum()
      .collectAsync();
    await bounded.execute();
    expectSameMultiset(await sums.toArray(), [2550, 2500]);

    const unbounded = envAt(2).setRuntimeMode(RuntimeExecutionMode.AUTOMATIC);
    const running = unbounded
      .fromSource(new DataGeneratorSource((i) => i, Infinity), 'forever')
      .keyBy((x) => x % 2)
      .sum()
      .executeAndCollect('automatic', 10);
    // Rolling sums arrive while the source runs: STREAMING.
    expect(await running).toHaveLength(10);
  });

  it('BATCH with an unbounded source is refused with Flink’s message', async () => {
    const env = envAt(1).setRuntimeMode(RuntimeExecutionMode.BATCH);
    env.fromSource(new DataGeneratorSource((i) => i, Infinity), 'forever').print();
    const error = await rejectsWith(env.execute(), 'SLUICE_PROGRAM_INVALID');
    expect(error.message).toBe(
      "Detected an UNBOUNDED source ('forever') with the 'execution.runtime-mode' set to 'BATCH'. " +
        "This combination is not allowed, please set the 'execution.runtime-mode' to STREAMING or AUTOMATIC.",
    );
  });

  it('BATCH takes no checkpoints even when checkpointing is enabled', async () => {
    const env = envAt(2).setRuntimeMode(RuntimeExecutionMode.BATCH);
    env.enableCheckpointing(1);
    const result = env
      .fromSequence(1, 20_000)
      .keyBy((x) => x % 10)
      .sum()
      .collectAsync();
    const client = await env.executeAsync();
    const done = await client.getJobExecutionResult();
    expect(client.getCheckpointStats()).toBeUndefined();
    expect(done.checkpoints.completed).toBe(0);
    expect(await result.toArray()).toHaveLength(10);
  });
});
