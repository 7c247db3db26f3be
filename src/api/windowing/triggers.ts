/** Flink's built-in triggers. */
import { type DurationLike, toMillis } from '../../core/duration.js';
import { invalidProgram } from '../../core/errors.js';
import { MAX_WATERMARK } from '../../core/watermark.js';
import { ReducingStateDescriptor } from '../../state/state-descriptor.js';
import { Trigger, TriggerResult, type OnMergeContext, type TriggerContext } from './trigger.js';
import type { Window } from './window.js';

/** Fires once the watermark passes the window's end (the default of event-time assigners). */
export class EventTimeTrigger extends Trigger<unknown, Window> {
  private constructor() {
    super();
  }
  static create(): EventTimeTrigger {
    return new EventTimeTrigger();
  }
  onElement(_element: unknown, _timestamp: number, window: Window, ctx: TriggerContext): TriggerResult {
    // A late record of a window still within its allowed lateness fires it again at once.
    if (window.maxTimestamp() <= ctx.getCurrentWatermark()) return TriggerResult.FIRE;
    ctx.registerEventTimeTimer(window.maxTimestamp());
    return TriggerResult.CONTINUE;
  }
  onEventTime(time: number, window: Window): TriggerResult {
    return time === window.maxTimestamp() ? TriggerResult.FIRE : TriggerResult.CONTINUE;
  }
  onProcessingTime(): TriggerResult {
    return TriggerResult.CONTINUE;
  }
  clear(window: Window, ctx: TriggerContext): void {
    ctx.deleteEventTimeTimer(window.maxTimestamp());
  }
  override canMerge(): boolean {
    return true;
  }
  override onMerge(window: Window, ctx: OnMergeContext): void {
    // Not registered when the watermark passed it: it would fire the merged window at once.
    if (window.maxTimestamp() > ctx.getCurrentWatermark()) ctx.registerEventTimeTimer(window.maxTimestamp());
  }
  override toString(): string {
    return 'EventTimeTrigger()';
  }
}

/** Fires once processing time passes the window's end (the default of processing-time assigners). */
export class ProcessingTimeTrigger extends Trigger<unknown, Window> {
  private constructor() {
    super();
  }
  static create(): ProcessingTimeTrigger {
    return new ProcessingTimeTrigger();
  }
  onElement(_element: unknown, _timestamp: number, window: Window, ctx: TriggerContext): TriggerResult {
    ctx.registerProcessingTimeTimer(window.maxTimestamp());
    return TriggerResult.CONTINUE;
  }
  onEventTime(): TriggerResult {
    return TriggerResult.CONTINUE;
  }
  onProcessingTime(): TriggerResult {
    return TriggerResult.FIRE;
  }
  clear(window: Window, ctx: TriggerContext): void {
    ctx.deleteProcessingTimeTimer(window.maxTimestamp());
  }
  override canMerge(): boolean {
    return true;
  }
  override onMerge(window: Window, ctx: OnMergeContext): void {
    if (window.maxTimestamp() > ctx.getCurrentProcessingTime())
      ctx.registerProcessingTimeTimer(window.maxTimestamp());
  }
  override toString(): string {
    return 'ProcessingTimeTrigger()';
  }
}

/** Never fires (GlobalWindows' default: give the window a trigger). */
export class NeverTrigger extends Trigger<unknown, Window> {
  onElement(): TriggerResult {
    return TriggerResult.CONTINUE;
  }
  onEventTime(): TriggerResult {
    return TriggerResult.CONTINUE;
  }
  onProcessingTime(): TriggerResult {
    return TriggerResult.CONTINUE;
  }
  clear(): void {}
  override canMerge(): boolean {
    return true;
  }
  override onMerge(): void {}
  override toString(): string {
    return 'NeverTrigger()';
  }
}

/** Fires at the end of the input (the final watermark): GlobalWindows.createWithEndOfStreamTrigger(). */
export class EndOfStreamTrigger extends Trigger<unknown, Window> {
  onElement(_element: unknown, _timestamp: number, _window: Window, ctx: TriggerContext): TriggerResult {
    ctx.registerEventTimeTimer(MAX_WATERMARK);
    return TriggerResult.CONTINUE;
  }
  onEventTime(time: number): TriggerResult {
    return time === MAX_WATERMARK ? TriggerResult.FIRE : TriggerResult.CONTINUE;
  }
  onProcessingTime(): TriggerResult {
    return TriggerResult.CONTINUE;
  }
  clear(_window: Window, ctx: TriggerContext): void {
    ctx.deleteEventTimeTimer(MAX_WATERMARK);
  }
  override toString(): string {
    return 'EndOfStreamTrigger()';
  }
}

const sum = (a: number, b: number): number => a + b;
const min = (a: number, b: number): number => Math.min(a, b);

