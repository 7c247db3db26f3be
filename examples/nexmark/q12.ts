/**
 * Nexmark q12, processing-time windows (Flink Nexmark `q12.sql`, Apache-2.0): bids per bidder in
 * each 10 s window of processing time. Non-deterministic by design: which window a bid falls in
 * depends on when it is processed; the counts per bidder over all windows do not.
 *
 *   SELECT B.bidder, count(*) as bid_count, window_start, window_end
 *   FROM TABLE(TUMBLE(TABLE (SELECT *, PROCTIME() as p_time FROM bid), DESCRIPTOR(p_time), INTERVAL '10' SECOND))
 *   GROUP BY B.bidder, window_start, window_end;
 */
import {
  ProcessWindowFunction,
  TumblingProcessingTimeWindows,
  type Collector,
  type DataStream,
  type NexmarkEvent,
  type ProcessWindowContext,
} from 'sluice';
import { bids } from './nexmark-views.js';
import { CountBids } from './q5.js';

/** A q12 result row. */
export interface Q12Row {
  readonly bidder: number;
  readonly bid_count: number;
  readonly window_start: number;
  readonly window_end: number;
}

/** Puts the bidder and its window on the count. */
export class BidderWindow extends ProcessWindowFunction<number, Q12Row, number> {
  process(
    bidder: number,
    context: ProcessWindowContext,
    counts: Iterable<number>,
    out: Collector<Q12Row>,
  ): void {
    const w = context.window();
    for (const bid_count of counts)
      out.collect({ bidder, bid_count, window_start: w.getStart(), window_end: w.getEnd() });
  }
}

/** Builds q12 on the Nexmark event stream; `windowMs` is 10 s in Nexmark (shorter in tests, so that windows fire soon). */
export function q12(events: DataStream<NexmarkEvent>, windowMs = 10_000): DataStream<Q12Row> {
  return bids(events)
    .map((b) => b.bidder)
    .keyBy((bidder) => bidder)
    .window(TumblingProcessingTimeWindows.of(windowMs))
    .aggregate(CountBids, new BidderWindow())
    .uid('q12-windows')
    .name('q12');
}
