/**
 * Warnings about rejected internal connections (a failed handshake, garbage or silence before
 * it): one line each, no stack, and at most a few a minute, so a port scanner or a misconfigured
 * peer cannot flood the log; the rest are counted and reported once the minute is over.
 */
import { SystemClock, type Clock } from '../core/clock.js';
import type { Logger } from '../core/log.js';

/** Rate-limited reporting of rejected connections. */
export class RejectionLog {
  private windowStart = Number.NEGATIVE_INFINITY;
  private logged = 0;
  private suppressed = 0;

  constructor(
    private readonly clock: Clock = SystemClock,
    /** Lines per window before the rest are only counted. */
    private readonly limit = 5,
    private readonly windowMs = 60_000,
  ) {}

  /** Reports that the connection from `remote` was rejected, and why. */
  report(log: Logger, remote: string, reason: string): void {
    const now = this.clock.now();
    if (now - this.windowStart >= this.windowMs) {
      this.windowStart = now;
      this.logged = 0;
    }
    if (this.logged < this.limit) {
      this.logged++;
      const more = this.logged === this.limit ? ' (more in the next minute are counted, not logged)' : '';
      log.warn({ remote, reason }, `rejected a connection from ${remote}: ${reason}${more}`);
      return;
    }
    if (this.suppressed++ === 0)
      this.clock.schedule(this.windowStart + this.windowMs - now, () => {
        const count = this.suppressed;
        this.suppressed = 0;
        log.warn(
          { rejected: count },
          `rejected ${count} more internal connection(s) in the last ${this.windowMs / 1000} s`,
        );
      });
  }
}

/** The process's rejection log. */
export const rejectedConnections = new RejectionLog();
