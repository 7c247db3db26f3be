/**
 * Per-second rates of cumulative counters over a sliding window, as Flink's MeterView: each
 * reading is kept (at most one a second) for the window's span, and a rate is the rise from the
 * oldest kept reading to now. Readings come when metrics are read (every heartbeat on a
 * TaskManager, every REST request in process), so nothing runs on a timer.
 */
export class MeterWindow {
  private readonly times: number[] = [];
  private readonly readings: number[][] = [];

  /**
   * @param spanMs how far back rates look (Flink's MeterView: 60 s)
   * @param minGapMs readings closer than this to the newest kept one are not kept
   */
  constructor(
    private readonly spanMs = 60_000,
    private readonly minGapMs = 1000,
  ) {}

  /**
   * The per-second rate of each value in `values` (cumulative counters, same order every call)
   * between the oldest kept reading and now; a first reading is measured from `since` (when the
   * counters were zero). Keeps this reading for later calls.
   */
  rates(now: number, values: readonly number[], since: number): number[] {
    while (this.times.length > 1 && now - this.times[1]! >= this.spanMs) {
      this.times.shift();
      this.readings.shift();
    }
    const from = this.times.length > 0 ? this.times[0]! : since;
    const base = this.readings[0];
    const seconds = (now - from) / 1000;
    const out = values.map((v, i) => (seconds > 0 ? (v - (base?.[i] ?? 0)) / seconds : 0));
    const newest = this.times.length > 0 ? this.times[this.times.length - 1]! : -Infinity;
    if (now - newest >= this.minGapMs) {
      this.times.push(now);
      this.readings.push([...values]);
    }
    return out;
  }
}
