/**
 * WatermarkOutputMultiplexer (Flink's): combines the watermarks of several outputs — one per
 * source split — into one: the minimum over the outputs that are not idle, idle only when all
 * are. Immediate outputs (watermarks emitted from `onEvent`) update the combined watermark at
 * once; deferred ones (from `onPeriodicEmit`) only at the next `onPeriodicEmit()`, so a periodic
 * round emits one combined watermark, not one per split.
 */
import { MIN_WATERMARK, type WatermarkStatus } from '../../core/watermark.js';
import type { WatermarkOutput } from './watermark-generator.js';
import { watermarkTimestamp, type WatermarkLike } from './watermark.js';

/** Where the combined watermark and status go. */
export interface CombinedWatermarkOutput {
  emitWatermark(watermark: number): void;
  emitWatermarkStatus(status: WatermarkStatus): void;
}

class OutputState {
  watermark = MIN_WATERMARK;
  idle = false;
}

/** An output of one split: immediate or deferred, both updating the same state. */
class PartialOutput implements WatermarkOutput {
  constructor(
    private readonly state: OutputState,
    private readonly multiplexer: WatermarkOutputMultiplexer,
    private readonly immediate: boolean,
  ) {}
  emitWatermark(watermark: WatermarkLike): void {
    const ts = watermarkTimestamp(watermark);
    this.state.idle = false;
    if (ts > this.state.watermark) this.state.watermark = ts;
    if (this.immediate) this.multiplexer.updateCombinedWatermark();
  }
  markIdle(): void {
    this.state.idle = true;
    if (this.immediate) this.multiplexer.updateCombinedWatermark();
  }
  markActive(): void {
    this.state.idle = false;
    if (this.immediate) this.multiplexer.updateCombinedWatermark();
  }
}

/** Combines per-split watermarks; emits the combination only when it advances or its status changes. */
export class WatermarkOutputMultiplexer {
  private readonly outputs = new Map<string, OutputState>();
  private lastWatermark = MIN_WATERMARK;
  private idle = false;

  constructor(private readonly underlying: CombinedWatermarkOutput) {}

  /** Registers output `id` (a split id); its watermark starts at MIN_WATERMARK, holding the minimum back. */
  registerNewOutput(id: string): void {
    if (!this.outputs.has(id)) this.outputs.set(id, new OutputState());
  }

  /** Removes output `id` (its split finished): it no longer holds the minimum back. */
  unregisterOutput(id: string): void {
    if (this.outputs.delete(id)) this.updateCombinedWatermark();
  }

  /** The output whose updates take effect at once (for `onEvent`). */
  getImmediateOutput(id: string): WatermarkOutput {
    return new PartialOutput(this.stateOf(id), this, true);
  }

  /** The output whose updates wait for `onPeriodicEmit()` (for a generator's `onPeriodicEmit`). */
  getDeferredOutput(id: string): WatermarkOutput {
    return new PartialOutput(this.stateOf(id), this, false);
  }

  /** Combines the deferred updates of a periodic round. */
  onPeriodicEmit(): void {
    this.updateCombinedWatermark();
  }

  /** @internal Recomputes the combination and emits what changed. */
  updateCombinedWatermark(): void {
    if (this.outputs.size === 0) return;
    let min = Infinity;
    let allIdle = true;
    for (const o of this.outputs.values())
      if (!o.idle) {
        allIdle = false;
        if (o.watermark < min) min = o.watermark;
      }
    if (allIdle) {
      if (!this.idle) {
        this.idle = true;
        this.underlying.emitWatermarkStatus('IDLE');
      }
      return;
    }
    if (this.idle) {
      this.idle = false;
      this.underlying.emitWatermarkStatus('ACTIVE');
    }
    if (min > this.lastWatermark) {
      this.lastWatermark = min;
      this.underlying.emitWatermark(min);
    }
  }

  private stateOf(id: string): OutputState {
    this.registerNewOutput(id);
    return this.outputs.get(id)!;
  }
}
