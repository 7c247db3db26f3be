/**
 * WindowOperator beyond fixed windows with default triggers, in the keyed harness: session
 * windows (merging, contents and timers moved, restore at another parallelism), global and count
 * windows with triggers, evictors, allowed lateness and the late-data side output, window state.
 */
import { describe, expect, it } from 'vitest';
import { assignToKeyGroup, computeOperatorIndexForKeyGroup } from '../../core/key-groups.js';
import { ReducingStateDescriptor, ValueStateDescriptor } from '../../state/state-descriptor.js';
import type { AggregateFunction } from '../../state/functions.js';
import type { Collector } from '../functions.js';
import { OutputTag } from '../output-tag.js';
import { AbstractStreamOperatorTestHarness } from '../../testing/abstract-stream-operator-test-harness.js';
import { KeyedOneInputStreamOperatorTestHarness } from '../../testing/keyed-one-input-stream-operator-test-harness.js';
import { CountEvictor, DeltaEvictor, TimeEvictor } from '../windowing/evictors.js';
import { ProcessWindowFunction, type ProcessWindowContext } from '../windowing/process-window-function.js';
import { EventTimeSessionWindows, ProcessingTimeSessionWindows } from '../windowing/session-windows.js';
import type { TimeWindow } from '../windowing/time-window.js';
import { Trigger, TriggerResult, type TriggerContext } from '../windowing/trigger.js';
import {
  ContinuousEventTimeTrigger,
  CountTrigger,
  EventTimeTrigger,
  PurgingTrigger,
} from '../windowing/triggers.js';
import {
  GlobalWindows,
  TumblingEventTimeWindows,
  type WindowAssigner,
} from '../windowing/window-assigners.js';
import type { Window } from '../windowing/window.js';
import {
  AggregateContents,
  EvictingContents,
  ListContents,
  ReduceContents,
  WindowOperator,
  type WindowContents,
  type WindowOptions,
} from './window-operator.js';

type Ev = [string, number];
const key = (e: Ev) => e[0];
const sum = (a: Ev, b: Ev): Ev => [a[0], a[1] + b[1]];

function harness<ACC, R, OUT, W extends Window>(
  assigner: WindowAssigner<Ev, W>,
  contents: WindowContents<Ev, ACC, R>,
  fn?: ProcessWindowFunction<R, OUT, string, W>,
  options: WindowOptions<Ev, W> = {},
  harnessOptions: { parallelism?: number; subtaskIndex?: number } = {},
) {
  const stored = options.evictor ? new EvictingContents(contents) : contents;
  return new KeyedOneInputStreamOperatorTestHarness<string, Ev, OUT>(
    {
      name: 'Window',
      keyed: true,
      create: () => new WindowOperator<string, Ev, unknown, R, OUT, W>(assigner, stored, fn, key, options),
    },
    harnessOptions,
  );
}

/** Each firing as `key [start,end) values`. */
class Describe extends ProcessWindowFunction<Ev, string, string> {
  process(k: string, ctx: ProcessWindowContext, elements: Iterable<Ev>, out: Collector<string>): void {
    const w = ctx.window();
    out.collect(`${k} [${w.getStart()},${w.getEnd()}) ${[...elements].map((e) => e[1]).join(',')}`);
  }
}

/** Each firing of a global window as `key values`. */
class Values extends ProcessWindowFunction<Ev, string, string, Window> {
  process(
    k: string,
    _ctx: ProcessWindowContext<Window>,
    elements: Iterable<Ev>,
    out: Collector<string>,
  ): void {
    out.collect(`${k} ${[...elements].map((e) => e[1]).join(',')}`);
  }
}

