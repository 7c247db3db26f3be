/**
 * Where a running task's wall-clock time goes, as Flink splits it: idle (waiting for input),
 * back-pressured (waiting for output credit) and busy (the rest: processing, and waiting for its
 * turn on the shared event loop). Only the edges of the waits are timed, never a record, so the
 * cost is two clock reads per wait.
 */
export class TaskIoTime {
  private startedAt = -1;
  private endedAt = -1;
  private idleSince = -1;
  private backPressuredSince = -1;
  private idle = 0;
  private backPressured = 0;

  /** The task starts RUNNING: time counts from now. */
  start(now: number): void {
    if (this.startedAt < 0) this.startedAt = now;
  }

  /** The task ended: the figures stay as they are now. */
  end(now: number): void {
    if (this.startedAt < 0 || this.endedAt >= 0) return;
    this.endIdle(now);
    this.endBackPressure(now);
    this.endedAt = now;
  }

  /** When the task started running (`performance.now()` time), -1 before. */
  get runningSince(): number {
    return this.startedAt;
  }

  /** True while an idle period is open, so that the per-slice check is one comparison. */
  get isIdle(): boolean {
    return this.idleSince >= 0;
  }

  startIdle(now: number): void {
    if (this.idleSince < 0 && this.endedAt < 0) this.idleSince = now;
  }

  endIdle(now: number): void {
    if (this.idleSince < 0) return;
    this.idle += now - this.idleSince;
    this.idleSince = -1;
  }

  startBackPressure(now: number): void {
    if (this.backPressuredSince < 0 && this.endedAt < 0) this.backPressuredSince = now;
  }

  endBackPressure(now: number): void {
    if (this.backPressuredSince < 0) return;
    this.backPressured += now - this.backPressuredSince;
    this.backPressuredSince = -1;
  }

  /** Milliseconds spent idle so far (an open idle period counts up to `now`). */
  idleMs(now: number): number {
    return this.idle + (this.idleSince >= 0 ? this.clamp(now) - this.idleSince : 0);
  }

  backPressuredMs(now: number): number {
    return (
      this.backPressured + (this.backPressuredSince >= 0 ? this.clamp(now) - this.backPressuredSince : 0)
    );
  }

  /** Milliseconds neither idle nor back-pressured since the task started running. */
  busyMs(now: number): number {
    if (this.startedAt < 0) return 0;
    const elapsed = this.clamp(now) - this.startedAt;
    return Math.max(0, elapsed - this.idleMs(now) - this.backPressuredMs(now));
  }

  private clamp(now: number): number {
    return this.endedAt >= 0 ? this.endedAt : now;
  }
}
