/** User function interfaces of the DataStream API: plain functions or objects with a method. */
import type { RuntimeContext } from './runtime-context.js';

/** Receives the records a function emits. */
export interface Collector<T> {
  collect(record: T): void;
}

/**
 * Optional life-cycle hooks any function object may have: `open` runs once per parallel
 * instance before the first record (declare state there), `close` after the last.
 * They are not declared on the base classes, so implementing them never needs `override`.
 */
export interface RichFunction {
  open?(ctx: RuntimeContext): void;
  close?(): void;
}

/** Transforms one record into one record. */
export type MapFunction<T, R> = ((value: T) => R) | ({ map(value: T): R } & RichFunction);
/** Keeps the records for which it returns true. */
export type FilterFunction<T> = ((value: T) => boolean) | ({ filter(value: T): boolean } & RichFunction);
/** Emits zero or more records per record through the collector. */
export type FlatMapFunction<T, R> =
  ((value: T, out: Collector<R>) => void) | ({ flatMap(value: T, out: Collector<R>): void } & RichFunction);
/**
 * Combines two values of a key into one (Flink's ReduceFunction; must be associative): a plain
 * function `(a, b) => a` or an object with `reduce(a, b)`. Used by `KeyedStream.reduce` and by
 * ReducingStateDescriptor, which calls `reduce(stored, added)`.
 */
export type ReduceFunction<T> = ((a: T, b: T) => T) | ({ reduce(a: T, b: T): T } & RichFunction);
/** Picks the key of a record; must be deterministic. */
export type KeySelector<T, K> = ((value: T) => K) | { getKey(value: T): K };

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
export function keySelectorFn<T, K>(selector: KeySelector<T, K>): (value: T) => K {
  return bindMethod<[T], K>(selector, 'getKey', 'a key selector');
}
