/** Runs a Sink's writer in each sink subtask. */
import type { Sink, SinkWriter, SinkWriterContext } from '../sink.js';
import { UdfOperator } from './udf-operator.js';

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | undefined)?.then === 'function';
}

/** Operator of `sinkTo(sink)`, `print()` and the collect sink. */
export class SinkWriterOperator<T> extends UdfOperator<T, never, Sink<T>> implements SinkWriterContext {
  private writer!: SinkWriter<T>;
  private endOfInput = false;
  private watermark = Number.MIN_SAFE_INTEGER;

  override open(): void {
    super.open();
    const info = this.info;
    try {
      this.writer = this.userFunction.createWriter({
        getSubtaskId: () => info.subtaskIndex,
        getNumberOfParallelSubtasks: () => info.parallelism,
        getAttemptNumber: () => info.attemptNumber,
        getRestoredCheckpointId: () => undefined,
        getJobInfo: () => ({ getJobId: () => info.jobId, getJobName: () => info.job?.jobName ?? '' }),
        getOperatorId: () => info.operatorId,
      });
    } catch (e) {
      throw this.userError(e, 'createWriter');
    }
  }

  processElement(record: T): void {
    let pending: void | PromiseLike<void>;
    try {
      pending = this.writer.write(record, this);
    } catch (e) {
      throw this.userError(e, 'write');
    }
    if (isThenable(pending))
      this.info.services.awaitAsync(pending, `write of sink '${this.info.operatorName}'`);
  }

  currentProcessingTime(): number {
    return this.info.timeService.getCurrentProcessingTime();
  }

  timestamp(): number | null {
    return this.info.elementTimestamp.get();
  }

  currentWatermark(): number {
    return this.watermark;
  }

  override processWatermark(watermark: number): void {
    this.watermark = watermark;
  }

  override endInput(): void {
    this.endOfInput = true;
    this.call(() => this.writer.flush(true), 'flush');
  }

  /**
   * Flushes before the barrier (as Flink's SinkWriterOperator), so a checkpoint loses no buffered
   * record; after the end of input, `flush(true)` already wrote everything.
   */
  override prepareSnapshotPreBarrier(): void | PromiseLike<void> {
    if (!this.endOfInput) return this.call(() => this.writer.flush(false), 'flush');
  }

  override close(): void {
    if (this.writer) this.call(() => this.writer.close(), 'close');
    super.close();
  }

  /** Calls a writer hook; an asynchronous one also pauses the input until it settles. */
  private call(fn: () => void | PromiseLike<void>, hook: string): void | PromiseLike<void> {
    let pending: void | PromiseLike<void>;
    try {
      pending = fn();
    } catch (e) {
      throw this.userError(e, hook);
    }
    if (!isThenable(pending)) return;
    this.info.services.awaitAsync(pending, `${hook} of sink '${this.info.operatorName}'`);
    return pending;
  }
}
