/**
 * Nexmark's event generator as pure functions of (configuration, event number): the event's id,
 * kind, time and every field follow nexmark/nexmark's `NexmarkGenerator`, `GeneratorConfig` and
 * `{Person,Auction,Bid}Generator` (Apache-2.0), with one PRNG seeded per event id.
 *
 * Two deliberate differences from the Flink repository: every field is drawn from a PRNG seeded
 * by the event id (Flink uses one unseeded generator, so a restored split would differ), and a
 * bid's bidder gets FIRST_PERSON_ID added once (Flink adds it twice; Beam and nexmark-rs once,
 * which is what makes bidders join persons).
 */
import type { Auction, Bid, NexmarkEvent, Person } from './nexmark-model.js';
import {
  AUCTION_ID_LEAD,
  FIRST_AUCTION_ID,
  FIRST_CATEGORY_ID,
  FIRST_PERSON_ID,
  HOT_AUCTION_RATIO,
  HOT_BIDDER_RATIO,
  HOT_SELLER_RATIO,
  NUM_CATEGORIES,
  PERSON_ID_LEAD,
  type ResolvedNexmarkConfiguration,
} from './nexmark-configuration.js';
import { nextExtra, nextInt, nextPrice, nextString, seed } from './nexmark-random.js';

const FIRST_NAMES = [
  'Peter',
  'Paul',
  'Luke',
  'John',
  'Saul',
  'Vicky',
  'Kate',
  'Julie',
  'Sarah',
  'Deiter',
  'Walter',
];
const LAST_NAMES = ['Shultz', 'Abrams', 'Spencer', 'White', 'Bartels', 'Walton', 'Smith', 'Jones', 'Noris'];
const US_CITIES = [
  'Phoenix',
  'Los Angeles',
  'San Francisco',
  'Boise',
  'Portland',
  'Bend',
  'Redmond',
  'Seattle',
  'Kent',
  'Cheyenne',
];
const US_STATES = ['AZ', 'CA', 'ID', 'OR', 'WA', 'WY'];

const HOT_CHANNELS = ['Google', 'Facebook', 'Baidu', 'Apple'];
const CHANNELS_NUMBER = 10_000;

/** `https://www.nexmark.com/xxx/xxx/xxx/item.htm?query=1` with three random path parts. */
function baseUrl(): string {
  const part = (): string => nextString(5, 95 /* '_' */);
  return `https://www.nexmark.com/${part()}/${part()}/${part()}/item.htm?query=1`;
}

/** Java's `Integer.reverse`: the 32 bits of `i` in reverse order. */
function reverseBits(i: number): number {
  let r = 0;
  for (let b = 0; b < 32; b++) r = (r << 1) | ((i >>> b) & 1);
  return r;
}

/** The fixed URLs of the hot channels and the 10,000 cold channels (Flink's `BidGenerator` cache), seeded. */
const HOT_URLS: string[] = HOT_CHANNELS.map((_, i) => (seed(0x40000000 + i), baseUrl()));
const CHANNEL_NAMES: string[] = [];
const CHANNEL_URLS: string[] = [];
for (let i = 0; i < CHANNELS_NUMBER; i++) {
  seed(0x20000000 + i);
  const url = baseUrl();
  CHANNEL_NAMES.push(`channel-${i}`);
  CHANNEL_URLS.push(nextInt(10) > 0 ? `${url}&channel_id=${Math.abs(reverseBits(i))}` : url);
}

/** Event time of event number `n`, in epoch ms (`timestampForEvent`). */
export function timestampForEvent(c: ResolvedNexmarkConfiguration, n: number): number {
  return c.baseTime + Math.floor((n * c.interEventDelayUs) / 1000);
}

/** The id of the last person created at or before event `eventId`, counted from 0. */
export function lastBase0PersonId(c: ResolvedNexmarkConfiguration, eventId: number): number {
  const epoch = Math.floor(eventId / c.totalProportion);
  const offset = Math.min(eventId % c.totalProportion, c.personProportion - 1);
  return epoch * c.personProportion + offset;
}

/** The id of the last auction created at or before event `eventId`, counted from 0 (-1 before the first). */
export function lastBase0AuctionId(c: ResolvedNexmarkConfiguration, eventId: number): number {
  let epoch = Math.floor(eventId / c.totalProportion);
  let offset = eventId % c.totalProportion;
  if (offset < c.personProportion) {
    epoch--;
    offset = c.auctionProportion - 1;
  } else if (offset >= c.personProportion + c.auctionProportion) offset = c.auctionProportion - 1;
  else offset -= c.personProportion;
  return epoch * c.auctionProportion + offset;
}

/** One of the last `numActivePeople` persons, or one of the 10 to come. */
function nextBase0PersonId(c: ResolvedNexmarkConfiguration, eventId: number): number {
  const numPeople = lastBase0PersonId(c, eventId) + 1;
  const active = Math.min(numPeople, c.numActivePeople);
  return numPeople - active + nextInt(active + PERSON_ID_LEAD);
}

