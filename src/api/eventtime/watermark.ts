/** Watermark: the event time up to which a stream claims to be complete (Flink's `Watermark`). */
import { MAX_WATERMARK, MIN_WATERMARK } from '../../core/watermark.js';

/** A watermark at `timestamp`: no record with a timestamp <= it is expected any more. */
export class Watermark {
  /** The end of event time (Flink's Long.MAX_VALUE; here Number.MAX_SAFE_INTEGER). */
  static readonly MAX_WATERMARK = new Watermark(MAX_WATERMARK);
  /** Before any event time (Flink's Long.MIN_VALUE; here Number.MIN_SAFE_INTEGER). */
  static readonly UNINITIALIZED = new Watermark(MIN_WATERMARK);

  constructor(private readonly timestamp: number) {}

  getTimestamp(): number {
    return this.timestamp;
  }

  toString(): string {
    return `Watermark @ ${this.timestamp}`;
  }
}

/** What WatermarkOutput.emitWatermark takes: a Watermark (Flink's form) or its timestamp in ms. */
export type WatermarkLike = Watermark | number;

/** The timestamp of a WatermarkLike. */
export function watermarkTimestamp(watermark: WatermarkLike): number {
  return typeof watermark === 'number' ? watermark : watermark.getTimestamp();
}
