/**
 * The Nexmark queries computed directly over the generated events, in plain TypeScript and
 * independently of the example jobs (no Sluice operator, no code shared with examples/nexmark):
 * what the golden test compares each job's output with.
 */
import type { Auction, Bid, NexmarkEvent, Person } from 'sluice';

/** The events split into the three views. */
export interface Views {
  readonly persons: Person[];
  readonly auctions: Auction[];
  readonly bids: Bid[];
}

export function views(events: readonly NexmarkEvent[]): Views {
  const v: Views = { persons: [], auctions: [], bids: [] };
  for (const e of events)
    if (e.kind === 'bid') v.bids.push(e.bid);
    else if (e.kind === 'auction') v.auctions.push(e.auction);
    else v.persons.push(e.person);
  return v;
}

function groupBy<T, K>(items: readonly T[], key: (t: T) => K): Map<K, T[]> {
  const m = new Map<K, T[]>();
  for (const t of items) {
    const k = key(t);
    const list = m.get(k);
    if (list) list.push(t);
    else m.set(k, [t]);
  }
  return m;
}

export const expected = {
  q0: ({ bids }: Views) =>
    bids.map((b) => ({
      auction: b.auction,
      bidder: b.bidder,
      price: b.price,
      dateTime: b.dateTime,
      extra: b.extra,
    })),

  q1: ({ bids }: Views) =>
    bids.map((b) => ({
      auction: b.auction,
      bidder: b.bidder,
      price: Number(((b.price * 908) / 1000).toFixed(3)),
      dateTime: b.dateTime,
      extra: b.extra,
    })),

  q2: ({ bids }: Views) =>
    bids.filter((b) => b.auction % 123 === 0).map((b) => ({ auction: b.auction, price: b.price })),

  q3: ({ auctions, persons }: Views) => {
    const byId = new Map(persons.filter((p) => ['OR', 'ID', 'CA'].includes(p.state)).map((p) => [p.id, p]));
    return auctions
      .filter((a) => a.category === 10 && byId.has(a.seller))
      .map((a) => {
        const p = byId.get(a.seller)!;
        return { name: p.name, city: p.city, state: p.state, id: a.id };
      });
  },

  /** The final average per category, and how many auctions had a winning bid (the job emits one row for each). */
  q4: ({ auctions, bids }: Views) => {
    const bidsOf = groupBy(bids, (b) => b.auction);
    const finals = new Map<number, { total: number; count: number }>();
    let closed = 0;
    for (const a of auctions) {
      let max = -1;
      for (const b of bidsOf.get(a.id) ?? [])
        if (b.dateTime >= a.dateTime && b.dateTime <= a.expires) max = Math.max(max, b.price);
      if (max < 0) continue;
      closed++;
      const s = finals.get(a.category) ?? { total: 0, count: 0 };
      finals.set(a.category, { total: s.total + max, count: s.count + 1 });
    }
    const averages = [...finals].map(([category, s]) => ({ category, avg: Math.trunc(s.total / s.count) }));
    return { averages, closed };
  },

  q5: ({ bids }: Views) => {
    const size = 10_000;
    const slide = 2_000;
    const counts = new Map<string, { auction: number; num: number; starttime: number; endtime: number }>();
    for (const b of bids) {
      const last = b.dateTime - (((b.dateTime % slide) + slide) % slide);
      for (let start = last; start > b.dateTime - size; start -= slide) {
        const id = `${b.auction}/${start}`;
        const c = counts.get(id) ?? { auction: b.auction, num: 0, starttime: start, endtime: start + size };
        c.num++;
        counts.set(id, c);
      }
    }
    const rows = [...counts.values()];
    const maxOf = new Map<number, number>();
    for (const r of rows) maxOf.set(r.starttime, Math.max(maxOf.get(r.starttime) ?? 0, r.num));
    return rows.filter((r) => r.num === maxOf.get(r.starttime));
  },

  q7: ({ bids }: Views) => {
    const byWindow = groupBy(bids, (b) => Math.floor(b.dateTime / 10_000));
    return [...byWindow.values()].flatMap((inWindow) => {
      const max = Math.max(...inWindow.map((b) => b.price));
      return inWindow
        .filter((b) => b.price === max)
        .map((b) => ({
          auction: b.auction,
          price: b.price,
          bidder: b.bidder,
          dateTime: b.dateTime,
          extra: b.extra,
        }));
    });
  },

  q8: ({ persons, auctions }: Views) => {
    const window = (t: number): number => Math.floor(t / 10_000) * 10_000;
    const sold = new Set(auctions.map((a) => `${a.seller}/${window(a.dateTime)}`));
    return persons
      .filter((p) => sold.has(`${p.id}/${window(p.dateTime)}`))
      .map((p) => ({ id: p.id, name: p.name, starttime: window(p.dateTime) }));
  },

  q11: ({ bids }: Views) => {
    const gap = 10_000;
    const rows: { bidder: number; bid_count: number; starttime: number; endtime: number }[] = [];
    for (const [bidder, own] of groupBy(bids, (b) => b.bidder)) {
      const times = own.map((b) => b.dateTime).sort((x, y) => x - y);
      let start = times[0]!;
      let last = start;
      let count = 0;
      for (const t of times) {
        if (t >= last + gap) {
          rows.push({ bidder, bid_count: count, starttime: start, endtime: last + gap });
          start = t;
          count = 0;
        }
        last = t;
        count++;
      }
      rows.push({ bidder, bid_count: count, starttime: start, endtime: last + gap });
    }
    return rows;
  },

  /** Bids per bidder over all processing-time windows. */
  q12: ({ bids }: Views) => {
    const perBidder = new Map<number, number>();
    for (const b of bids) perBidder.set(b.bidder, (perBidder.get(b.bidder) ?? 0) + 1);
    return perBidder;
  },
};
