/**
 * Keyed windows (Flink's WindowOperator and EvictingWindowOperator): assigner, trigger, optional
 * evictor, allowed lateness and late-data side output. It is a KeyedProcessOperator running an
 * internal function, so window timers are that operator's keyed timers (both domains,
 * checkpointed and rescaled with the key groups). Sluice's keyed state has no namespaces (Flink
 * keeps one state per window namespace), so everything per window is an entry of a keyed map
 * named by the window's key (WindowCodec): the contents, the trigger's state, and an index from
 * each timer's time to the windows that registered it (Flink's timers carry their window).
 */
import { SluiceError } from '../../core/errors.js';
import { MAX_WATERMARK, MIN_WATERMARK } from '../../core/watermark.js';
import type { KeySelectorFn } from '../../graph/partitioner.js';
import type { ElementTimestamp } from '../../runtime/element-timestamp.js';
import { MapStateDescriptor } from '../../state/state-descriptor.js';
import type { MapState } from '../../state/state.js';
import type { AggregateFunction } from '../../state/functions.js';
import { bindMethod, type Collector, type ReduceFunction } from '../functions.js';
import type { OutputTag } from '../output-tag.js';
import type { KeyedProcessContext, OnTimerContext, TimerService } from '../process-function.js';
import { isRichFunction } from '../rich-functions.js';
import type { RuntimeContext } from '../runtime-context.js';
import { TimestampedValue, type Evictor, type EvictorContext } from '../windowing/evictors.js';
import type {
  KeyedStateStore,
  ProcessWindowContext,
  ProcessWindowFunction,
} from '../windowing/process-window-function.js';
import type { OnMergeContext, Trigger, TriggerResult } from '../windowing/trigger.js';
import {
  FixedTimeWindows,
  MergingWindowAssigner,
  type WindowAssigner,
  type WindowAssignerContext,
} from '../windowing/window-assigners.js';
import { TimeWindow } from '../windowing/time-window.js';
import type { Window } from '../windowing/window.js';
import { KeyedProcessOperator } from './keyed-process-operator.js';
import { MergingWindowSet } from './merging-window-set.js';
import { windowCodecOf, type WindowCodec } from './window-codec.js';
import { WindowScopedStates, type WindowKey } from './window-scoped-state.js';

/** Name of the keyed map state holding each key's open windows (Flink's WindowOperator: "window-contents"). */
export const WINDOW_CONTENTS = 'window-contents';
/** Keyed maps from a timer's time to the windows that registered it, per time domain. */
export const WINDOW_EVENT_TIMERS = 'window-timers-event';
export const WINDOW_PROCESSING_TIMERS = 'window-timers-processing';
/** Keyed map of a merging assigner's in-flight windows to their state windows (Flink's "merging-window-set"). */
export const MERGING_WINDOW_SET = 'merging-window-set';

