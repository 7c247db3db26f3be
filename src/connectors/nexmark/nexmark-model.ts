/**
 * The Nexmark data model (Person, Auction, Bid), shaped as the Apache-2.0 nexmark/nexmark
 * repository's `model/{Person,Auction,Bid}.java` and its SQL DDL: `dateTime` and `expires` are
 * epoch milliseconds, money is in cents.
 */

/** A person, who sells and bids (Nexmark's `Person`). */
export interface Person {
  readonly id: number;
  readonly name: string;
  readonly emailAddress: string;
  readonly creditCard: string;
  readonly city: string;
  readonly state: string;
  readonly dateTime: number;
  readonly extra: string;
}

/** An auction of an item by a seller (Nexmark's `Auction`). */
export interface Auction {
  readonly id: number;
  readonly itemName: string;
  readonly description: string;
  readonly initialBid: number;
  readonly reserve: number;
  readonly dateTime: number;
  readonly expires: number;
  readonly seller: number;
  readonly category: number;
  readonly extra: string;
}

/** A bid on an auction (Nexmark's `Bid`). */
export interface Bid {
  readonly auction: number;
  readonly bidder: number;
  readonly price: number;
  readonly channel: string;
  readonly url: string;
  readonly dateTime: number;
  readonly extra: string;
}

/**
 * One generated event: the `datagen` table's row of Flink's Nexmark (`event_type` with one of
 * `person`, `auction`, `bid` set) as a union tagged by `kind`, so the `person`, `auction` and
 * `bid` views are a `filter` on `kind` and a `map` to the field.
 */
export type NexmarkEvent =
  | { readonly kind: 'person'; readonly person: Person }
  | { readonly kind: 'auction'; readonly auction: Auction }
  | { readonly kind: 'bid'; readonly bid: Bid };

/** The event time of any event: its entity's `dateTime`. */
export function eventDateTime(event: NexmarkEvent): number {
  return event.kind === 'bid'
    ? event.bid.dateTime
    : event.kind === 'auction'
      ? event.auction.dateTime
      : event.person.dateTime;
}