describe('session windows', () => {
  it('merge overlapping sessions of a key, fire once at the merged end and leave nothing behind', async () => {
    const h = harness(EventTimeSessionWindows.withGap(5), new ListContents<Ev>(), new Describe());
    h.processElement(['a', 1], 1); // [1,6)
    h.processElement(['a', 2], 10); // [10,15)
    h.processElement(['b', 3], 2); // [2,7)
    expect(h.numEventTimeTimers()).toBe(3);
    h.processElement(['a', 4], 5); // [5,10) bridges both: [1,15)
    expect(h.numEventTimeTimers()).toBe(2);
    h.processWatermark(6);
    expect(h.extractOutputValues()).toEqual(['b [2,7) 3']);
    h.processWatermark(13);
    expect(h.extractOutputValues()).toHaveLength(1);
    h.processWatermark(14);
    // Flink's order: the first merged window's contents, then the others', then the new record.
    expect(h.extractOutputValues()).toEqual(['b [2,7) 3', 'a [1,15) 1,2,4']);
    expect(h.extractOutputStreamRecords().map((r) => r.timestamp)).toEqual([6, 14]);
    expect(h.numKeyedStateEntries()).toBe(0);
    expect(h.numEventTimeTimers()).toBe(0);
    await h.close();
  });

  it('merge incremental contents: reduce and aggregate (with merge) across merged sessions', async () => {
    const r = harness(EventTimeSessionWindows.withGap(10), new ReduceContents<Ev>(sum));
    for (const [v, t] of [
      [1, 0],
      [2, 18],
      [4, 9],
      [8, 100],
    ] as const)
      r.processElement(['k', v], t);
    r.processWatermark(200);
    // [0,10) and [18,28) are apart until [9,19) bridges them: one session of 1+2+4.
    expect(r.extractOutputValues()).toEqual([
      ['k', 7],
      ['k', 8],
    ]);
    await r.close();

    const count: AggregateFunction<Ev, number, number> = {
      createAccumulator: () => 0,
      add: (_e, acc) => acc + 1,
      getResult: (acc) => acc,
      merge: (a, b) => a + b,
    };
    const a = harness(EventTimeSessionWindows.withGap(10), new AggregateContents(count));
    for (const t of [0, 18, 9, 10, 100]) a.processElement(['k', 0], t);
    a.processWatermark(200);
    expect(a.extractOutputValues()).toEqual([4, 1]);
    await a.close();
  });

  it('take the gap from each record with withDynamicGap', async () => {
    const h = harness(
      EventTimeSessionWindows.withDynamicGap<Ev>((e) => e[1]),
      new ListContents<Ev>(),
      new Describe(),
    );
    h.processElement(['a', 3], 0); // [0,3)
    h.processElement(['a', 20], 5); // [5,25): apart from [0,3)
    h.processElement(['a', 1], 24); // [24,25): inside [5,25)
    h.processWatermark(100);
    expect(h.extractOutputValues()).toEqual(['a [0,3) 3', 'a [5,25) 20,1']);
    await h.close();
    expect(() => EventTimeSessionWindows.withGap(0)).toThrow(/0 < size/);
    const bad = harness(
      EventTimeSessionWindows.withDynamicGap<Ev>(() => -1),
      new ListContents<Ev>(),
    );
    expect(() => bad.processElement(['a', 1], 1)).toThrow(/positive number of ms/);
    await bad.close().catch(() => {});
  });

  it('in processing time, merge by arrival and fire when the clock passes the session end', async () => {
    const h = harness(ProcessingTimeSessionWindows.withGap(10), new ListContents<Ev>(), new Describe());
    h.setProcessingTime(0);
    h.processElement(['a', 1]);
    h.setProcessingTime(8);
    h.processElement(['a', 2]); // [8,18) merges with [0,10)
    h.setProcessingTime(12);
    expect(h.extractOutputValues()).toEqual([]);
    h.setProcessingTime(17);
    expect(h.extractOutputValues()).toEqual(['a [0,18) 1,2']);
    expect(h.numKeyedStateEntries()).toBe(0);
    await h.close();
  });

  it('restore open sessions at another parallelism and keep merging them', async () => {
    const ownedBy = (k: string, index: number, parallelism: number) =>
      computeOperatorIndexForKeyGroup(128, parallelism, assignToKeyGroup(k, 128)) === index;
    const create = (subtaskIndex: number, parallelism: number) =>
      harness(
        EventTimeSessionWindows.withGap(10),
        new ReduceContents<Ev>(sum),
        undefined,
        {},
        {
          parallelism,
          subtaskIndex,
        },
      );
    const keys = Array.from({ length: 10 }, (_, i) => `k${i}`);
    const snapshots = [];
    for (const index of [0, 1]) {
      const h = create(index, 2);
      for (const k of keys.filter((k) => ownedBy(k, index, 2))) {
        h.processElement([k, 1], 0);
        h.processElement([k, 2], 18);
      }
      snapshots.push(await h.snapshot(1, 0));
      await h.close();
    }
    const merged = AbstractStreamOperatorTestHarness.repackageState(...snapshots);
    const fired: unknown[] = [];
    for (let index = 0; index < 3; index++) {
      const h = create(index, 3);
      await h.initializeState(merged);
      // Bridges the two restored sessions of each key this subtask owns.
      for (const k of keys.filter((k) => ownedBy(k, index, 3))) h.processElement([k, 4], 9);
      h.processWatermark(100);
      fired.push(...h.extractOutputValues());
      expect(h.numKeyedStateEntries()).toBe(0);
      await h.close();
    }
    expect(fired.sort()).toEqual(keys.map((k) => [k, 7]).sort());
  });
});

