/** Test harness of an operator with one input (Flink's OneInputStreamOperatorTestHarness). */
import { AbstractStreamOperatorTestHarness } from './abstract-stream-operator-test-harness.js';
import { harnessMisuse } from './harness-misuse.js';
import { StreamRecord } from './stream-record.js';
import { Watermark, watermarkTimestamp } from '../api/eventtime/watermark.js';

/**
 * Pushes records into one operator (a process, map, flatMap or filter function, or a sink's
 * writer) and captures what it emits. Create it with ProcessFunctionTestHarnesses.
 */
export class OneInputStreamOperatorTestHarness<IN, OUT> extends AbstractStreamOperatorTestHarness<OUT> {
  private inputEnded = false;

  /**
   * Processes one record, as the task does on its input (Flink's form `new StreamRecord(value)`
   * is accepted too). The function's errors are thrown here, wrapped as a job reports them
   * (SLUICE_USER_FUNCTION_FAILED, naming the operator; the original is the `cause`). While a
   * sink's asynchronous write is pending the record waits, as in a task; see `processAll()`.
   *
   * `timestamp` (or the StreamRecord's) is the record's event timestamp: `ctx.timestamp()`
   * returns it and records the function emits carry it, as in a job.
   */
  processElement(value: IN | StreamRecord<IN>, timestamp?: number): void {
    this.checkUsable('processElement()');
    if (timestamp !== undefined && (typeof timestamp !== 'number' || !Number.isFinite(timestamp)))
      throw harnessMisuse(`processElement(): the timestamp is a number of ms, got ${String(timestamp)}.`);
    if (this.inputEnded)
      throw harnessMisuse(
        'processElement() after endInput(): the input ended; use a new harness for more input.',
      );
    this.ensureOpen();
    const record = value instanceof StreamRecord ? value.value : value;
    const ts = timestamp ?? (value instanceof StreamRecord ? value.timestamp : undefined);
    const slot = this.elementTimestamp;
    this.input({
      run: () => {
        if (ts === undefined) slot.clear();
        else slot.set(ts);
        this.operator.processElement(record);
      },
      abort: () => {},
    });
  }

  /**
   * The input watermark advances to `watermark` (ms, or a Watermark), as when it arrives in a
   * task (Flink's `processWatermark`): the event-time timers due fire, in time order, then the
   * operator forwards the watermark (it appears in `getOutput()`).
   */
  processWatermark(watermark: number | Watermark): void {
    this.checkUsable('processWatermark()');
    const ts = watermark instanceof Watermark ? watermarkTimestamp(watermark) : watermark;
    if (typeof ts !== 'number' || Number.isNaN(ts))
      throw harnessMisuse(`processWatermark(): the watermark is a number of ms, got ${String(ts)}.`);
    this.ensureOpen();
    this.input({
      run: () => {
        this.elementTimestamp.clear();
        this.operator.processWatermark(ts);
      },
      abort: () => {},
    });
  }

  /** Processes each record in order. */
  processElements(values: Iterable<IN | StreamRecord<IN>>): void {
    for (const value of values) this.processElement(value);
  }

  /**
   * The input ended, as at the end of a bounded job: a sink's writer flushes (`flush(true)`).
   * Resolves once that, and everything before it, is done. Snapshots can still be taken after.
   */
  async endInput(): Promise<void> {
    this.checkUsable('endInput()');
    if (this.inputEnded) throw harnessMisuse('endInput() was called already.');
    this.ensureOpen();
    this.inputEnded = true;
    this.input({
      run: () => {
        this.elementTimestamp.clear();
        this.operator.endInput();
      },
      abort: () => {},
    });
    await this.processAll();
  }
}
