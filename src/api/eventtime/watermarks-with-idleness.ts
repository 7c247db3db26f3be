/**
 * `withIdleness(timeout)`: a generator wrapper that marks its output idle after `timeout` ms of
 * processing time without events (Flink's WatermarksWithIdleness), so that a quiet split or
 * subtask does not hold back the minimum watermark downstream.
 */
import type { Clock } from '../../core/clock.js';
import type { WatermarkGenerator, WatermarkOutput } from './watermark-generator.js';

/** Wraps `watermarks`; idleness is checked at each periodic emit, never per event. */
export class WatermarksWithIdleness<T> implements WatermarkGenerator<T> {
  // Events are counted, not timed: reading the clock per event would cost every record.
  private counter = 0;
  private lastCounter = 0;
  private activeSince = 0;
  private idle = false;

  constructor(
    private readonly watermarks: WatermarkGenerator<T>,
    private readonly idleTimeoutMs: number,
    private readonly clock: Clock,
  ) {
    this.activeSince = clock.now();
  }

  onEvent(event: T, eventTimestamp: number, output: WatermarkOutput): void {
    this.counter++;
    this.watermarks.onEvent(event, eventTimestamp, output);
    if (this.idle) {
      this.idle = false;
      output.markActive();
    }
  }

  onPeriodicEmit(output: WatermarkOutput): void {
    const now = this.clock.now();
    if (this.counter !== this.lastCounter) {
      this.lastCounter = this.counter;
      this.activeSince = now;
    }
    if (!this.idle && now - this.activeSince >= this.idleTimeoutMs) {
      this.idle = true;
      output.markIdle();
    }
    if (!this.idle) this.watermarks.onPeriodicEmit(output);
  }
}
