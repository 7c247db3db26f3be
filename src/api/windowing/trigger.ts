/**
 * Flink's Trigger: decides when a window's contents are evaluated (FIRE) and dropped (PURGE), on
 * each element, on timers it registered and when windows merge. Its state and timers are scoped
 * to the key and window in hand, as Flink's.
 */
import type {
  AggregatingStateDescriptor,
  ListStateDescriptor,
  ReducingStateDescriptor,
  ValueStateDescriptor,
} from '../../state/state-descriptor.js';
import type { AggregatingState, ListState, ReducingState, ValueState } from '../../state/state.js';
import { invalidProgram } from '../../core/errors.js';
import type { Window } from './window.js';

/** What a trigger returns (Flink's TriggerResult): whether to evaluate the window, and whether to clear its contents. */
export class TriggerResult {
  /** Nothing happens to the window. */
  static readonly CONTINUE = new TriggerResult('CONTINUE', false, false);
  /** The window is evaluated and its contents cleared. */
  static readonly FIRE_AND_PURGE = new TriggerResult('FIRE_AND_PURGE', true, true);
  /** The window is evaluated; its contents stay (a later firing sees them again). */
  static readonly FIRE = new TriggerResult('FIRE', true, false);
  /** The window's contents are cleared without evaluating them. */
  static readonly PURGE = new TriggerResult('PURGE', false, true);

  private constructor(
    private readonly name: string,
    private readonly fire: boolean,
    private readonly purge: boolean,
  ) {}

  isFire(): boolean {
    return this.fire;
  }
  isPurge(): boolean {
    return this.purge;
  }
  toString(): string {
    return this.name;
  }
}

/** State scoped to the key and window in hand (Flink's TriggerContext.getPartitionedState). */
export interface PartitionedStateStore {
  getPartitionedState<T>(descriptor: ValueStateDescriptor<T>): ValueState<T>;
  getPartitionedState<T>(descriptor: ReducingStateDescriptor<T>): ReducingState<T>;
  getPartitionedState<T>(descriptor: ListStateDescriptor<T>): ListState<T>;
  getPartitionedState<IN, ACC, OUT>(
    descriptor: AggregatingStateDescriptor<IN, ACC, OUT>,
  ): AggregatingState<IN, OUT>;
}

/** What a trigger sees of its operator: time, timers and state of the key and window in hand. */
export interface TriggerContext extends PartitionedStateStore {
  getCurrentProcessingTime(): number;
  getCurrentWatermark(): number;
  /** Calls `onProcessingTime(time, window, ctx)` once processing time reaches `time`. */
  registerProcessingTimeTimer(time: number): void;
  /** Calls `onEventTime(time, window, ctx)` once the watermark reaches `time`. */
  registerEventTimeTimer(time: number): void;
  deleteProcessingTimeTimer(time: number): void;
  deleteEventTimeTimer(time: number): void;
}

/** The context of `onMerge`: also merges the merged windows' partitioned state into the new window's. */
export interface OnMergeContext extends TriggerContext {
  mergePartitionedState(
    descriptor:
      | ReducingStateDescriptor<unknown>
      | ListStateDescriptor<unknown>
      | AggregatingStateDescriptor<unknown, unknown, unknown>,
  ): void;
}

/** Decides when windows fire (Flink's Trigger); extend it and return TriggerResult values. */
export abstract class Trigger<T = unknown, W extends Window = Window> {
  /** A record was added to `window`. */
  abstract onElement(element: T, timestamp: number, window: W, ctx: TriggerContext): TriggerResult;
  /** A processing-time timer this trigger registered for `window` fired. */
  abstract onProcessingTime(time: number, window: W, ctx: TriggerContext): TriggerResult;
  /** An event-time timer this trigger registered for `window` fired. */
  abstract onEventTime(time: number, window: W, ctx: TriggerContext): TriggerResult;
  /** Whether the trigger supports merging windows (session windows need it). */
  canMerge(): boolean {
    return false;
  }
  /** Windows merged into `window`: re-register timers and merge state for it. */
  onMerge(_window: W, _ctx: OnMergeContext): void {
    throw invalidProgram(`${this.toString()} does not support merging windows (its canMerge() is false).`);
  }
  /** The window is gone: delete the timers and state this trigger keeps for it. */
  abstract clear(window: W, ctx: TriggerContext): void;
  toString(): string {
    return this.constructor.name;
  }
}
