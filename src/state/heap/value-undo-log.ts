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

// Record layout: STRIDE slots in one array, so that logging one writes one place in memory (a
// checkpoint may log a record per key of the state, for keys all over the key groups).
const KEY = 0;
const VERSION = 1;
const LEFT_AT = 2;
const VALUE = 3;
const START = 4;
const END = 5;
const STRIDE = 6;

/**
 * Records with no object of their own: record i is the value of key `keyOf(i)`, stamped
 * `version`, that left the live state at version `leftAt`. Its value is the value itself
 * (immutable), or frozen bytes (`isFrozen`: `chunkOf(i)[startOf(i), endOf(i))`), or — when it
 * could not be serialized — an error (`isFailed`), which the snapshot reading it rethrows.
 *
 * Snapshot V reads record i iff `version < V <= leftAt` (it was live when V was pinned).
 */
export class ValueUndoLog {
  private readonly slots: unknown[] = [];

  /** How many records are logged. */
  get size(): number {
    return this.slots.length / STRIDE;
  }

  /** Logs an immutable value. */
  pushValue(key: unknown, version: number, leftAt: number, value: unknown): void {
    this.slots.push(key, version, leftAt, value, PLAIN, PLAIN);
  }

  /** Logs a value by its frozen bytes. */
  pushFrozen(key: unknown, version: number, leftAt: number, bytes: FrozenBytes): void {
    this.slots.push(key, version, leftAt, bytes.chunk, bytes.start, bytes.end);
  }

  /** Logs a value that could not be frozen, with why. */
  pushFailed(key: unknown, version: number, leftAt: number, error: unknown): void {
    this.slots.push(key, version, leftAt, error, FAILED, FAILED);
  }

  /** The key of record i. */
  keyOf(i: number): unknown {
    return this.slots[i * STRIDE + KEY];
  }

  /** The value of record i; its bytes' chunk when frozen; the error when failed. */
  valueOf(i: number): unknown {
    return this.slots[i * STRIDE + VALUE];
  }

  /** Whether record i holds frozen bytes. */
  isFrozen(i: number): boolean {
    return (this.slots[i * STRIDE + START] as number) >= 0;
  }

  /** Whether record i is a value that could not be frozen. */
  isFailed(i: number): boolean {
    return this.slots[i * STRIDE + START] === FAILED;
  }

  /** Where record i's frozen bytes start in `valueOf(i)`. */
  startOf(i: number): number {
    return this.slots[i * STRIDE + START] as number;
  }

  /** Where record i's frozen bytes end in `valueOf(i)`. */
  endOf(i: number): number {
    return this.slots[i * STRIDE + END] as number;
  }

  /** Appends to `out` the indexes of the records snapshot `version` reads. */
  collect(version: number, out: number[]): void {
    const slots = this.slots;
    for (let at = 0; at < slots.length; at += STRIDE)
      if ((slots[at + VERSION] as number) < version && (slots[at + LEFT_AT] as number) >= version)
        out.push(at / STRIDE);
  }
}
