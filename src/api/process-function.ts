/** ProcessFunction and KeyedProcessFunction: the low-level functions with context and timers. */
import type { OutputTag } from './output-tag.js';
import type { Collector } from './functions.js';
import { AbstractRichFunction } from './rich-functions.js';

/** Timers and time, as seen from a process function. */
export interface TimerService {
  /** Processing time now (ms since the epoch). */
  currentProcessingTime(): number;
  /** The operator's current event-time watermark (MIN_SAFE_INTEGER, Flink's Long.MIN_VALUE, before the first). */
  currentWatermark(): number;
  /** Calls `onTimer` for the current key once processing time reaches `time` (deduplicated). */
  registerProcessingTimeTimer(time: number): void;
  deleteProcessingTimeTimer(time: number): void;
  /**
   * Calls `onTimer` for the current key once the watermark reaches `time` (deduplicated per key
   * and time; a time at or below the current watermark fires at the next watermark).
   */
  registerEventTimeTimer(time: number): void;
  deleteEventTimeTimer(time: number): void;
}

/** Which clock fired a timer (Flink's TimeDomain): `ctx.timeDomain() === TimeDomain.EVENT_TIME`. */
export const TimeDomain = { EVENT_TIME: 'EVENT_TIME', PROCESSING_TIME: 'PROCESSING_TIME' } as const;
/** One of the TimeDomain values. */
export type TimeDomain = (typeof TimeDomain)[keyof typeof TimeDomain];

/** Context of a ProcessFunction call. */
export interface ProcessContext {
  /**
   * The record's event timestamp, or null when it has none (as Flink's `Long` null): records get
   * one from a watermark strategy's timestamp assigner or their source.
   */
  timestamp(): number | null;
  timerService(): TimerService;
  /**
   * Emits `value` to the side output `outputTag`, with the current record's timestamp; read it
   * with `getSideOutput(outputTag)` on the operator's stream.
   */
  output<X>(outputTag: OutputTag<X>, value: X): void;
}

/** Context of a KeyedProcessFunction call: also the current key. */
export interface KeyedProcessContext<K> extends ProcessContext {
  getCurrentKey(): K;
}

/** Context of an `onTimer` call; its `timestamp()` is the firing timer's time, as in Flink. */
export interface OnTimerContext<K> extends KeyedProcessContext<K> {
  timeDomain(): TimeDomain;
}

/**
 * Processes each record of a (non-keyed) stream, with access to time. A rich function:
 * `getRuntimeContext()`, and the optional hooks `open(openContext)`, `close()` (see RichFunction).
 */
export abstract class ProcessFunction<I, O> extends AbstractRichFunction {
  abstract processElement(value: I, ctx: ProcessContext, out: Collector<O>): void;
}

/**
 * Processes each record of a keyed stream with keyed state and timers. A rich function:
 * `getRuntimeContext()` (declare state in `open`), and the optional hooks `open(openContext)`,
 * `close()`, and `onTimer(timestamp: number, ctx: OnTimerContext<K>, out: Collector<O>)` for
 * registered timers.
 */
export abstract class KeyedProcessFunction<K, I, O> extends AbstractRichFunction {
  abstract processElement(value: I, ctx: KeyedProcessContext<K>, out: Collector<O>): void;
}

/** The optional timer callback of a KeyedProcessFunction. */
export interface OnTimer<K, O> {
  onTimer(timestamp: number, ctx: OnTimerContext<K>, out: Collector<O>): void;
}
