/** The base class of the DataStream API's operators, on the runtime's operator contract: setup and output stored, hooks no-ops. */
import { SluiceError } from '../../core/errors.js';
import { MIN_WATERMARK, type WatermarkStatus } from '../../core/watermark.js';
import type {
  OperatorEvent,
  OperatorSetup,
  Output,
  StreamOperator,
  StreamOperatorFactory,
} from '../../runtime/stream-operator.js';
import type { Source, SourceSplit } from '../source/source.js';
import { checkOutputTag, type OutputTag } from '../output-tag.js';

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
  /** The input ended; a two-input operator is told which one (1 or 2). */
  endInput(_inputId?: 1 | 2): void {}
  finish(): void {}
  close(): void {}

  // --- two inputs (operators that define processElement1/processElement2, as Flink's) ---
  /** Each input's watermark and idleness; the operator's watermark is their minimum over the active ones. */
  private readonly inputWatermarks = [MIN_WATERMARK, MIN_WATERMARK];
  private readonly inputIdle = [false, false];
  private combinedWatermark = MIN_WATERMARK;

  processWatermark1(watermark: number): void {
    this.inputWatermarks[0] = watermark;
    this.combineWatermarks();
  }
  processWatermark2(watermark: number): void {
    this.inputWatermarks[1] = watermark;
    this.combineWatermarks();
  }
  processWatermarkStatus1(status: WatermarkStatus): void {
    this.inputIdle[0] = status === 'IDLE';
    this.combineWatermarks();
  }
  processWatermarkStatus2(status: WatermarkStatus): void {
    this.inputIdle[1] = status === 'IDLE';
    this.combineWatermarks();
  }

  /** Flink's CombinedWatermarkStatus: an idle input does not hold the watermark back, unless both are idle. */
  private combineWatermarks(): void {
    const [idle1, idle2] = this.inputIdle;
    const both = idle1 === idle2;
    const min = Math.min(
      both || !idle1 ? this.inputWatermarks[0]! : Infinity,
      both || !idle2 ? this.inputWatermarks[1]! : Infinity,
    );
    if (min > this.combinedWatermark) {
      this.combinedWatermark = min;
      this.processWatermark(min);
    }
  }
  handleOperatorEvent(_event: OperatorEvent): void {}
  initializeState(_restored: boolean): void {}
  prepareSnapshotPreBarrier(_checkpointId: number): void | PromiseLike<void> {}
  snapshotState(_checkpointId: number): void {}
  notifyCheckpointComplete(_checkpointId: number): void {}
  notifyCheckpointAborted(_checkpointId: number): void {}

  /**
   * Emits `value` to the side output `tag` with the current record's timestamp (Flink's
   * `output.collect(outputTag, record)`): what every context's `output(tag, value)` calls, one-
   * and two-input operators alike. Dropped when no stream reads the tag.
   */
  emitSideOutput<X>(tag: OutputTag<X>, value: X): void {
    const sides = this.info.sideOutputs;
    if (sides === undefined) {
      checkOutputTag(tag, 'output()');
      return;
    }
    const out = sides.get(checkOutputTag(tag, 'output()').getId());
    if (out !== undefined) out.collect(value);
  }

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
