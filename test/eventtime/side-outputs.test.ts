// Side outputs (Flink's OutputTag): records a function emits with ctx.output(tag, value) form a
// stream of their own, read with getSideOutput(tag), across chained and network edges, carrying
// their timestamps and the operator's watermarks.
import { describe, expect, it } from 'vitest';
import {
  KeyedProcessFunction,
  OutputTag,
  ProcessFunction,
  TumblingEventTimeWindows,
  WatermarkStrategy,
  type Collector,
  type KeyedProcessContext,
  type OnTimerContext,
  type ProcessContext,
} from 'sluice';
import { runToEnd } from '../support/checkpointing.js';
import { envAt, expectSameMultiset, range, throwsWith } from '../support/helpers.js';

const odd = new OutputTag<string>('odd');
const unread = new OutputTag<number>('unread');

/** Even numbers to the main output, odd ones (as text) to the side output `odd`. */
class Splitter extends ProcessFunction<number, number> {
  processElement(n: number, ctx: ProcessContext, out: Collector<number>): void {
    if (n % 2 === 0) out.collect(n);
    else ctx.output(odd, `odd ${n}`);
    ctx.output(unread, n);
  }
}

describe('side outputs', () => {
  it('split a stream: the side output is chained, keyed across the network and sunk', async () => {
    const env = envAt(2);
    const main = env.fromSequence(1, 200).process(new Splitter());
    const sideChained = main.getSideOutput(odd).map((s) => `chained ${s}`);
    const sideKeyed = main
      .getSideOutput(odd)
      .map((s) => Number(s.slice(4)))
      .keyBy((n) => n % 10)
      .reduce((a, b) => a + b)
      .map((n) => `keyed ${n}`);
    const all = main.map((n) => `main ${n}`).union(sideChained, sideKeyed);
    const { records } = await runToEnd(env, all);
    const odds = range(1, 200).filter((n) => n % 2 === 1);
    expect(records.filter((r) => r.startsWith('main')).sort()).toEqual(
      range(1, 200)
        .filter((n) => n % 2 === 0)
        .map((n) => `main ${n}`)
        .sort(),
    );
    expectSameMultiset(
      records.filter((r) => r.startsWith('chained')),
      odds.map((n) => `chained odd ${n}`),
    );
    // The running sums per key end at the key's total: every odd number crossed the network once.
    const keyed = records.filter((r) => r.startsWith('keyed')).map((r) => Number(r.slice(6)));
    expect(keyed).toHaveLength(odds.length);
    for (const k of [1, 3, 5, 7, 9]) {
      const total = odds.filter((n) => n % 10 === k).reduce((a, b) => a + b, 0);
      expect(keyed).toContain(total);
    }
  });

  it('carry timestamps and watermarks: an event-time window on a side output fires', async () => {
    const env = envAt(2);
    const strategy = WatermarkStrategy.forMonotonousTimestamps<number>().withTimestampAssigner((n) => n * 10);
    const main = env.fromSequence(1, 100).assignTimestampsAndWatermarks(strategy).process(new Splitter());
    const windows = main
      .getSideOutput(odd)
      .keyBy(() => 0)
      .window(TumblingEventTimeWindows.of(250))
      .process({
        process(_key: number, ctx, elements: Iterable<string>, out: Collector<string>) {
          out.collect(`${ctx.window().getStart()}:${[...elements].length}`);
        },
      });
    const { records } = await runToEnd(env, windows);
    // Odd n in [1, 100] at time 10n: windows of 250 ms hold n in [25w, 25w + 24].
    const expected = new Map<number, number>();
    for (const n of range(1, 100).filter((x) => x % 2 === 1)) {
      const start = Math.floor((n * 10) / 250) * 250;
      expected.set(start, (expected.get(start) ?? 0) + 1);
    }
    expectSameMultiset(
      records,
      [...expected].map(([s, c]) => `${s}:${c}`),
    );
  });

  it('from a KeyedProcessFunction, in processElement and onTimer', async () => {
    const env = envAt(2);
    const fired = new OutputTag<{ key: number; at: number }>('fired');
    const main = env
      .fromSequence(1, 60)
      .assignTimestampsAndWatermarks(
        WatermarkStrategy.forMonotonousTimestamps<number>().withTimestampAssigner((n) => n),
      )
      .keyBy((n) => n % 3)
      .process(
        new (class extends KeyedProcessFunction<number, number, string> {
          processElement(n: number, ctx: KeyedProcessContext<number>, out: Collector<string>): void {
            out.collect(`main ${n}`);
            if (n > 57) ctx.timerService().registerEventTimeTimer(1000 + ctx.getCurrentKey());
          }
          onTimer(timestamp: number, ctx: OnTimerContext<number>, _out: Collector<string>): void {
            ctx.output(fired, { key: ctx.getCurrentKey(), at: timestamp });
          }
        })(),
      );
    const side = main.getSideOutput(fired).map((f) => `timer ${f.key}@${f.at}`);
    const { records } = await runToEnd(env, main.union(side));
    expect(records.filter((r) => r.startsWith('timer')).sort()).toEqual([
      'timer 0@1000',
      'timer 1@1001',
      'timer 2@1002',
    ]);
    expect(records.filter((r) => r.startsWith('main'))).toHaveLength(60);
  });

  it('rejects what is not an OutputTag, and a tag without an id', () => {
    const stream = envAt(1).fromSequence(1, 10).process(new Splitter());
    throwsWith(() => stream.getSideOutput('odd' as never), 'SLUICE_PROGRAM_INVALID');
    throwsWith(() => new OutputTag(''), 'SLUICE_PROGRAM_INVALID');
    expect(new OutputTag('odd').equals(odd)).toBe(true);
  });
});
