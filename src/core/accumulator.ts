/** The accumulator contract (Flink's flink-core Accumulator): what user code adds to, what tasks keep per subtask. */

/** A value each parallel instance adds to locally; the job's result merges them all. */
export interface Accumulator<V, R> {
  add(value: V): void;
  getLocalValue(): R;
  resetLocal(): void;
  /** Folds another instance's accumulator of the same kind into this one. */
  merge(other: Accumulator<V, R>): void;
  clone(): Accumulator<V, R>;
}

/** The accumulators of one subtask, by name. */
export type AccumulatorRegistry = Map<string, Accumulator<unknown, unknown>>;
