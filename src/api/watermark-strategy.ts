/**
 * WatermarkStrategy: what `fromSource(source, strategy, name)` takes, as in Flink. Event time is
 * not supported yet, so the only strategy is `noWatermarks()`; `fromSource` refuses anything else
 * rather than ignore it.
 */

/** How a source assigns event timestamps and emits watermarks (Flink's WatermarkStrategy). */
export class WatermarkStrategy<T = unknown> {
  /** Type of the records the strategy applies to (compile-time only). */
  declare readonly __recordType?: T;

  private constructor(
    /** @internal Which strategy this is. */
    readonly kind: 'no-watermarks',
  ) {}

  /** No event timestamps and no watermarks: processing time only (Flink's `noWatermarks()`). */
  static noWatermarks<T = unknown>(): WatermarkStrategy<T> {
    return new WatermarkStrategy<T>('no-watermarks');
  }
}

/** Whether `value` is `WatermarkStrategy.noWatermarks()` (also from another copy of this module). */
export function isNoWatermarks(value: unknown): boolean {
  return (
    value instanceof WatermarkStrategy ||
    (typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'no-watermarks')
  );
}
