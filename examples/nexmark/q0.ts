/**
 * Nexmark q0, pass-through (Flink Nexmark `q0.sql`, Apache-2.0): measures the source and the
 * framework's per-record cost.
 *
 *   SELECT auction, bidder, price, dateTime, extra FROM bid;
 */
import type { DataStream, NexmarkEvent } from 'sluice';
import { bids } from './nexmark-views.js';

/** A q0 result row. */
export interface Q0Row {
  readonly auction: number;
  readonly bidder: number;
  readonly price: number;
  readonly dateTime: number;
  readonly extra: string;
}

/** Builds q0 on the Nexmark event stream. */
export function q0(events: DataStream<NexmarkEvent>): DataStream<Q0Row> {
  return bids(events)
    .map((b): Q0Row => ({
      auction: b.auction,
      bidder: b.bidder,
      price: b.price,
      dateTime: b.dateTime,
      extra: b.extra,
    }))
    .name('q0');
}
