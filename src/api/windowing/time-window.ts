/** Flink's TimeWindow: the half-open interval [start, end) of event or processing time. */
import { Window } from './window.js';

export class TimeWindow extends Window {
  constructor(
    private readonly start: number,
    private readonly end: number,
  ) {
    super();
  }

  /** The first millisecond in the window. */
  getStart(): number {
    return this.start;
  }
  /** The first millisecond after the window. */
  getEnd(): number {
    return this.end;
  }
  /** The last millisecond in the window (end - 1): the time its results carry and it fires at. */
  override maxTimestamp(): number {
    return this.end - 1;
  }
  equals(other: unknown): boolean {
    return other instanceof TimeWindow && other.start === this.start && other.end === this.end;
  }
  override toString(): string {
    return `TimeWindow{start=${this.start}, end=${this.end}}`;
  }

  /** Whether the two windows overlap or touch (Flink's intersects: such session windows merge). */
  intersects(other: TimeWindow): boolean {
    return this.start <= other.end && this.end >= other.start;
  }

  /** The smallest window holding both. */
  cover(other: TimeWindow): TimeWindow {
    return new TimeWindow(Math.min(this.start, other.start), Math.max(this.end, other.end));
  }

  /**
   * Merges overlapping windows (Flink's TimeWindow.mergeWindows, what session assigners do):
   * `callback(toBeMerged, mergeResult)` once per group of two or more windows that merge.
   */
  static mergeWindows(
    windows: Iterable<TimeWindow>,
    callback: (toBeMerged: TimeWindow[], mergeResult: TimeWindow) => void,
  ): void {
    const sorted = [...windows].sort((a, b) => a.start - b.start);
    const merged: [TimeWindow, TimeWindow[]][] = [];
    let current: [TimeWindow, TimeWindow[]] | undefined;
    for (const w of sorted) {
      if (current === undefined) current = [w, [w]];
      else if (current[0].intersects(w)) {
        current[0] = current[0].cover(w);
        current[1].push(w);
      } else {
        merged.push(current);
        current = [w, [w]];
      }
    }
    if (current !== undefined) merged.push(current);
    for (const [result, group] of merged) if (group.length > 1) callback(group, result);
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
