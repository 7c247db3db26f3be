/** ProcessFunction and KeyedProcessFunction: the low-level functions with context and timers. */
import type { Collector } from './functions.js';

/** Timers and time, as seen from a process function. */
export interface TimerService {
  /** Processing time now (ms since the epoch). */
  currentProcessingTime(): number;
  /** The current event-time watermark; Long.MIN_VALUE's counterpart until watermarks exist. */
  currentWatermark(): number;
  /** Calls `onTimer` for the current key once processing time reaches `time` (deduplicated). */
  registerProcessingTimeTimer(time: number): void;
  deleteProcessingTimeTimer(time: number): void;
  registerEventTimeTimer(time: number): void;
  deleteEventTimeTimer(time: number): void;
}

/** Which clock fired a timer. */
export type TimeDomain = 'PROCESSING_TIME' | 'EVENT_TIME';

/** Context of a ProcessFunction call. */
export interface ProcessContext {
  /** The record's event timestamp, when it has one. */
  timestamp(): number | undefined;
  timerService(): TimerService;
}

/** Context of a KeyedProcessFunction call: also the current key. */
export interface KeyedProcessContext<K> extends ProcessContext {
  getCurrentKey(): K;
}

/** Context of an `onTimer` call. */
export interface OnTimerContext<K> extends KeyedProcessContext<K> {
  timeDomain(): TimeDomain;
}

/**
 * Processes each record of a (non-keyed) stream, with access to time. Optional hooks:
 * `open(ctx)`, `close()` (see RichFunction).
 */
export abstract class ProcessFunction<I, O> {
  abstract processElement(value: I, ctx: ProcessContext, out: Collector<O>): void;
}

/**
 * Processes each record of a keyed stream with keyed state and timers. Optional hooks:
 * `open(ctx)` (declare state there), `close()`, and
 * `onTimer(timestamp: number, ctx: OnTimerContext<K>, out: Collector<O>)` for registered timers.
 */
export abstract class KeyedProcessFunction<K, I, O> {
  abstract processElement(value: I, ctx: KeyedProcessContext<K>, out: Collector<O>): void;
}

/** The optional timer callback of a KeyedProcessFunction. */
export interface OnTimer<K, O> {
  onTimer(timestamp: number, ctx: OnTimerContext<K>, out: Collector<O>): void;
}
