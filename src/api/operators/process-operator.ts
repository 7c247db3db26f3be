/** Runs a (non-keyed) ProcessFunction. */
import { SluiceError } from '../../core/errors.js';
import { MIN_WATERMARK } from '../../core/watermark.js';
import type { ProcessContext, ProcessFunction, TimerService } from '../process-function.js';
import { UdfOperator } from './udf-operator.js';

function keyedOnly(): never {
  throw new SluiceError(
    'SLUICE_PROGRAM_INVALID',
    'timers can only be set on a keyed stream: call keyBy() and use a KeyedProcessFunction.',
  );
}

/** Operator of `stream.process(fn)`. */
export class ProcessOperator<IN, OUT>
  extends UdfOperator<IN, OUT, Pick<ProcessFunction<IN, OUT>, 'processElement'>>
  implements TimerService
{
  private watermark = MIN_WATERMARK;
  /** Made once: the function's context costs nothing per record. */
  protected readonly context: ProcessContext = {
    timestamp: () => this.info.elementTimestamp.get(),
    timerService: () => this,
    output: (tag, value) => this.emitSideOutput(tag, value),
  };

  processElement(record: IN): void {
    try {
      this.userFunction.processElement(record, this.context, this.output);
    } catch (e) {
      throw this.userError(e, 'processElement');
    }
  }
  /** The input record's timestamp; what the function emits keeps it (Flink's TimestampedCollector). */
  timestamp(): number | null {
    return this.info.elementTimestamp.get();
  }
  override processWatermark(watermark: number): void {
    this.watermark = watermark;
    this.output.emitWatermark(watermark);
  }
  timerService(): TimerService {
    return this;
  }
  currentProcessingTime(): number {
    return this.info.timeService.getCurrentProcessingTime();
  }
  currentWatermark(): number {
    return this.watermark;
  }
  registerProcessingTimeTimer(): void {
    keyedOnly();
  }
  deleteProcessingTimeTimer(): void {
    keyedOnly();
  }
  registerEventTimeTimer(): void {
    keyedOnly();
  }
  deleteEventTimeTimer(): void {
    keyedOnly();
  }
}
