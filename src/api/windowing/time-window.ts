/** Flink's TimeWindow: the half-open interval [start, end) of event or processing time. */

export class TimeWindow {
  constructor(
    private readonly start: number,
    private readonly end: number,
  ) {}

  /** The first millisecond in the window. */
  getStart(): number {
    return this.start;
  }
  /** The first millisecond after the window. */
  getEnd(): number {
    return this.end;
  }
  /** The last millisecond in the window (end - 1): the time its results carry and it fires at. */
  maxTimestamp(): number {
    return this.end - 1;
  }
  equals(other: unknown): boolean {
    return other instanceof TimeWindow && other.start === this.start && other.end === this.end;
  }
  toString(): string {
    return `TimeWindow{start=${this.start}, end=${this.end}}`;
  }

  /**
   * The start of the window of length `windowSize` holding `timestamp`, the windows being aligned
   * to the epoch shifted by `offset` (Flink's TimeWindow.getWindowStartWithOffset).
   */
  static getWindowStartWithOffset(timestamp: number, offset: number, windowSize: number): number {
    const remainder = (timestamp - offset) % windowSize;
    // JavaScript's % keeps the dividend's sign, as Java's: a negative remainder wraps back a window.
    return remainder < 0 ? timestamp - (remainder + windowSize) : timestamp - remainder;
  }
}
