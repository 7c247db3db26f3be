/** The sink behind executeAndCollect()/collectAsync(): batches records back to the client. */
import type { Cancellable } from '../../core/clock.js';
import type { OperatorSetup, StreamOperator } from '../operators/stream-operator.js';
import { AbstractStreamOperator } from '../operators/stream-operator.js';

/** Records per hand-over to the client. */
const BATCH = 1024;

/** Operator that hands records to the job's collect channel `collectId`. */
export class CollectSinkOperator<T> extends AbstractStreamOperator<T, never> implements StreamOperator<T> {
  private batch: T[] = [];
  // A partial batch is handed over on the next timer turn, so a slow (or unbounded) stream's
  // records reach the client promptly instead of waiting for a full batch or the end of input.
  private flushTimer: Cancellable | undefined;

  constructor(private readonly collectId: string) {
    super();
  }

  override setup(setup: OperatorSetup, output: never): void {
    super.setup(setup, output);
  }

  processElement(record: T): void {
    this.batch.push(record);
    if (this.batch.length >= BATCH) this.flush();
    else if (this.flushTimer === undefined) {
      const time = this.info.timeService;
      this.flushTimer = time.registerTimer(time.getCurrentProcessingTime(), () => {
        this.flushTimer = undefined;
        this.flush();
      });
    }
  }

  override endInput(): void {
    this.flush();
  }

  override close(): void {
    this.flush();
  }

  private flush(): void {
    this.flushTimer?.cancel();
    this.flushTimer = undefined;
    if (this.batch.length === 0) return;
    const records = this.batch;
    this.batch = [];
    this.info.services.collect(this.collectId, records);
  }
}
