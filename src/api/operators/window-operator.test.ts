/** WindowOperator in the keyed harness: firing on watermarks and processing time, lateness, sliding, state and restore. */
import { describe, expect, it } from 'vitest';
import { ValueStateDescriptor } from '../../state/state-descriptor.js';
import type { ValueState } from '../../state/state.js';
import { assignToKeyGroup, computeOperatorIndexForKeyGroup } from '../../core/key-groups.js';
import { Watermark } from '../eventtime/watermark.js';
import type { Collector } from '../functions.js';
import type { AggregateFunction } from '../../state/functions.js';
import { AbstractStreamOperatorTestHarness } from '../../testing/abstract-stream-operator-test-harness.js';
import { KeyedOneInputStreamOperatorTestHarness } from '../../testing/keyed-one-input-stream-operator-test-harness.js';
import { ProcessWindowFunction, type ProcessWindowContext } from '../windowing/process-window-function.js';
import type { TimeWindow } from '../windowing/time-window.js';
import {
  SlidingEventTimeWindows,
  SlidingProcessingTimeWindows,
  TumblingEventTimeWindows,
  TumblingProcessingTimeWindows,
  type WindowAssigner,
} from '../windowing/window-assigners.js';
import {
  AggregateContents,
  ListContents,
  ReduceContents,
  WindowOperator,
  type WindowContents,
} from './window-operator.js';

type Ev = [string, number];
const ownedBy = (k: string, index: number, parallelism: number) =>
  computeOperatorIndexForKeyGroup(128, parallelism, assignToKeyGroup(k, 128)) === index;
const key = (e: Ev) => e[0];
const sum = (a: Ev, b: Ev): Ev => [a[0], a[1] + b[1]];

function harness<ACC, R, OUT>(
  assigner: WindowAssigner<Ev, TimeWindow>,
  contents: WindowContents<Ev, ACC, R>,
  fn?: ProcessWindowFunction<R, OUT, string>,
) {
  return new KeyedOneInputStreamOperatorTestHarness<string, Ev, OUT>({
    name: 'Window',
    keyed: true,
    create: () => new WindowOperator<string, Ev, ACC, R, OUT>(assigner, contents, fn, key),
  });
}

/** Describes each firing: key, window, watermark, and the elements in arrival order. */
class Describe extends ProcessWindowFunction<Ev, string, string> {
  process(k: string, ctx: ProcessWindowContext, elements: Iterable<Ev>, out: Collector<string>): void {
    const w = ctx.window();
    const values = [...elements].map((e) => e[1]).join(',');
    out.collect(
      `${k} [${w.getStart()},${w.getEnd()}) wm=${ctx.currentWatermark()} pt=${ctx.currentProcessingTime()} ${values}`,
    );
  }
}

/** Output as values and watermarks, in order. */
function outputOf<T>(h: AbstractStreamOperatorTestHarness<T>): (T | string)[] {
  return h.getOutput().map((o) => (o instanceof Watermark ? `wm ${o.getTimestamp()}` : o.value));
}

