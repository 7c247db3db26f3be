/**
 * The user functions of two-input streams (Flink's `co` package): functions of connected streams,
 * of broadcast connections, and of joins.
 */
import type { Collector, RichFunction } from './functions.js';
import type { OutputTag } from './output-tag.js';
import type {
  KeyedProcessContext,
  OnTimerContext,
  ProcessContext,
  TimeDomain,
  TimerService,
} from './process-function.js';
import { AbstractRichFunction } from './rich-functions.js';
import type { MapStateDescriptor, StateDescriptor } from '../state/state-descriptor.js';
import type { StateFor } from '../state/keyed-state-backend.js';

/** Maps each input's records with its own method (Flink's CoMapFunction). */
export interface CoMapFunction<IN1, IN2, OUT> extends RichFunction {
  map1(value: IN1): OUT;
  map2(value: IN2): OUT;
}

/** Emits zero or more records per record of either input (Flink's CoFlatMapFunction). */
export interface CoFlatMapFunction<IN1, IN2, OUT> extends RichFunction {
  flatMap1(value: IN1, out: Collector<OUT>): void;
  flatMap2(value: IN2, out: Collector<OUT>): void;
}

/** A CoMapFunction with a RuntimeContext (Flink's RichCoMapFunction). */
export abstract class RichCoMapFunction<IN1, IN2, OUT> extends AbstractRichFunction {
  abstract map1(value: IN1): OUT;
  abstract map2(value: IN2): OUT;
}

/** A CoFlatMapFunction with a RuntimeContext (Flink's RichCoFlatMapFunction). */
export abstract class RichCoFlatMapFunction<IN1, IN2, OUT> extends AbstractRichFunction {
  abstract flatMap1(value: IN1, out: Collector<OUT>): void;
  abstract flatMap2(value: IN2, out: Collector<OUT>): void;
}

/** Processes the records of two connected (non-keyed) streams, with access to time (Flink's CoProcessFunction). */
export abstract class CoProcessFunction<IN1, IN2, OUT> extends AbstractRichFunction {
  abstract processElement1(value: IN1, ctx: ProcessContext, out: Collector<OUT>): void;
  abstract processElement2(value: IN2, ctx: ProcessContext, out: Collector<OUT>): void;
}

/**
 * Processes the records of two connected keyed streams with keyed state and timers shared by both
 * inputs per key (Flink's KeyedCoProcessFunction); the optional `onTimer(timestamp, ctx, out)`
 * receives the timers either side registered.
 */
export abstract class KeyedCoProcessFunction<K, IN1, IN2, OUT> extends AbstractRichFunction {
  abstract processElement1(value: IN1, ctx: KeyedProcessContext<K>, out: Collector<OUT>): void;
  abstract processElement2(value: IN2, ctx: KeyedProcessContext<K>, out: Collector<OUT>): void;
}

/** The optional timer callback of a KeyedCoProcessFunction or KeyedBroadcastProcessFunction. */
export interface CoOnTimer<K, OUT> {
  onTimer(timestamp: number, ctx: OnTimerContext<K>, out: Collector<OUT>): void;
}

// --- broadcast state ---

/** Broadcast state as the non-broadcast side sees it: read only (Flink's ReadOnlyBroadcastState). */
export interface ReadOnlyBroadcastState<K, V> {
  get(key: K): V | undefined;
  contains(key: K): boolean;
  immutableEntries(): IterableIterator<readonly [K, V]>;
  /** The entries, as `immutableEntries()`. */
  entries(): IterableIterator<readonly [K, V]>;
  keys(): IterableIterator<K>;
  values(): IterableIterator<V>;
  isEmpty(): boolean;
}

/** Broadcast state as the broadcast side sees it: read-write, identical on every subtask (Flink's BroadcastState). */
export interface BroadcastState<K, V> extends ReadOnlyBroadcastState<K, V> {
  put(key: K, value: V): void;
  putAll(entries: Iterable<readonly [K, V]>): void;
  remove(key: K): void;
  clear(): void;
}

/** What both sides of a broadcast process function see. */
export interface BaseBroadcastContext {
  /** The record's event timestamp, or null when it has none. */
  timestamp(): number | null;
  currentProcessingTime(): number;
  currentWatermark(): number;
  /** Emits `value` to the side output `outputTag` (read with `getSideOutput(outputTag)`). */
  output<X>(outputTag: OutputTag<X>, value: X): void;
}

