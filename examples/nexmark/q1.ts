/**
 * Nexmark q1, currency conversion (Flink Nexmark `q1.sql`, Apache-2.0): bid prices from dollars
 * to euros.
 *
 *   SELECT auction, bidder, 0.908 * price as price, dateTime, extra FROM bid;
 */
import type { DataStream, NexmarkEvent } from 'sluice';
import { bids } from './nexmark-views.js';

/** A q1 result row: `price` in euro cents, with the DECIMAL(23, 3)'s three decimals. */
export interface Q1Row {
  readonly auction: number;
  readonly bidder: number;
  readonly price: number;
  readonly dateTime: number;
  readonly extra: string;
}

/** 0.908 * price, exact to the three decimals of Flink's DECIMAL(23, 3): the product in integers first. */
export function toEuro(price: number): number {
  return (price * 908) / 1000;
}

/** Builds q1 on the Nexmark event stream. */
export function q1(events: DataStream<NexmarkEvent>): DataStream<Q1Row> {
  return bids(events)
    .map((b): Q1Row => ({
      auction: b.auction,
      bidder: b.bidder,
      price: toEuro(b.price),
      dateTime: b.dateTime,
      extra: b.extra,
    }))
    .name('q1');
}
