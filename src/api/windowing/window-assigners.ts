/**
 * Flink's time window assigners: tumbling and sliding windows of event or processing time. All
 * four are fixed-size windows aligned to the epoch plus an offset, so one class does the work and
 * the operator identifies a window of a key by its start alone.
 */
import { Duration, type DurationLike, toMillis } from '../../core/duration.js';
import { invalidProgram } from '../../core/errors.js';
import { TimeWindow } from './time-window.js';

/**
 * Assigns each record to the fixed-size windows holding its time: windows of `size` starting
 * every `slide` ms (`slide === size`: tumbling), aligned to the epoch shifted by `offset`.
 */
export abstract class WindowAssigner {
  protected constructor(
    /** @internal */ readonly size: number,
    /** @internal */ readonly slide: number,
    /** @internal */ readonly offset: number,
    private readonly eventTime: boolean,
  ) {}

  /** Whether windows follow the event time (the records' timestamps and the watermark). */
  isEventTime(): boolean {
    return this.eventTime;
  }

  /**
   * The windows holding `timestamp` (for processing-time assigners, the processing time now),
   * latest first. The window operator walks the same starts without building this array.
   */
  assignWindows(timestamp: number): TimeWindow[] {
    const windows: TimeWindow[] = [];
    for (let start = this.lastStart(timestamp); start > timestamp - this.size; start -= this.slide)
      windows.push(new TimeWindow(start, start + this.size));
    return windows;
  }

  /** @internal The start of the latest window holding `timestamp`. */
  lastStart(timestamp: number): number {
    return TimeWindow.getWindowStartWithOffset(timestamp, this.offset, this.slide);
  }

  toString(): string {
    const kind = this.size === this.slide ? 'Tumbling' : 'Sliding';
    const time = this.eventTime ? 'EventTime' : 'ProcessingTime';
    const slide = this.size === this.slide ? '' : `, slide=${this.slide}`;
    return `${kind}${time}Windows(${this.size}${slide})`;
  }
}

/** Event-time windows of a fixed size that do not overlap (Flink's TumblingEventTimeWindows). */
export class TumblingEventTimeWindows extends WindowAssigner {
  /** Windows of `size`, aligned to the epoch plus `offset` (which may be negative, e.g. a time zone). */
  static of(size: DurationLike, offset: DurationLike = 0): TumblingEventTimeWindows {
    return new TumblingEventTimeWindows(...tumbling('TumblingEventTimeWindows', size, offset), true);
  }
}

/** Event-time windows of a fixed size starting every `slide` (Flink's SlidingEventTimeWindows). */
export class SlidingEventTimeWindows extends WindowAssigner {
  static of(size: DurationLike, slide: DurationLike, offset: DurationLike = 0): SlidingEventTimeWindows {
    return new SlidingEventTimeWindows(...sliding('SlidingEventTimeWindows', size, slide, offset), true);
  }
}

/** Processing-time windows of a fixed size that do not overlap (Flink's TumblingProcessingTimeWindows). */
export class TumblingProcessingTimeWindows extends WindowAssigner {
  static of(size: DurationLike, offset: DurationLike = 0): TumblingProcessingTimeWindows {
    return new TumblingProcessingTimeWindows(
      ...tumbling('TumblingProcessingTimeWindows', size, offset),
      false,
    );
  }
}

/** Processing-time windows of a fixed size starting every `slide` (Flink's SlidingProcessingTimeWindows). */
export class SlidingProcessingTimeWindows extends WindowAssigner {
  static of(size: DurationLike, slide: DurationLike, offset: DurationLike = 0): SlidingProcessingTimeWindows {
    return new SlidingProcessingTimeWindows(
      ...sliding('SlidingProcessingTimeWindows', size, slide, offset),
      false,
    );
  }
}

/** An offset may be negative (Flink: `Time.hours(-8)` for UTC+8 days), unlike durations. */
function offsetMillis(offset: DurationLike, what: string): number {
  if (offset instanceof Duration) return offset.toMillis();
  if (typeof offset !== 'number' || !Number.isFinite(offset))
    throw invalidProgram(
      `${what} offset must be a finite number of ms or a Duration, got ${String(offset)}.`,
    );
  return offset;
}

/** [size, slide = size, offset] of a tumbling assigner, checked as Flink does. */
function tumbling(what: string, size: DurationLike, offset: DurationLike): [number, number, number] {
  const s = toMillis(size, `${what}.of size`);
  const o = offsetMillis(offset, what);
  if (s <= 0 || Math.abs(o) >= s)
    throw invalidProgram(
      `${what} parameters must satisfy abs(offset) < size (size ${s} ms, offset ${o} ms).`,
    );
  return [s, s, o];
}

/** [size, slide, offset] of a sliding assigner, checked as Flink does. */
function sliding(
  what: string,
  size: DurationLike,
  slide: DurationLike,
  offset: DurationLike,
): [number, number, number] {
  const s = toMillis(size, `${what}.of size`);
  const sl = toMillis(slide, `${what}.of slide`);
  const o = offsetMillis(offset, what);
  if (s <= 0 || sl <= 0 || Math.abs(o) >= sl)
    throw invalidProgram(
      `${what} parameters must satisfy abs(offset) < slide and size > 0 (size ${s} ms, slide ${sl} ms, offset ${o} ms).`,
    );
  return [s, sl, o];
}
