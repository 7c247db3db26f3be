/**
 * Nexmark q4, average price per category (Flink Nexmark `q4.sql`, Apache-2.0): the average of
 * the winning bids of closed auctions, per category.
 *
 *   SELECT Q.category, AVG(Q.final)
 *   FROM (
 *     SELECT MAX(B.price) AS final, A.category
 *     FROM auction A, bid B
 *     WHERE A.id = B.auction AND B.dateTime BETWEEN A.dateTime AND A.expires
 *     GROUP BY A.id, A.category
 *   ) Q
 *   GROUP BY Q.category;
 *
 * Flink's SQL emits an updating changelog (each new max retracts the old one). As a DataStream
 * job, as Beam's original q4, an auction's winning bid is final once the watermark passes its
 * `expires` (an event-time timer); each closed auction then updates its category's average, so
 * the last row of a category equals the SQL's final value. AVG of BIGINT is a BIGINT in Flink: truncated.
 */
import {
  KeyedCoProcessFunction,
  KeyedProcessFunction,
  ListStateDescriptor,
  ValueStateDescriptor,
  type Auction,
  type Bid,
  type Collector,
  type DataStream,
  type KeyedProcessContext,
  type ListState,
  type NexmarkEvent,
  type OnTimerContext,
  type ValueState,
} from 'sluice';
import { auctions, bids } from './nexmark-views.js';

/** A q4 result row: the category's average winning price so far. */
export interface Q4Row {
  readonly category: number;
  readonly avg: number;
}

/** An auction's winning price once it closed. */
export interface ClosedAuction {
  readonly category: number;
  readonly final: number;
}

/** What the join keeps of an open auction. */
interface OpenAuction {
  category: number;
  dateTime: number;
  expires: number;
  /** The highest price of a bid in [dateTime, expires]; -1 before the first. */
  max: number;
}

/**
 * Joins each auction with its bids in [dateTime, expires] and emits the highest price when the
 * watermark passes `expires`. Bids that come before their auction wait for it; after it closed,
 * its bounds stay, so later bids are recognised as outside.
 */
export class WinningBid extends KeyedCoProcessFunction<number, Auction, Bid, ClosedAuction> {
  private auction!: ValueState<OpenAuction>;
  private early!: ListState<Bid>;

  open(): void {
    this.auction = this.getRuntimeContext().getState(new ValueStateDescriptor<OpenAuction>('auction'));
    this.early = this.getRuntimeContext().getListState(new ListStateDescriptor<Bid>('early-bids'));
  }

  processElement1(a: Auction, ctx: KeyedProcessContext<number>): void {
    const open: OpenAuction = { category: a.category, dateTime: a.dateTime, expires: a.expires, max: -1 };
    for (const b of this.early.get())
      if (b.dateTime >= open.dateTime && b.dateTime <= open.expires && b.price > open.max) open.max = b.price;
    this.early.clear();
    this.auction.update(open);
    ctx.timerService().registerEventTimeTimer(a.expires);
  }

  processElement2(b: Bid): void {
    const open = this.auction.value();
    if (open === undefined) this.early.add(b);
    else if (b.dateTime >= open.dateTime && b.dateTime <= open.expires && b.price > open.max) {
      open.max = b.price;
      this.auction.update(open);
    }
  }

  onTimer(_timestamp: number, _ctx: OnTimerContext<number>, out: Collector<ClosedAuction>): void {
    const open = this.auction.value();
    if (open !== undefined && open.max >= 0) out.collect({ category: open.category, final: open.max });
  }
}

/** The running average per category (integer sum, so any arrival order gives the same final value). */
export class CategoryAverage extends KeyedProcessFunction<number, ClosedAuction, Q4Row> {
  private sum!: ValueState<{ total: number; count: number }>;

  open(): void {
    this.sum = this.getRuntimeContext().getState(
      new ValueStateDescriptor<{ total: number; count: number }>('sum'),
    );
  }

  processElement(c: ClosedAuction, _ctx: KeyedProcessContext<number>, out: Collector<Q4Row>): void {
    const s = this.sum.value() ?? { total: 0, count: 0 };
    s.total += c.final;
    s.count++;
    this.sum.update(s);
    out.collect({ category: c.category, avg: Math.trunc(s.total / s.count) });
  }
}

/** Builds q4 on the Nexmark event stream. */
export function q4(events: DataStream<NexmarkEvent>): DataStream<Q4Row> {
  return auctions(events)
    .keyBy((a) => a.id)
    .connect(bids(events).keyBy((b) => b.auction))
    .process<ClosedAuction>(new WinningBid())
    .uid('q4-winning-bid')
    .keyBy((c) => c.category)
    .process(new CategoryAverage())
    .uid('q4-average')
    .name('q4');
}
