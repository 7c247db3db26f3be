/**
 * Timestamps and watermarks inside a source operator (Flink's ProgressiveTimestampsAndWatermarks):
 * each split's records go through a split-local output with its own generator, the split
 * watermarks are combined by a WatermarkOutputMultiplexer (the minimum over splits that are not
 * idle), and generators are asked for periodic watermarks every auto-watermark interval.
 */
import type { Clock } from '../../core/clock.js';
import { MIN_WATERMARK } from '../../core/watermark.js';
import type { ElementTimestamp } from '../../runtime/element-timestamp.js';
import type { SourceOutput } from '../source/source.js';
import type { TimestampExtractor, WatermarkStrategy } from '../watermark-strategy.js';
import type { WatermarkGenerator, WatermarkOutput } from './watermark-generator.js';
import { WatermarkOutputMultiplexer, type CombinedWatermarkOutput } from './watermark-output-multiplexer.js';

/** Where the source's records, watermarks and status go. */
export interface SourceEmitter<T> extends CombinedWatermarkOutput {
  /** Emits a record whose timestamp is already in the chain's ElementTimestamp. */
  emitRecord(record: T): void;
}

/** The records of one split (or of the reader's main output): its own generator. */
class SplitOutput<T> implements SourceOutput<T> {
  constructor(
    private readonly owner: ProgressiveTimestampsAndWatermarks<T>,
    readonly generator: WatermarkGenerator<T>,
    private readonly onEventOutput: WatermarkOutput,
    readonly periodicOutput: WatermarkOutput,
  ) {}

  collect(record: T, timestamp?: number): void {
    const owner = this.owner;
    const assigner = owner.assigner;
    const ts = assigner === undefined ? timestamp : assigner(record, timestamp ?? MIN_WATERMARK);
    if (ts === undefined) {
      // No timestamp from the source and no assigner: the record has none, and no generator sees it.
      owner.elementTimestamp.clear();
      owner.emitter.emitRecord(record);
      return;
    }
    owner.elementTimestamp.set(ts);
    owner.emitter.emitRecord(record);
    this.generator.onEvent(record, ts, this.onEventOutput);
  }
}

/** Per-split generators and their combination, for one source subtask. */
export class ProgressiveTimestampsAndWatermarks<T> {
  /** @internal */ readonly assigner: TimestampExtractor<T> | undefined;
  private readonly multiplexer: WatermarkOutputMultiplexer;
  private readonly outputs = new Map<string, SplitOutput<T>>();
  private main: SplitOutput<T> | undefined;

  constructor(
    private readonly strategy: WatermarkStrategy<T>,
    /** @internal */ readonly emitter: SourceEmitter<T>,
    /** @internal */ readonly elementTimestamp: ElementTimestamp,
    private readonly operatorName: string,
    private readonly clock: Clock,
  ) {
    this.assigner = strategy.timestampAssigner;
    this.multiplexer = new WatermarkOutputMultiplexer(emitter);
  }

  /** The output for records the reader emits without naming a split (created on first use). */
  get mainOutput(): SourceOutput<T> {
    return (this.main ??= this.newOutput('\u0000main'));
  }

  /** The output of split `splitId`, created with a fresh generator on first use. */
  createOutputForSplit(splitId: string): SourceOutput<T> {
    let output = this.outputs.get(splitId);
    if (output === undefined) {
      output = this.newOutput(splitId);
      this.outputs.set(splitId, output);
    }
    return output;
  }

  /** Split `splitId` finished: its watermark no longer counts. */
  releaseOutputForSplit(splitId: string): void {
    if (this.outputs.delete(splitId)) this.multiplexer.unregisterOutput(splitId);
  }

  /** One periodic round: every generator, then one combined watermark. */
  emitPeriodicWatermark(): void {
    this.main?.generator.onPeriodicEmit(this.main.periodicOutput);
    for (const output of this.outputs.values()) output.generator.onPeriodicEmit(output.periodicOutput);
    this.multiplexer.onPeriodicEmit();
  }

  private newOutput(id: string): SplitOutput<T> {
    const generator = this.strategy.createWatermarkGenerator({ operatorName: this.operatorName }, this.clock);
    this.multiplexer.registerNewOutput(id);
    return new SplitOutput(
      this,
      generator,
      this.multiplexer.getImmediateOutput(id),
      this.multiplexer.getDeferredOutput(id),
    );
  }
}
