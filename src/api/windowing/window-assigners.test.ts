/** Window assigners and TimeWindow: Flink's alignment, offsets and argument checks. */
import { describe, expect, it } from 'vitest';
import { Duration, Time } from '../../core/duration.js';
import { TimeWindow } from './time-window.js';
import {
  SlidingEventTimeWindows,
  SlidingProcessingTimeWindows,
  TumblingEventTimeWindows,
  TumblingProcessingTimeWindows,
} from './window-assigners.js';

const clock = { getCurrentProcessingTime: () => 5 };
const spans = (ws: TimeWindow[]) => ws.map((w) => [w.getStart(), w.getEnd()]);

describe('TimeWindow', () => {
  it('is [start, end) with maxTimestamp end - 1', () => {
    const w = new TimeWindow(10, 20);
    expect([w.getStart(), w.getEnd(), w.maxTimestamp()]).toEqual([10, 20, 19]);
    expect(w.equals(new TimeWindow(10, 20))).toBe(true);
    expect(w.equals(new TimeWindow(10, 21))).toBe(false);
  });

  it('getWindowStartWithOffset aligns to the epoch plus the offset, negative times included', () => {
    expect(TimeWindow.getWindowStartWithOffset(7, 0, 5)).toBe(5);
    expect(TimeWindow.getWindowStartWithOffset(5, 0, 5)).toBe(5);
    expect(TimeWindow.getWindowStartWithOffset(4, 0, 5)).toBe(0);
    expect(TimeWindow.getWindowStartWithOffset(7, 3, 5)).toBe(3);
    expect(TimeWindow.getWindowStartWithOffset(2, 3, 5)).toBe(-2);
    expect(TimeWindow.getWindowStartWithOffset(-1, 0, 5)).toBe(-5);
    expect(TimeWindow.getWindowStartWithOffset(-5, 0, 5)).toBe(-5);
    expect(TimeWindow.getWindowStartWithOffset(7, -1, 5)).toBe(4);
  });
});

describe('window assigners', () => {
  it('tumbling windows put a time in the one window holding it', () => {
    const a = TumblingEventTimeWindows.of(Duration.ofSeconds(5));
    expect(spans(a.assignWindows(null, 0, clock))).toEqual([[0, 5000]]);
    expect(spans(a.assignWindows(null, 4999, clock))).toEqual([[0, 5000]]);
    expect(spans(a.assignWindows(null, 5000, clock))).toEqual([[5000, 10000]]);
    expect(spans(TumblingEventTimeWindows.of(1000, 100).assignWindows(null, 50, clock))).toEqual([
      [-900, 100],
    ]);
    expect(a.isEventTime()).toBe(true);
    expect(TumblingProcessingTimeWindows.of(Time.seconds(1)).isEventTime()).toBe(false);
  });

  it('sliding windows put a time in size / slide windows, latest first', () => {
    const a = SlidingEventTimeWindows.of(10, 5);
    expect(spans(a.assignWindows(null, 7, clock))).toEqual([
      [5, 15],
      [0, 10],
    ]);
    expect(spans(SlidingEventTimeWindows.of(10, 3).assignWindows(null, 10, clock))).toEqual([
      [9, 19],
      [6, 16],
      [3, 13],
    ]);
    expect(SlidingProcessingTimeWindows.of(10, 5).assignWindows(null, 5, clock)).toHaveLength(2);
  });

  it('rejects sizes, slides and offsets Flink rejects', () => {
    expect(() => TumblingEventTimeWindows.of(0)).toThrow(/abs\(offset\) < size/);
    expect(() => TumblingEventTimeWindows.of(10, 10)).toThrow(/abs\(offset\) < size/);
    expect(() => TumblingEventTimeWindows.of(-5)).toThrow(/non-negative/);
    expect(() => SlidingEventTimeWindows.of(10, 0)).toThrow(/abs\(offset\) < slide/);
    expect(() => SlidingProcessingTimeWindows.of(10, 5, 5)).toThrow(/abs\(offset\) < slide/);
    expect(() => TumblingEventTimeWindows.of(10, Number.NaN)).toThrow(/offset must be a finite/);
  });
});
