/** LmdbTimerQueue: timers on disk in firing order, deduplicated, with each key group's head cached. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { MsgpackSerializer } from '../../core/serializer.js';
import { LmdbStore } from './lmdb-store.js';
import { LmdbTimerQueue } from './lmdb-timer-queue.js';

const localDir = mkdtempSync(join(tmpdir(), 'sluice-lmdb-timers-'));
afterAll(() => rmSync(localDir, { recursive: true, force: true }));

describe('LmdbTimerQueue', () => {
  let store: LmdbStore | undefined;
  afterEach(() => store?.close());
  const queue = <K>(maxParallelism = 128): LmdbTimerQueue<K> => {
    store = new LmdbStore(localDir);
    return new LmdbTimerQueue<K>({
      store,
      id: 0x8000,
      maxParallelism,
      keyGroupRange: { start: 0, end: maxParallelism - 1 },
      keySerializer: new MsgpackSerializer(),
    });
  };
  const drain = <K>(q: LmdbTimerQueue<K>): [K, number][] => {
    const out: [K, number][] = [];
    for (let t = q.poll(); t; t = q.poll()) out.push([t.key, t.timestamp]);
    return out;
  };

  it('fires in timestamp order across key groups, negative and fractional times included', () => {
    const q = queue<string>();
    const times = [5, -3, 0, 2.5, -0.5, 1e12, -1e12, 7];
    times.forEach((t, i) => q.add(`k${i}`, t));
    expect(q.size).toBe(times.length);
    expect(drain(q).map(([, t]) => t)).toEqual([...times].sort((a, b) => a - b));
    expect(q.size).toBe(0);
    expect(q.peek()).toBeUndefined();
  });

  it('deduplicates (key, timestamp), folds -0 into 0, and says when the head changed', () => {
    const q = queue<number>();
    expect(q.add(1, 10)).toBe(true);
    expect(q.add(1, 10)).toBe(false);
    expect(q.add(2, 20)).toBe(false);
    expect(q.add(3, 5)).toBe(true);
    expect(q.add(4, -0)).toBe(true);
    expect(q.contains(4, 0)).toBe(true);
    expect(q.size).toBe(4);
    expect(q.remove(1, 10)).toBe(false);
    expect(q.remove(4, 0)).toBe(true);
    expect(q.remove(4, 0)).toBe(false);
    expect(q.peek()).toMatchObject({ key: 3, timestamp: 5 });
    expect(drain(q)).toEqual([
      [3, 5],
      [2, 20],
    ]);
  });

  it('keeps composite keys and lists a key group by time', () => {
    const q = queue<[string, number]>();
    q.add(['p', 1], 30);
    q.add(['p', 1], 10);
    q.add(['p', 1], 20);
    const kg = [...Array(128).keys()].find((g) => [...q.timersInKeyGroup(g)].length > 0)!;
    expect([...q.timersInKeyGroup(kg)]).toEqual([
      { key: ['p', 1], timestamp: 10 },
      { key: ['p', 1], timestamp: 20 },
      { key: ['p', 1], timestamp: 30 },
    ]);
    expect(() => q.add(['p', 1], Number.NaN)).toThrow(/must be a number/);
  });

  it('agrees with a sorted list when key groups hold more timers than their caches', () => {
    // Two key groups of ~1000 timers each: far more than a key group caches (128), so adds and
    // removes land before, inside and after the cached range, and caches run empty and refill.
    const q = queue<number>(2);
    const model = new Map<string, [number, number]>();
    const id = (key: number, ts: number): string => `${key}@${ts}`;
    let seed = 7;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const earliest = (): number => Math.min(...[...model.values()].map(([, t]) => t));
    const isHead = (key: number, ts: number): boolean => {
      const head = q.peek();
      return head?.key === key && head.timestamp === ts;
    };
    for (let step = 0; step < 6000; step++) {
      const key = random(200);
      const ts = random(2000);
      // Mostly adds first, then mostly polls, so that caches fill, overflow, run empty and refill.
      const op = random(10) + (step < 3000 ? 0 : 4);
      const queued = model.has(id(key, ts));
      if (op < 6) {
        const before = earliest();
        const becameHead = q.add(key, ts);
        expect(becameHead).toBe(!queued && isHead(key, ts));
        if (!queued && ts < before) expect(becameHead).toBe(true);
        model.set(id(key, ts), [key, ts]);
      } else if (op < 7) {
        const wasHead = isHead(key, ts);
        expect(q.remove(key, ts)).toBe(wasHead);
        model.delete(id(key, ts));
      } else if (op < 8) {
        expect(q.contains(key, ts)).toBe(queued);
      } else {
        const polled = q.poll();
        if (model.size === 0) expect(polled).toBeUndefined();
        else {
          expect(polled?.timestamp).toBe(earliest());
          expect(model.delete(id(polled!.key, polled!.timestamp))).toBe(true);
        }
      }
      expect(q.size).toBe(model.size);
    }
    const rest = drain(q);
    expect(rest.map(([, t]) => t)).toEqual([...model.values()].map(([, t]) => t).sort((a, b) => a - b));
    expect(new Set(rest.map(([k, t]) => id(k, t)))).toEqual(new Set(model.keys()));
  });
});
