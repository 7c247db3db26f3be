/** A record a harness saw its operator emit, with its event timestamp if it has one (Flink's StreamRecord). */

/** One record: its value and, when it has one, its event timestamp (ms). `getOutput()` lists these. */
export class StreamRecord<T> {
  /** The event timestamp, or undefined when the record has none. */
  readonly timestamp: number | undefined;

  constructor(
    readonly value: T,
    timestamp?: number | null,
  ) {
    this.timestamp = timestamp ?? undefined;
  }

  /** The record's value (Flink's `getValue()`). */
  getValue(): T {
    return this.value;
  }

  /** Whether the record has an event timestamp (Flink's `hasTimestamp()`). */
  hasTimestamp(): boolean {
    return this.timestamp !== undefined;
  }

  /** The event timestamp; throws when there is none (Flink returns Long.MIN_VALUE: check hasTimestamp()). */
  getTimestamp(): number {
    if (this.timestamp === undefined)
      throw new Error('this StreamRecord has no timestamp; check hasTimestamp()');
    return this.timestamp;
  }
}
