/**
 * Nexmark q3, local item suggestion (Flink Nexmark `q3.sql`, Apache-2.0): who sells in category
 * 10 in Oregon, Idaho or California. An unbounded join: both sides' state grows with the input,
 * as in Flink without a state TTL.
 *
 *   SELECT P.name, P.city, P.state, A.id
 *   FROM auction AS A INNER JOIN person AS P on A.seller = P.id
 *   WHERE A.category = 10 and (P.state = 'OR' OR P.state = 'ID' OR P.state = 'CA');
 */
import {
  KeyedCoProcessFunction,
  ListStateDescriptor,
  ValueStateDescriptor,
  type Auction,
  type Collector,
  type DataStream,
  type KeyedProcessContext,
  type ListState,
  type NexmarkEvent,
  type Person,
  type ValueState,
} from 'sluice';
import { auctions, persons } from './nexmark-views.js';

/** A q3 result row. */
export interface Q3Row {
  readonly name: string;
  readonly city: string;
  readonly state: string;
  readonly id: number;
}

const STATES = new Set(['OR', 'ID', 'CA']);

/**
 * The inner join on seller = person id, in whichever order the two arrive: a person's id is
 * unique, so the person is kept and its auctions are emitted as they come; auctions that come
 * first wait for it.
 */
export class SellerJoin extends KeyedCoProcessFunction<number, Auction, Person, Q3Row> {
  private person!: ValueState<Person>;
  private waiting!: ListState<number>;

  open(): void {
    this.person = this.getRuntimeContext().getState(new ValueStateDescriptor<Person>('person'));
    this.waiting = this.getRuntimeContext().getListState(new ListStateDescriptor<number>('auctions'));
  }

  processElement1(a: Auction, _ctx: KeyedProcessContext<number>, out: Collector<Q3Row>): void {
    const p = this.person.value();
    if (p === undefined) this.waiting.add(a.id);
    else out.collect({ name: p.name, city: p.city, state: p.state, id: a.id });
  }

  processElement2(p: Person, _ctx: KeyedProcessContext<number>, out: Collector<Q3Row>): void {
    this.person.update(p);
    for (const id of this.waiting.get()) out.collect({ name: p.name, city: p.city, state: p.state, id });
    this.waiting.clear();
  }
}

/** Builds q3 on the Nexmark event stream. */
export function q3(events: DataStream<NexmarkEvent>): DataStream<Q3Row> {
  const a = auctions(events).filter((x) => x.category === 10);
  const p = persons(events).filter((x) => STATES.has(x.state));
  return a
    .keyBy((x) => x.seller)
    .connect(p.keyBy((x) => x.id))
    .process<Q3Row>(new SellerJoin())
    .uid('q3-join')
    .name('q3');
}
