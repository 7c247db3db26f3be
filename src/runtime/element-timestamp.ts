/**
 * The event timestamp of the record passing through an operator chain right now (the timestamp
 * of Flink's StreamRecord). Records travel unwrapped, so a chain shares one mutable slot: the task
 * sets it per record read (or the source per record emitted), operators that change a record's
 * timestamp set it before they emit and put it back after, and the chain's RecordWriters frame
 * it with the record. A number field that only ever holds numbers keeps V8 storing it unboxed, so
 * setting it allocates nothing.
 */
export class ElementTimestamp {
  /**
   * The timestamp in ms; meaningful only when `present`. It starts as a value outside V8's small
   * integers, so the field is a double field from the first store on (no representation change).
   */
  value: number = Number.MIN_SAFE_INTEGER;
  /** Whether the current record has a timestamp (Flink's `StreamRecord.hasTimestamp`). */
  present = false;

  /** The timestamp, or null when the record has none (what `ctx.timestamp()` returns). */
  get(): number | null {
    return this.present ? this.value : null;
  }

  set(timestamp: number): void {
    this.value = timestamp;
    this.present = true;
  }

  clear(): void {
    this.present = false;
  }
}