describe('global and count windows with triggers', () => {
  it('GlobalWindows never fire by themselves; CountTrigger fires every n records, keeping the contents', async () => {
    const never = harness(GlobalWindows.create(), new ListContents<Ev>(), new Values());
    for (let i = 0; i < 5; i++) never.processElement(['a', i], i);
    never.processWatermark(1e12);
    expect(never.extractOutputValues()).toEqual([]);
    await never.close();

    const h = harness(GlobalWindows.create(), new ListContents<Ev>(), new Values(), {
      trigger: CountTrigger.of(2),
    });
    for (let i = 1; i <= 5; i++) h.processElement(['a', i]);
    h.processElement(['b', 9]);
    expect(h.extractOutputValues()).toEqual(['a 1,2', 'a 1,2,3,4']);
    await h.close();
  });

  it('PurgingTrigger purges what fired: tumbling count windows', async () => {
    const h = harness(GlobalWindows.create(), new ReduceContents<Ev>(sum), undefined, {
      trigger: PurgingTrigger.of(CountTrigger.of(3)),
    });
    for (let i = 1; i <= 7; i++) h.processElement(['a', i]);
    expect(h.extractOutputValues()).toEqual([
      ['a', 6],
      ['a', 15],
    ]);
    // The global window's results carry the end of time, as Flink's.
    expect(h.extractOutputStreamRecords()[0]!.timestamp).toBe(Number.MAX_SAFE_INTEGER);
    await h.close();
  });

  it('sliding count windows: CountEvictor keeps the last `size`, CountTrigger fires every `slide`', async () => {
    const h = harness(GlobalWindows.create(), new ListContents<Ev>(), new Values(), {
      trigger: CountTrigger.of(2),
      evictor: CountEvictor.of(3),
    });
    for (let i = 1; i <= 6; i++) h.processElement(['a', i]);
    expect(h.extractOutputValues()).toEqual(['a 1,2', 'a 2,3,4', 'a 4,5,6']);
    await h.close();
  });

  it('ContinuousEventTimeTrigger fires early every interval and once more at the window end', async () => {
    const h = harness(TumblingEventTimeWindows.of(100), new ReduceContents<Ev>(sum), undefined, {
      trigger: ContinuousEventTimeTrigger.of(30),
    });
    h.processElement(['a', 1], 5);
    h.processWatermark(29);
    expect(h.extractOutputValues()).toEqual([]);
    h.processWatermark(30);
    expect(h.extractOutputValues()).toEqual([['a', 1]]);
    h.processElement(['a', 2], 40);
    h.processWatermark(99);
    expect(h.extractOutputValues()).toEqual([
      ['a', 1],
      ['a', 3],
      ['a', 3],
      ['a', 3],
    ]);
    expect(h.numKeyedStateEntries()).toBe(0);
    expect(h.numEventTimeTimers()).toBe(0);
    await h.close();
  });

  it('a custom Trigger gets partitioned state per window and its own timers', async () => {
    /** Fires when a window's sum reaches 10, or at its end; purges on fire. */
    class SumTrigger extends Trigger<Ev, TimeWindow> {
      private readonly total = new ReducingStateDescriptor<number>('total', (a, b) => a + b);
      onElement(e: Ev, _t: number, window: TimeWindow, ctx: TriggerContext): TriggerResult {
        ctx.registerEventTimeTimer(window.maxTimestamp());
        const total = ctx.getPartitionedState(this.total);
        total.add(e[1]);
        if ((total.get() ?? 0) < 10) return TriggerResult.CONTINUE;
        total.clear();
        return TriggerResult.FIRE_AND_PURGE;
      }
      onEventTime(time: number, window: TimeWindow): TriggerResult {
        return time === window.maxTimestamp() ? TriggerResult.FIRE : TriggerResult.CONTINUE;
      }
      onProcessingTime(): TriggerResult {
        return TriggerResult.CONTINUE;
      }
      clear(window: TimeWindow, ctx: TriggerContext): void {
        ctx.getPartitionedState(this.total).clear();
        ctx.deleteEventTimeTimer(window.maxTimestamp());
      }
    }
    const h = harness(TumblingEventTimeWindows.of(10), new ListContents<Ev>(), new Describe(), {
      trigger: new SumTrigger(),
    });
    h.processElement(['a', 4], 1);
    h.processElement(['a', 6], 2); // [0,10) reaches 10: fires and purges
    h.processElement(['a', 3], 12); // [10,20)
    h.processElement(['a', 1], 3); // [0,10) again
    h.processWatermark(100);
    expect(h.extractOutputValues()).toEqual(['a [0,10) 4,6', 'a [0,10) 1', 'a [10,20) 3']);
    expect(h.numKeyedStateEntries()).toBe(0);
    await h.close();
  });
});