/** One of the last `numInFlightAuctions` auctions, or one of the 10 to come. */
function nextBase0AuctionId(c: ResolvedNexmarkConfiguration, eventId: number): number {
  const max = lastBase0AuctionId(c, eventId);
  const min = Math.max(max - c.numInFlightAuctions, 0);
  return min + nextInt(max - min + 1 + AUCTION_ID_LEAD);
}

function pad4(n: number): string {
  return n < 10 ? `000${n}` : n < 100 ? `00${n}` : n < 1000 ? `0${n}` : String(n);
}

function person(c: ResolvedNexmarkConfiguration, eventId: number, dateTime: number): Person {
  const id = lastBase0PersonId(c, eventId) + FIRST_PERSON_ID;
  const name = `${FIRST_NAMES[nextInt(FIRST_NAMES.length)]!} ${LAST_NAMES[nextInt(LAST_NAMES.length)]!}`;
  const emailAddress = `${nextString(7)}@${nextString(5)}.com`;
  const creditCard = `${pad4(nextInt(10000))} ${pad4(nextInt(10000))} ${pad4(nextInt(10000))} ${pad4(nextInt(10000))}`;
  const city = US_CITIES[nextInt(US_CITIES.length)]!;
  const state = US_STATES[nextInt(US_STATES.length)]!;
  const size = 8 + name.length + emailAddress.length + creditCard.length + city.length + state.length;
  const extra = nextExtra(size, c.avgPersonByteSize);
  return { id, name, emailAddress, creditCard, city, state, dateTime, extra };
}

function auction(c: ResolvedNexmarkConfiguration, eventId: number, n: number, dateTime: number): Auction {
  const id = lastBase0AuctionId(c, eventId) + FIRST_AUCTION_ID;
  const seller =
    (nextInt(c.hotSellersRatio) > 0
      ? Math.floor(lastBase0PersonId(c, eventId) / HOT_SELLER_RATIO) * HOT_SELLER_RATIO
      : nextBase0PersonId(c, eventId)) + FIRST_PERSON_ID;
  const category = FIRST_CATEGORY_ID + nextInt(NUM_CATEGORIES);
  const initialBid = nextPrice();
  // Open for about as long as numInFlightAuctions auctions take to be created.
  const horizon =
    timestampForEvent(c, n + Math.floor((c.numInFlightAuctions * c.totalProportion) / c.auctionProportion)) -
    dateTime;
  const expires = dateTime + 1 + nextInt(Math.max(2 * horizon, 1));
  const itemName = nextString(20);
  const description = nextString(100);
  const reserve = initialBid + nextPrice();
  const extra = nextExtra(8 + itemName.length + description.length + 40, c.avgAuctionByteSize);
  return { id, itemName, description, initialBid, reserve, dateTime, expires, seller, category, extra };
}

function bid(c: ResolvedNexmarkConfiguration, eventId: number, dateTime: number): Bid {
  const auctionId =
    (nextInt(c.hotAuctionRatio) > 0
      ? Math.floor(lastBase0AuctionId(c, eventId) / HOT_AUCTION_RATIO) * HOT_AUCTION_RATIO
      : nextBase0AuctionId(c, eventId)) + FIRST_AUCTION_ID;
  const bidder =
    (nextInt(c.hotBiddersRatio) > 0
      ? Math.floor(lastBase0PersonId(c, eventId) / HOT_BIDDER_RATIO) * HOT_BIDDER_RATIO + 1
      : nextBase0PersonId(c, eventId)) + FIRST_PERSON_ID;
  const price = nextPrice();
  let channel: string;
  let url: string;
  if (nextInt(2) > 0) {
    const i = nextInt(HOT_CHANNELS.length);
    channel = HOT_CHANNELS[i]!;
    url = HOT_URLS[i]!;
  } else {
    const i = nextInt(CHANNELS_NUMBER);
    channel = CHANNEL_NAMES[i]!;
    url = CHANNEL_URLS[i]!;
  }
  const extra = nextExtra(32, c.avgBidByteSize);
  return { auction: auctionId, bidder, price, channel, url, dateTime, extra };
}

/** Event number `n` (0-based) of the stream `c` describes: always the same event for the same `c` and `n`. */
export function nexmarkEvent(c: ResolvedNexmarkConfiguration, n: number): NexmarkEvent {
  const eventId = c.firstEventId + n;
  const dateTime = timestampForEvent(c, n);
  seed(eventId);
  const rem = eventId % c.totalProportion;
  if (rem < c.personProportion) return { kind: 'person', person: person(c, eventId, dateTime) };
  if (rem < c.personProportion + c.auctionProportion)
    return { kind: 'auction', auction: auction(c, eventId, n, dateTime) };
  return { kind: 'bid', bid: bid(c, eventId, dateTime) };
}