/** How a window accumulates its records and what it hands to the window function when it fires. */
export interface WindowContents<IN, ACC, R> {
  /** The user functions inside, to open and close with the operator. */
  readonly functions: readonly unknown[];
  open(): void;
  /** `acc` is undefined for a window's first record; the result is stored (it may be `acc` changed in place). */
  add(value: IN, acc: ACC | undefined, timestamp: number | null): ACC;
  /** Two windows' contents as one (when session windows merge). */
  merge(a: ACC, b: ACC): ACC;
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
  merge(a: IN[], b: IN[]): IN[] {
    return a.concat(b);
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
  merge(a: T, b: T): T {
    return this.fn(a, b);
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
  merge(a: ACC, b: ACC): ACC {
    return this.fn.merge(a, b);
  }
  results(acc: ACC): Iterable<R> {
    return [this.fn.getResult(acc)];
  }
}

/** A record kept by an evicting window: [value, timestamp or null]. */
type Kept<IN> = [IN, number | null];

/**
 * With an evictor every record is kept with its timestamp (Flink's EvictingWindowOperator); the
 * reduce or aggregate function runs over what the evictor left when the window fires.
 */
export class EvictingContents<IN, ACC, R> implements WindowContents<IN, Kept<IN>[], R> {
  readonly functions: readonly unknown[];
  constructor(private readonly inner: WindowContents<IN, ACC, R>) {
    this.functions = inner.functions;
  }
  open(): void {
    this.inner.open();
  }
  add(value: IN, acc: Kept<IN>[] | undefined, timestamp: number | null): Kept<IN>[] {
    if (acc === undefined) return [[value, timestamp]];
    acc.push([value, timestamp]);
    return acc;
  }
  merge(a: Kept<IN>[], b: Kept<IN>[]): Kept<IN>[] {
    return a.concat(b);
  }
  results(acc: Kept<IN>[]): Iterable<R> {
    return this.resultsOf(acc.map((k) => k[0]));
  }
  /** The inner function applied to the records left (none left: no result, where Flink would emit null). */
  resultsOf(values: readonly IN[]): Iterable<R> {
    let acc: ACC | undefined;
    for (const v of values) acc = this.inner.add(v, acc, null);
    return acc === undefined ? [] : this.inner.results(acc);
  }
}

/** What `windowedStream.trigger/evictor/allowedLateness/sideOutputLateData` set. */
export interface WindowOptions<IN, W extends Window> {
  readonly trigger?: Trigger<IN, W> | undefined;
  readonly evictor?: Evictor<IN, W> | undefined;
  /** Ms past a window's end during which late records still update and re-fire it (event time). */
  readonly allowedLateness?: number | undefined;
  /** Where records too late for every window go, instead of being dropped. */
  readonly lateDataOutputTag?: OutputTag<IN> | undefined;
}

type Emitter = { emitSideOutput<X>(tag: OutputTag<X>, value: X): void };

/**
 * The internal keyed process function: assigns records to windows, runs the trigger and evaluates
 * fired windows. It is its own trigger, window-function, evictor and assigner context (nothing
 * allocated per call); `window`/`windowKey` are the window in hand.
 */
class WindowProcess<K, IN, ACC, R, OUT, W extends Window>
  implements ProcessWindowContext<W>, OnMergeContext, EvictorContext, WindowAssignerContext
{
  /** Set by the operator in open: the timestamp output records carry, and side outputs. */
  slot!: ElementTimestamp;
  emitter!: Emitter;
  private state!: MapState<WindowKey, ACC>;
  private eventTimerIndex!: MapState<number, WindowKey[]>;
  private processingTimerIndex!: MapState<number, WindowKey[]>;
  private mergingState: MapState<WindowKey, WindowKey> | undefined;
  private triggerState!: WindowScopedStates;
  private perWindowState!: WindowScopedStates;
  private runtimeContext!: RuntimeContext;
  private readonly codec: WindowCodec<W>;
  private readonly fixed: FixedTimeWindows | undefined;
  private readonly merging: MergingWindowAssigner<IN, W> | undefined;
  private readonly trigger: Trigger<IN, W>;
  private readonly eventTime: boolean;
  private readonly lateness: number;
  /** The window in hand (trigger context, window function context) and its key. */
  private window_!: W;
  private windowKey: WindowKey = 0;
  /** The windows merging now (what `mergePartitionedState` merges). */
  private mergedKeys: WindowKey[] = [];
  private ctx!: KeyedProcessContext<K>;
  private timers!: TimerService;
  private out!: Collector<OUT>;
  /** Records dropped for coming after every window of theirs was gone (Flink's numLateRecordsDropped). */
  numLateRecordsDropped = 0;

  constructor(
    private readonly assigner: WindowAssigner<IN, W>,
    private readonly contents: WindowContents<IN, ACC, R>,
    private readonly windowFunction: ProcessWindowFunction<R, OUT, K, W> | undefined,
    private readonly options: WindowOptions<IN, W>,
  ) {
    this.codec = windowCodecOf(assigner as WindowAssigner<never, W>);
    this.fixed = assigner instanceof FixedTimeWindows ? assigner : undefined;
    this.merging = assigner instanceof MergingWindowAssigner ? assigner : undefined;
    this.trigger = options.trigger ?? assigner.getDefaultTrigger();
    this.eventTime = assigner.isEventTime();
    this.lateness = options.allowedLateness ?? 0;
  }

  open(ctx: RuntimeContext): void {
    this.runtimeContext = ctx;
    this.state = ctx.getMapState(new MapStateDescriptor<WindowKey, ACC>(WINDOW_CONTENTS));
    this.eventTimerIndex = ctx.getMapState(new MapStateDescriptor<number, WindowKey[]>(WINDOW_EVENT_TIMERS));
    this.processingTimerIndex = ctx.getMapState(
      new MapStateDescriptor<number, WindowKey[]>(WINDOW_PROCESSING_TIMERS),
    );
    if (this.merging)
      this.mergingState = ctx.getMapState(new MapStateDescriptor<WindowKey, WindowKey>(MERGING_WINDOW_SET));
    this.triggerState = new WindowScopedStates(ctx);
    this.perWindowState = new WindowScopedStates(ctx);
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

  processElement(value: IN, ctx: KeyedProcessContext<K>, out: Collector<OUT>): void {
    this.ctx = ctx;
    this.out = out;
    const timers = (this.timers = ctx.timerService());
    const stamp = ctx.timestamp();
    if (this.eventTime && stamp === null)
      throw new SluiceError(
        'SLUICE_WINDOW_NO_TIMESTAMP',
        `a record reached the event-time window ${this.assigner.toString()} without a timestamp. ` +
          'Give the stream timestamps with a WatermarkStrategy (env.fromSource(source, strategy, name) or ' +
          'stream.assignTimestampsAndWatermarks(strategy)), or use a processing-time window assigner.',
      );
    // As Flink's Long.MIN_VALUE for a record without a timestamp.
    const timestamp = stamp ?? MIN_WATERMARK;
    let skipped = true;
    const fixed = this.fixed;
    if (fixed !== undefined) {
      // Walks the windows' starts instead of assigner.assignWindows: no array per record.
      const time = this.eventTime ? timestamp : timers.currentProcessingTime();
      for (let start = fixed.lastStart(time); start > time - fixed.size; start -= fixed.slide)
        if (
          this.addToWindow(value, timestamp, new TimeWindow(start, start + fixed.size) as unknown as W, start)
        )
          skipped = false;
    } else if (this.merging !== undefined) skipped = this.addToMergingWindows(value, timestamp);
    else
      for (const window of this.assigner.assignWindows(value, timestamp, this))
        if (this.addToWindow(value, timestamp, window, this.codec.key(window))) skipped = false;
    if (skipped && this.isElementLate(timestamp)) {
      const tag = this.options.lateDataOutputTag;
      if (tag !== undefined) this.emitter.emitSideOutput(tag, value);
      else this.numLateRecordsDropped++;
    }
  }

  /** Adds the record to a (non-merging) window and runs the trigger; false when the window is late. */
  private addToWindow(value: IN, timestamp: number, window: W, key: WindowKey): boolean {
    if (this.isWindowLate(window)) return false;
    this.state.put(key, this.contents.add(value, this.state.get(key), this.ctx.timestamp()));
    this.setWindow(window, key);
    this.afterTrigger(this.trigger.onElement(value, timestamp, window, this), window, key);
    this.registerCleanupTimer(window);
    return true;
  }

  private addToMergingWindows(value: IN, timestamp: number): boolean {
    const set = this.mergingWindowSet();
    let skipped = true;
    for (const window of this.assigner.assignWindows(value, timestamp, this)) {
      const actual = set.addWindow(window, (result, merged, stateResult, mergedStateWindows) =>
        this.merge(result, merged, stateResult, mergedStateWindows),
      );
      if (this.isWindowLate(actual)) {
        set.retireWindow(actual);
        continue;
      }
      skipped = false;
      const stateWindow = set.getStateWindow(actual)!;
      const stateKey = this.codec.key(stateWindow);
      this.state.put(stateKey, this.contents.add(value, this.state.get(stateKey), this.ctx.timestamp()));
      this.setWindow(actual, this.codec.key(actual));
      this.afterTrigger(this.trigger.onElement(value, timestamp, actual, this), actual, stateKey);
      this.registerCleanupTimer(actual);
    }
    set.persist();
    return skipped;
  }

  /** Windows merged: the trigger re-registers for the result, the merged windows' timers and contents move to it. */
  private merge(result: W, mergedWindows: W[], stateResult: W, mergedStateWindows: W[]): void {
    if (this.eventTime && this.cleanupTime(result) <= this.timers.currentWatermark())
      throw new SluiceError(
        'SLUICE_PROGRAM_INVALID',
        `merging windows into ${String(result)} would end it before the current watermark ${this.timers.currentWatermark()}; ` +
          'a merging window assigner may only grow windows.',
      );
    if (!this.eventTime && result.maxTimestamp() <= this.timers.currentProcessingTime())
      throw new SluiceError(
        'SLUICE_PROGRAM_INVALID',
        `merging windows into ${String(result)} would end it before the current processing time; a merging window assigner may only grow windows.`,
      );
    this.mergedKeys = mergedWindows.map((w) => this.codec.key(w));
    this.setWindow(result, this.codec.key(result));
    this.trigger.onMerge(result, this);
    this.mergedKeys = [];
    for (const m of mergedWindows) {
      this.setWindow(m, this.codec.key(m));
      this.trigger.clear(m, this);
      this.deleteCleanupTimer(m);
    }
    const target = this.codec.key(stateResult);
    let acc = this.state.get(target);
    for (const s of mergedStateWindows) {
      const key = this.codec.key(s);
      const other = this.state.get(key);
      if (other === undefined) continue;
      acc = acc === undefined ? other : this.contents.merge(acc, other);
      this.state.remove(key);
    }
    if (acc !== undefined) this.state.put(target, acc);
  }

  private mergingWindowSet(): MergingWindowSet<W> {
    return new MergingWindowSet<W>(
      this.merging as unknown as MergingWindowAssigner<never, W>,
      this.codec,
      this.mergingState!,
    );
  }

  /** The timer at `timestamp` fired: each window that registered it sees it. */
  onTimer(timestamp: number, ctx: OnTimerContext<K>, out: Collector<OUT>): void {
    this.ctx = ctx;
    this.out = out;
    this.timers = ctx.timerService();
    const eventTime = ctx.timeDomain() === 'EVENT_TIME';
    const index = eventTime ? this.eventTimerIndex : this.processingTimerIndex;
    const keys = index.get(timestamp);
    if (keys === undefined) return;
    index.remove(timestamp);
    for (const key of keys) this.onWindowTimer(timestamp, key, eventTime);
  }

  private onWindowTimer(time: number, key: WindowKey, eventTime: boolean): void {
    const window = this.codec.window(key);
    let stateKey = key;
    let set: MergingWindowSet<W> | undefined;
    if (this.merging) {
      set = this.mergingWindowSet();
      const stateWindow = set.getStateWindow(window);
      // A timer of a window merged away since: the merge result has its own.
      if (stateWindow === undefined) return;
      stateKey = this.codec.key(stateWindow);
    }
    this.setWindow(window, key);
    if (this.state.contains(stateKey)) {
      const result = eventTime
        ? this.trigger.onEventTime(time, window, this)
        : this.trigger.onProcessingTime(time, window, this);
      this.afterTrigger(result, window, stateKey);
    }
    if (eventTime === this.eventTime && time === this.cleanupTime(window))
      this.clearAllState(window, key, stateKey, set);
    set?.persist();
  }

  private afterTrigger(result: TriggerResult, window: W, stateKey: WindowKey): void {
    if (result.isFire()) {
      const acc = this.state.get(stateKey);
      if (acc !== undefined) this.emitWindowContents(window, acc, stateKey);
    }
    if (result.isPurge()) this.state.remove(stateKey);
  }

  /** Evaluates the window: its results go out stamped with its maxTimestamp. */
  private emitWindowContents(window: W, acc: ACC, stateKey: WindowKey): void {
    const slot = this.slot;
    const hadTimestamp = slot.present;
    const previous = slot.value;
    slot.set(window.maxTimestamp());
    try {
      const evictor = this.options.evictor;
      if (evictor === undefined) this.apply(window, this.contents.results(acc));
      else {
        const kept = (acc as unknown as Kept<IN>[]).map(([v, t]) => new TimestampedValue(v, t));
        evictor.evictBefore(kept, kept.length, window, this);
        const values = kept.map((k) => k.getValue());
        this.apply(window, (this.contents as unknown as EvictingContents<IN, unknown, R>).resultsOf(values));
        evictor.evictAfter(kept, kept.length, window, this);
        if (kept.length === 0) this.state.remove(stateKey);
        else
          this.state.put(
            stateKey,
            kept.map((k) => [k.getValue(), k.hasTimestamp() ? k.getTimestamp() : null]) as unknown as ACC,
          );
      }
    } finally {
      slot.value = previous;
      slot.present = hadTimestamp;
    }
  }

  private apply(window: W, elements: Iterable<R>): void {
    if (this.windowFunction) {
      this.setWindow(window, this.windowKey);
      this.perWindowState.current = this.windowKey;
      this.windowFunction.process(this.ctx.getCurrentKey(), this, elements, this.out);
    } else for (const element of elements) this.out.collect(element as unknown as OUT);
  }

  /** The window is gone for good: its contents, its trigger state and timers, the function's window state. */
  private clearAllState(
    window: W,
    key: WindowKey,
    stateKey: WindowKey,
    set: MergingWindowSet<W> | undefined,
  ): void {
    this.state.remove(stateKey);
    this.setWindow(window, key);
    this.trigger.clear(window, this);
    const clear = (this.windowFunction as { clear?: (ctx: ProcessWindowContext<W>) => void } | undefined)
      ?.clear;
    if (typeof clear === 'function') {
      this.perWindowState.current = key;
      clear.call(this.windowFunction, this);
    }
    set?.retireWindow(window);
  }

  private setWindow(window: W, key: WindowKey): void {
    this.window_ = window;
    this.windowKey = key;
    this.triggerState.current = key;
  }

  // --- lateness (Flink's cleanupTime, isWindowLate, isElementLate) ---
  private cleanupTime(window: W): number {
    if (!this.eventTime) return window.maxTimestamp();
    return Math.min(window.maxTimestamp() + this.lateness, MAX_WATERMARK);
  }
  private isWindowLate(window: W): boolean {
    return this.eventTime && this.cleanupTime(window) <= this.timers.currentWatermark();
  }
  private isElementLate(timestamp: number): boolean {
    return this.eventTime && timestamp + this.lateness <= this.timers.currentWatermark();
  }
  private registerCleanupTimer(window: W): void {
    const time = this.cleanupTime(window);
    // No cleanup at the end of time (the global window): it would never come.
    if (time >= MAX_WATERMARK) return;
    if (this.eventTime) this.registerEventTimeTimer(time);
    else this.registerProcessingTimeTimer(time);
  }
  private deleteCleanupTimer(window: W): void {
    const time = this.cleanupTime(window);
    if (time >= MAX_WATERMARK) return;
    if (this.eventTime) this.deleteEventTimeTimer(time);
    else this.deleteProcessingTimeTimer(time);
  }

  // --- TriggerContext / OnMergeContext ---
  getCurrentProcessingTime(): number {
    return this.timers.currentProcessingTime();
  }
  getCurrentWatermark(): number {
    return this.timers.currentWatermark();
  }
  registerEventTimeTimer(time: number): void {
    if (this.index(this.eventTimerIndex, time)) this.timers.registerEventTimeTimer(time);
  }
  registerProcessingTimeTimer(time: number): void {
    if (this.index(this.processingTimerIndex, time)) this.timers.registerProcessingTimeTimer(time);
  }
  deleteEventTimeTimer(time: number): void {
    if (this.unindex(this.eventTimerIndex, time)) this.timers.deleteEventTimeTimer(time);
  }
  deleteProcessingTimeTimer(time: number): void {
    if (this.unindex(this.processingTimerIndex, time)) this.timers.deleteProcessingTimeTimer(time);
  }
  /** Notes the window in hand at `time`; true when the key had no timer there yet. */
  private index(index: MapState<number, WindowKey[]>, time: number): boolean {
    const keys = index.get(time);
    if (keys === undefined) {
      index.put(time, [this.windowKey]);
      return true;
    }
    if (keys.includes(this.windowKey)) return false;
    keys.push(this.windowKey);
    index.put(time, keys);
    return false;
  }
  /** Drops the window in hand at `time`; true when no window of the key is left there. */
  private unindex(index: MapState<number, WindowKey[]>, time: number): boolean {
    const keys = index.get(time);
    if (keys === undefined) return false;
    const i = keys.indexOf(this.windowKey);
    if (i < 0) return false;
    if (keys.length === 1) {
      index.remove(time);
      return true;
    }
    keys.splice(i, 1);
    index.put(time, keys);
    return false;
  }
  getPartitionedState(descriptor: never): never {
    return this.triggerState.getPartitionedState(descriptor) as never;
  }
  mergePartitionedState(descriptor: Parameters<OnMergeContext['mergePartitionedState']>[0]): void {
    if (this.mergedKeys.length > 0) this.triggerState.merge(descriptor, this.windowKey, this.mergedKeys);
  }

  // --- ProcessWindowContext ---
  window(): W {
    return this.window_;
  }
  currentProcessingTime(): number {
    return this.timers.currentProcessingTime();
  }
  currentWatermark(): number {
    return this.timers.currentWatermark();
  }
  windowState(): KeyedStateStore {
    return this.perWindowState;
  }
  globalState(): KeyedStateStore {
    return this.runtimeContext;
  }
  output<X>(outputTag: OutputTag<X>, value: X): void {
    this.emitter.emitSideOutput(outputTag, value);
  }
}

/** Operator of `keyBy(...).window(assigner)[.trigger/.evictor/...].reduce/aggregate/process(...)`. */
export class WindowOperator<K, IN, ACC, R, OUT, W extends Window = TimeWindow> extends KeyedProcessOperator<
  K,
  IN,
  OUT
> {
  constructor(
    assigner: WindowAssigner<IN, W>,
    contents: WindowContents<IN, ACC, R>,
    windowFunction: ProcessWindowFunction<R, OUT, K, W> | undefined,
    keySelector: KeySelectorFn<IN, K>,
    options: WindowOptions<IN, W> = {},
  ) {
    super(new WindowProcess<K, IN, ACC, R, OUT, W>(assigner, contents, windowFunction, options), keySelector);
  }

  override open(): void {
    const process = this.userFunction as unknown as WindowProcess<K, IN, ACC, R, OUT, Window>;
    process.slot = this.info.elementTimestamp;
    process.emitter = this;
    super.open();
  }
}
