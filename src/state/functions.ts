/** The function interfaces that reducing and aggregating state apply to every added value. */

/**
 * Combines two values of one type into one (Flink's `ReduceFunction`). Reducing state calls
 * `reduce(stored, added)`, so the stored value is always the left argument.
 */
export interface ReduceFunction<T> {
  reduce(a: T, b: T): T;
}

/**
 * Folds inputs into an accumulator and reads a result from it (Flink's `AggregateFunction`).
 * `add` and `merge` may mutate and return their accumulator argument instead of a new one: the
 * state stores whatever they return.
 */
export interface AggregateFunction<IN, ACC, OUT> {
  /** A fresh, empty accumulator; called when the first value for a key arrives. */
  createAccumulator(): ACC;
  /** Adds `value` to `accumulator` and returns the updated accumulator. */
  add(value: IN, accumulator: ACC): ACC;
  /** The result for an accumulator; must not change the accumulator. */
  getResult(accumulator: ACC): OUT;
  /** Combines two accumulators (used when windows merge). */
  merge(a: ACC, b: ACC): ACC;
}
