/**
 * The Nexmark generator's options (the fields of nexmark/nexmark's `NexmarkConfiguration`, with
 * its defaults) and the constants of its `GeneratorConfig`, checked once into a resolved form.
 */
import { SluiceError } from '../../core/errors.js';

/** Options of NexmarkSource; every one but `numEvents` has Nexmark's default. */
export interface NexmarkConfiguration {
  /** Events to generate in all (over every split); `Infinity` generates forever. */
  readonly numEvents: number;
  /** Event-time rate in events per second: event n has time `baseTime + floor(n * 1000 / rate)`. Default 10,000. */
  readonly firstEventRate?: number;
  /** Event time of the first event, in epoch ms. Default 0, so that a run is a pure function of the options. */
  readonly baseTime?: number;
  /** Id of event number 0 (the PRNG of each event is seeded by its id). Default 0. */
  readonly firstEventId?: number;
  /** Persons, auctions and bids in each block of `person + auction + bid` events. Default 1 / 3 / 46. */
  readonly personProportion?: number;
  readonly auctionProportion?: number;
  readonly bidProportion?: number;
  /** A bid is on the hot auction with probability 1 - 1/ratio. Default 2. */
  readonly hotAuctionRatio?: number;
  /** An auction's seller is the hot seller with probability 1 - 1/ratio. Default 4. */
  readonly hotSellersRatio?: number;
  /** A bid's bidder is the hot bidder with probability 1 - 1/ratio. Default 4. */
  readonly hotBiddersRatio?: number;
  /** Average sizes in bytes; they set the length of each entity's `extra`. Default 200 / 500 / 100. */
  readonly avgPersonByteSize?: number;
  readonly avgAuctionByteSize?: number;
  readonly avgBidByteSize?: number;
  /** Auctions open at once: a cold bid picks one of the last this many (+10). Default 100. */
  readonly numInFlightAuctions?: number;
  /** Persons active at once: a cold seller or bidder is one of the last this many (+10). Default 1000. */
  readonly numActivePeople?: number;
  /** Wall-clock pacing over all readers, in events per second; unlimited (Nexmark's maxEmitSpeed) when omitted. */
  readonly eventsPerSecond?: number;
}

/** Every option with its value; derived figures precomputed. */
export interface ResolvedNexmarkConfiguration extends Required<NexmarkConfiguration> {
  readonly totalProportion: number;
  /** Microseconds of event time between two events. */
  readonly interEventDelayUs: number;
}

/** `GeneratorConfig` constants (nexmark/nexmark, Apache-2.0). */
export const FIRST_PERSON_ID = 1000;
export const FIRST_AUCTION_ID = 1000;
export const FIRST_CATEGORY_ID = 10;
export const NUM_CATEGORIES = 5;
/** Ids "from the future" a cold pick may choose (so some joins miss). */
export const PERSON_ID_LEAD = 10;
export const AUCTION_ID_LEAD = 10;
/** Size of the id batch whose first (seller, auction) or second (bidder) member is hot. */
export const HOT_SELLER_RATIO = 100;
export const HOT_AUCTION_RATIO = 100;
export const HOT_BIDDER_RATIO = 100;

const DEFAULTS = {
  firstEventRate: 10_000,
  baseTime: 0,
  firstEventId: 0,
  personProportion: 1,
  auctionProportion: 3,
  bidProportion: 46,
  hotAuctionRatio: 2,
  hotSellersRatio: 4,
  hotBiddersRatio: 4,
  avgPersonByteSize: 200,
  avgAuctionByteSize: 500,
  avgBidByteSize: 100,
  numInFlightAuctions: 100,
  numActivePeople: 1000,
  eventsPerSecond: Infinity,
} as const;

function invalid(option: string, value: unknown, want: string): SluiceError {
  return new SluiceError(
    'SLUICE_PROGRAM_INVALID',
    `NexmarkSource: option ${option} must be ${want}, got ${String(value)}.`,
  );
}

/** Fills in Nexmark's defaults and checks every option; throws SLUICE_PROGRAM_INVALID naming a bad one. */
export function resolveNexmarkConfiguration(options: NexmarkConfiguration): ResolvedNexmarkConfiguration {
  if (typeof options !== 'object' || options === null)
    throw new SluiceError(
      'SLUICE_PROGRAM_INVALID',
      'NexmarkSource needs options, e.g. { numEvents: 100_000 }.',
    );
  const c = { ...DEFAULTS, ...options };
  if (!(c.numEvents === Infinity || (Number.isSafeInteger(c.numEvents) && c.numEvents >= 0)))
    throw invalid('numEvents', c.numEvents, 'an integer >= 0 or Infinity');
  const positive = [
    'personProportion',
    'auctionProportion',
    'bidProportion',
    'hotAuctionRatio',
    'hotSellersRatio',
    'hotBiddersRatio',
    'numInFlightAuctions',
    'numActivePeople',
  ] as const;
  for (const key of positive)
    if (!(Number.isSafeInteger(c[key]) && c[key] >= 1)) throw invalid(key, c[key], 'an integer >= 1');
  for (const key of ['avgPersonByteSize', 'avgAuctionByteSize', 'avgBidByteSize'] as const)
    if (!(Number.isSafeInteger(c[key]) && c[key] >= 0)) throw invalid(key, c[key], 'an integer >= 0');
  if (!(Number.isFinite(c.firstEventRate) && c.firstEventRate > 0))
    throw invalid('firstEventRate', c.firstEventRate, 'a number > 0');
  if (!Number.isSafeInteger(c.baseTime)) throw invalid('baseTime', c.baseTime, 'an integer (epoch ms)');
  if (!(Number.isSafeInteger(c.firstEventId) && c.firstEventId >= 0))
    throw invalid('firstEventId', c.firstEventId, 'an integer >= 0');
  if (!(c.eventsPerSecond > 0)) throw invalid('eventsPerSecond', c.eventsPerSecond, 'a number > 0');
  return {
    ...c,
    totalProportion: c.personProportion + c.auctionProportion + c.bidProportion,
    interEventDelayUs: 1e6 / c.firstEventRate,
  };
}
