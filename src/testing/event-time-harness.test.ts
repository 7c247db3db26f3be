/** Event time in the harnesses: timestamps in and out, processWatermark, event-time timers (order, dedup, delete, restore, rescale). */
import { describe, expect, it } from 'vitest';
import { assignToKeyGroup, computeOperatorIndexForKeyGroup } from '../core/key-groups.js';
import type { Collector } from '../api/functions.js';
import {
  KeyedProcessFunction,
  TimeDomain,
  type KeyedProcessContext,
  type OnTimerContext,
} from '../api/process-function.js';
import { Watermark } from '../api/eventtime/watermark.js';
import { WatermarkStrategy } from '../api/watermark-strategy.js';
import { TimestampsAndWatermarksOperator } from '../api/operators/timestamps-and-watermarks-operator.js';
import { AbstractStreamOperatorTestHarness } from './abstract-stream-operator-test-harness.js';
import { OneInputStreamOperatorTestHarness } from './one-input-stream-operator-test-harness.js';
import { ProcessFunctionTestHarnesses } from './process-function-test-harnesses.js';
import { StreamRecord } from './stream-record.js';

interface Ev {
  readonly key: string;
  /** Registers an event-time timer at this time. */
  readonly at?: number;
  /** Deletes the event-time timer at this time. */
  readonly del?: number;
}

/** Registers and deletes event-time timers; onTimer reports its key, time, domain and watermark. */
class Timers extends KeyedProcessFunction<string, Ev, string> {
  processElement(e: Ev, ctx: KeyedProcessContext<string>, out: Collector<string>): void {
    if (e.at !== undefined) ctx.timerService().registerEventTimeTimer(e.at);
    if (e.del !== undefined) ctx.timerService().deleteEventTimeTimer(e.del);
    out.collect(`${e.key} in ts=${ctx.timestamp()} wm=${ctx.timerService().currentWatermark()}`);
  }
  onTimer(timestamp: number, ctx: OnTimerContext<string>, out: Collector<string>): void {
    const domain = ctx.timeDomain() === TimeDomain.EVENT_TIME ? 'event' : 'processing';
    out.collect(`${ctx.getCurrentKey()} ${domain}@${timestamp} ts=${ctx.timestamp()}`);
  }
}

const harness = (options?: { parallelism: number; subtaskIndex: number }) =>
  ProcessFunctionTestHarnesses.forKeyedProcessFunction(new Timers(), (e: Ev) => e.key, options);

/** Output as values and watermarks, in order. */
function outputOf(h: AbstractStreamOperatorTestHarness<string>): (string | number)[] {
  return h.getOutput().map((o) => (o instanceof Watermark ? o.getTimestamp() : o.value));
}

