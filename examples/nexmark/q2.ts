/**
 * Nexmark q2, selection (Flink Nexmark `q2.sql`, Apache-2.0): the bids on every 123rd auction.
 *
 *   SELECT auction, price FROM bid WHERE MOD(auction, 123) = 0;
 */
import type { DataStream, NexmarkEvent } from 'sluice';
import { bids } from './nexmark-views.js';

/** A q2 result row. */
export interface Q2Row {
  readonly auction: number;
  readonly price: number;
}

/** Builds q2 on the Nexmark event stream. */
export function q2(events: DataStream<NexmarkEvent>): DataStream<Q2Row> {
  return bids(events)
    .filter((b) => b.auction % 123 === 0)
    .map((b): Q2Row => ({ auction: b.auction, price: b.price }))
    .name('q2');
}
