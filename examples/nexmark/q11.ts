/**
 * Nexmark q11, user sessions (Flink Nexmark `q11.sql`, Apache-2.0): how many bids each bidder
 * made in each of its sessions, a session ending after 10 s without a bid.
 *
 *   SELECT B.bidder, count(*) as bid_count,
 *          SESSION_START(B.dateTime, INTERVAL '10' SECOND) as starttime,
 *          SESSION_END(B.dateTime, INTERVAL '10' SECOND) as endtime
 *   FROM bid B
 *   GROUP BY B.bidder, SESSION(B.dateTime, INTERVAL '10' SECOND);
 */
import {
  EventTimeSessionWindows,
  ProcessWindowFunction,
  type Collector,
  type DataStream,
  type NexmarkEvent,
  type ProcessWindowContext,
} from 'sluice';
import { bids } from './nexmark-views.js';
import { CountBids } from './q5.js';

/** A q11 result row. */
export interface Q11Row {
  readonly bidder: number;
  readonly bid_count: number;
  readonly starttime: number;
  readonly endtime: number;
}

/** Puts the bidder and its session on the count. */
export class BidderSession extends ProcessWindowFunction<number, Q11Row, number> {
  process(
    bidder: number,
    context: ProcessWindowContext,
    counts: Iterable<number>,
    out: Collector<Q11Row>,
  ): void {
    const w = context.window();
    for (const bid_count of counts)
      out.collect({ bidder, bid_count, starttime: w.getStart(), endtime: w.getEnd() });
  }
}

/** Builds q11 on the Nexmark event stream. */
export function q11(events: DataStream<NexmarkEvent>): DataStream<Q11Row> {
  return bids(events)
    .map((b) => b.bidder)
    .keyBy((bidder) => bidder)
    .window(EventTimeSessionWindows.withGap(10_000))
    .aggregate(CountBids, new BidderSession())
    .uid('q11-sessions')
    .name('q11');
}
