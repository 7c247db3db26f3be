/** Flink's ProcessWindowFunction: all of a window's elements (or its one aggregate) with its metadata. */
import type { Collector } from '../functions.js';
import { AbstractRichFunction } from '../rich-functions.js';
import type { TimeWindow } from './time-window.js';

/** What a ProcessWindowFunction sees of the window firing now (Flink's ProcessWindowFunction.Context). */
export interface ProcessWindowContext<W extends TimeWindow = TimeWindow> {
  /** The window being evaluated. */
  window(): W;
  /** Processing time now (ms since the epoch). */
  currentProcessingTime(): number;
  /** The operator's current event-time watermark. */
  currentWatermark(): number;
}

/**
 * Evaluates one window of one key: `process(key, context, elements, out)`. After
 * `.reduce(fn, pwf)` or `.aggregate(fn, pwf)`, `elements` holds the one pre-aggregated value. A rich
 * function (`getRuntimeContext()`, `open`, `close`).
 */
export abstract class ProcessWindowFunction<
  IN,
  OUT,
  KEY,
  W extends TimeWindow = TimeWindow,
> extends AbstractRichFunction {
  abstract process(
    key: KEY,
    context: ProcessWindowContext<W>,
    elements: Iterable<IN>,
    out: Collector<OUT>,
  ): void;
}
