import { describe, expect, it } from 'vitest';
import { SluiceError } from '../../core/errors.js';
import { resolveNexmarkConfiguration } from './nexmark-configuration.js';
import { lastBase0AuctionId, lastBase0PersonId, nexmarkEvent } from './nexmark-generator.js';
import { NexmarkSource } from './nexmark-source.js';
import { eventDateTime, type Auction, type Bid, type Person } from './nexmark-model.js';

const c = resolveNexmarkConfiguration({ numEvents: 50_000 });
const events = Array.from({ length: c.numEvents }, (_, n) => nexmarkEvent(c, n));
const persons = events.flatMap<Person>((e) => (e.kind === 'person' ? [e.person] : []));
const auctions = events.flatMap<Auction>((e) => (e.kind === 'auction' ? [e.auction] : []));
const bids = events.flatMap<Bid>((e) => (e.kind === 'bid' ? [e.bid] : []));

describe('the Nexmark generator', () => {
  it('makes each event a pure function of its number: any order, any offset, the same event', () => {
    for (const n of [49_999, 7, 12_345, 0, 31_000]) expect(nexmarkEvent(c, n)).toEqual(events[n]);
  });

  it('emits 1 person, 3 auctions and 46 bids per 50 events, with consecutive ids from 1000', () => {
    const kinds = events.slice(0, 50).map((e) => e.kind);
    expect(kinds).toEqual(['person', 'auction', 'auction', 'auction', ...Array<string>(46).fill('bid')]);
    expect([persons.length, auctions.length, bids.length]).toEqual([1000, 3000, 46_000]);
    expect(persons.map((p) => p.id)).toEqual(persons.map((_, i) => 1000 + i));
    expect(auctions.map((a) => a.id)).toEqual(auctions.map((_, i) => 1000 + i));
    expect([lastBase0PersonId(c, 149), lastBase0AuctionId(c, 100), lastBase0AuctionId(c, 103)]).toEqual([
      2, 5, 8,
    ]);
  });

  it('advances event time by 1/firstEventRate per event from baseTime', () => {
    const t = resolveNexmarkConfiguration({ numEvents: 10, firstEventRate: 400, baseTime: 1_000_000 });
    expect([0, 1, 3, 4, 399, 400].map((n) => eventDateTime(nexmarkEvent(t, n)))).toEqual([
      1_000_000, 1_000_002, 1_000_007, 1_000_010, 1_000_997, 1_001_000,
    ]);
  });

  it('makes half the bids hot auctions, three quarters hot bidders and hot sellers', () => {
    const share = (xs: readonly unknown[], hot: (x: never) => boolean): number =>
      xs.filter((x) => hot(x as never)).length / xs.length;
    // The hot auction is the first of its batch of 100, the hot bidder the second person, the hot seller the first.
    expect(share(bids, (b: Bid) => (b.auction - 1000) % 100 === 0)).toBeGreaterThan(0.5);
    expect(share(bids, (b: Bid) => (b.auction - 1000) % 100 === 0)).toBeLessThan(0.53);
    expect(share(bids, (b: Bid) => (b.bidder - 1000) % 100 === 1)).toBeCloseTo(0.75, 1);
    expect(share(auctions, (a: Auction) => (a.seller - 1000) % 100 === 0)).toBeCloseTo(0.75, 1);
  });

  it('draws fields in Nexmark’s ranges and formats', () => {
    const prices = bids.map((b) => b.price);
    expect([Math.min(...prices) >= 100, Math.max(...prices) <= 100_000_000]).toEqual([true, true]);
    const extras = bids.map((b) => b.extra.length);
    expect([Math.min(...extras), Math.max(...extras)]).toEqual([54, 81]);
    const url = /^https:\/\/www\.nexmark\.com\/\w+\/\w+\/\w+\/item\.htm\?query=1(&channel_id=\d+)?$/u;
    expect(bids.filter((b) => !url.test(b.url))).toEqual([]);
    expect(new Set(bids.map((b) => b.channel)).has('Google')).toBe(true);
    expect(new Set(auctions.map((a) => a.category))).toEqual(new Set([10, 11, 12, 13, 14]));
    expect(auctions.filter((a) => !(a.reserve > a.initialBid && a.expires > a.dateTime))).toEqual([]);
    expect(persons.filter((p) => !/^\d{4} \d{4} \d{4} \d{4}$/u.test(p.creditCard))).toEqual([]);
    expect(new Set(persons.map((p) => p.state))).toEqual(new Set(['AZ', 'CA', 'ID', 'OR', 'WA', 'WY']));
    expect(persons.filter((p) => !/^[a-z ]*[a-z]@[a-z ]*[a-z]\.com$/u.test(p.emailAddress))).toEqual([]);
    // The mean price of a log-uniform draw from $1 to $1M is about $72,400.
    expect(bids.reduce((s, b) => s + b.price, 0) / bids.length / 7.24e6).toBeCloseTo(1, 0);
  });

  it('refuses bad options with SLUICE_PROGRAM_INVALID naming the option', () => {
    for (const [options, named] of [
      [{ numEvents: -1 }, 'numEvents'],
      [{ numEvents: 10, firstEventRate: 0 }, 'firstEventRate'],
      [{ numEvents: 10, hotAuctionRatio: 1.5 }, 'hotAuctionRatio'],
    ] as const) {
      let error: unknown;
      try {
        new NexmarkSource(options);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(SluiceError);
      expect((error as SluiceError).code).toBe('SLUICE_PROGRAM_INVALID');
      expect((error as SluiceError).message).toContain(named);
    }
  });
});
