/**
 * Nexmark q8, monitor new users (Flink Nexmark `q8.sql`, Apache-2.0): the persons who created an
 * auction in the same 10 s tumbling window as they joined.
 *
 *   SELECT P.id, P.name, P.starttime
 *   FROM (SELECT id, name, window_start AS starttime, window_end AS endtime
 *         FROM TABLE(TUMBLE(TABLE person, DESCRIPTOR(dateTime), INTERVAL '10' SECOND))
 *         GROUP BY id, name, window_start, window_end) P
 *   JOIN (SELECT seller, window_start AS starttime, window_end AS endtime
 *         FROM TABLE(TUMBLE(TABLE auction, DESCRIPTOR(dateTime), INTERVAL '10' SECOND))
 *         GROUP BY seller, window_start, window_end) A
 *   ON P.id = A.seller AND P.starttime = A.starttime AND P.endtime = A.endtime;
 */
import {
  TumblingEventTimeWindows,
  type Auction,
  type Collector,
  type DataStream,
  type NexmarkEvent,
  type Person,
} from 'sluice';
import { auctions, persons } from './nexmark-views.js';

/** A q8 result row. */
export interface Q8Row {
  readonly id: number;
  readonly name: string;
  readonly starttime: number;
}

const WINDOW_MS = 10_000;

/**
 * A window coGroup rather than a join: the SQL groups both sides per window first, so a person
 * is emitted once per window in which it sold anything, however many auctions.
 */
function newSellers(people: Iterable<Person>, sold: Iterable<Auction>, out: Collector<Q8Row>): void {
  if (sold[Symbol.iterator]().next().done === true) return;
  const seen = new Set<string>();
  for (const p of people) {
    const starttime = p.dateTime - (p.dateTime % WINDOW_MS);
    const key = `${p.id}\u0000${p.name}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.collect({ id: p.id, name: p.name, starttime });
  }
}

/** Builds q8 on the Nexmark event stream. */
export function q8(events: DataStream<NexmarkEvent>): DataStream<Q8Row> {
  return persons(events)
    .coGroup(auctions(events))
    .where((p) => p.id)
    .equalTo((a) => a.seller)
    .window(TumblingEventTimeWindows.of(WINDOW_MS))
    .apply(newSellers)
    .uid('q8-join')
    .name('q8');
}
