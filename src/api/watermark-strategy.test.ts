import { describe, expect, it } from 'vitest';
import { ManualClock } from '../core/clock.js';
import { Duration } from '../core/duration.js';
import { MIN_WATERMARK } from '../core/watermark.js';
import { WatermarkStrategy, isWatermarkStrategy } from './watermark-strategy.js';
import type { WatermarkGenerator, WatermarkOutput } from './eventtime/watermark-generator.js';
import { Watermark, type WatermarkLike } from './eventtime/watermark.js';

/** Records what a generator emits. */
class RecordingOutput implements WatermarkOutput {
  readonly events: (number | 'idle' | 'active')[] = [];
  emitWatermark(w: WatermarkLike): void {
    this.events.push(typeof w === 'number' ? w : w.getTimestamp());
  }
  markIdle(): void {
    this.events.push('idle');
  }
  markActive(): void {
    this.events.push('active');
  }
}

const ctx = { operatorName: 'test' };

function generatorOf<T>(strategy: WatermarkStrategy<T>, clock = new ManualClock()): WatermarkGenerator<T> {
  return strategy.createWatermarkGenerator(ctx, clock);
}

describe('WatermarkStrategy', () => {
  it('forBoundedOutOfOrderness emits max timestamp - bound - 1 periodically, MIN before any event', () => {
    const g = generatorOf(WatermarkStrategy.forBoundedOutOfOrderness<string>(100));
    const out = new RecordingOutput();
    g.onPeriodicEmit(out);
    g.onEvent('a', 1000, out);
    g.onEvent('b', 900, out); // out of order: the maximum stays
    g.onPeriodicEmit(out);
    g.onEvent('c', 1500, out);
    g.onPeriodicEmit(out);
    expect(out.events).toEqual([MIN_WATERMARK, 899, 1399]);
  });

  it('takes the bound as a Duration too, and refuses a negative one', () => {
    const g = generatorOf(WatermarkStrategy.forBoundedOutOfOrderness(Duration.ofSeconds(1)));
    const out = new RecordingOutput();
    g.onEvent(null, 5000, out);
    g.onPeriodicEmit(out);
    expect(out.events).toEqual([3999]);
    expect(() => WatermarkStrategy.forBoundedOutOfOrderness(-1)).toThrow(/non-negative/);
  });

  it('forMonotonousTimestamps emits the latest timestamp - 1', () => {
    const g = generatorOf(WatermarkStrategy.forMonotonousTimestamps<number>());
    const out = new RecordingOutput();
    g.onEvent(1, 10, out);
    g.onEvent(2, 20, out);
    g.onPeriodicEmit(out);
    expect(out.events).toEqual([19]);
  });

  it('noWatermarks emits nothing; only a timestamp assigner makes it assign timestamps', () => {
    const none = WatermarkStrategy.noWatermarks<{ t: number }>();
    const out = new RecordingOutput();
    const g = generatorOf(none);
    g.onEvent({ t: 1 }, 1, out);
    g.onPeriodicEmit(out);
    expect(out.events).toEqual([]);
    expect(none.isPassThrough).toBe(true);
    const assigning = none.withTimestampAssigner((e) => e.t);
    expect(assigning.isPassThrough).toBe(false);
    expect(assigning.timestampAssigner!({ t: 7 }, MIN_WATERMARK)).toBe(7);
  });

  it('withTimestampAssigner takes a function or an object with extractTimestamp, and returns a new strategy', () => {
    const base = WatermarkStrategy.forBoundedOutOfOrderness<{ t: number }>(0);
    const fromFn = base.withTimestampAssigner((e, recordTimestamp) => e.t + recordTimestamp);
    const fromObject = base.withTimestampAssigner({
      extractTimestamp: function (this: { offset: number }, e: { t: number }) {
        return e.t + this.offset;
      },
      offset: 5,
    } as { extractTimestamp(e: { t: number }, r: number): number });
    expect(fromFn.timestampAssigner!({ t: 1 }, 10)).toBe(11);
    expect(fromObject.timestampAssigner!({ t: 1 }, 10)).toBe(6);
    expect(base.timestampAssigner).toBeUndefined();
    expect(() => base.withTimestampAssigner(42 as never)).toThrow(/extractTimestamp/);
  });

  it('forGenerator runs a custom (punctuated) generator, from a function or a supplier object', () => {
    const punctuated: WatermarkGenerator<{ t: number; mark: boolean }> = {
      onEvent: (e, ts, output) => e.mark && output.emitWatermark(new Watermark(ts)),
      onPeriodicEmit: () => {},
    };
    for (const strategy of [
      WatermarkStrategy.forGenerator(() => punctuated),
      WatermarkStrategy.forGenerator({ createWatermarkGenerator: () => punctuated }),
    ]) {
      const out = new RecordingOutput();
      const g = generatorOf(strategy);
      g.onEvent({ t: 1, mark: false }, 1, out);
      g.onEvent({ t: 2, mark: true }, 2, out);
      expect(out.events).toEqual([2]);
    }
    expect(() => WatermarkStrategy.forGenerator(42 as never)).toThrow(/forGenerator/);
    expect(() => generatorOf(WatermarkStrategy.forGenerator(() => ({}) as never))).toThrow(
      /WatermarkGenerator/,
    );
  });

  it('withIdleness marks the output idle after the timeout without events, and active on the next event', () => {
    const clock = new ManualClock(0);
    const g = generatorOf(WatermarkStrategy.forBoundedOutOfOrderness<number>(0).withIdleness(1000), clock);
    const out = new RecordingOutput();
    g.onEvent(1, 100, out);
    clock.advance(500);
    g.onPeriodicEmit(out); // an event since the last check: active
    clock.advance(999);
    g.onPeriodicEmit(out); // 999 ms without events: still active
    clock.advance(1);
    g.onPeriodicEmit(out); // 1000 ms: idle, no watermark
    clock.advance(5000);
    g.onPeriodicEmit(out); // still idle, nothing
    g.onEvent(2, 200, out); // active again
    g.onPeriodicEmit(out);
    expect(out.events).toEqual([99, 99, 'idle', 'active', 199]);
    expect(() => WatermarkStrategy.noWatermarks().withIdleness(0)).toThrow(/> 0 ms/);
  });

  it('isWatermarkStrategy recognizes strategies only', () => {
    expect(isWatermarkStrategy(WatermarkStrategy.noWatermarks())).toBe(true);
    expect(isWatermarkStrategy({ kind: 'no-watermarks' })).toBe(false);
    expect(isWatermarkStrategy('events')).toBe(false);
  });
});
