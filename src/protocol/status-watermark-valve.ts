/**
 * StatusWatermarkValve (Flink's): combines the watermarks and watermark statuses of a task's
 * input channels into the task's input watermark — the minimum over the active channels that
 * caught up with it — and its status, IDLE only when every channel is idle. Pure: facts in,
 * what to forward out through the given output, only when the watermark advances or the
 * status changes.
 */
import { MIN_WATERMARK, type WatermarkStatus } from '../core/watermark.js';

/** Where the valve forwards what changed. */
export interface ValveOutput {
  emitWatermark(watermark: number): void;
  emitWatermarkStatus(status: WatermarkStatus): void;
}

interface ChannelState {
  watermark: number;
  active: boolean;
  /** Active and at or above the last output watermark: counts for the minimum. */
  aligned: boolean;
}

/** One per input gate; channel indexes are the gate's. */
export class StatusWatermarkValve {
  private readonly channels: ChannelState[];
  private lastOutputWatermark = MIN_WATERMARK;
  private lastOutputActive = true;

  constructor(numberOfChannels: number) {
    this.channels = Array.from({ length: numberOfChannels }, () => ({
      watermark: MIN_WATERMARK,
      active: true,
      aligned: true,
    }));
  }

  /** The last watermark forwarded (the task's current input watermark). */
  get currentWatermark(): number {
    return this.lastOutputWatermark;
  }

  /** The task's input status: IDLE when every channel is. */
  get currentStatus(): WatermarkStatus {
    return this.lastOutputActive ? 'ACTIVE' : 'IDLE';
  }

  /** A watermark arrived on `channel`; an idle channel's is ignored (its upstream marks it active first). */
  inputWatermark(watermark: number, channel: number, output: ValveOutput): void {
    const state = this.channels[channel]!;
    if (!state.active || watermark <= state.watermark) return;
    state.watermark = watermark;
    if (!state.aligned && watermark >= this.lastOutputWatermark) state.aligned = true;
    this.outputMinOfAligned(output);
  }

  /** A watermark status arrived on `channel`. */
  inputWatermarkStatus(status: WatermarkStatus, channel: number, output: ValveOutput): void {
    const state = this.channels[channel]!;
    if (status === 'IDLE' && state.active) {
      state.active = false;
      state.aligned = false;
      if (this.channels.every((c) => !c.active)) {
        // All idle: the highest watermark any channel reached is safe to forward (Flink does the same).
        this.outputMaxOfAll(output);
        this.lastOutputActive = false;
        output.emitWatermarkStatus('IDLE');
      } else if (state.watermark === this.lastOutputWatermark) {
        // It may have held the minimum back.
        this.outputMinOfAligned(output);
      }
    } else if (status === 'ACTIVE' && !state.active) {
      state.active = true;
      if (state.watermark >= this.lastOutputWatermark) state.aligned = true;
      if (!this.lastOutputActive) {
        this.lastOutputActive = true;
        output.emitWatermarkStatus('ACTIVE');
      }
    }
  }

  private outputMinOfAligned(output: ValveOutput): void {
    let min = Infinity;
    let any = false;
    for (const c of this.channels)
      if (c.aligned) {
        any = true;
        if (c.watermark < min) min = c.watermark;
      }
    if (any && min > this.lastOutputWatermark) {
      this.lastOutputWatermark = min;
      output.emitWatermark(min);
    }
  }

  private outputMaxOfAll(output: ValveOutput): void {
    let max = MIN_WATERMARK;
    for (const c of this.channels) if (c.watermark > max) max = c.watermark;
    if (max > this.lastOutputWatermark) {
      this.lastOutputWatermark = max;
      output.emitWatermark(max);
    }
  }
}
