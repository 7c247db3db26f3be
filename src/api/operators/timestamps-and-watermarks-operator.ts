/**
 * The operator of `assignTimestampsAndWatermarks(strategy)` (Flink's TimestampsAndWatermarksOperator):
 * gives each record its timestamp, feeds one watermark generator per subtask, emits its
 * watermarks (periodically and punctuated) and drops upstream watermarks except the end of time.
 * In BATCH mode it emits none of its own: only the end of time passes, as in Flink.
 */
import { PeriodicWatermarkEmitter } from '../eventtime/periodic-watermark-emitter.js';
import { MAX_WATERMARK, MIN_WATERMARK } from '../../core/watermark.js';
import type { WatermarkGenerator, WatermarkOutput } from '../eventtime/watermark-generator.js';
import { watermarkTimestamp, type WatermarkLike } from '../eventtime/watermark.js';
import type { TimestampExtractor, WatermarkStrategy } from '../watermark-strategy.js';
import { AbstractStreamOperator } from './stream-operator.js';

/** Operator of `assignTimestampsAndWatermarks`. */
export class TimestampsAndWatermarksOperator<T> extends AbstractStreamOperator<T, T> {
  private generator!: WatermarkGenerator<T>;
  private assigner: TimestampExtractor<T> | undefined;
  private periodic: PeriodicWatermarkEmitter | undefined;
  private currentWatermark = MIN_WATERMARK;
  private idle = false;
  private batch = false;
  /**
   * The generator's output, made once. Not the operator itself: as the upstream operator's
   * output, the operator's `emitWatermark` is where upstream watermarks arrive.
   */
  private readonly watermarkOutput: WatermarkOutput = {
    emitWatermark: (watermark: WatermarkLike) => this.emitGeneratedWatermark(watermark),
    markIdle: () => this.markIdle(),
    markActive: () => this.markActive(),
  };

  constructor(
    private readonly strategy: WatermarkStrategy<T>,
    private readonly autoWatermarkIntervalMs: () => number,
  ) {
    super();
  }

  override open(): void {
    try {
      this.generator = this.strategy.createWatermarkGenerator(
        { operatorName: this.info.operatorName },
        this.info.services.clock,
      );
    } catch (e) {
      throw this.userError(e, 'the watermark strategy');
    }
    this.assigner = this.strategy.timestampAssigner;
    this.batch = this.info.job?.runtimeMode === 'BATCH';
    if (this.batch) return;
    this.periodic = new PeriodicWatermarkEmitter(
      this.info.timeService,
      this.autoWatermarkIntervalMs(),
      () => {
        try {
          this.generator.onPeriodicEmit(this.watermarkOutput);
        } catch (e) {
          throw this.userError(e, 'the watermark generator');
        }
      },
    );
    this.periodic.start();
  }

  processElement(record: T): void {
    const slot = this.info.elementTimestamp;
    const hadTimestamp = slot.present;
    const previous = slot.value;
    let ts: number;
    try {
      if (this.assigner !== undefined) ts = this.assigner(record, hadTimestamp ? previous : MIN_WATERMARK);
      else if (hadTimestamp) ts = previous;
      else return this.output.collect(record);
    } catch (e) {
      throw this.userError(e, 'the timestamp assigner');
    }
    slot.set(ts);
    this.output.collect(record);
    try {
      this.generator.onEvent(record, ts, this.watermarkOutput);
    } catch (e) {
      throw this.userError(e, 'the watermark generator');
    }
    // An upstream operator emitting more records for the same input keeps its timestamp.
    slot.value = previous;
    slot.present = hadTimestamp;
  }

  /** Only the end of time passes: this operator's generator decides the stream's watermarks. */
  override processWatermark(watermark: number): void {
    if (watermark === MAX_WATERMARK && this.currentWatermark !== MAX_WATERMARK) {
      this.currentWatermark = MAX_WATERMARK;
      this.markActive();
      this.output.emitWatermark(MAX_WATERMARK);
    }
  }

  private emitGeneratedWatermark(watermark: WatermarkLike): void {
    if (this.batch) return;
    const ts = watermarkTimestamp(watermark);
    this.markActive();
    if (ts <= this.currentWatermark) return;
    this.currentWatermark = ts;
    this.output.emitWatermark(ts);
  }
  private markIdle(): void {
    if (this.idle) return;
    this.idle = true;
    this.info.services.emitWatermarkStatus('IDLE');
  }
  private markActive(): void {
    if (!this.idle) return;
    this.idle = false;
    this.info.services.emitWatermarkStatus('ACTIVE');
  }

  override close(): void {
    this.periodic?.stop();
    super.close();
  }
}