/** Fires once a window holds `maxCount` records since it last fired (Flink's CountTrigger). */
export class CountTrigger<W extends Window = Window> extends Trigger<unknown, W> {
  private readonly stateDesc = new ReducingStateDescriptor<number>('count', sum);

  private constructor(private readonly maxCount: number) {
    super();
  }
  static of<W extends Window = Window>(maxCount: number): CountTrigger<W> {
    if (!Number.isSafeInteger(maxCount) || maxCount <= 0)
      throw invalidProgram(`CountTrigger.of takes a positive whole count, got ${String(maxCount)}.`);
    return new CountTrigger<W>(maxCount);
  }
  onElement(_element: unknown, _timestamp: number, _window: W, ctx: TriggerContext): TriggerResult {
    const count = ctx.getPartitionedState(this.stateDesc);
    count.add(1);
    if ((count.get() ?? 0) >= this.maxCount) {
      count.clear();
      return TriggerResult.FIRE;
    }
    return TriggerResult.CONTINUE;
  }
  onEventTime(): TriggerResult {
    return TriggerResult.CONTINUE;
  }
  onProcessingTime(): TriggerResult {
    return TriggerResult.CONTINUE;
  }
  clear(_window: W, ctx: TriggerContext): void {
    ctx.getPartitionedState(this.stateDesc).clear();
  }
  override canMerge(): boolean {
    return true;
  }
  override onMerge(_window: W, ctx: OnMergeContext): void {
    ctx.mergePartitionedState(this.stateDesc);
  }
  override toString(): string {
    return `CountTrigger(${this.maxCount})`;
  }
}

/** Makes another trigger's FIRE a FIRE_AND_PURGE (Flink's PurgingTrigger). */
export class PurgingTrigger<T = unknown, W extends Window = Window> extends Trigger<T, W> {
  private constructor(private readonly nested: Trigger<T, W>) {
    super();
  }
  static of<T, W extends Window>(nestedTrigger: Trigger<T, W>): PurgingTrigger<T, W> {
    if (!(nestedTrigger instanceof Trigger))
      throw invalidProgram('PurgingTrigger.of takes a Trigger, such as CountTrigger.of(n).');
    return new PurgingTrigger(nestedTrigger);
  }
  private static purging(result: TriggerResult): TriggerResult {
    return result.isFire() ? TriggerResult.FIRE_AND_PURGE : result;
  }
  onElement(element: T, timestamp: number, window: W, ctx: TriggerContext): TriggerResult {
    return PurgingTrigger.purging(this.nested.onElement(element, timestamp, window, ctx));
  }
  onEventTime(time: number, window: W, ctx: TriggerContext): TriggerResult {
    return PurgingTrigger.purging(this.nested.onEventTime(time, window, ctx));
  }
  onProcessingTime(time: number, window: W, ctx: TriggerContext): TriggerResult {
    return PurgingTrigger.purging(this.nested.onProcessingTime(time, window, ctx));
  }
  clear(window: W, ctx: TriggerContext): void {
    this.nested.clear(window, ctx);
  }
  override canMerge(): boolean {
    return this.nested.canMerge();
  }
  override onMerge(window: W, ctx: OnMergeContext): void {
    this.nested.onMerge(window, ctx);
  }
  getNestedTrigger(): Trigger<T, W> {
    return this.nested;
  }
  override toString(): string {
    return `PurgingTrigger(${this.nested.toString()})`;
  }
}

/** `interval` in milliseconds for `<trigger>.of`, refused unless positive. */
function positiveInterval(interval: DurationLike, trigger: string): number {
  const ms = toMillis(interval, `${trigger}.of interval`);
  if (ms <= 0) throw invalidProgram(`${trigger}.of takes a positive interval, got ${ms} ms.`);
  return ms;
}

/** Registers and deletes timers in one time domain. */
interface TimerDomain {
  register(ctx: TriggerContext | OnMergeContext, time: number): void;
  delete(ctx: TriggerContext, time: number): void;
}

const EVENT_TIME: TimerDomain = {
  register: (ctx, time) => ctx.registerEventTimeTimer(time),
  delete: (ctx, time) => ctx.deleteEventTimeTimer(time),
};

const PROCESSING_TIME: TimerDomain = {
  register: (ctx, time) => ctx.registerProcessingTimeTimer(time),
  delete: (ctx, time) => ctx.deleteProcessingTimeTimer(time),
};

/**
 * What ContinuousEventTimeTrigger and ContinuousProcessingTimeTrigger share: the next firing time
 * in a reducing state (the earliest, when windows merge) and a timer for it, in one time domain.
 * The triggers hold one rather than extend it, so that it is no part of their public types.
 */
class ContinuousFiring<W extends Window> {
  private readonly stateDesc = new ReducingStateDescriptor<number>('fire-time', min);

  constructor(
    readonly interval: number,
    private readonly domain: TimerDomain,
  ) {}

