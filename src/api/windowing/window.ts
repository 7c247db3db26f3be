/** Flink's Window and GlobalWindow: what a window assigner puts records in. */
import { MAX_WATERMARK } from '../../core/watermark.js';

/** A bucket of a keyed stream's records (Flink's Window). */
export abstract class Window {
  /** The largest timestamp still in the window: the time its results carry. */
  abstract maxTimestamp(): number;
  /** For messages: subclasses say which window they are. */
  toString(): string {
    return `${this.constructor.name}{maxTimestamp=${this.maxTimestamp()}}`;
  }
}

/**
 * The one window of GlobalWindows, holding every record of a key (Flink's GlobalWindow). Its
 * maxTimestamp is the end of time, so it fires only as its trigger says.
 */
export class GlobalWindow extends Window {
  private static readonly INSTANCE = new GlobalWindow();

  private constructor() {
    super();
  }
  static get(): GlobalWindow {
    return GlobalWindow.INSTANCE;
  }
  override maxTimestamp(): number {
    return MAX_WATERMARK;
  }
  equals(other: unknown): boolean {
    return other instanceof GlobalWindow;
  }
  override toString(): string {
    return 'GlobalWindow';
  }
}
