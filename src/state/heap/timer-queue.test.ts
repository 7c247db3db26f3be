/** HeapTimerQueue: ordering, deduplication, removal and key groups, checked against a model. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SluiceError } from '../../core/errors.js';
import { assignToKeyGroup } from '../../core/key-groups.js';
import { mapKeyOf } from '../../core/stable-hash.js';
import { SnapshotVersions } from './snapshot-versions.js';
import { HeapTimerQueue } from './timer-queue.js';

const MAX_P = 128;
const all = { maxParallelism: MAX_P, keyGroupRange: { start: 0, end: MAX_P - 1 } };

type Key = string | number | readonly [string, number];

function drain<K>(queue: HeapTimerQueue<K>): [K, number][] {
  const out: [K, number][] = [];
  for (let t = queue.poll(); t !== undefined; t = queue.poll()) out.push([t.key, t.timestamp]);
  return out;
}

describe('HeapTimerQueue', () => {
  it('polls in timestamp order, equal timestamps in registration order', () => {
    const q = new HeapTimerQueue<string>(all);
    q.add('a', 30);
    q.add('b', 10);
    q.add('c', 20);
    q.add('d', 10);
    expect(q.peek()).toMatchObject({ key: 'b', timestamp: 10 });
    expect(drain(q)).toEqual([
      ['b', 10],
      ['d', 10],
      ['c', 20],
      ['a', 30],
    ]);
    expect(q.size).toBe(0);
    expect(q.poll()).toBeUndefined();
  });

  it('keeps one timer per key and timestamp, composite keys compared by content', () => {
    const q = new HeapTimerQueue<Key>(all);
    expect(q.add(['a', 1], 5)).toBe(true);
    expect(q.add(['a', 1], 5)).toBe(false);
    q.add(1, 5);
    q.add('1', 5);
    q.add(1, 0);
    q.add(1, -0);
    expect(q.size).toBe(4);
    expect(q.contains(['a', 1], 5)).toBe(true);
  });

  it('reports whether add and remove changed the head', () => {
    const q = new HeapTimerQueue<string>(all);
    expect(q.add('a', 10)).toBe(true);
    expect(q.add('b', 20)).toBe(false);
    expect(q.add('c', 5)).toBe(true);
    expect(q.remove('b', 20)).toBe(false);
    expect(q.remove('c', 5)).toBe(true);
    expect(q.remove('c', 5)).toBe(false);
    expect(q.peek()).toMatchObject({ key: 'a', timestamp: 10 });
  });

  it('lists the timers of each key group', () => {
    const q = new HeapTimerQueue<number>(all);
    for (let k = 0; k < 50; k++) q.add(k, k % 7);
    let seen = 0;
    for (let kg = 0; kg < MAX_P; kg++)
      for (const t of q.timersInKeyGroup(kg)) {
        expect(assignToKeyGroup(t.key, MAX_P)).toBe(kg);
        seen++;
      }
    expect(seen).toBe(50);
  });

  it('rejects keys outside its range and NaN timestamps', () => {
    const q = new HeapTimerQueue<number>({ maxParallelism: MAX_P, keyGroupRange: { start: 0, end: 63 } });
    let outside = 0;
    while (assignToKeyGroup(outside, MAX_P) <= 63) outside++;
    expect(() => q.add(outside, 1)).toThrow(SluiceError);
    expect(() => q.add(0, Number.NaN)).toThrow(/timestamp/);
    expect(() => q.timersInKeyGroup(64)).toThrow(SluiceError);
  });

  it('gives a pinned snapshot the timers of a key group as of its pin, in registration order', () => {
    const versions = new SnapshotVersions();
    const q = new HeapTimerQueue<number>({ ...all, versions });
    const keys: number[] = [];
    for (let k = 0; keys.length < 4; k++) if (assignToKeyGroup(k, MAX_P) === 5) keys.push(k);
    const [a, b, c, d] = keys as [number, number, number, number];
    q.add(a, 1);
    q.add(b, 2);
    q.add(c, 3);
    const pinned = versions.pin();
    q.remove(a, 1);
    q.poll();
    q.add(d, 0);
    q.add(a, 1);
    const asOf = (version: number) => q.timersAsOf(5, version).map((t) => [t.key, t.timestamp]);
    expect(asOf(pinned.version)).toEqual([
      [a, 1],
      [b, 2],
      [c, 3],
    ]);
    versions.advance(pinned, 5);
    versions.unpin(pinned);
    expect(asOf(versions.current + 1)).toEqual([
      [c, 3],
      [d, 0],
      [a, 1],
    ]);
  });

  it('matches a model set under any sequence of add, remove and poll', () => {
    const key = fc.oneof(
      fc.constantFrom('a', 'b', 'c'),
      fc.integer({ min: 0, max: 3 }),
      fc.tuple(fc.constantFrom('x', 'y'), fc.integer({ min: 0, max: 1 })),
    );
    const timestamp = fc.integer({ min: -3, max: 6 });
    const op = fc.oneof(
      fc.record({ kind: fc.constant('add' as const), key, timestamp }),
      fc.record({ kind: fc.constant('remove' as const), key, timestamp }),
      fc.record({ kind: fc.constant('poll' as const) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const q = new HeapTimerQueue<Key>(all);
        // The model: the set of queued timers with their registration order.
        const model = new Map<string, { key: Key; timestamp: number; seq: number }>();
        const id = (k: Key, ts: number): string => `${typeof k}:${String(mapKeyOf(k))}@${ts}`;
        const ordered = () => [...model.values()].sort((a, b) => a.timestamp - b.timestamp || a.seq - b.seq);
        let seq = 0;
        for (const o of ops) {
          if (o.kind === 'add') {
            const isNew = !model.has(id(o.key, o.timestamp));
            if (isNew) model.set(id(o.key, o.timestamp), { key: o.key, timestamp: o.timestamp, seq: seq++ });
            const becameHead = isNew && ordered()[0]?.seq === seq - 1;
            expect(q.add(o.key, o.timestamp)).toBe(becameHead);
          } else if (o.kind === 'remove') {
            const head = ordered()[0];
            const wasHead = head !== undefined && id(head.key, head.timestamp) === id(o.key, o.timestamp);
            model.delete(id(o.key, o.timestamp));
            expect(q.remove(o.key, o.timestamp)).toBe(wasHead);
          } else {
            const head = ordered()[0];
            if (head !== undefined) model.delete(id(head.key, head.timestamp));
            const polled = q.poll();
            expect(polled && [polled.key, polled.timestamp]).toEqual(head && [head.key, head.timestamp]);
          }
          expect(q.size).toBe(model.size);
        }
        expect(drain(q)).toEqual(ordered().map((t) => [t.key, t.timestamp]));
      }),
      { numRuns: 300 },
    );
  });
});