  /** A timer fired at `time`: FIRE (and set the next one) if it is this trigger's. */
  fireAt(time: number, window: W, ctx: TriggerContext): TriggerResult {
    const fireTimestamp = ctx.getPartitionedState(this.stateDesc);
    if (fireTimestamp.get() === time) {
      fireTimestamp.clear();
      this.registerNext(time, window, ctx);
      return TriggerResult.FIRE;
    }
    return TriggerResult.CONTINUE;
  }
  /** With no firing time set yet, sets the first one after `time` rounded down to the interval. */
  startAt(time: number, window: W, ctx: TriggerContext): void {
    if (ctx.getPartitionedState(this.stateDesc).get() === undefined)
      this.registerNext(time - (time % this.interval), window, ctx);
  }
  clear(ctx: TriggerContext): void {
    const fireTimestamp = ctx.getPartitionedState(this.stateDesc);
    const time = fireTimestamp.get();
    if (time !== undefined) {
      this.domain.delete(ctx, time);
      fireTimestamp.clear();
    }
  }
  onMerge(ctx: OnMergeContext): void {
    ctx.mergePartitionedState(this.stateDesc);
    const next = ctx.getPartitionedState(this.stateDesc).get();
    if (next !== undefined) this.domain.register(ctx, next);
  }
  private registerNext(time: number, window: W, ctx: TriggerContext): void {
    const next = Math.min(time + this.interval, window.maxTimestamp());
    ctx.getPartitionedState(this.stateDesc).add(next);
    this.domain.register(ctx, next);
  }
}

/**
 * Fires every `interval` of event time within the window and at its end (Flink's
 * ContinuousEventTimeTrigger): early results of long windows.
 */
export class ContinuousEventTimeTrigger<W extends Window = Window> extends Trigger<unknown, W> {
  private readonly firing: ContinuousFiring<W>;

  private constructor(interval: number) {
    super();
    this.firing = new ContinuousFiring<W>(interval, EVENT_TIME);
  }
  static of<W extends Window = Window>(interval: DurationLike): ContinuousEventTimeTrigger<W> {
    return new ContinuousEventTimeTrigger<W>(positiveInterval(interval, 'ContinuousEventTimeTrigger'));
  }
  onElement(_element: unknown, timestamp: number, window: W, ctx: TriggerContext): TriggerResult {
    if (window.maxTimestamp() <= ctx.getCurrentWatermark()) return TriggerResult.FIRE;
    ctx.registerEventTimeTimer(window.maxTimestamp());
    this.firing.startAt(timestamp, window, ctx);
    return TriggerResult.CONTINUE;
  }
  onEventTime(time: number, window: W, ctx: TriggerContext): TriggerResult {
    if (time === window.maxTimestamp()) return TriggerResult.FIRE;
    return this.firing.fireAt(time, window, ctx);
  }
  onProcessingTime(): TriggerResult {
    return TriggerResult.CONTINUE;
  }
  clear(_window: W, ctx: TriggerContext): void {
    this.firing.clear(ctx);
  }
  override canMerge(): boolean {
    return true;
  }
  override onMerge(_window: W, ctx: OnMergeContext): void {
    this.firing.onMerge(ctx);
  }
  getInterval(): number {
    return this.firing.interval;
  }
  override toString(): string {
    return `ContinuousEventTimeTrigger(${this.firing.interval})`;
  }
}

/** Fires every `interval` of processing time while the window is open (Flink's ContinuousProcessingTimeTrigger). */
export class ContinuousProcessingTimeTrigger<W extends Window = Window> extends Trigger<unknown, W> {
  private readonly firing: ContinuousFiring<W>;

  private constructor(interval: number) {
    super();
    this.firing = new ContinuousFiring<W>(interval, PROCESSING_TIME);
  }
  static of<W extends Window = Window>(interval: DurationLike): ContinuousProcessingTimeTrigger<W> {
    return new ContinuousProcessingTimeTrigger<W>(
      positiveInterval(interval, 'ContinuousProcessingTimeTrigger'),
    );
  }
  onElement(_element: unknown, _timestamp: number, window: W, ctx: TriggerContext): TriggerResult {
    this.firing.startAt(ctx.getCurrentProcessingTime(), window, ctx);
    return TriggerResult.CONTINUE;
  }
  onEventTime(): TriggerResult {
    return TriggerResult.CONTINUE;
  }
  onProcessingTime(time: number, window: W, ctx: TriggerContext): TriggerResult {
    return this.firing.fireAt(time, window, ctx);
  }
  clear(_window: W, ctx: TriggerContext): void {
    this.firing.clear(ctx);
  }
  override canMerge(): boolean {
    return true;
  }
  override onMerge(_window: W, ctx: OnMergeContext): void {
    this.firing.onMerge(ctx);
  }
  getInterval(): number {
    return this.firing.interval;
  }
  override toString(): string {
    return `ContinuousProcessingTimeTrigger(${this.firing.interval})`;
  }
}
