/** User function interfaces of the DataStream API: plain functions or objects with a method. */
import type { RuntimeContext } from './runtime-context.js';

/** Receives the records a function emits. */
export interface Collector<T> {
  collect(record: T): void;
}

/**
 * Optional life-cycle hooks any function object may have: `open` runs once per parallel
 * instance before the first record (declare state there), `close` after the last. `open` gets
 * the RuntimeContext (which is also Flink 2.x's OpenContext). They are not declared on the base
 * classes, so implementing them never needs `override`.
 */
export interface RichFunction {
  open?(ctx: RuntimeContext): void;
  close?(): void;
}

/**
 * Transforms one record into one record (Flink's MapFunction). The API also takes a plain
 * function `(value) => result`.
 */
export interface MapFunction<T, R> extends RichFunction {
  map(value: T): R;
}
/** Keeps the records for which it returns true (Flink's FilterFunction); or a plain function. */
export interface FilterFunction<T> extends RichFunction {
  filter(value: T): boolean;
}
/** Emits zero or more records per record through the collector (Flink's FlatMapFunction); or a plain function. */
export interface FlatMapFunction<T, R> extends RichFunction {
  flatMap(value: T, out: Collector<R>): void;
}
/**
 * Combines two values of a key into one (Flink's ReduceFunction; must be associative); or a plain
 * function `(a, b) => a`. Used by `KeyedStream.reduce` and by ReducingStateDescriptor, which
 * calls `reduce(stored, added)`.
 */
export interface ReduceFunction<T> extends RichFunction {
  reduce(a: T, b: T): T;
}
/** Picks the key of a record; must be deterministic (Flink's KeySelector); or a plain function. */
export interface KeySelector<T, K> {
  getKey(value: T): K;
}

/** Turns a function-or-object into a callable bound to its object (done once per subtask). */
export function bindMethod<A extends unknown[], R>(
  fn: ((...args: A) => R) | object,
  method: string,
  what: string,
): (...args: A) => R {
  if (typeof fn === 'function') return fn as (...args: A) => R;
  const m = (fn as Record<string, unknown>)[method];
  if (typeof m !== 'function')
    throw new TypeError(`${what} must be a function or an object with a ${method}() method.`);
  return (m as (...args: A) => R).bind(fn);
}

/** The key selector as a plain function. */
export function keySelectorFn<T, K>(selector: KeySelector<T, K> | ((value: T) => K)): (value: T) => K {
  return bindMethod<[T], K>(selector, 'getKey', 'a key selector');
}
