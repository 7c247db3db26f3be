/**
 * WatermarkGenerator and Flink's built-in generators: bounded out-of-orderness, monotonous
 * (ascending) timestamps and none. A generator sees every event (`onEvent`) and is asked
 * periodically (`onPeriodicEmit`, every `pipeline.auto-watermark-interval`) for a watermark.
 */
import { SluiceError } from '../../core/errors.js';
import { MIN_WATERMARK } from '../../core/watermark.js';
import type { WatermarkLike } from './watermark.js';

/** Where a generator emits watermarks and marks its stream idle or active (Flink's WatermarkOutput). */
export interface WatermarkOutput {
  /** Emits a watermark; one not above the last emitted is ignored downstream. Also marks the output active. */
  emitWatermark(watermark: WatermarkLike): void;
  /** No events come for now: the output is left out of the minimum until it emits again. */
  markIdle(): void;
  /** Events come again (emitting a watermark does this too). */
  markActive(): void;
}

/** Generates watermarks from the events it sees, or periodically (Flink's WatermarkGenerator). */
export interface WatermarkGenerator<T> {
  /** Called for every event, with its timestamp; may emit a watermark (punctuated). */
  onEvent(event: T, eventTimestamp: number, output: WatermarkOutput): void;
  /** Called every `pipeline.auto-watermark-interval`; may emit a watermark (periodic). */
  onPeriodicEmit(output: WatermarkOutput): void;
}

/** What a generator supplier gets (Flink's `WatermarkGeneratorSupplier.Context`). */
export interface WatermarkGeneratorSupplierContext {
  /** Name of the operator the generator runs in. */
  readonly operatorName: string;
}

/** Makes a generator for one split or one subtask (Flink's WatermarkGeneratorSupplier). */
export type WatermarkGeneratorSupplier<T> =
  | ((ctx: WatermarkGeneratorSupplierContext) => WatermarkGenerator<T>)
  | { createWatermarkGenerator(ctx: WatermarkGeneratorSupplierContext): WatermarkGenerator<T> };

/**
 * Watermarks that lag the highest timestamp seen by a fixed bound: `max - bound - 1`, emitted
 * periodically (Flink's BoundedOutOfOrdernessWatermarks). Events up to `bound` ms behind the
 * latest are therefore not late.
 */
export class BoundedOutOfOrdernessWatermarks<T> implements WatermarkGenerator<T> {
  private maxTimestamp: number;

  constructor(private readonly outOfOrdernessMillis: number) {
    if (!(outOfOrdernessMillis >= 0))
      throw new SluiceError(
        'SLUICE_PROGRAM_INVALID',
        `forBoundedOutOfOrderness: the bound must be >= 0 ms, got ${String(outOfOrdernessMillis)}.`,
      );
    // Start so that the first periodic watermark is MIN_WATERMARK (no arithmetic below it).
    this.maxTimestamp = MIN_WATERMARK + outOfOrdernessMillis + 1;
  }

  onEvent(_event: T, eventTimestamp: number): void {
    if (eventTimestamp > this.maxTimestamp) this.maxTimestamp = eventTimestamp;
  }

  onPeriodicEmit(output: WatermarkOutput): void {
    output.emitWatermark(this.maxTimestamp - this.outOfOrdernessMillis - 1);
  }
}

/** Timestamps never decrease: the watermark is the latest timestamp - 1 (Flink's AscendingTimestampsWatermarks). */
export class AscendingTimestampsWatermarks<T> extends BoundedOutOfOrdernessWatermarks<T> {
  constructor() {
    super(0);
  }
}

/** Emits no watermarks (Flink's NoWatermarksGenerator). */
export class NoWatermarksGenerator<T> implements WatermarkGenerator<T> {
  onEvent(): void {}
  onPeriodicEmit(): void {}
}

/** The generator a supplier makes, checked to be one. */
export function createGenerator<T>(
  supplier: WatermarkGeneratorSupplier<T>,
  ctx: WatermarkGeneratorSupplierContext,
): WatermarkGenerator<T> {
  const generator = typeof supplier === 'function' ? supplier(ctx) : supplier.createWatermarkGenerator(ctx);
  if (!generator || typeof generator.onEvent !== 'function' || typeof generator.onPeriodicEmit !== 'function')
    throw new SluiceError(
      'SLUICE_PROGRAM_INVALID',
      `operator '${ctx.operatorName}': WatermarkStrategy.forGenerator's supplier must return a ` +
        'WatermarkGenerator (onEvent(event, timestamp, output) and onPeriodicEmit(output)).',
    );
  return generator;
}