describe('WindowOperator, event time', () => {
  it('reduces tumbling windows per key and emits each when the watermark passes its maxTimestamp, stamped with it', async () => {
    const h = harness(TumblingEventTimeWindows.of(10), new ReduceContents<Ev>(sum));
    h.processElement(['a', 1], 0);
    h.processElement(['b', 2], 3);
    h.processElement(['a', 3], 9);
    h.processElement(['a', 4], 10);
    expect(h.numEventTimeTimers()).toBe(3);
    h.processWatermark(8);
    expect(outputOf(h)).toEqual(['wm 8']);
    h.clearOutput();
    h.processWatermark(9);
    expect(outputOf(h)).toEqual([['a', 4], ['b', 2], 'wm 9']);
    expect(h.extractOutputStreamRecords().map((r) => r.timestamp)).toEqual([9, 9]);
    h.clearOutput();
    h.processWatermark(100);
    expect(outputOf(h)).toEqual([['a', 4], 'wm 100']);
    expect(h.extractOutputStreamRecords()[0]!.timestamp).toBe(19);
    // Fired windows are cleared: no state, no timers left.
    expect(h.numKeyedStateEntries()).toBe(0);
    expect(h.numEventTimeTimers()).toBe(0);
    await h.close();
  });

  it('drops records whose window has fired (allowed lateness 0), keeps those whose window is open', async () => {
    const h = harness(TumblingEventTimeWindows.of(10), new ReduceContents<Ev>(sum));
    h.processElement(['a', 1], 5);
    h.processWatermark(10);
    h.clearOutput();
    h.processElement(['a', 100], 9); // window [0,10) fired at 9: late
    h.processElement(['a', 7], 10); // window [10,20) still open
    h.processWatermark(19);
    expect(h.extractOutputValues()).toEqual([['a', 7]]);
    await h.close();
  });

  it('puts a record into every sliding window holding it', async () => {
    const h = harness(SlidingEventTimeWindows.of(10, 5), new ListContents<Ev>(), new Describe());
    h.processElement(['a', 1], 3);
    h.processElement(['a', 2], 7);
    h.processElement(['a', 3], 12);
    h.processWatermark(30);
    expect(h.extractOutputValues()).toEqual([
      'a [-5,5) wm=30 pt=0 1',
      'a [0,10) wm=30 pt=0 1,2',
      'a [5,15) wm=30 pt=0 2,3',
      'a [10,20) wm=30 pt=0 3',
    ]);
    expect(h.extractOutputStreamRecords().map((r) => r.timestamp)).toEqual([4, 9, 14, 19]);
    await h.close();
  });

  it('aggregates incrementally and hands the result to a ProcessWindowFunction', async () => {
    const average: AggregateFunction<Ev, { sum: number; count: number }, number> = {
      createAccumulator: () => ({ sum: 0, count: 0 }),
      add: (e, acc) => {
        acc.sum += e[1];
        acc.count++;
        return acc;
      },
      getResult: (acc) => acc.sum / acc.count,
      merge: (a, b) => ({ sum: a.sum + b.sum, count: a.count + b.count }),
    };
    class Label extends ProcessWindowFunction<number, string, string> {
      process(
        k: string,
        ctx: ProcessWindowContext,
        elements: Iterable<number>,
        out: Collector<string>,
      ): void {
        out.collect(`${k}@${ctx.window().getEnd()}=${[...elements].join('|')}`);
      }
    }
    const h = harness(TumblingEventTimeWindows.of(10), new AggregateContents(average), new Label());
    h.processElement(['a', 1], 1);
    h.processElement(['a', 2], 2);
    h.processElement(['b', 6], 2);
    h.processWatermark(9);
    expect(h.extractOutputValues()).toEqual(['a@10=1.5', 'b@10=6']);
    await h.close();
  });

  it('keeps window contents in checkpoints: a restored operator fires what the failed one had', async () => {
    const create = () => harness(TumblingEventTimeWindows.of(10), new AggregateContents(countOf));
    const countOf: AggregateFunction<Ev, number[], number> = {
      createAccumulator: () => [0],
      add: (_e, acc) => {
        acc[0]!++; // in place: the snapshot must not see later additions
        return acc;
      },
      getResult: (acc) => acc[0]!,
      merge: (a, b) => [a[0]! + b[0]!],
    };
    const h = create();
    h.processElement(['a', 1], 1);
    h.processElement(['a', 1], 2);
    const snapshot = await h.snapshot(1, 0);
    h.processElement(['a', 1], 3);
    h.processWatermark(9);
    expect(h.extractOutputValues()).toEqual([3]);
    await h.close();
    const restored = create();
    await restored.initializeState(snapshot);
    restored.processElement(['a', 1], 4);
    restored.processWatermark(9);
    expect(restored.extractOutputValues()).toEqual([3]);
    await restored.close();
  });

  it('opens and closes the window function as a rich function, with keyed state of the firing key', async () => {
    const closed: string[] = [];
    class Firings extends ProcessWindowFunction<Ev, string, string> {
      private firings!: ValueState<number>;
      open(): void {
        this.firings = this.getRuntimeContext().getState(new ValueStateDescriptor<number>('firings'));
      }
      process(k: string, ctx: ProcessWindowContext, _elements: Iterable<Ev>, out: Collector<string>): void {
        const n = (this.firings.value() ?? 0) + 1;
        this.firings.update(n);
        out.collect(`${k}#${n}@${ctx.window().getStart()}`);
      }
      close(): void {
        closed.push('pwf');
      }
    }
    const h = harness(TumblingEventTimeWindows.of(10), new ListContents<Ev>(), new Firings());
    h.processElement(['a', 1], 1);
    h.processElement(['b', 1], 2);
    h.processElement(['a', 1], 11);
    h.processWatermark(30);
    expect(h.extractOutputValues()).toEqual(['a#1@0', 'b#1@0', 'a#2@10']);
    await h.close();
    expect(closed).toEqual(['pwf']);
  });

  it('redistributes open windows by key group when restored at another parallelism', async () => {
    const create = (subtaskIndex: number, parallelism: number) =>
      new KeyedOneInputStreamOperatorTestHarness<string, Ev, Ev>(
        {
          name: 'Window',
          keyed: true,
          create: () =>
            new WindowOperator(TumblingEventTimeWindows.of(10), new ReduceContents<Ev>(sum), undefined, key),
        },
        { parallelism, subtaskIndex },
      );
    const keys = Array.from({ length: 12 }, (_, i) => `k${i}`);
    const snapshots = [];
    for (const index of [0, 1]) {
      const h = create(index, 2);
      // Each subtask gets the keys of its own key groups, as keyBy would send them.
      for (const k of keys.filter((k) => ownedBy(k, index, 2))) {
        h.processElement([k, 1], 5);
        h.processElement([k, 2], 6);
      }
      snapshots.push(await h.snapshot(1, 0));
      await h.close();
    }
    const merged = AbstractStreamOperatorTestHarness.repackageState(...snapshots);
    const fired: Ev[] = [];
    for (let index = 0; index < 3; index++) {
      const h = create(index, 3);
      await h.initializeState(merged);
      h.processWatermark(9);
      for (const e of h.extractOutputValues()) {
        expect(ownedBy(e[0], index, 3)).toBe(true);
        fired.push(e);
      }
      await h.close();
    }
    expect(fired.sort()).toEqual(keys.map((k) => [k, 3]).sort());
  });

  it('fails with SLUICE_WINDOW_NO_TIMESTAMP when a record has no timestamp', async () => {
    const h = harness(TumblingEventTimeWindows.of(10), new ReduceContents<Ev>(sum));
    expect(() => h.processElement(['a', 1])).toThrow(
      expect.objectContaining({
        code: 'SLUICE_WINDOW_NO_TIMESTAMP',
        message: expect.stringMatching(/WatermarkStrategy/),
      }),
    );
    await h.close().catch(() => {});
  });
});