/** The context of `processElement` (the non-broadcast side): broadcast state is read only. */
export interface BroadcastReadOnlyContext extends BaseBroadcastContext {
  getBroadcastState<K, V>(descriptor: MapStateDescriptor<K, V>): ReadOnlyBroadcastState<K, V>;
}

/** The context of `processBroadcastElement` (the broadcast side): broadcast state is read-write. */
export interface BroadcastContext extends BaseBroadcastContext {
  getBroadcastState<K, V>(descriptor: MapStateDescriptor<K, V>): BroadcastState<K, V>;
}

/** The non-broadcast side's context of a KeyedBroadcastProcessFunction: also the key and timers. */
export interface KeyedBroadcastReadOnlyContext<K> extends BroadcastReadOnlyContext {
  getCurrentKey(): K;
  timerService(): TimerService;
}

/** Runs on one key's state (Flink's KeyedStateFunction): a function or an object with `process`. */
export type KeyedStateFunction<K, S> = ((key: K, state: S) => void) | { process(key: K, state: S): void };

/** The broadcast side's context of a KeyedBroadcastProcessFunction: also every key's state. */
export interface KeyedBroadcastContext<K> extends BroadcastContext {
  /** Calls `fn` with each key of this subtask that has `descriptor`'s state, that key current. */
  applyToKeyedState<D extends StateDescriptor>(descriptor: D, fn: KeyedStateFunction<K, StateFor<D>>): void;
}

/** The context of a KeyedBroadcastProcessFunction's `onTimer`. */
export interface KeyedBroadcastOnTimerContext<K> extends KeyedBroadcastReadOnlyContext<K> {
  timeDomain(): TimeDomain;
}

/**
 * Processes a (non-keyed) stream connected to a broadcast stream (Flink's BroadcastProcessFunction):
 * the broadcast side writes the broadcast state, the other side reads it.
 */
export abstract class BroadcastProcessFunction<IN1, IN2, OUT> extends AbstractRichFunction {
  abstract processElement(value: IN1, ctx: BroadcastReadOnlyContext, out: Collector<OUT>): void;
  abstract processBroadcastElement(value: IN2, ctx: BroadcastContext, out: Collector<OUT>): void;
}

/**
 * Processes a keyed stream connected to a broadcast stream (Flink's KeyedBroadcastProcessFunction):
 * keyed state and timers on the keyed side, the broadcast state read-write on the broadcast side;
 * the optional `onTimer(timestamp, ctx, out)` receives the timers.
 */
export abstract class KeyedBroadcastProcessFunction<K, IN1, IN2, OUT> extends AbstractRichFunction {
  abstract processElement(value: IN1, ctx: KeyedBroadcastReadOnlyContext<K>, out: Collector<OUT>): void;
  abstract processBroadcastElement(value: IN2, ctx: KeyedBroadcastContext<K>, out: Collector<OUT>): void;
}

// --- joins ---

/** Joins a pair of records of the same key and window (Flink's JoinFunction); or a plain function. */
export interface JoinFunction<IN1, IN2, OUT> extends RichFunction {
  join(first: IN1, second: IN2): OUT;
}

/** Joins a pair of records, emitting zero or more records (Flink's FlatJoinFunction). */
export interface FlatJoinFunction<IN1, IN2, OUT> extends RichFunction {
  join(first: IN1, second: IN2, out: Collector<OUT>): void;
}

/** Gets all records of both inputs of one key and window (Flink's CoGroupFunction); or a plain function. */
export interface CoGroupFunction<IN1, IN2, OUT> extends RichFunction {
  coGroup(first: Iterable<IN1>, second: Iterable<IN2>, out: Collector<OUT>): void;
}

/** The context of a ProcessJoinFunction call: the pair's timestamps. */
export interface ProcessJoinContext {
  getLeftTimestamp(): number;
  getRightTimestamp(): number;
  /** The later of the two, which the emitted records carry. */
  getTimestamp(): number;
}

/** Processes each pair of an interval join (Flink's ProcessJoinFunction). */
export abstract class ProcessJoinFunction<IN1, IN2, OUT> extends AbstractRichFunction {
  abstract processElement(left: IN1, right: IN2, ctx: ProcessJoinContext, out: Collector<OUT>): void;
}