describe('evictors', () => {
  it('TimeEvictor keeps the records within its size of the newest; DeltaEvictor those close to the last', async () => {
    const t = harness(GlobalWindows.create(), new ListContents<Ev>(), new Values(), {
      trigger: CountTrigger.of(4),
      evictor: TimeEvictor.of(10),
    });
    for (const [v, ts] of [
      [1, 0],
      [2, 5],
      [3, 12],
      [4, 20],
    ] as const)
      t.processElement(['a', v], ts);
    expect(t.extractOutputValues()).toEqual(['a 3,4']);
    await t.close();

    const d = harness(GlobalWindows.create(), new ListContents<Ev>(), new Values(), {
      trigger: CountTrigger.of(4),
      evictor: DeltaEvictor.of<Ev>(5, (a, b) => Math.abs(a[1] - b[1])),
    });
    for (const v of [1, 9, 20, 12]) d.processElement(['a', v]);
    expect(d.extractOutputValues()).toEqual(['a 9,12']);
    await d.close();
  });

  it('evicting after the function (doEvictAfter) keeps what the next firing sees, and reduce runs over what is left', async () => {
    const h = harness(GlobalWindows.create(), new ReduceContents<Ev>(sum), undefined, {
      trigger: CountTrigger.of(2),
      evictor: CountEvictor.of(1, true),
    });
    for (let i = 1; i <= 4; i++) h.processElement(['a', i]);
    // Fires [1,2] → 3, keeps [2]; fires [2,3,4] → 9.
    expect(h.extractOutputValues()).toEqual([
      ['a', 3],
      ['a', 9],
    ]);
    await h.close();
  });
});

