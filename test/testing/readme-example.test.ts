// page-counts.test.ts: unit-tests a KeyedProcessFunction with sluice/testing, no job needed.
import { expect, it } from 'vitest';
import { KeyedProcessFunction, ValueStateDescriptor } from 'sluice';
import type { Collector, KeyedProcessContext, OnTimerContext, RuntimeContext, ValueState } from 'sluice';
import { ProcessFunctionTestHarnesses } from 'sluice/testing';

interface Click {
  page: string;
}

/** Counts each page's clicks and reports the count a minute after the page's first click. */
class PageCounts extends KeyedProcessFunction<string, Click, [string, number]> {
  private count!: ValueState<number>;

  open(ctx: RuntimeContext) {
    this.count = ctx.getState(new ValueStateDescriptor<number>('count'));
  }

  processElement(click: Click, ctx: KeyedProcessContext<string>) {
    const n = (this.count.value() ?? 0) + 1;
    this.count.update(n);
    const now = ctx.timerService().currentProcessingTime();
    if (n === 1) ctx.timerService().registerProcessingTimeTimer(now + 60_000);
  }

  onTimer(timestamp: number, ctx: OnTimerContext<string>, out: Collector<[string, number]>) {
    out.collect([ctx.getCurrentKey(), this.count.value() ?? 0]);
    this.count.clear();
  }
}

const byPage = (click: Click) => click.page;

it('reports each page a minute after its first click, also after a restore', async () => {
  const harness = ProcessFunctionTestHarnesses.forKeyedProcessFunction(new PageCounts(), byPage);
  harness.processElement({ page: 'home' });
  harness.processElement({ page: 'home' });
  harness.setProcessingTime(30_000);
  harness.processElement({ page: 'docs' });
  expect(harness.numKeyedStateEntries()).toBe(2);
  const snapshot = await harness.snapshot(1, 30_000); // state and timers, as a checkpoint writes them
  await harness.close();

  const restored = ProcessFunctionTestHarnesses.forKeyedProcessFunction(new PageCounts(), byPage);
  await restored.initializeState(snapshot);
  restored.processElement({ page: 'home' });
  restored.setProcessingTime(60_000);
  expect(restored.extractOutputValues()).toEqual([['home', 3]]);
  restored.setProcessingTime(90_000);
  expect(restored.extractOutputValues()).toEqual([
    ['home', 3],
    ['docs', 1],
  ]);
  await restored.close();
});
