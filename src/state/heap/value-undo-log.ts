/** The values that left one key group's live state while a pinned snapshot still had to write them. */

/**
 * Where a frozen (serialized) value's bytes are: `chunk[start, end)`. A freezer returns one shared
 * instance, overwritten by its next call: read it at once.
 */
export interface FrozenBytes {
  chunk: Uint8Array;
  start: number;
  end: number;
}

/** Serializes a stored value exactly as the snapshot format writes it (the state's codec). */
export type ValueFreezer = (value: unknown) => FrozenBytes;

/** `start` marks of a record that holds no frozen bytes. */
const PLAIN = -1;
const FAILED = -2;

// Record layout: the key and the value (or chunk, or error) in two arrays, the four numbers in one
// Float64Array (no boxing, no write barrier), so that logging one record is two pushes and four
// stores. A checkpoint may log a record per key of the state (millions), on the record path: one
// generic array of six slots per record cost about twice as much (measured).
const VERSION = 0;
const LEFT_AT = 1;
const START = 2;
const END = 3;
const NUMBERS = 4;

/**
 * Records with no object of their own: record i is the value of key `keyOf(i)`, stamped
 * `version`, that left the live state at version `leftAt`. Its value is the value itself
 * (immutable), or frozen bytes (`isFrozen`: `chunkOf(i)[startOf(i), endOf(i))`), or — when it
 * could not be serialized — an error (`isFailed`), which the snapshot reading it rethrows.
 *
 * Snapshot V reads record i iff `version < V <= leftAt` (it was live when V was pinned).
 */
export class ValueUndoLog {
  private readonly keys: unknown[] = [];
  private readonly values: unknown[] = [];
  private numbers = new Float64Array(16 * NUMBERS);

  /** How many records are logged. */
  get size(): number {
    return this.keys.length;
  }

  /** Logs an immutable value. */
  pushValue(key: unknown, version: number, leftAt: number, value: unknown): void {
    this.push(key, version, leftAt, value, PLAIN, PLAIN);
  }

  /** Logs a value by its frozen bytes. */
  pushFrozen(key: unknown, version: number, leftAt: number, bytes: FrozenBytes): void {
    this.push(key, version, leftAt, bytes.chunk, bytes.start, bytes.end);
  }

  /** Logs a value that could not be frozen, with why. */
  pushFailed(key: unknown, version: number, leftAt: number, error: unknown): void {
    this.push(key, version, leftAt, error, FAILED, FAILED);
  }

  /** The key of record i. */
  keyOf(i: number): unknown {
    return this.keys[i];
  }

  /** The value of record i; its bytes' chunk when frozen; the error when failed. */
  valueOf(i: number): unknown {
    return this.values[i];
  }

  /** Whether record i holds frozen bytes. */
  isFrozen(i: number): boolean {
    return this.numbers[i * NUMBERS + START]! >= 0;
  }

  /** Whether record i is a value that could not be frozen. */
  isFailed(i: number): boolean {
    return this.numbers[i * NUMBERS + START] === FAILED;
  }

  /** Where record i's frozen bytes start in `valueOf(i)`. */
  startOf(i: number): number {
    return this.numbers[i * NUMBERS + START]!;
  }

  /** Where record i's frozen bytes end in `valueOf(i)`. */
  endOf(i: number): number {
    return this.numbers[i * NUMBERS + END]!;
  }

  /** Appends to `out` the indexes of the records snapshot `version` reads. */
  collect(version: number, out: number[]): void {
    const numbers = this.numbers;
    const n = this.keys.length;
    for (let i = 0; i < n; i++) {
      const at = i * NUMBERS;
      if (numbers[at + VERSION]! < version && numbers[at + LEFT_AT]! >= version) out.push(i);
    }
  }

  private push(
    key: unknown,
    version: number,
    leftAt: number,
    value: unknown,
    start: number,
    end: number,
  ): void {
    const i = this.keys.length;
    let numbers = this.numbers;
    const at = i * NUMBERS;
    if (at + NUMBERS > numbers.length) {
      const grown = new Float64Array(numbers.length * 2);
      grown.set(numbers);
      this.numbers = numbers = grown;
    }
    this.keys.push(key);
    this.values.push(value);
    numbers[at + VERSION] = version;
    numbers[at + LEFT_AT] = leftAt;
    numbers[at + START] = start;
    numbers[at + END] = end;
  }
}
