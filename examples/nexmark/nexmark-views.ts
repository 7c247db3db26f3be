/**
 * The Nexmark source table and its `person`, `auction` and `bid` views (Flink Nexmark's
 * `ddl_gen.sql` and `ddl_views.sql`, Apache-2.0) as DataStream building blocks shared by the queries.
 */
import {
  NexmarkSource,
  WatermarkStrategy,
  eventDateTime,
  type Auction,
  type Bid,
  type DataStream,
  type NexmarkConfiguration,
  type NexmarkEvent,
  type Person,
  type StreamExecutionEnvironment,
} from 'sluice';

/** Nexmark's watermark: the event's `dateTime` minus 4 s. */
export const WATERMARK_DELAY_MS = 4000;

/** Event time from `dateTime`, watermarks 4 s behind (Nexmark's DDL: `WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND`). */
export function nexmarkWatermarks(): WatermarkStrategy<NexmarkEvent> {
  return WatermarkStrategy.forBoundedOutOfOrderness<NexmarkEvent>(WATERMARK_DELAY_MS).withTimestampAssigner(
    eventDateTime,
  );
}

/** The `datagen` table: Nexmark's events with event time from `dateTime` and the 4 s watermark. */
export function nexmarkEvents(
  env: StreamExecutionEnvironment,
  options: NexmarkConfiguration,
): DataStream<NexmarkEvent> {
  return env.fromSource(new NexmarkSource(options), nexmarkWatermarks(), 'nexmark').uid('nexmark-source');
}

/** The `bid` view. */
export function bids(events: DataStream<NexmarkEvent>): DataStream<Bid> {
  return events.flatMap<Bid>((e, out) => {
    if (e.kind === 'bid') out.collect(e.bid);
  });
}

/** The `auction` view. */
export function auctions(events: DataStream<NexmarkEvent>): DataStream<Auction> {
  return events.flatMap<Auction>((e, out) => {
    if (e.kind === 'auction') out.collect(e.auction);
  });
}

/** The `person` view. */
export function persons(events: DataStream<NexmarkEvent>): DataStream<Person> {
  return events.flatMap<Person>((e, out) => {
    if (e.kind === 'person') out.collect(e.person);
  });
}
