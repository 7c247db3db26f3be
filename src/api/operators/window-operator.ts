/**
 * Keyed time windows (Flink's WindowOperator with the default event-time and processing-time
 * triggers and allowed lateness 0). It is a KeyedProcessOperator running an internal function, so
 * window firings are that operator's keyed timers (both domains, checkpointed and rescaled with the
 * key groups), and a window's contents are one entry of a keyed MapState from the window's start to
 * its accumulator. Sluice's keyed state has no namespaces (Flink keeps one state per window
 * namespace); a map per key gives the same scoping, and every assigner here has fixed-size
 * windows, so the start names the window and a timer's time (maxTimestamp = start + size - 1)
 * leads back to it.
 */
import { SluiceError } from '../../core/errors.js';
import type { KeySelectorFn } from '../../graph/partitioner.js';
import type { ElementTimestamp } from '../../runtime/element-timestamp.js';
import { MapStateDescriptor } from '../../state/state-descriptor.js';
import type { MapState } from '../../state/state.js';
import type { AggregateFunction } from '../../state/functions.js';
import { bindMethod, type Collector, type ReduceFunction } from '../functions.js';
import type { KeyedProcessContext, OnTimerContext } from '../process-function.js';
import { isRichFunction } from '../rich-functions.js';
import type { RuntimeContext } from '../runtime-context.js';
import type { ProcessWindowContext, ProcessWindowFunction } from '../windowing/process-window-function.js';
import { TimeWindow } from '../windowing/time-window.js';
import type { WindowAssigner } from '../windowing/window-assigners.js';
import { KeyedProcessOperator } from './keyed-process-operator.js';

/** Name of the keyed map state holding each key's open windows (Flink's WindowOperator: "window-contents"). */
export const WINDOW_CONTENTS = 'window-contents';

/** How a window accumulates its records and what it hands to the window function when it fires. */
export interface WindowContents<IN, ACC, R> {
  /** The user functions inside, to open and close with the operator. */
  readonly functions: readonly unknown[];
  open(): void;
  /** `acc` is undefined for a window's first record; the result is stored (it may be `acc` changed in place). */
  add(value: IN, acc: ACC | undefined): ACC;
  /** The elements the window function gets. */
  results(acc: ACC): Iterable<R>;
}

/** Every record kept, for `.process(pwf)` alone (Flink's ListState contents). */
export class ListContents<IN> implements WindowContents<IN, IN[], IN> {
  readonly functions = [];
  open(): void {}
  add(value: IN, acc: IN[] | undefined): IN[] {
    if (acc === undefined) return [value];
    acc.push(value);
    return acc;
  }
  results(acc: IN[]): Iterable<IN> {
    return acc;
  }
}

/** The records reduced as they arrive (`.reduce`). */
export class ReduceContents<T> implements WindowContents<T, T, T> {
  private fn!: (a: T, b: T) => T;
  readonly functions: readonly unknown[];
  constructor(reduceFunction: ReduceFunction<T> | ((a: T, b: T) => T)) {
    this.functions = [reduceFunction];
  }
  open(): void {
    // Bound here, not in the constructor: the operator's copy of the function is the one to call.
    this.fn = bindMethod<[T, T], T>(this.functions[0] as ReduceFunction<T>, 'reduce', 'reduce()');
  }
  add(value: T, acc: T | undefined): T {
    return acc === undefined ? value : this.fn(acc, value);
  }
  results(acc: T): Iterable<T> {
    return [acc];
  }
}

/** The records folded into an accumulator as they arrive (`.aggregate`). */
export class AggregateContents<IN, ACC, R> implements WindowContents<IN, ACC, R> {
  readonly functions: readonly unknown[];
  constructor(aggregateFunction: AggregateFunction<IN, ACC, R>) {
    this.functions = [aggregateFunction];
  }
  open(): void {}
  private get fn(): AggregateFunction<IN, ACC, R> {
    return this.functions[0] as AggregateFunction<IN, ACC, R>;
  }
  add(value: IN, acc: ACC | undefined): ACC {
    const fn = this.fn;
    return fn.add(value, acc === undefined ? fn.createAccumulator() : acc);
  }
  results(acc: ACC): Iterable<R> {
    return [this.fn.getResult(acc)];
  }
}

/** The internal keyed process function: assigns records to windows and evaluates fired ones. */
class WindowProcess<K, IN, ACC, R, OUT> implements ProcessWindowContext {
  /** Set by the operator in open: the timestamp output records carry. */
  slot!: ElementTimestamp;
  private state!: MapState<number, ACC>;
  private firing: TimeWindow | undefined;
  private timerContext!: OnTimerContext<K>;

