/** Time as an injected dependency, so time-driven logic is tested without sleeping. */

/** A handle to cancel a scheduled callback. */
export interface Cancellable {
  cancel(): void;
}

/** Wall-clock time plus scheduling; the runtime never calls Date.now or setTimeout directly. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /**
   * Milliseconds on a monotonic clock with sub-millisecond precision, for durations (a
   * checkpoint's synchronous phase takes well under a millisecond).
   */
  monotonicNow(): number;
  /** Runs `fn` once after `delayMs` (at least 0). */
  schedule(delayMs: number, fn: () => void): Cancellable;
}

/** The real clock. Scheduled callbacks do not keep the process alive on their own. */
export const SystemClock: Clock = {
  now: () => Date.now(),
  monotonicNow: () => performance.now(),
  schedule(delayMs, fn) {
    const t = setTimeout(fn, Math.max(0, delayMs));
    return { cancel: () => clearTimeout(t) };
  },
};

/** A clock that moves only when told to: `advance(ms)` fires what falls due, in time order. */
export class ManualClock implements Clock {
  private time: number;
  private seq = 0;
  private readonly pending: { at: number; seq: number; fn: () => void; cancelled: boolean }[] = [];

  constructor(startMs = 0) {
    this.time = startMs;
  }

  now(): number {
    return this.time;
  }

  monotonicNow(): number {
    return this.time;
  }

  schedule(delayMs: number, fn: () => void): Cancellable {
    const entry = { at: this.time + Math.max(0, delayMs), seq: this.seq++, fn, cancelled: false };
    this.pending.push(entry);
    return { cancel: () => void (entry.cancelled = true) };
  }

  /** Moves time forward by `ms`, running every callback that falls due, earliest first. */
  advance(ms: number): void {
    const target = this.time + ms;
    for (;;) {
      let next = -1;
      for (let i = 0; i < this.pending.length; i++) {
        const e = this.pending[i]!;
        if (e.cancelled || e.at > target) continue;
        const best = next < 0 ? undefined : this.pending[next]!;
        if (!best || e.at < best.at || (e.at === best.at && e.seq < best.seq)) next = i;
      }
      if (next < 0) break;
      const [entry] = this.pending.splice(next, 1);
      this.time = Math.max(this.time, entry!.at);
      entry!.fn();
    }
    this.time = target;
    for (let i = this.pending.length - 1; i >= 0; i--)
      if (this.pending[i]!.cancelled) this.pending.splice(i, 1);
  }
}
