/** Flink's ProcessWindowFunction: all of a window's elements (or its one aggregate) with its metadata. */
import type { Collector } from '../functions.js';
import type { OutputTag } from '../output-tag.js';
import { AbstractRichFunction } from '../rich-functions.js';
import type { RuntimeContext } from '../runtime-context.js';
import type { TimeWindow } from './time-window.js';
import type { Window } from './window.js';

/** Keyed state by descriptor (Flink's KeyedStateStore): per key, or per key and window. */
export type KeyedStateStore = Pick<
  RuntimeContext,
  'getState' | 'getListState' | 'getReducingState' | 'getAggregatingState'
>;

/** What a ProcessWindowFunction sees of the window firing now (Flink's ProcessWindowFunction.Context). */
export interface ProcessWindowContext<W extends Window = TimeWindow> {
  /** The window being evaluated. */
  window(): W;
  /** Processing time now (ms since the epoch). */
  currentProcessingTime(): number;
  /** The operator's current event-time watermark. */
  currentWatermark(): number;
  /**
   * State of this key and window (kept across firings of the window, e.g. with allowed
   * lateness); clear it in `clear(context)`.
   */
  windowState(): KeyedStateStore;
  /** State of this key, across its windows. */
  globalState(): KeyedStateStore;
  /** Emits `value` to the side output `outputTag` (read it with `getSideOutput(outputTag)`). */
  output<X>(outputTag: OutputTag<X>, value: X): void;
}

/**
 * Evaluates one window of one key: `process(key, context, elements, out)`. After
 * `.reduce(fn, pwf)` or `.aggregate(fn, pwf)`, `elements` holds the one pre-aggregated value. A rich
 * function (`getRuntimeContext()`, `open`, `close`), with an optional `clear(context)` called when
 * the window is gone for good (to clear its `windowState()`).
 */
export abstract class ProcessWindowFunction<
  IN,
  OUT,
  KEY,
  W extends Window = TimeWindow,
> extends AbstractRichFunction {
  abstract process(
    key: KEY,
    context: ProcessWindowContext<W>,
    elements: Iterable<IN>,
    out: Collector<OUT>,
  ): void;
  /** The window is purged for good: clear what `windowState()` holds for it. */
  clear(_context: ProcessWindowContext<W>): void {}
}
