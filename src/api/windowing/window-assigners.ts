/**
 * Flink's window assigners. WindowAssigner is the abstract base (custom assigners extend it);
 * tumbling and sliding windows of event or processing time are fixed-size windows aligned to the
 * epoch plus an offset, so one class does their work and the operator names their windows by
 * their start alone; GlobalWindows puts every record of a key in one window.
 */
import { Duration, type DurationLike, toMillis } from '../../core/duration.js';
import { invalidProgram } from '../../core/errors.js';
import { TimeWindow } from './time-window.js';
import type { Trigger } from './trigger.js';
import { EndOfStreamTrigger, EventTimeTrigger, NeverTrigger, ProcessingTimeTrigger } from './triggers.js';
import { GlobalWindow, type Window } from './window.js';

/** What an assigner sees when it assigns a record (Flink's WindowAssignerContext). */
export interface WindowAssignerContext {
  getCurrentProcessingTime(): number;
}

/** Puts each record in zero or more windows (Flink's WindowAssigner). */
export abstract class WindowAssigner<T = unknown, W extends Window = Window> {
  /**
   * The windows of `element`, whose timestamp is `timestamp` (for processing-time assigners, ask
   * `context.getCurrentProcessingTime()` instead).
   */
  abstract assignWindows(element: T, timestamp: number, context: WindowAssignerContext): W[];
  /** The trigger windows fire with unless `windowedStream.trigger(t)` sets another. */
  abstract getDefaultTrigger(): Trigger<T, W>;
  /** Whether windows follow the event time (the records' timestamps and the watermark). */
  abstract isEventTime(): boolean;
  toString(): string {
    return this.constructor.name;
  }
}

/** An assigner whose windows merge (Flink's MergingWindowAssigner): session windows. */
export abstract class MergingWindowAssigner<T = unknown, W extends Window = Window> extends WindowAssigner<
  T,
  W
> {
  /** Calls `callback(toBeMerged, mergeResult)` for every group of `windows` that merges into one. */
  abstract mergeWindows(windows: W[], callback: (toBeMerged: W[], mergeResult: W) => void): void;
}

/**
 * Windows of `size` starting every `slide` ms (`slide === size`: tumbling), aligned to the epoch
 * shifted by `offset`: the base of the four time window assigners.
 */
export abstract class FixedTimeWindows extends WindowAssigner<unknown, TimeWindow> {
  protected constructor(
    /** @internal */ readonly size: number,
    /** @internal */ readonly slide: number,
    /** @internal */ readonly offset: number,
    private readonly eventTime: boolean,
  ) {
    super();
  }

  isEventTime(): boolean {
    return this.eventTime;
  }

  getDefaultTrigger(): Trigger<unknown, TimeWindow> {
    return this.eventTime ? EventTimeTrigger.create() : ProcessingTimeTrigger.create();
  }

  /**
   * The windows holding `timestamp` (for processing-time assigners, the processing time now),
   * latest first. The window operator walks the same starts without building this array.
   */
  assignWindows(_element: unknown, timestamp: number, context: WindowAssignerContext): TimeWindow[] {
    const time = this.eventTime ? timestamp : context.getCurrentProcessingTime();
    const windows: TimeWindow[] = [];
    for (let start = this.lastStart(time); start > time - this.size; start -= this.slide)
      windows.push(new TimeWindow(start, start + this.size));
    return windows;
  }

  /** @internal The start of the latest window holding `timestamp`. */
  lastStart(timestamp: number): number {
    return TimeWindow.getWindowStartWithOffset(timestamp, this.offset, this.slide);
  }

  override toString(): string {
    const kind = this.size === this.slide ? 'Tumbling' : 'Sliding';
    const time = this.eventTime ? 'EventTime' : 'ProcessingTime';
    const slide = this.size === this.slide ? '' : `, slide=${this.slide}`;
    return `${kind}${time}Windows(${this.size}${slide})`;
  }
}

/**
 * One window per key holding all its records (Flink's GlobalWindows). It never fires by itself:
 * give it a trigger (`.trigger(CountTrigger.of(n))`), or create it with the end-of-stream trigger.
 */
export class GlobalWindows extends WindowAssigner<unknown, GlobalWindow> {
  private static readonly WINDOWS: readonly GlobalWindow[] = [GlobalWindow.get()];
  private constructor(private readonly defaultTrigger: Trigger<unknown, GlobalWindow>) {
    super();
  }
  static create(): GlobalWindows {
    return new GlobalWindows(new NeverTrigger());
  }
  /** Global windows that fire once, at the end of the input (Flink's createWithEndOfStreamTrigger). */
  static createWithEndOfStreamTrigger(): GlobalWindows {
    return new GlobalWindows(new EndOfStreamTrigger());
  }
  assignWindows(): GlobalWindow[] {
    return GlobalWindows.WINDOWS as GlobalWindow[];
  }
  getDefaultTrigger(): Trigger<unknown, GlobalWindow> {
    return this.defaultTrigger;
  }
  isEventTime(): boolean {
    return false;
  }
  override toString(): string {
    return 'GlobalWindows()';
  }
}

/** Event-time windows of a fixed size that do not overlap (Flink's TumblingEventTimeWindows). */
export class TumblingEventTimeWindows extends FixedTimeWindows {
  /** Windows of `size`, aligned to the epoch plus `offset` (which may be negative, e.g. a time zone). */
  static of(size: DurationLike, offset: DurationLike = 0): TumblingEventTimeWindows {
    return new TumblingEventTimeWindows(...tumbling('TumblingEventTimeWindows', size, offset), true);
  }
}

/** Event-time windows of a fixed size starting every `slide` (Flink's SlidingEventTimeWindows). */
export class SlidingEventTimeWindows extends FixedTimeWindows {
  static of(size: DurationLike, slide: DurationLike, offset: DurationLike = 0): SlidingEventTimeWindows {
    return new SlidingEventTimeWindows(...sliding('SlidingEventTimeWindows', size, slide, offset), true);
  }
}

/** Processing-time windows of a fixed size that do not overlap (Flink's TumblingProcessingTimeWindows). */
export class TumblingProcessingTimeWindows extends FixedTimeWindows {
  static of(size: DurationLike, offset: DurationLike = 0): TumblingProcessingTimeWindows {
    return new TumblingProcessingTimeWindows(
      ...tumbling('TumblingProcessingTimeWindows', size, offset),
      false,
    );
  }
}

/** Processing-time windows of a fixed size starting every `slide` (Flink's SlidingProcessingTimeWindows). */
export class SlidingProcessingTimeWindows extends FixedTimeWindows {
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
