/**
 * The same-run limits of the Nexmark figures: q0 and q5 as plain TypeScript loops over the
 * generator's events (the generator's cost is in both, as Nexmark counts it in Flink's cores).
 */
import type { NexmarkConfiguration } from '../src/index.js';
import { resolveNexmarkConfiguration } from '../src/connectors/nexmark/nexmark-configuration.js';
import { nexmarkEvent } from '../src/connectors/nexmark/nexmark-generator.js';

/** The last row built: exported, so that V8 cannot drop the rows as unused. */
export let lastRow: unknown;

/** q0: every bid's projection. */
export function plainQ0(options: NexmarkConfiguration): { rows: number } {
  const c = resolveNexmarkConfiguration(options);
  let rows = 0;
  for (let n = 0; n < c.numEvents; n++) {
    const e = nexmarkEvent(c, n);
    if (e.kind !== 'bid') continue;
    const b = e.bid;
    lastRow = { auction: b.auction, bidder: b.bidder, price: b.price, dateTime: b.dateTime, extra: b.extra };
    rows++;
  }
  return { rows };
}

/**
 * q5: bid counts per auction in 10 s windows sliding by 2 s, a window's top auctions emitted
 * once the watermark (dateTime - 4 s) passed its end, as the job emits them.
 */
export function plainQ5(options: NexmarkConfiguration): { rows: number } {
  const c = resolveNexmarkConfiguration(options);
  const size = 10_000;
  const slide = 2_000;
  /** Counts per auction of each open window, by window start. */
  const open = new Map<number, Map<number, number>>();
  let rows = 0;
  const fire = (start: number, counts: Map<number, number>): void => {
    let max = 0;
    for (const n of counts.values()) if (n > max) max = n;
    for (const [auction, n] of counts)
      if (n === max) {
        lastRow = { auction, num: n, starttime: start, endtime: start + size };
        rows++;
      }
    open.delete(start);
  };
  let watermark = -Infinity;
  for (let n = 0; n < c.numEvents; n++) {
    const e = nexmarkEvent(c, n);
    if (e.kind === 'bid') {
      const t = e.bid.dateTime;
      for (let start = t - (t % slide); start > t - size; start -= slide) {
        let counts = open.get(start);
        if (counts === undefined) open.set(start, (counts = new Map<number, number>()));
        counts.set(e.bid.auction, (counts.get(e.bid.auction) ?? 0) + 1);
      }
    }
    const t =
      e.kind === 'bid' ? e.bid.dateTime : e.kind === 'auction' ? e.auction.dateTime : e.person.dateTime;
    if (t - 4000 > watermark) {
      watermark = t - 4000;
      for (const [start, counts] of open) if (start + size - 1 <= watermark) fire(start, counts);
    }
  }
  for (const [start, counts] of open) fire(start, counts);
  return { rows };
}
