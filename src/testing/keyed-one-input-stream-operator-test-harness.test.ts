/** The keyed harness: keyed state, processing-time timers, snapshot and restore (also rescaled). */
import { describe, expect, it } from 'vitest';
import { SluiceError } from '../core/errors.js';
import { assignToKeyGroup, computeOperatorIndexForKeyGroup } from '../core/key-groups.js';
import type { Collector } from '../api/functions.js';
import {
  KeyedProcessFunction,
  type KeyedProcessContext,
  type OnTimerContext,
} from '../api/process-function.js';
import type { RuntimeContext } from '../api/runtime-context.js';
import { MapStateDescriptor, ValueStateDescriptor } from '../state/state-descriptor.js';
import { StateTtlConfig } from '../state/ttl/state-ttl-config.js';
import { Duration } from '../core/duration.js';
import type { MapState, ValueState } from '../state/state.js';
import { AbstractStreamOperatorTestHarness } from './abstract-stream-operator-test-harness.js';
import { ProcessFunctionTestHarnesses } from './process-function-test-harnesses.js';

interface Click {
  readonly page: string;
  /** When set, a timer for the page at this processing time. */
  readonly timerAt?: number;
  /** When set, deletes the page's timer at this time. */
  readonly deleteTimerAt?: number;
}

type Out = readonly [page: string, what: string, value: number];

/** Counts clicks per page in ValueState, keeps per-page referrers in MapState, and reports on timers. */
class PageCounter extends KeyedProcessFunction<string, Click, Out> {
  private count!: ValueState<number>;
  private seen!: MapState<string, boolean>;

  open(ctx: RuntimeContext): void {
    this.count = ctx.getState(new ValueStateDescriptor<number>('count'));
    this.seen = ctx.getMapState(new MapStateDescriptor<string, boolean>('seen'));
  }

  processElement(click: Click, ctx: KeyedProcessContext<string>, out: Collector<Out>): void {
    const n = (this.count.value() ?? 0) + 1;
    this.count.update(n);
    if (n === 3) this.seen.put('third', true);
    if (click.timerAt !== undefined) ctx.timerService().registerProcessingTimeTimer(click.timerAt);
    if (click.deleteTimerAt !== undefined) ctx.timerService().deleteProcessingTimeTimer(click.deleteTimerAt);
    out.collect([ctx.getCurrentKey(), 'count', n]);
  }

  onTimer(timestamp: number, ctx: OnTimerContext<string>, out: Collector<Out>): void {
    out.collect([ctx.getCurrentKey(), `timer@${timestamp}`, ctx.timerService().currentProcessingTime()]);
  }
}

function counterHarness(
  options?: Parameters<typeof ProcessFunctionTestHarnesses.forKeyedProcessFunction>[2],
) {
  return ProcessFunctionTestHarnesses.forKeyedProcessFunction(
    new PageCounter(),
    (c: Click) => c.page,
    options,
  );
}

/** `n` page names owned by subtask `index` of `parallelism` (with the default 128 key groups). */
function pagesOf(index: number, parallelism: number, n: number): string[] {
  const pages: string[] = [];
  for (let i = 0; pages.length < n; i++) {
    const page = `p${i}`;
    if (computeOperatorIndexForKeyGroup(128, parallelism, assignToKeyGroup(page, 128)) === index)
      pages.push(page);
  }
  return pages;
}

async function expectCode(promise: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SluiceError);
  expect(error).toMatchObject({ code });
  expect((error as Error).message).toMatch(message);
}

