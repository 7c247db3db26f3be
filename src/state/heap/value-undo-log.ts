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

/** `starts` marks of a record that holds no frozen bytes. */
const PLAIN = -1;
const FAILED = -2;

/**
 * Records in columns (no object per record: a checkpoint may log one per key of the state):
 * record i is the value of key `keys[i]`, stamped `versions[i]`, that left the live state at
 * version `leftAt[i]`. Its value is `values[i]` itself (immutable), or frozen bytes at
 * `values[i][starts[i], ends[i])`, or — when it could not be serialized — the error `values[i]`,
 * which the snapshot reading it rethrows.
 *
 * Snapshot V reads record i iff `versions[i] < V <= leftAt[i]` (it was live when V was pinned).
 */
export class ValueUndoLog {
  readonly keys: unknown[] = [];
  readonly versions: number[] = [];
  readonly leftAt: number[] = [];
  readonly values: unknown[] = [];
  readonly starts: number[] = [];
  readonly ends: number[] = [];

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

  /** Whether record i holds frozen bytes (else `values[i]` is the value or an error). */
  isFrozen(i: number): boolean {
    return this.starts[i]! >= 0;
  }

  /** Whether record i is a value that could not be frozen (`values[i]` is the error). */
  isFailed(i: number): boolean {
    return this.starts[i] === FAILED;
  }

  /** Appends to `out` the indexes of the records snapshot `version` reads. */
  collect(version: number, out: number[]): void {
    const { versions, leftAt } = this;
    for (let i = 0; i < versions.length; i++)
      if (versions[i]! < version && leftAt[i]! >= version) out.push(i);
  }

  private push(
    key: unknown,
    version: number,
    leftAt: number,
    value: unknown,
    start: number,
    end: number,
  ): void {
    this.keys.push(key);
    this.versions.push(version);
    this.leftAt.push(leftAt);
    this.values.push(value);
    this.starts.push(start);
    this.ends.push(end);
  }
}
