/** The watermark bounds and statuses every layer shares (Flink's Watermark and WatermarkStatus values). */

/**
 * The watermark before any event time has passed (Flink's Long.MIN_VALUE). Sluice's time values
 * are JavaScript numbers, so the bounds are the safe-integer ones: arithmetic on them stays exact.
 */
export const MIN_WATERMARK = Number.MIN_SAFE_INTEGER;

/**
 * The end of event time (Flink's `Watermark.MAX_WATERMARK`, Long.MAX_VALUE): a source that
 * finishes emits it, and it fires every event-time timer at or below it.
 */
export const MAX_WATERMARK = Number.MAX_SAFE_INTEGER;

/** Whether a stream (a channel, a split, a task's output) currently carries watermarks (Flink's WatermarkStatus). */
export type WatermarkStatus = 'ACTIVE' | 'IDLE';
