/** Calls a periodic watermark round every `pipeline.auto-watermark-interval` of processing time, as task timers. */
import type { Cancellable } from '../../core/clock.js';
import type { ProcessingTimeService } from '../../runtime/stream-operator.js';

/** The periodic rounds of one operator; the callback runs in the task's mailbox, like any timer. */
export class PeriodicWatermarkEmitter {
  private timer: Cancellable | undefined;

  constructor(
    private readonly time: ProcessingTimeService,
    private readonly intervalMs: number,
    private readonly emit: () => void,
  ) {}

  /** Starts the rounds; an interval of 0 (or less) means none, as Flink's. */
  start(): void {
    if (this.intervalMs > 0) this.schedule();
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  private schedule(): void {
    this.timer = this.time.registerTimer(this.time.getCurrentProcessingTime() + this.intervalMs, () => {
      this.emit();
      this.schedule();
    });
  }
}
