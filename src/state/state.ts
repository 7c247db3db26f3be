/** The keyed state user functions see: synchronous, and scoped to the current key as in Flink. */

/** What every kind of keyed state has: a way to drop the current key's value. */
export interface State {
  /** Removes the current key's value; afterwards the state reads as empty for this key. */
  clear(): void;
}

/** One value per key (Flink's `ValueState`). */
export interface ValueState<T> extends State {
  /** The current key's value, or the descriptor's default value when it has none. */
  value(): T | undefined;
  /** Sets the current key's value; `update(undefined)` clears it (as Flink's `update(null)`). */
  update(value: T | undefined): void;
}

/** A list of elements per key (Flink's `ListState`). An emptied list is absent, not stored empty. */
export interface ListState<T> extends State {
  /**
   * The current key's elements, or an empty array. On the heap backend this is the stored array
   * itself, not a copy (reading a list allocates nothing): change elements through `update`/`add`,
   * which every backend honours, and do not keep the array past the next write to this state.
   * Changing its element objects in place never leaks into a checkpoint already taken.
   */
  get(): readonly T[];
  /** Appends one element. `undefined` cannot be an element (Flink rejects null elements too). */
  add(value: T): void;
  /** Appends every element of `values`, in order. */
  addAll(values: readonly T[]): void;
  /** Replaces the elements with (a copy of) `values`; an empty array clears the state. */
  update(values: readonly T[]): void;
}

/**
 * A map per key (Flink's `MapState`). User keys follow the rules of stream keys: primitives, or
 * arrays and plain objects of them, compared by content (`['a', 1]` finds an entry put with
 * another `['a', 1]`); iteration returns the user key object that was put.
 */
export interface MapState<K, V> extends State {
  /** The value under `key`, or undefined. */
  get(key: K): V | undefined;
  /** Sets the value under `key`. */
  put(key: K, value: V): void;
  /** Puts every entry: `[key, value]` pairs (a Map works) or, for string keys, a plain object. */
  putAll(entries: Iterable<readonly [K, V]> | (string extends K ? Readonly<Record<string, V>> : never)): void;
  /** Removes the entry under `key`, if any. */
  remove(key: K): void;
  /** Whether there is an entry under `key` (even one whose value is undefined). */
  contains(key: K): boolean;
  /**
   * The entries in insertion order. Each pair is the stored one: do not change the pair; a value
   * object may be changed in place (then `put` it back, which every backend honours; a checkpoint
   * already taken never sees the change). Writing to this key's map while iterating is safe, but
   * the iteration may or may not see the puts and removes made after it began.
   */
  entries(): IterableIterator<readonly [K, V]>;
  /** The user keys, in insertion order. */
  keys(): IterableIterator<K>;
  /** The values, in insertion order. */
  values(): IterableIterator<V>;
  /** Whether the current key has no entries. */
  isEmpty(): boolean;
}

/** One value per key, combined with a ReduceFunction on every add (Flink's `ReducingState`). */
export interface ReducingState<T> extends State {
  /** The reduction of everything added for the current key, or undefined if nothing was. */
  get(): T | undefined;
  /**
   * Reduces `value` into the stored value (`reduce(stored, value)`); the first add stores it as
   * is. `add(undefined)` clears the state, as Flink's `add(null)` does.
   */
  add(value: T): void;
}

/** An accumulator per key, fed by an AggregateFunction (Flink's `AggregatingState`). */
export interface AggregatingState<IN, OUT> extends State {
  /** `getResult` of the current key's accumulator, or undefined if nothing was added. */
  get(): OUT | undefined;
  /**
   * Adds `value` to the accumulator, creating it on the first add. `add(undefined)` clears the
   * state, as Flink's `add(null)` does.
   */
  add(value: IN): void;
}
