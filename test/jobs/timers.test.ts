// Processing-time timers of a KeyedProcessFunction on a running unbounded job: each fires once, for its key, at its time.
import { describe, expect, it } from 'vitest';
import {
  DataGeneratorSource,
  KeyedProcessFunction,
  ValueStateDescriptor,
  type Collector,
  type KeyedProcessContext,
  type OnTimerContext,
  type RuntimeContext,
  type ValueState,
} from 'sluice';
import { PARALLELISMS, collectUntil, envAt } from '../support/helpers.js';

const KEYS = 6;
const DELAY_MS = 20;

type Out =
  | { kind: 'record'; key: number }
  | { kind: 'timer'; key: number; timestamp: number; registered: number; firedAt: number; domain: string };

/** Registers one timer per key, DELAY_MS after the key's first record, and reports it firing. */
class FirstSeenTimer extends KeyedProcessFunction<number, number, Out> {
  private registered!: ValueState<number>;

  open(ctx: RuntimeContext): void {
    this.registered = ctx.getState(new ValueStateDescriptor<number>('registered'));
  }

  processElement(_x: number, ctx: KeyedProcessContext<number>, out: Collector<Out>): void {
    if (this.registered.value() === undefined) {
      const at = ctx.timerService().currentProcessingTime() + DELAY_MS;
      this.registered.update(at);
      ctx.timerService().registerProcessingTimeTimer(at);
      // Registering the same time again is deduplicated, as in Flink.
      ctx.timerService().registerProcessingTimeTimer(at);
    }
    out.collect({ kind: 'record', key: ctx.getCurrentKey() });
  }

  onTimer(timestamp: number, ctx: OnTimerContext<number>, out: Collector<Out>): void {
    out.collect({
      kind: 'timer',
      key: ctx.getCurrentKey(),
      timestamp,
      registered: this.registered.value()!,
      firedAt: ctx.timerService().currentProcessingTime(),
      domain: ctx.timeDomain(),
    });
  }
}

describe.each(PARALLELISMS)('at parallelism %i', (p) => {
  it('fires each key’s processing-time timer once, with that key current', async () => {
    const env = envAt(p);
    const result = env
      .fromSource(new DataGeneratorSource((i) => i % KEYS, Infinity, { recordsPerSecond: 2_000 }), 'ticks')
      .keyBy((x) => x)
      .process(new FirstSeenTimer())
      .collectAsync();
    const timers = (records: readonly Out[]) => records.filter((r) => r.kind === 'timer');
    // Read on well past the timers (records keep flowing after the last one), so a second firing would show.
    let recordsAfterAllFired = 0;
    const { records } = await collectUntil(env, result, (rs) => {
      if (timers(rs).length < KEYS) return false;
      recordsAfterAllFired++;
      return recordsAfterAllFired > 100;
    });
    const fired = timers(records);
    expect(fired.map((t) => t.key).sort()).toEqual([0, 1, 2, 3, 4, 5]);
    for (const t of fired) {
      if (t.kind !== 'timer') continue;
      expect(t.domain).toBe('PROCESSING_TIME');
      expect(t.timestamp).toBe(t.registered);
      expect(t.firedAt).toBeGreaterThanOrEqual(t.timestamp);
    }
    // A key's timer fires after the key's first record was processed.
    const firstRecordIndex = (key: number) => records.findIndex((r) => r.kind === 'record' && r.key === key);
    for (const t of fired) expect(records.indexOf(t)).toBeGreaterThan(firstRecordIndex(t.key));
  });
});

it('a timer deleted before it is due never fires', async () => {
  class DeleteAgain extends KeyedProcessFunction<number, number, string> {
    private seen!: ValueState<boolean>;
    open(ctx: RuntimeContext): void {
      this.seen = ctx.getState(new ValueStateDescriptor<boolean>('seen'));
    }
    processElement(x: number, ctx: KeyedProcessContext<number>, out: Collector<string>): void {
      if (this.seen.value() === undefined) {
        this.seen.update(true);
        const now = ctx.timerService().currentProcessingTime();
        // Even keys keep their timer; odd keys delete it at once.
        ctx.timerService().registerProcessingTimeTimer(now + DELAY_MS);
        if (ctx.getCurrentKey() % 2 === 1) ctx.timerService().deleteProcessingTimeTimer(now + DELAY_MS);
      }
      out.collect(`record ${x}`);
    }
    onTimer(_ts: number, ctx: OnTimerContext<number>, out: Collector<string>): void {
      out.collect(`timer ${ctx.getCurrentKey()}`);
    }
  }
  const env = envAt(2);
  const result = env
    .fromSource(new DataGeneratorSource((i) => i % 4, Infinity, { recordsPerSecond: 2_000 }), 'ticks')
    .keyBy((x) => x)
    .process(new DeleteAgain())
    .collectAsync();
  let after = 0;
  const { records } = await collectUntil(env, result, (rs) => {
    if (rs.filter((r) => r.startsWith('timer')).length < 2) return false;
    return ++after > 100;
  });
  expect(records.filter((r) => r.startsWith('timer')).sort()).toEqual(['timer 0', 'timer 2']);
});
