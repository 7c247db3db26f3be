/**
 * Flink's session window assigners: each record opens a window [t, t + gap) and windows of a key
 * that overlap merge, so a session ends after a gap without records.
 */
import { type DurationLike, toMillis } from '../../core/duration.js';
import { invalidProgram, SluiceError } from '../../core/errors.js';
import { TimeWindow } from './time-window.js';
import type { Trigger } from './trigger.js';
import { EventTimeTrigger, ProcessingTimeTrigger } from './triggers.js';
import { MergingWindowAssigner, type WindowAssignerContext } from './window-assigners.js';

/** The gap after a record that ends its session, per record (Flink's SessionWindowTimeGapExtractor). */
export type SessionWindowTimeGapExtractor<T> = { extract(element: T): number } | ((element: T) => number);

/** Sessions of records (event or processing time) with a fixed or per-record gap. */
export abstract class SessionWindows<T> extends MergingWindowAssigner<T, TimeWindow> {
  /**
   * @internal In-flight sessions never overlap one another, so a new window merges only with
   * those it intersects: the operator hands mergeWindows just these.
   */
  readonly mergesIntersectingOnly = true;

  protected constructor(
    private readonly eventTime: boolean,
    private readonly gap: number,
    private readonly extractor: ((element: T) => number) | undefined,
  ) {
    super();
  }

  assignWindows(element: T, timestamp: number, context: WindowAssignerContext): TimeWindow[] {
    const time = this.eventTime ? timestamp : context.getCurrentProcessingTime();
    let gap = this.gap;
    if (this.extractor !== undefined) {
      gap = this.extractor(element);
      if (typeof gap !== 'number' || !(gap > 0) || !Number.isFinite(gap))
        throw new SluiceError(
          'SLUICE_PROGRAM_INVALID',
          `${this.toString()}: the session gap extractor returned ${String(gap)}; it must return a positive number of ms.`,
        );
    }
    return [new TimeWindow(time, time + gap)];
  }

  getDefaultTrigger(): Trigger<T, TimeWindow> {
    return this.eventTime ? EventTimeTrigger.create() : ProcessingTimeTrigger.create();
  }

  isEventTime(): boolean {
    return this.eventTime;
  }

  mergeWindows(
    windows: TimeWindow[],
    callback: (toBeMerged: TimeWindow[], mergeResult: TimeWindow) => void,
  ): void {
    TimeWindow.mergeWindows(windows, callback);
  }

  override toString(): string {
    const kind = `${this.extractor ? 'Dynamic' : ''}${this.eventTime ? 'EventTime' : 'ProcessingTime'}SessionWindows`;
    return this.extractor ? `${kind}()` : `${kind}(${this.gap})`;
  }
}

function gapOf(what: string, gap: DurationLike): number {
  const ms = toMillis(gap, `${what}.withGap gap`);
  if (ms <= 0) throw invalidProgram(`${what} parameters must satisfy 0 < size (gap ${ms} ms).`);
  return ms;
}

function extractorOf<T>(what: string, extractor: SessionWindowTimeGapExtractor<T>): (element: T) => number {
  if (typeof extractor === 'function') return extractor;
  if (typeof (extractor as { extract?: unknown } | null)?.extract === 'function')
    return (element) => extractor.extract(element);
  throw invalidProgram(
    `${what}.withDynamicGap takes a gap extractor: (element) => ms or { extract(element) }.`,
  );
}

/** Event-time sessions (Flink's EventTimeSessionWindows). */
export class EventTimeSessionWindows<T = unknown> extends SessionWindows<T> {
  /** Sessions closed by `gap` ms without records. */
  static withGap(gap: DurationLike): EventTimeSessionWindows {
    return new EventTimeSessionWindows(true, gapOf('EventTimeSessionWindows', gap), undefined);
  }
  /** Sessions whose gap each record gives (Flink's DynamicEventTimeSessionWindows). */
  static withDynamicGap<T>(
    sessionWindowTimeGapExtractor: SessionWindowTimeGapExtractor<T>,
  ): EventTimeSessionWindows<T> {
    return new EventTimeSessionWindows<T>(
      true,
      0,
      extractorOf('EventTimeSessionWindows', sessionWindowTimeGapExtractor),
    );
  }
}

/** Processing-time sessions (Flink's ProcessingTimeSessionWindows). */
export class ProcessingTimeSessionWindows<T = unknown> extends SessionWindows<T> {
  static withGap(gap: DurationLike): ProcessingTimeSessionWindows {
    return new ProcessingTimeSessionWindows(false, gapOf('ProcessingTimeSessionWindows', gap), undefined);
  }
  static withDynamicGap<T>(
    sessionWindowTimeGapExtractor: SessionWindowTimeGapExtractor<T>,
  ): ProcessingTimeSessionWindows<T> {
    return new ProcessingTimeSessionWindows<T>(
      false,
      0,
      extractorOf('ProcessingTimeSessionWindows', sessionWindowTimeGapExtractor),
    );
  }
}
