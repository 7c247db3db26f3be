/**
 * Nexmark q7, highest bid (Flink Nexmark `q7.sql`, Apache-2.0): the bids with the highest price
 * of each 10 s tumbling window.
 *
 *   SELECT B.auction, B.price, B.bidder, B.dateTime, B.extra
 *   FROM bid B
 *   JOIN (SELECT MAX(price) AS maxprice, window_end as dateTime
 *         FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '10' SECOND))
 *         GROUP BY window_start, window_end) B1
 *   ON B.price = B1.maxprice
 *   WHERE B.dateTime BETWEEN B1.dateTime - INTERVAL '10' SECOND AND B1.dateTime;
 *
 * One difference at the edge: BETWEEN is inclusive, so the SQL also matches a bid of the *next*
 * window whose dateTime is exactly window_end and whose price equals this window's maximum; here
 * a window's highest bids are its own.
 */
import {
  TumblingEventTimeWindows,
  type AggregateFunction,
  type Bid,
  type DataStream,
  type NexmarkEvent,
} from 'sluice';
import { bids } from './nexmark-views.js';

/** A q7 result row. */
export interface Q7Row {
  readonly auction: number;
  readonly price: number;
  readonly bidder: number;
  readonly dateTime: number;
  readonly extra: string;
}

/** The highest price so far and the bids that have it. */
export interface HighestSoFar {
  max: number;
  bids: Q7Row[];
}

/** MAX(price) joined back to the bids at that price, folded as the bids arrive (no list of all bids). */
export const HighestBids: AggregateFunction<Bid, HighestSoFar, Q7Row[]> = {
  createAccumulator: () => ({ max: -1, bids: [] }),
  add: (b, acc) => {
    if (b.price < acc.max) return acc;
    const row = {
      auction: b.auction,
      price: b.price,
      bidder: b.bidder,
      dateTime: b.dateTime,
      extra: b.extra,
    };
    if (b.price > acc.max) {
      acc.max = b.price;
      acc.bids = [row];
    } else acc.bids.push(row);
    return acc;
  },
  getResult: (acc) => acc.bids,
  merge: (a, b) => (a.max > b.max ? a : b.max > a.max ? b : { max: a.max, bids: [...a.bids, ...b.bids] }),
};

/** Builds q7 on the Nexmark event stream. */
export function q7(events: DataStream<NexmarkEvent>): DataStream<Q7Row> {
  return bids(events)
    .keyBy(() => 0)
    .window(TumblingEventTimeWindows.of(10_000))
    .aggregate(HighestBids)
    .uid('q7-highest')
    .flatMap<Q7Row>((rows, out) => {
      for (const row of rows) out.collect(row);
    })
    .name('q7');
}