  constructor(
    private readonly assigner: WindowAssigner,
    private readonly contents: WindowContents<IN, ACC, R>,
    private readonly windowFunction: ProcessWindowFunction<R, OUT, K> | undefined,
  ) {}

  open(ctx: RuntimeContext): void {
    this.state = ctx.getMapState(new MapStateDescriptor<number, ACC>(WINDOW_CONTENTS));
    for (const fn of this.userFunctions()) {
      if (isRichFunction(fn)) fn.setRuntimeContext(ctx);
      const open = (fn as { open?: (ctx: RuntimeContext) => void }).open;
      if (typeof open === 'function') open.call(fn, ctx);
    }
    this.contents.open();
  }

  close(): void {
    for (const fn of this.userFunctions()) {
      const close = (fn as { close?: () => void }).close;
      if (typeof close === 'function') close.call(fn);
    }
  }

  private userFunctions(): unknown[] {
    return this.windowFunction
      ? [...this.contents.functions, this.windowFunction]
      : [...this.contents.functions];
  }

  processElement(value: IN, ctx: KeyedProcessContext<K>): void {
    const assigner = this.assigner;
    const timers = ctx.timerService();
    const eventTime = assigner.isEventTime();
    let time: number;
    if (eventTime) {
      const timestamp = ctx.timestamp();
      if (timestamp === null)
        throw new SluiceError(
          'SLUICE_WINDOW_NO_TIMESTAMP',
          `a record reached the event-time window ${assigner.toString()} without a timestamp. ` +
            'Give the stream timestamps with a WatermarkStrategy (env.fromSource(source, strategy, name) or ' +
            'stream.assignTimestampsAndWatermarks(strategy)), or use a processing-time window assigner.',
        );
      time = timestamp;
    } else time = timers.currentProcessingTime();
    const watermark = timers.currentWatermark();
    // Walks the windows' starts instead of assigner.assignWindows: no array per record.
    for (let start = assigner.lastStart(time); start > time - assigner.size; start -= assigner.slide) {
      const maxTimestamp = start + assigner.size - 1;
      // Late (Flink's isWindowLate with allowed lateness 0): the window has fired and is gone; the record is dropped for it.
      if (eventTime && maxTimestamp <= watermark) continue;
      this.state.put(start, this.contents.add(value, this.state.get(start)));
      if (eventTime) timers.registerEventTimeTimer(maxTimestamp);
      else timers.registerProcessingTimeTimer(maxTimestamp);
    }
  }

  /** The window ending at `timestamp + 1` fires: its results go out stamped with its maxTimestamp, then it is cleared. */
  onTimer(timestamp: number, ctx: OnTimerContext<K>, out: Collector<OUT>): void {
    const start = timestamp + 1 - this.assigner.size;
    if (!this.state.contains(start)) return;
    const acc = this.state.get(start) as ACC;
    const window = new TimeWindow(start, timestamp + 1);
    this.slot.set(window.maxTimestamp());
    const elements = this.contents.results(acc);
    if (this.windowFunction) {
      this.firing = window;
      this.timerContext = ctx;
      try {
        this.windowFunction.process(ctx.getCurrentKey(), this, elements, out);
      } finally {
        this.firing = undefined;
      }
    } else for (const element of elements) out.collect(element as unknown as OUT);
    this.state.remove(start);
  }

  // --- ProcessWindowContext (the function is its own context, as the keyed process operator) ---
  window(): TimeWindow {
    return this.firing!;
  }
  currentProcessingTime(): number {
    return this.timerContext.timerService().currentProcessingTime();
  }
  currentWatermark(): number {
    return this.timerContext.timerService().currentWatermark();
  }
}

/** Operator of `keyBy(...).window(assigner).reduce/aggregate/process(...)`. */
export class WindowOperator<K, IN, ACC, R, OUT> extends KeyedProcessOperator<K, IN, OUT> {
  constructor(
    assigner: WindowAssigner,
    contents: WindowContents<IN, ACC, R>,
    windowFunction: ProcessWindowFunction<R, OUT, K> | undefined,
    keySelector: KeySelectorFn<IN, K>,
  ) {
    super(new WindowProcess<K, IN, ACC, R, OUT>(assigner, contents, windowFunction), keySelector);
  }

  override open(): void {
    (this.userFunction as WindowProcess<K, IN, ACC, R, OUT>).slot = this.info.elementTimestamp;
    super.open();
  }
}
