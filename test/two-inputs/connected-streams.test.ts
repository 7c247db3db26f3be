// Two-input operators end to end: connect with CoMap/CoFlatMap/CoProcess, and a keyed
// KeyedCoProcessFunction with state and event-time timers shared by both inputs per key, whose
// watermark is the minimum of its two inputs'.
import { afterEach, describe, expect, it } from 'vitest';
import {
  CoProcessFunction,
  KeyedCoProcessFunction,
  OutputTag,
  ValueStateDescriptor,
  type Collector,
  type KeyedProcessContext,
  type ProcessContext,
  type RuntimeContext,
  type ValueState,
} from 'sluice';
import { runToEnd, withTempDir } from '../support/checkpointing.js';
import { failureMidInput } from '../support/event-time-failure.js';
import { envAt, expectSameMultiset, range } from '../support/helpers.js';
import { eventSource, expectedCounts } from '../fixtures/event-time-job.js';
import { CoBucketCounter, coBucketCountJob } from '../fixtures/two-input-job.js';

afterEach(() => {
  CoBucketCounter.seen = [0, 0];
});

describe('connect', () => {
  it('map(CoMapFunction) maps each input with its own method', async () => {
    const env = envAt(2);
    const numbers = env.fromCollection(range(1, 50));
    const words = env.fromCollection(['a', 'bb', 'ccc']);
    const out = numbers.connect(words).map({
      map1: (n: number) => `n${n * 2}`,
      map2: (w: string) => `w${w.length}`,
    });
    const { records } = await runToEnd(env, out);
    expectSameMultiset(records, [...range(1, 50).map((n) => `n${n * 2}`), 'w1', 'w2', 'w3']);
  });

  it('flatMap(CoFlatMapFunction) and a union on either side', async () => {
    const env = envAt(3);
    const a = env.fromCollection(range(1, 20)).union(env.fromCollection(range(21, 30)));
    const b = env.fromCollection(['x y', 'z']);
    const out = a.connect(b).flatMap<string>({
      flatMap1(n: number, collector: Collector<string>) {
        if (n % 2 === 0) collector.collect(`even ${n}`);
      },
      flatMap2(s: string, collector: Collector<string>) {
        for (const w of s.split(' ')) collector.collect(w);
      },
    });
    const { records } = await runToEnd(env, out);
    expectSameMultiset(records, [
      ...range(1, 30)
        .filter((n) => n % 2 === 0)
        .map((n) => `even ${n}`),
      'x',
      'y',
      'z',
    ]);
  });

  it('process(CoProcessFunction) sees each record timestamp and runs after the rebalance of either input', async () => {
    const env = envAt(2);
    const a = env.fromCollection(range(1, 10)).rebalance();
    const b = env.fromCollection(range(100, 104)).setParallelism(1);
    class Tag extends CoProcessFunction<number, number, string> {
      processElement1(v: number, ctx: ProcessContext, out: Collector<string>): void {
        out.collect(`1:${v}:${ctx.timestamp()}`);
      }
      processElement2(v: number, ctx: ProcessContext, out: Collector<string>): void {
        out.collect(`2:${v}:${ctx.timestamp()}`);
      }
    }
    const { records } = await runToEnd(env, a.connect(b).process(new Tag()));
    expectSameMultiset(records, [
      ...range(1, 10).map((v) => `1:${v}:null`),
      ...range(100, 104).map((v) => `2:${v}:null`),
    ]);
  });

  it('process(CoProcessFunction) emits side outputs with ctx.output(tag, value)', async () => {
    const env = envAt(2);
    const rejected = new OutputTag<string>('rejected');
    class Route extends CoProcessFunction<number, number, number> {
      processElement1(v: number, ctx: ProcessContext, out: Collector<number>): void {
        if (v % 3 === 0) ctx.output(rejected, `first ${v}`);
        else out.collect(v);
      }
      processElement2(v: number, ctx: ProcessContext): void {
        ctx.output(rejected, `second ${v}`);
      }
    }
    const routed = env
      .fromCollection(range(1, 12))
      .connect(env.fromCollection([100, 101]))
      .process(new Route());
    const all = routed.map((v) => `main ${v}`).union(routed.getSideOutput(rejected).rebalance());
    const { records } = await runToEnd(env, all);
    expectSameMultiset(records, [
      ...range(1, 12)
        .filter((v) => v % 3 !== 0)
        .map((v) => `main ${v}`),
      ...[3, 6, 9, 12].map((v) => `first ${v}`),
      'second 100',
      'second 101',
    ]);
  });

  it('keyed: keyed state is shared by both inputs per key', async () => {
    const env = envAt(2);
    const orders = env.fromCollection(range(0, 29).map((i) => ({ id: `k${i % 6}`, amount: i })));
    const limits = env.fromCollection(range(0, 4).map((i) => ({ id: `k${i}`, limit: 10 * i })));
    type Order = { id: string; amount: number };
    type Limit = { id: string; limit: number };
    class Match extends KeyedCoProcessFunction<string, Order, Limit, string> {
      private sum!: ValueState<number>;
      private limit!: ValueState<number>;
      open(ctx: RuntimeContext): void {
        this.sum = ctx.getState(new ValueStateDescriptor<number>('sum'));
        this.limit = ctx.getState(new ValueStateDescriptor<number>('limit'));
      }
      processElement1(o: Order, ctx: KeyedProcessContext<string>, out: Collector<string>): void {
        this.sum.update((this.sum.value() ?? 0) + o.amount);
        this.emit(ctx, out);
      }
      processElement2(l: Limit, ctx: KeyedProcessContext<string>, out: Collector<string>): void {
        this.limit.update(l.limit);
        this.emit(ctx, out);
      }
      private emit(ctx: KeyedProcessContext<string>, out: Collector<string>): void {
        out.collect(`${ctx.getCurrentKey()}:${this.sum.value() ?? 0}/${this.limit.value() ?? '-'}`);
      }
    }
    const { records } = await runToEnd(
      env,
      orders
        .keyBy((o) => o.id)
        .connect(limits.keyBy((l) => l.id))
        .process(new Match()),
    );
    expect(records).toHaveLength(30 + 5);
    // Whatever the order of the inputs, the last record of a key sees all its orders and its limit.
    for (let k = 0; k < 6; k++) {
      const sum = range(0, 29)
        .filter((i) => i % 6 === k)
        .reduce((a, b) => a + b, 0);
      const mine = records.filter((r) => r.startsWith(`k${k}:`));
      expect(mine, `k${k}`).toContain(`k${k}:${sum}/${k < 5 ? 10 * k : '-'}`);
    }
  });

  it('keyed, event time: counts per key and bucket from both inputs; the slow input holds the watermark back', async () => {
    const env = envAt(2);
    env.getConfig().setAutoWatermarkInterval(10);
    const { records } = await runToEnd(env, coBucketCountJob(env, eventSource(Infinity), eventSource(4000)));
    expectSameMultiset(records, expectedCounts());
    expect(CoBucketCounter.seen[0]).toBeGreaterThan(0);
    expect(CoBucketCounter.seen[1]).toBeGreaterThan(0);
  });

  describe.each(['hashmap', 'lmdb'] as const)('keyed, with checkpoints and a failure (%s)', (backend) => {
    it('gives the same counts exactly once', () =>
      withTempDir(async (dir) => {
        const env = envAt(2);
        const scenario = failureMidInput(env, backend, dir, 'in the co-bucket counter');
        const counter = new CoBucketCounter(scenario.check);
        const { records, result } = await runToEnd(
          env,
          coBucketCountJob(env, scenario.source, eventSource(3000), counter),
          40_000,
        );
        expect(scenario.fired()).toBe(true);
        expect(result.checkpoints.lastRestoredCheckpointId).toBeGreaterThan(0);
        expectSameMultiset(records, expectedCounts());
      }));
  });
});
