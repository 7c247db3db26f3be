/**
 * Processing time of a test harness (Flink's TestProcessingTimeService): a ManualClock that moves
 * only when the test says, with timers run as a task runs them — the clock wakes the mailbox and
 * the timer runs as a letter once time has moved.
 */
import type { Cancellable } from '../core/clock.js';
import { ManualClock } from '../core/clock.js';
import type { ProcessingTimeService } from '../runtime/stream-operator.js';
import { harnessMisuse } from './harness-misuse.js';

/** The processing-time service a harness gives its operator; starts at 0, as Flink's harness. */
export class TestProcessingTimeService implements ProcessingTimeService {
  /** The injected clock: its `now()` is the harness's processing time. */
  readonly clock = new ManualClock(0);
  private readonly letters: (() => void)[] = [];

  getCurrentProcessingTime(): number {
    return this.clock.now();
  }

  registerTimer(timestamp: number, callback: (timestamp: number) => void): Cancellable {
    return this.clock.schedule(timestamp - this.clock.now(), () =>
      this.letters.push(() => callback(timestamp)),
    );
  }

  /**
   * Sets processing time to `time` and runs every timer due by then, earliest first, each seeing
   * `time` as the current processing time (as Flink's `setCurrentTime`). Timers that callbacks
   * register at or before `time` run in the same call. Time never goes back.
   */
  setCurrentTime(time: number): void {
    const now = this.clock.now();
    if (typeof time !== 'number' || !Number.isFinite(time))
      throw harnessMisuse(`setProcessingTime(${String(time)}): processing time is a finite number of ms.`);
    if (time < now)
      throw harnessMisuse(
        `setProcessingTime(${time}): processing time is ${now} already and never goes back; ` +
          `pass ${now} or later.`,
      );
    this.clock.advance(time - now);
    for (;;) {
      const letter = this.letters.shift();
      if (letter !== undefined) {
        letter();
        continue;
      }
      // Timers registered by the letters for a time already reached are due now.
      this.clock.advance(0);
      if (this.letters.length === 0) return;
    }
  }
}
