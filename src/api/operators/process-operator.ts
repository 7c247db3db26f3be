/** Runs a (non-keyed) ProcessFunction. */
import { SluiceError } from '../../core/errors.js';
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
  implements ProcessContext, TimerService
{
  processElement(record: IN): void {
    try {
      this.userFunction.processElement(record, this, this.output);
    } catch (e) {
      throw this.userError(e, 'processElement');
    }
  }
  timestamp(): number | null {
    return null;
  }
  timerService(): TimerService {
    return this;
  }
  currentProcessingTime(): number {
    return this.info.timeService.getCurrentProcessingTime();
  }
  currentWatermark(): number {
    return Number.MIN_SAFE_INTEGER;
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