describe('KeyedOneInputStreamOperatorTestHarness', () => {
  it('keeps keyed state per key and counts its entries', async () => {
    const harness = counterHarness();
    harness.processElements([{ page: 'a' }, { page: 'b' }, { page: 'a' }, { page: 'a' }]);
    expect(harness.extractOutputValues()).toEqual([
      ['a', 'count', 1],
      ['b', 'count', 1],
      ['a', 'count', 2],
      ['a', 'count', 3],
    ]);
    // count for a and b, seen for a
    expect(harness.numKeyedStateEntries()).toBe(3);
    await harness.close();
  });

  it('fires due processing-time timers in time order, each seeing the new processing time', async () => {
    const harness = counterHarness();
    harness.processElement({ page: 'a', timerAt: 30 });
    harness.processElement({ page: 'b', timerAt: 10 });
    harness.processElement({ page: 'a', timerAt: 10 });
    harness.processElement({ page: 'c', timerAt: 50 });
    harness.processElement({ page: 'c', timerAt: 50 }); // the same timer again: deduplicated
    expect(harness.numProcessingTimeTimers()).toBe(4);
    harness.clearOutput();

    harness.setProcessingTime(9);
    expect(harness.getOutput()).toEqual([]);
    harness.setProcessingTime(30);
    expect(harness.extractOutputValues()).toEqual([
      ['b', 'timer@10', 30],
      ['a', 'timer@10', 30],
      ['a', 'timer@30', 30],
    ]);
    expect(harness.numProcessingTimeTimers()).toBe(1);
    expect(harness.getProcessingTime()).toBe(30);
    expect(harness.getCurrentKey()).toBe('a');
    await harness.close();
  });

  it('fires a timer registered for a time already reached at the next time move, as Flink', async () => {
    const harness = counterHarness();
    harness.setProcessingTime(100);
    harness.processElement({ page: 'a', timerAt: 40 });
    expect(harness.extractOutputValues()).toEqual([['a', 'count', 1]]);
    harness.setProcessingTime(100);
    expect(harness.extractOutputValues()).toEqual([
      ['a', 'count', 1],
      ['a', 'timer@40', 100],
    ]);
    await harness.close();
  });

  it('does not fire a deleted timer', async () => {
    const harness = counterHarness();
    harness.processElement({ page: 'a', timerAt: 10 });
    harness.processElement({ page: 'a', timerAt: 20, deleteTimerAt: 10 });
    expect(harness.numProcessingTimeTimers()).toBe(1);
    harness.clearOutput();
    harness.setProcessingTime(25);
    expect(harness.extractOutputValues()).toEqual([['a', 'timer@20', 25]]);
    await harness.close();
  });

  it('restores keyed state and timers from a snapshot into a fresh harness', async () => {
    const harness = counterHarness();
    harness.processElements([{ page: 'a' }, { page: 'a', timerAt: 100 }, { page: 'b', timerAt: 200 }]);
    const snapshot = await harness.snapshot(1, 0);
    expect(snapshot.checkpointId).toBe(1);
    expect(snapshot.getStateSize()).toBeGreaterThan(0);
    await harness.close();

    const restored = counterHarness();
    await restored.initializeState(snapshot);
    expect(restored.getOutput()).toEqual([]);
    expect(restored.numProcessingTimeTimers()).toBe(2);
    restored.processElement({ page: 'a' });
    restored.processElement({ page: 'b' });
    restored.setProcessingTime(150);
    expect(restored.extractOutputValues()).toEqual([
      ['a', 'count', 3],
      ['b', 'count', 2],
      ['a', 'timer@100', 150],
    ]);
    expect(restored.numKeyedStateEntries()).toBe(3);
    await restored.close();
  });

  it('snapshots the state as of the snapshot() call, not the input processed while it is written', async () => {
    const harness = counterHarness();
    harness.processElements([{ page: 'a' }, { page: 'a' }]);
    const pending = harness.snapshot(1, 0);
    harness.processElements([{ page: 'a' }, { page: 'a', timerAt: 5 }]);
    const snapshot = await pending;
    await harness.close();

    const restored = counterHarness();
    await restored.initializeState(snapshot);
    restored.processElement({ page: 'a' });
    expect(restored.extractOutputValues()).toEqual([['a', 'count', 3]]);
    expect(restored.numProcessingTimeTimers()).toBe(0);
    await restored.close();
  });

  it('restores the repackaged snapshots of several subtasks at another parallelism', async () => {
    const [pages0, pages1] = [pagesOf(0, 2, 3), pagesOf(1, 2, 3)];
    const snapshots = [];
    for (const [index, pages] of [pages0, pages1].entries()) {
      const harness = counterHarness({ parallelism: 2, subtaskIndex: index });
      for (const page of pages) harness.processElements([{ page }, { page, timerAt: 10 }]);
      snapshots.push(await harness.snapshot(7, 0));
      await harness.close();
    }
    const merged = AbstractStreamOperatorTestHarness.repackageState(...snapshots);

    const single = counterHarness();
    await single.initializeState(merged);
    for (const page of [...pages0, ...pages1]) single.processElement({ page });
    expect(single.extractOutputValues()).toEqual([...pages0, ...pages1].map((p) => [p, 'count', 3]));
    expect(single.numProcessingTimeTimers()).toBe(6);
    await single.close();

    // At parallelism 3 each subtask gets exactly the keys of its key groups.
    let restoredTimers = 0;
    for (let index = 0; index < 3; index++) {
      const harness = counterHarness({ parallelism: 3, subtaskIndex: index });
      await harness.initializeState(merged);
      const mine = [...pages0, ...pages1].filter((p) => pagesOf(index, 3, 200).includes(p));
      for (const page of mine) harness.processElement({ page });
      expect(harness.extractOutputValues()).toEqual(mine.map((p) => [p, 'count', 3]));
      restoredTimers += harness.numProcessingTimeTimers();
      await harness.close();
    }
    expect(restoredTimers).toBe(6);
  });

  it('rejects a key of another subtask, as a job does', async () => {
    const harness = counterHarness({ parallelism: 2, subtaskIndex: 0 });
    const [other] = pagesOf(1, 2, 1);
    expect(() => harness.processElement({ page: other! })).toThrow(
      expect.objectContaining({ code: 'SLUICE_STATE_INVALID_ACCESS' }),
    );
    await harness.close();
  });

  it('refuses to restore the snapshot of one subtask of several alone, which would lose state', async () => {
    const harness = counterHarness({ parallelism: 2, subtaskIndex: 1 });
    harness.processElement({ page: pagesOf(1, 2, 1)[0]! });
    const snapshot = await harness.snapshot(1, 0);
    await harness.close();
    const restored = counterHarness({ parallelism: 2, subtaskIndex: 1 });
    await expectCode(
      restored.initializeState(snapshot),
      'SLUICE_RESTORE_FAILED',
      /subtask 0 missing.*repackageState/,
    );
    // Nothing was restored: the harness is still fresh and usable.
    restored.processElement({ page: pagesOf(1, 2, 1)[0]! });
    expect(restored.extractOutputValues()).toEqual([[pagesOf(1, 2, 1)[0], 'count', 1]]);
    await restored.close();
  });

  it('refuses keyed state taken with another max parallelism', async () => {
    const harness = counterHarness({ maxParallelism: 256 });
    harness.processElement({ page: 'a' });
    const snapshot = await harness.snapshot(1, 0);
    await harness.close();
    const restored = counterHarness();
    await expectCode(restored.initializeState(snapshot), 'SLUICE_RESTORE_FAILED', /maxParallelism: 256/);
    await restored.close();
  });

  it('refuses keyed state in a harness that is not keyed', async () => {
    const harness = counterHarness();
    harness.processElement({ page: 'a' });
    const snapshot = await harness.snapshot(1, 0);
    await harness.close();
    const plain = ProcessFunctionTestHarnesses.forMapFunction((c: Click) => c.page);
    await expectCode(plain.initializeState(snapshot), 'SLUICE_RESTORE_FAILED', /not keyed/);
    await plain.close();
  });

  it('reports a throwing function as a job does, and keeps going', async () => {
    const harness = ProcessFunctionTestHarnesses.forKeyedProcessFunction(
      {
        processElement(value: number, _ctx: KeyedProcessContext<string>, out: Collector<number>) {
          if (value < 0) throw new RangeError(`negative: ${value}`);
          out.collect(value);
        },
      },
      (v: number) => (v < 0 ? 'neg' : 'pos'),
    );
    let thrown: unknown;
    try {
      harness.processElement(-1);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toMatchObject({ code: 'SLUICE_USER_FUNCTION_FAILED', cause: expect.any(RangeError) });
    expect((thrown as Error).message).toMatch(
      /operator 'KeyedProcess' \(subtask 1\/1\) threw in processElement: negative: -1/,
    );
    harness.processElement(2);
    expect(harness.extractOutputValues()).toEqual([2]);
    await harness.close();
  });

  it('reports an unhashable key as a job does', async () => {
    const harness = ProcessFunctionTestHarnesses.forKeyedProcessFunction(
      { processElement() {} },
      (v: { k?: string }) => v.k as string,
    );
    expect(() => harness.processElement({})).toThrow(
      expect.objectContaining({ code: 'SLUICE_KEY_NOT_HASHABLE' }),
    );
    await harness.close();
  });

  it('reads keyed state counts only before close()', async () => {
    const harness = counterHarness();
    harness.processElement({ page: 'a' });
    await harness.close();
    expect(() => harness.numKeyedStateEntries()).toThrow(/after close\(\)/);
    expect(() => harness.numProcessingTimeTimers()).toThrow(/after close\(\)/);
  });
});

describe('state TTL in a harness', () => {
  it("measures TTL in the harness's processing time", async () => {
    class Remember extends KeyedProcessFunction<string, string, string> {
      private last!: ValueState<string>;
      open(ctx: RuntimeContext): void {
        const descriptor = new ValueStateDescriptor<string>('last');
        descriptor.enableTimeToLive(StateTtlConfig.newBuilder(Duration.ofMillis(100)).build());
        this.last = ctx.getState(descriptor);
      }
      processElement(value: string, _ctx: KeyedProcessContext<string>, out: Collector<string>): void {
        out.collect(this.last.value() ?? 'none');
        this.last.update(value);
      }
    }
    const harness = ProcessFunctionTestHarnesses.forKeyedProcessFunction(new Remember(), (s: string) =>
      s.slice(0, 1),
    );
    harness.setProcessingTime(1_000);
    harness.processElement('a1');
    harness.setProcessingTime(1_099);
    harness.processElement('a2');
    harness.setProcessingTime(1_199);
    harness.processElement('a3');
    expect(harness.extractOutputValues()).toEqual(['none', 'a1', 'none']);
    await harness.close();
  });
});