describe('event time in the keyed harness', () => {
  it('fires event-time timers in time order when the watermark passes them, before forwarding it', async () => {
    const h = harness();
    h.processElement({ key: 'b', at: 20 }, 5);
    h.processElement({ key: 'a', at: 10 }, 6);
    h.processElement({ key: 'a', at: 30 });
    h.processElement({ key: 'a', at: 10 }); // the same (key, time): one timer
    expect(h.numEventTimeTimers()).toBe(3);
    h.clearOutput();
    h.processWatermark(20);
    expect(outputOf(h)).toEqual(['a event@10 ts=10', 'b event@20 ts=20', 20]);
    // Timer output carries the timer's time as its timestamp.
    expect(h.extractOutputStreamRecords().map((r) => r.timestamp)).toEqual([10, 20]);
    h.clearOutput();
    h.processElement({ key: 'c' }, 25);
    expect(h.extractOutputValues()).toEqual(['c in ts=25 wm=20']);
    h.processWatermark(new Watermark(29));
    h.processWatermark(30);
    expect(outputOf(h)).toEqual(['c in ts=25 wm=20', 29, 'a event@30 ts=30', 30]);
    expect(h.numEventTimeTimers()).toBe(0);
    await h.close();
  });

  it('deletes event-time timers, and fires one registered at or below the watermark at the next watermark', async () => {
    const h = harness();
    h.processWatermark(100);
    h.processElement({ key: 'a', at: 150 });
    h.processElement({ key: 'a', del: 150 });
    h.processElement({ key: 'b', at: 50 }); // already passed: Flink fires it with the next watermark
    h.clearOutput();
    h.processWatermark(101);
    expect(outputOf(h)).toEqual(['b event@50 ts=50', 101]);
    await h.close();
  });

  it('keeps the input timestamp on output, and none for a record without one', async () => {
    const h = harness();
    h.processElement(new StreamRecord({ key: 'a' }, 7));
    h.processElement({ key: 'a' });
    expect(h.extractOutputStreamRecords()).toEqual([
      new StreamRecord('a in ts=7 wm=-9007199254740991', 7),
      new StreamRecord('a in ts=null wm=-9007199254740991'),
    ]);
    await h.close();
  });

  it('the end of time (MAX_WATERMARK) fires every remaining event-time timer', async () => {
    const h = harness();
    h.processElement({ key: 'a', at: 1e12 });
    h.processElement({ key: 'b', at: 5 });
    h.clearOutput();
    h.processWatermark(Watermark.MAX_WATERMARK);
    expect(h.extractOutputValues()).toEqual(['b event@5 ts=5', 'a event@1000000000000 ts=1000000000000']);
    await h.close();
  });

  it('checkpoints event-time timers and restores them at another parallelism, each with its key group', async () => {
    const keysOf = (index: number, parallelism: number) => {
      const keys: string[] = [];
      for (let i = 0; keys.length < 3; i++)
        if (computeOperatorIndexForKeyGroup(128, parallelism, assignToKeyGroup(`k${i}`, 128)) === index)
          keys.push(`k${i}`);
      return keys;
    };
    const snapshots = [];
    const all: string[] = [];
    for (const index of [0, 1]) {
      const h = harness({ parallelism: 2, subtaskIndex: index });
      for (const key of keysOf(index, 2)) {
        h.processElement({ key, at: 100 });
        all.push(key);
      }
      snapshots.push(await h.snapshot(1, 0));
      await h.close();
    }
    const merged = AbstractStreamOperatorTestHarness.repackageState(...snapshots);
    const fired: string[] = [];
    for (let index = 0; index < 3; index++) {
      const h = harness({ parallelism: 3, subtaskIndex: index });
      await h.initializeState(merged);
      h.processWatermark(100);
      const values = h.extractOutputValues();
      for (const v of values) {
        const key = v.split(' ')[0]!;
        expect(computeOperatorIndexForKeyGroup(128, 3, assignToKeyGroup(key, 128))).toBe(index);
        fired.push(key);
      }
      await h.close();
    }
    expect(fired.sort()).toEqual(all.sort());
  });
});

describe('assignTimestampsAndWatermarks in a harness', () => {
  it('assigns timestamps, emits periodic watermarks, and drops upstream watermarks but the end of time', async () => {
    const strategy = WatermarkStrategy.forBoundedOutOfOrderness<{ t: number }>(10).withTimestampAssigner(
      (e) => e.t,
    );
    const h = new OneInputStreamOperatorTestHarness<{ t: number }, { t: number }>({
      name: 'Timestamps/Watermarks',
      keyed: false,
      create: () => new TimestampsAndWatermarksOperator(strategy, () => 100),
    });
    h.processElement({ t: 50 });
    h.processElement({ t: 40 }, 999); // the assigner decides, not the record's old timestamp
    h.processWatermark(1000); // an upstream watermark: dropped
    h.setProcessingTime(100); // periodic emit: 50 - 10 - 1
    h.processElement({ t: 80 });
    h.setProcessingTime(150); // no round yet
    h.setProcessingTime(200);
    h.processWatermark(Watermark.MAX_WATERMARK);
    expect(
      h
        .getOutput()
        .map((o) => (o instanceof Watermark ? `wm ${o.getTimestamp()}` : `${o.value.t}@${o.timestamp}`)),
    ).toEqual(['50@50', '40@40', 'wm 39', '80@80', 'wm 69', `wm ${Number.MAX_SAFE_INTEGER}`]);
    await h.close();
  });

  it('marks the stream idle after the idleness timeout and active again on the next record', async () => {
    const strategy = WatermarkStrategy.forMonotonousTimestamps<number>()
      .withTimestampAssigner((n) => n)
      .withIdleness(300);
    const h = new OneInputStreamOperatorTestHarness<number, number>({
      name: 'Timestamps/Watermarks',
      keyed: false,
      create: () => new TimestampsAndWatermarksOperator(strategy, () => 100),
    });
    h.processElement(5);
    for (let t = 100; t <= 600; t += 100) h.setProcessingTime(t);
    expect(h.getWatermarkStatuses()).toEqual(['IDLE']);
    h.processElement(6);
    expect(h.getWatermarkStatuses()).toEqual(['IDLE', 'ACTIVE']);
    await h.close();
  });
});