describe('WindowOperator, processing time', () => {
  it('assigns by the clock and fires when processing time reaches the window maxTimestamp', async () => {
    const h = harness(TumblingProcessingTimeWindows.of(10), new ListContents<Ev>(), new Describe());
    h.setProcessingTime(3);
    h.processElement(['a', 1]);
    h.processElement(['b', 2], 500); // the event timestamp plays no part
    h.setProcessingTime(8);
    h.processElement(['a', 3]);
    expect(h.numProcessingTimeTimers()).toBe(2);
    h.setProcessingTime(12);
    h.processElement(['a', 4]);
    expect(h.extractOutputValues()).toEqual([
      'a [0,10) wm=-9007199254740991 pt=12 1,3',
      'b [0,10) wm=-9007199254740991 pt=12 2',
    ]);
    expect(h.extractOutputStreamRecords().map((r) => r.timestamp)).toEqual([9, 9]);
    h.clearOutput();
    h.setProcessingTime(19);
    expect(h.extractOutputValues()).toEqual(['a [10,20) wm=-9007199254740991 pt=19 4']);
    expect(h.numKeyedStateEntries()).toBe(0);
    await h.close();
  });

  it('puts a record into every sliding processing-time window open at its arrival', async () => {
    const h = harness(SlidingProcessingTimeWindows.of(10, 5), new ReduceContents<Ev>(sum));
    h.setProcessingTime(7);
    h.processElement(['a', 1]); // [0,10) and [5,15)
    h.setProcessingTime(12);
    expect(h.extractOutputValues()).toEqual([['a', 1]]);
    h.processElement(['a', 2]); // [5,15) and [10,20)
    h.setProcessingTime(100);
    expect(h.extractOutputValues()).toEqual([
      ['a', 1],
      ['a', 3],
      ['a', 2],
    ]);
    expect(h.extractOutputStreamRecords().map((r) => r.timestamp)).toEqual([9, 14, 19]);
    await h.close();
  });
});
