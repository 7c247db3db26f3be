/** A record a harness saw its operator emit (Flink's StreamRecord, without a timestamp until event time exists). */

/**
 * One emitted record. Sluice records carry no event timestamp yet (event time is a later
 * feature), so unlike Flink's StreamRecord this has only the value; `getOutput()` lists these.
 */
export class StreamRecord<T> {
  constructor(readonly value: T) {}

  /** The record's value (Flink's `getValue()`). */
  getValue(): T {
    return this.value;
  }
}
