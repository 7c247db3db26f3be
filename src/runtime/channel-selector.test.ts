/** Channel selectors: hash routes by key group owner, rebalance/rescale round-robin, broadcast/forward/global/shuffle. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SluiceError } from '../core/errors.js';
import { assignToKeyGroup, computeKeyGroupRangeForOperatorIndex } from '../core/key-groups.js';
import { createChannelSelector } from './channel-selector.js';

/** The subtask whose key-group range holds `kg`, found by scanning the ranges. */
function ownerOf(kg: number, maxP: number, p: number): number {
  for (let i = 0; i < p; i++) {
    const r = computeKeyGroupRangeForOperatorIndex(maxP, p, i);
    if (kg >= r.start && kg <= r.end) return i;
  }
  throw new Error(`no owner for key group ${kg}`);
}

describe('createChannelSelector', () => {
  it('hash: routes every record to the subtask owning its key group', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ user: fc.oneof(fc.string(), fc.integer()), n: fc.integer() }), {
          maxLength: 50,
        }),
        fc.integer({ min: 1, max: 16 }),
        fc.constantFrom(1, 16, 128, 1000, 32768),
        fc.nat({ max: 15 }),
        (records, p, maxPRaw, producer) => {
          const maxP = Math.max(maxPRaw, p);
          const sel = createChannelSelector(
            { kind: 'hash', keySelector: (r) => (r as { user: unknown }).user },
            producer,
            p,
            p,
            maxP,
          );
          expect(sel.isBroadcast).toBe(false);
          for (const r of records) {
            const ch = sel.selectChannel(r);
            expect(ch).toBe(ownerOf(assignToKeyGroup(r.user, maxP), maxP, p));
            // Deterministic: the same key always goes to the same channel.
            expect(sel.selectChannel({ ...r, n: r.n + 1 })).toBe(ch);
          }
        },
      ),
    );
  });

  it('hash: uses the consumer max parallelism, not a default one', () => {
    const keys = Array.from({ length: 200 }, (_, i) => `k${i}`);
    const route = (maxP: number): number[] => {
      const sel = createChannelSelector({ kind: 'hash', keySelector: (k) => k }, 0, 3, 3, maxP);
      return keys.map((k) => sel.selectChannel(k));
    };
    expect(route(128)).toEqual(keys.map((k) => ownerOf(assignToKeyGroup(k, 128), 128, 3)));
    expect(route(7)).toEqual(keys.map((k) => ownerOf(assignToKeyGroup(k, 7), 7, 3)));
    expect(route(7)).not.toEqual(route(128));
  });

  it('hash: blames the key selector when it throws or returns an unhashable key', () => {
    const where = "the key selector of keyBy() before operator 'totals'";
    const throwing = createChannelSelector(
      {
        kind: 'hash',
        keySelector: () => {
          throw new Error('no key');
        },
      },
      0,
      2,
      2,
      128,
      where,
    );
    expect(() => throwing.selectChannel(1)).toThrow(SluiceError);
    expect(() => throwing.selectChannel(1)).toThrow(`${where} threw: no key`);
    const bad = createChannelSelector(
      { kind: 'hash', keySelector: () => ({ x: undefined }) },
      0,
      2,
      2,
      128,
      where,
    );
    let caught: unknown;
    try {
      bad.selectChannel(1);
    } catch (e) {
      caught = e;
    }
    expect((caught as SluiceError).code).toBe('SLUICE_KEY_NOT_HASHABLE');
    expect((caught as SluiceError).message).toContain(`${where} returned a bad key: key.x is undefined`);
  });

  it('rebalance: round-robins over all channels, starting at the producer index', () => {
    const sel = createChannelSelector({ kind: 'rebalance' }, 1, 3, 3, 128);
    expect(sel.isBroadcast).toBe(false);
    expect(Array.from({ length: 7 }, () => sel.selectChannel('x'))).toEqual([1, 2, 0, 1, 2, 0, 1]);
    const wrapped = createChannelSelector({ kind: 'rebalance' }, 5, 3, 3, 128);
    expect(Array.from({ length: 4 }, () => wrapped.selectChannel('x'))).toEqual([2, 0, 1, 2]);
    const single = createChannelSelector({ kind: 'rebalance' }, 0, 1, 1, 128);
    expect([single.selectChannel(1), single.selectChannel(2)]).toEqual([0, 0]);
  });

  it('rebalance: spreads any number of records evenly', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.nat({ max: 7 }),
        fc.nat({ max: 200 }),
        (n, producer, count) => {
          const sel = createChannelSelector({ kind: 'rebalance' }, producer, n, n, 128);
          const counts = new Array<number>(n).fill(0);
          for (let i = 0; i < count; i++) counts[sel.selectChannel(i)]!++;
          expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
        },
      ),
    );
  });

  it('rescale: round-robins over the producer’s own subpartitions', () => {
    const sel = createChannelSelector({ kind: 'rescale' }, 0, 2, 4, 128);
    expect(Array.from({ length: 4 }, () => sel.selectChannel('x'))).toEqual([0, 1, 0, 1]);
  });

  it('broadcast: is flagged as broadcast', () => {
    const sel = createChannelSelector({ kind: 'broadcast' }, 0, 4, 4, 128);
    expect(sel.isBroadcast).toBe(true);
  });

  it('forward and global: always the first subpartition, not broadcast', () => {
    for (const kind of ['forward', 'global'] as const) {
      const sel = createChannelSelector({ kind }, 3, kind === 'forward' ? 1 : 4, 4, 128);
      expect(sel.isBroadcast).toBe(false);
      expect([sel.selectChannel('a'), sel.selectChannel('b'), sel.selectChannel(3)]).toEqual([0, 0, 0]);
    }
  });

  it('shuffle: picks channels in range and reaches all of them', () => {
    const sel = createChannelSelector({ kind: 'shuffle' }, 0, 4, 4, 128);
    expect(sel.isBroadcast).toBe(false);
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const ch = sel.selectChannel(i);
      expect(Number.isInteger(ch) && ch >= 0 && ch < 4).toBe(true);
      seen.add(ch);
    }
    expect(seen.size).toBe(4);
  });
});
