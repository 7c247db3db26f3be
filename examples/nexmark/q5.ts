/**
 * Nexmark q5, hot items (Flink Nexmark `q5.sql`, Apache-2.0): the auctions with the most bids in
 * each 10 s window sliding by 2 s (ties all emitted).
 *
 *   SELECT AuctionBids.auction, AuctionBids.num
 *   FROM (SELECT auction, count(*) AS num, window_start AS starttime, window_end AS endtime
 *         FROM TABLE(HOP(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '2' SECOND, INTERVAL '10' SECOND))
 *         GROUP BY auction, window_start, window_end) AS AuctionBids
 *   JOIN (SELECT max(CountBids.num) AS maxn, CountBids.starttime, CountBids.endtime
 *         FROM (...the same counts...) AS CountBids
 *         GROUP BY CountBids.starttime, CountBids.endtime) AS MaxBids
 *   ON AuctionBids.starttime = MaxBids.starttime AND AuctionBids.endtime = MaxBids.endtime
 *      AND AuctionBids.num >= MaxBids.maxn;
 */
import {
  KeyedProcessFunction,
  ProcessWindowFunction,
  SlidingEventTimeWindows,
  ValueStateDescriptor,
  type AggregateFunction,
  type Collector,
  type DataStream,
  type KeyedProcessContext,
  type NexmarkEvent,
  type OnTimerContext,
  type ProcessWindowContext,
  type ValueState,
} from 'sluice';
import { bids } from './nexmark-views.js';

/** A q5 result row (with the window, which the SQL's subquery names starttime and endtime). */
export interface Q5Row {
  readonly auction: number;
  readonly num: number;
  readonly starttime: number;
  readonly endtime: number;
}

/** count(*). */
export const CountBids: AggregateFunction<unknown, number, number> = {
  createAccumulator: () => 0,
  add: (_value, count) => count + 1,
  getResult: (count) => count,
  merge: (a, b) => a + b,
};

/** Puts the auction and its window on the count. */
export class AuctionBids extends ProcessWindowFunction<number, Q5Row, number> {
  process(
    auction: number,
    context: ProcessWindowContext,
    counts: Iterable<number>,
    out: Collector<Q5Row>,
  ): void {
    const w = context.window();
    for (const num of counts) out.collect({ auction, num, starttime: w.getStart(), endtime: w.getEnd() });
  }
}

/**
 * Per window (keyed by its end), keeps the auctions with the highest count and emits them once
 * the watermark passed the window: every count of it came before (they carry the window's
 * max timestamp, end - 1).
 */
export class HotItems extends KeyedProcessFunction<number, Q5Row, Q5Row> {
  private top!: ValueState<{ max: number; rows: Q5Row[] }>;

  open(): void {
    this.top = this.getRuntimeContext().getState(
      new ValueStateDescriptor<{ max: number; rows: Q5Row[] }>('top'),
    );
  }

  processElement(row: Q5Row, ctx: KeyedProcessContext<number>): void {
    const top = this.top.value();
    if (top === undefined) {
      this.top.update({ max: row.num, rows: [row] });
      ctx.timerService().registerEventTimeTimer(row.endtime - 1);
    } else if (row.num > top.max) this.top.update({ max: row.num, rows: [row] });
    else if (row.num === top.max) {
      top.rows.push(row);
      this.top.update(top);
    }
  }

  onTimer(_timestamp: number, _ctx: OnTimerContext<number>, out: Collector<Q5Row>): void {
    for (const row of this.top.value()?.rows ?? []) out.collect(row);
    this.top.clear();
  }
}

/** Builds q5 on the Nexmark event stream. */
export function q5(events: DataStream<NexmarkEvent>): DataStream<Q5Row> {
  return bids(events)
    .map((b) => b.auction)
    .keyBy((auction) => auction)
    .window(SlidingEventTimeWindows.of(10_000, 2_000))
    .aggregate<number, number, Q5Row>(CountBids, new AuctionBids())
    .uid('q5-counts')
    .keyBy((row) => row.endtime)
    .process<Q5Row>(new HotItems())
    .uid('q5-hot-items')
    .name('q5');
}