describe('allowed lateness and late data', () => {
  const late = new OutputTag<Ev>('late');

  it('re-fires a window for a late record within the lateness, then side-outputs records after it', async () => {
    const h = harness(TumblingEventTimeWindows.of(10), new ReduceContents<Ev>(sum), undefined, {
      allowedLateness: 20,
      lateDataOutputTag: late,
    });
    h.processElement(['a', 1], 5);
    h.processWatermark(10);
    expect(h.extractOutputValues()).toEqual([['a', 1]]);
    h.processElement(['a', 2], 3); // late but allowed: fires again at once with both
    expect(h.extractOutputValues()).toEqual([
      ['a', 1],
      ['a', 3],
    ]);
    h.processWatermark(28);
    h.processElement(['a', 4], 8); // 9 + 20 > 28: still allowed
    expect(h.extractOutputValues()).toHaveLength(3);
    h.processWatermark(29); // the window's state goes
    expect(h.numKeyedStateEntries()).toBe(0);
    h.processElement(['a', 8], 9);
    expect(h.extractOutputValues()).toHaveLength(3);
    expect(h.getSideOutput(late)?.map((r) => [r.value, r.timestamp])).toEqual([[['a', 8], 9]]);
    await h.close();
  });

  it('without a late-data tag late records are dropped; window state and PWF clear() follow the cleanup', async () => {
    const cleared: string[] = [];
    class Firings extends ProcessWindowFunction<Ev, string, string> {
      private readonly firings = new ValueStateDescriptor<number>('firings');
      process(k: string, ctx: ProcessWindowContext, elements: Iterable<Ev>, out: Collector<string>): void {
        const n = (ctx.windowState().getState(this.firings).value() ?? 0) + 1;
        ctx.windowState().getState(this.firings).update(n);
        out.collect(`${k}@${ctx.window().getStart()} #${n}: ${[...elements].length}`);
      }
      override clear(ctx: ProcessWindowContext): void {
        cleared.push(`${ctx.window().getStart()}`);
        ctx.windowState().getState(this.firings).clear();
      }
    }
    const h = harness(TumblingEventTimeWindows.of(10), new ListContents<Ev>(), new Firings(), {
      allowedLateness: 5,
    });
    h.processElement(['a', 1], 1);
    h.processWatermark(9);
    h.processElement(['a', 2], 2);
    h.processWatermark(14);
    h.processElement(['a', 3], 3); // too late: dropped
    h.processWatermark(50);
    expect(h.extractOutputValues()).toEqual(['a@0 #1: 1', 'a@0 #2: 2']);
    expect(cleared).toEqual(['0']);
    expect(h.numKeyedStateEntries()).toBe(0);
    expect(h.getSideOutput(late)).toBeUndefined();
    await h.close();
  });

  it('EventTimeTrigger fires a late-but-allowed session at once, and late sessions go to the side output', async () => {
    const h = harness(EventTimeSessionWindows.withGap(5), new ListContents<Ev>(), new Describe(), {
      trigger: EventTimeTrigger.create(),
      allowedLateness: 10,
      lateDataOutputTag: late,
    });
    h.processElement(['a', 1], 0);
    h.processWatermark(10);
    expect(h.extractOutputValues()).toEqual(['a [0,5) 1']);
    h.processElement(['a', 2], 2); // [2,7) merges with [0,5) into [0,7), whose end the watermark passed
    expect(h.extractOutputValues()).toEqual(['a [0,5) 1', 'a [0,7) 1,2']);
    h.processWatermark(30);
    h.processElement(['a', 3], 1);
    expect(h.getSideOutput(late)?.map((r) => r.value)).toEqual([['a', 3]]);
    expect(h.numKeyedStateEntries()).toBe(0);
    await h.close();
  });
});
