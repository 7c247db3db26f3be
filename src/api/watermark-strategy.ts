/**
 * WatermarkStrategy: how a stream gets event timestamps and watermarks, as in Flink — given to
 * `fromSource(source, strategy, name)` (one generator per source split) or to
 * `assignTimestampsAndWatermarks(strategy)` (one per subtask).
 */
import type { Clock } from '../core/clock.js';
import { toMillis, type DurationLike } from '../core/duration.js';
import { SluiceError } from '../core/errors.js';
import {
  AscendingTimestampsWatermarks,
  BoundedOutOfOrdernessWatermarks,
  NoWatermarksGenerator,
  createGenerator,
  type WatermarkGenerator,
  type WatermarkGeneratorSupplier,
  type WatermarkGeneratorSupplierContext,
} from './eventtime/watermark-generator.js';
import { WatermarksWithIdleness } from './eventtime/watermarks-with-idleness.js';
import { timestampAssignerFn, type TimestampAssignerLike } from './eventtime/timestamp-assigner.js';

/** An event's timestamp from the event and the timestamp its source gave it. */
export type TimestampExtractor<T> = (element: T, recordTimestamp: number) => number;

/** How a stream assigns event timestamps and emits watermarks (Flink's WatermarkStrategy). Immutable. */
export class WatermarkStrategy<T = unknown> {
  private constructor(
    /** @internal Whether the strategy emits no watermarks (`noWatermarks()`). */
    readonly kind: 'no-watermarks' | 'generator',
    private readonly supplier: WatermarkGeneratorSupplier<T>,
    /** @internal */ readonly timestampAssigner: TimestampExtractor<T> | undefined,
    /** @internal `withIdleness` in ms, or undefined. */ readonly idleTimeoutMs: number | undefined,
  ) {}

  /** No watermarks: processing time only, unless a timestamp assigner is added (Flink's `noWatermarks()`). */
  static noWatermarks<T = unknown>(): WatermarkStrategy<T> {
    return new WatermarkStrategy<T>(
      'no-watermarks',
      () => new NoWatermarksGenerator<T>(),
      undefined,
      undefined,
    );
  }

  /** Watermarks `maxOutOfOrderness` ms behind the highest timestamp seen (Flink's `forBoundedOutOfOrderness`). */
  static forBoundedOutOfOrderness<T = unknown>(maxOutOfOrderness: DurationLike): WatermarkStrategy<T> {
    const bound = toMillis(maxOutOfOrderness, 'WatermarkStrategy.forBoundedOutOfOrderness');
    return new WatermarkStrategy<T>(
      'generator',
      () => new BoundedOutOfOrdernessWatermarks<T>(bound),
      undefined,
      undefined,
    );
  }

  /** Timestamps that never decrease (per split): watermark = latest timestamp - 1 (Flink's `forMonotonousTimestamps`). */
  static forMonotonousTimestamps<T = unknown>(): WatermarkStrategy<T> {
    return new WatermarkStrategy<T>(
      'generator',
      () => new AscendingTimestampsWatermarks<T>(),
      undefined,
      undefined,
    );
  }

  /** A custom generator, made per split or subtask by `supplier` (Flink's `forGenerator`). */
  static forGenerator<T = unknown>(supplier: WatermarkGeneratorSupplier<T>): WatermarkStrategy<T> {
    if (
      typeof supplier !== 'function' &&
      (typeof supplier !== 'object' ||
        supplier === null ||
        typeof supplier.createWatermarkGenerator !== 'function')
    )
      throw new SluiceError(
        'SLUICE_PROGRAM_INVALID',
        'WatermarkStrategy.forGenerator() takes ctx => generator (or an object with createWatermarkGenerator(ctx)).',
      );
    return new WatermarkStrategy<T>('generator', supplier, undefined, undefined);
  }

  /** The same strategy, taking event timestamps from `assigner` (Flink's `withTimestampAssigner`). */
  withTimestampAssigner(assigner: TimestampAssignerLike<T>): WatermarkStrategy<T> {
    return new WatermarkStrategy<T>(
      this.kind,
      this.supplier,
      timestampAssignerFn(assigner),
      this.idleTimeoutMs,
    );
  }

  /**
   * The same strategy, marking a split (or subtask) idle after `idleTimeout` of processing time
   * without events, so that it stops holding back the watermark (Flink's `withIdleness`).
   */
  withIdleness(idleTimeout: DurationLike): WatermarkStrategy<T> {
    const ms = toMillis(idleTimeout, 'WatermarkStrategy.withIdleness');
    if (ms <= 0)
      throw new SluiceError('SLUICE_PROGRAM_INVALID', `withIdleness: the timeout must be > 0 ms, got ${ms}.`);
    return new WatermarkStrategy<T>(this.kind, this.supplier, this.timestampAssigner, ms);
  }

  /** Flink's `createWatermarkGenerator`: a fresh generator (wrapped for idleness if asked). */
  createWatermarkGenerator(ctx: WatermarkGeneratorSupplierContext, clock: Clock): WatermarkGenerator<T> {
    const generator = createGenerator(this.supplier, ctx);
    return this.idleTimeoutMs === undefined
      ? generator
      : new WatermarksWithIdleness(generator, this.idleTimeoutMs, clock);
  }

  /** @internal Whether this strategy changes nothing: no timestamps assigned, no watermarks. */
  get isPassThrough(): boolean {
    return this.kind === 'no-watermarks' && this.timestampAssigner === undefined;
  }
}

/** Whether `value` is a WatermarkStrategy (also from another copy of this module). */
export function isWatermarkStrategy(value: unknown): value is WatermarkStrategy<unknown> {
  return (
    value instanceof WatermarkStrategy ||
    (typeof value === 'object' &&
      value !== null &&
      typeof (value as { createWatermarkGenerator?: unknown }).createWatermarkGenerator === 'function' &&
      typeof (value as { withTimestampAssigner?: unknown }).withTimestampAssigner === 'function')
  );
}
