/**
 * Flink's Evictor: removes records from a window before and/or after its function runs. A window
 * with an evictor keeps every record (as Flink's EvictingWindowOperator), each with its timestamp.
 */
import { type DurationLike, toMillis } from '../../core/duration.js';
import { invalidProgram } from '../../core/errors.js';
import type { Window } from './window.js';

/** A record with its timestamp, if it has one (Flink's TimestampedValue). */
export class TimestampedValue<T> {
  constructor(
    private readonly value: T,
    private readonly timestamp: number | null = null,
  ) {}
  static of<T>(value: T, timestamp?: number | null): TimestampedValue<T> {
    return new TimestampedValue(value, timestamp ?? null);
  }
  getValue(): T {
    return this.value;
  }
  /** The timestamp; meaningful only when `hasTimestamp()`. */
  getTimestamp(): number {
    return this.timestamp ?? Number.MIN_SAFE_INTEGER;
  }
  hasTimestamp(): boolean {
    return this.timestamp !== null;
  }
}

/** What an evictor sees of time. */
export interface EvictorContext {
  getCurrentProcessingTime(): number;
  getCurrentWatermark(): number;
}

/**
 * Removes records from a window (Flink's Evictor). `elements` is the window's records in arrival
 * order, as an array: remove the evicted ones from it in place (Java removes through the
 * iterator); `size` is its length when the call began.
 */
export interface Evictor<T, W extends Window = Window> {
  evictBefore(elements: TimestampedValue<T>[], size: number, window: W, evictorContext: EvictorContext): void;
  evictAfter(elements: TimestampedValue<T>[], size: number, window: W, evictorContext: EvictorContext): void;
}

/** Removes from `elements`, in place, those `evicted` says. */
function removeWhere<T>(
  elements: TimestampedValue<T>[],
  evicted: (e: TimestampedValue<T>, i: number) => boolean,
): void {
  let kept = 0;
  for (let i = 0; i < elements.length; i++) if (!evicted(elements[i]!, i)) elements[kept++] = elements[i]!;
  elements.length = kept;
}

/** Keeps the last `maxCount` records (Flink's CountEvictor); before the function, unless `doEvictAfter`. */
export class CountEvictor<W extends Window = Window> implements Evictor<unknown, W> {
  private constructor(
    private readonly maxCount: number,
    private readonly doEvictAfter: boolean,
  ) {}
  static of<W extends Window = Window>(maxCount: number, doEvictAfter = false): CountEvictor<W> {
    if (!Number.isSafeInteger(maxCount) || maxCount < 0)
      throw invalidProgram(`CountEvictor.of takes a whole count ≥ 0, got ${String(maxCount)}.`);
    return new CountEvictor<W>(maxCount, doEvictAfter);
  }
  evictBefore(elements: TimestampedValue<unknown>[], size: number): void {
    if (!this.doEvictAfter) this.evict(elements, size);
  }
  evictAfter(elements: TimestampedValue<unknown>[], size: number): void {
    if (this.doEvictAfter) this.evict(elements, size);
  }
  private evict(elements: TimestampedValue<unknown>[], size: number): void {
    if (size <= this.maxCount) return;
    const evict = size - this.maxCount;
    removeWhere(elements, (_e, i) => i < evict);
  }
  getMaxCount(): number {
    return this.maxCount;
  }
}

/**
 * Keeps the records within `windowSize` of the newest record's timestamp (Flink's TimeEvictor);
 * does nothing to records without timestamps.
 */
export class TimeEvictor<W extends Window = Window> implements Evictor<unknown, W> {
  private constructor(
    private readonly windowSize: number,
    private readonly doEvictAfter: boolean,
  ) {}
  static of<W extends Window = Window>(windowSize: DurationLike, doEvictAfter = false): TimeEvictor<W> {
    return new TimeEvictor<W>(toMillis(windowSize, 'TimeEvictor.of windowSize'), doEvictAfter);
  }
  evictBefore(elements: TimestampedValue<unknown>[]): void {
    if (!this.doEvictAfter) this.evict(elements);
  }
  evictAfter(elements: TimestampedValue<unknown>[]): void {
    if (this.doEvictAfter) this.evict(elements);
  }
  private evict(elements: TimestampedValue<unknown>[]): void {
    if (elements.length === 0 || !elements[0]!.hasTimestamp()) return;
    let newest = Number.MIN_SAFE_INTEGER;
    for (const e of elements) if (e.getTimestamp() > newest) newest = e.getTimestamp();
    const cutoff = newest - this.windowSize;
    removeWhere(elements, (e) => e.getTimestamp() <= cutoff);
  }
  getWindowSize(): number {
    return this.windowSize;
  }
}

/** The distance between two records (Flink's DeltaFunction). */
export type DeltaFunction<T> =
  { getDelta(oldDataPoint: T, newDataPoint: T): number } | ((a: T, b: T) => number);

/**
 * Removes the records whose delta to the newest record is at least `threshold` (Flink's
 * DeltaEvictor).
 */
export class DeltaEvictor<T, W extends Window = Window> implements Evictor<T, W> {
  private readonly delta: (a: T, b: T) => number;
  private constructor(
    private readonly threshold: number,
    deltaFunction: DeltaFunction<T>,
    private readonly doEvictAfter: boolean,
  ) {
    this.delta = typeof deltaFunction === 'function' ? deltaFunction : (a, b) => deltaFunction.getDelta(a, b);
  }
  static of<T, W extends Window = Window>(
    threshold: number,
    deltaFunction: DeltaFunction<T>,
    doEvictAfter = false,
  ): DeltaEvictor<T, W> {
    if (
      typeof deltaFunction !== 'function' &&
      typeof (deltaFunction as { getDelta?: unknown } | null)?.getDelta !== 'function'
    )
      throw invalidProgram('DeltaEvictor.of takes a delta function (a, b) => number or { getDelta(a, b) }.');
    return new DeltaEvictor<T, W>(threshold, deltaFunction, doEvictAfter);
  }
  evictBefore(elements: TimestampedValue<T>[]): void {
    if (!this.doEvictAfter) this.evict(elements);
  }
  evictAfter(elements: TimestampedValue<T>[]): void {
    if (this.doEvictAfter) this.evict(elements);
  }
  private evict(elements: TimestampedValue<T>[]): void {
    if (elements.length === 0) return;
    const last = elements[elements.length - 1]!.getValue();
    removeWhere(elements, (e) => this.delta(e.getValue(), last) >= this.threshold);
  }
}
