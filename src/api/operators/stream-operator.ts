/** The base class of the DataStream API's operators, on the runtime's operator contract: setup and output stored, hooks no-ops. */
import { SluiceError } from '../../core/errors.js';
import type {
  OperatorEvent,
  OperatorSetup,
  Output,
  StopMode,
  StreamOperator,
  StreamOperatorFactory,
} from '../../runtime/stream-operator.js';
import type { Source, SourceSplit } from '../source/source.js';

/** The runtime's operator factory as the DataStream API builds it: a source's carries its Source. */
export interface OperatorFactory extends StreamOperatorFactory {
  /** For source operators: the source, whose enumerator runs on the JobManager side. */
  readonly source?: Source<unknown, SourceSplit, unknown>;
}

/** Base class: stores setup and output, no-op hooks, and wraps user-function errors. */
export abstract class AbstractStreamOperator<IN, OUT> implements StreamOperator<IN> {
  protected output!: Output<OUT>;
  protected info!: OperatorSetup;

  setup(setup: OperatorSetup, output: Output<unknown>): void {
    this.info = setup;
    this.output = output;
  }
  open(): void {}
  abstract processElement(record: IN): void;
  collect(record: IN): void {
    this.processElement(record);
  }
  /** Forwards the watermark; operators with event-time timers fire them first. */
  processWatermark(watermark: number): void {
    this.output.emitWatermark(watermark);
  }
  /** As the next operator's output, a watermark is processed (the chain calls operators directly). */
  emitWatermark(watermark: number): void {
    this.processWatermark(watermark);
  }
  endInput(_stopMode?: StopMode): void {}
  close(): void {}
  handleOperatorEvent(_event: OperatorEvent): void {}
  initializeState(_restored: boolean): void {}
  prepareSnapshotPreBarrier(_checkpointId: number): void | PromiseLike<void> {}
  snapshotState(_checkpointId: number): void {}
  notifyCheckpointComplete(_checkpointId: number): void {}
  notifyCheckpointAborted(_checkpointId: number): void {}

  /** Wraps an error thrown by user code with the operator, the subtask and the hook. */
  protected userError(cause: unknown, hook: string): SluiceError {
    return userFunctionError(this.info, cause, hook);
  }
}

/** An error from user code, naming operator and subtask; errors already wrapped pass through. */
export function userFunctionError(info: OperatorSetup, cause: unknown, hook: string): SluiceError {
  if (cause instanceof SluiceError) return cause;
  const message = cause instanceof Error ? cause.message : String(cause);
  return new SluiceError(
    'SLUICE_USER_FUNCTION_FAILED',
    `operator '${info.operatorName}' (subtask ${info.subtaskIndex + 1}/${info.parallelism}) threw in ${hook}: ${message}`,
    { cause },
  );
}
