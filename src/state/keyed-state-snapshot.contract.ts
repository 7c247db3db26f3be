/** The keyed state backend contract, part three: consistent async snapshots, restore and rescaling. */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { SluiceError } from '../core/errors.js';
import {
  assignToKeyGroup,
  computeKeyGroupRangeForOperatorIndex,
  computeOperatorIndexForKeyGroup,
  type KeyGroupRange,
} from '../core/key-groups.js';
import type { KeyedStateBackend } from './keyed-state-backend.js';
import {
  applyOp,
  declareAll,
  dumpBackend,
  Model,
  prng,
  randomOps,
  TIMERS,
  type Declared,
  type Dump,
  type Key,
  type Op,
} from './keyed-state-model.contract.js';
import type { KeyedStateSnapshot } from './keyed-state-snapshot.js';
import { ListStateDescriptor, ValueStateDescriptor } from './state-descriptor.js';
import { expectSluiceError } from './state-kinds.contract.js';

/** How the contracts build the backend under test. */
export type KeyedStateBackendFactory = (opts: {
  maxParallelism: number;
  keyGroupRange: KeyGroupRange;
}) => KeyedStateBackend;

const MAX_P = 128;
const ALL: KeyGroupRange = { start: 0, end: MAX_P - 1 };

/** Defines the snapshot and restore describe block for the backend that `create` builds. */
export function keyedStateSnapshotContract(create: KeyedStateBackendFactory): void {
  describe('snapshot and restore', () => {
    const open: KeyedStateBackend[] = [];
    afterEach(() => {
      for (const b of open.splice(0)) b.dispose();
    });
    function backend(keyGroupRange: KeyGroupRange = ALL): KeyedStateBackend<Key> {
      const b = create({ maxParallelism: MAX_P, keyGroupRange }) as KeyedStateBackend<Key>;
      open.push(b);
      return b;
    }
    function run(b: KeyedStateBackend<Key>, d: Declared, model: Model, ops: readonly Op[]): void {
      for (const op of ops) {
        model.apply(op, applyOp(b, d, op));
      }
    }
    /** A backend with every state kind and timers over `keys` keys, and its model. */
    function populated(seed: number, keys = 300, ops = 3000) {
      const b = backend();
      const d = declareAll(b);
      const model = new Model();
      run(b, d, model, randomOps(prng(seed), ops, keys));
      return { b, d, model };
    }
    /** What a fresh backend restored from `snapshots` holds. */
    function restored(
      snapshots: readonly KeyedStateSnapshot[],
      range: KeyGroupRange = ALL,
      declareFirst = false,
    ): Dump {
      const b = backend(range);
      let d: Declared | undefined;
      if (declareFirst) d = declareAll(b);
      b.restore(snapshots);
      return dumpBackend(b, d ?? declareAll(b));
    }

    it('writes the state as of snapshot(), whatever changes between it and write()', async () => {
      const { b, d, model } = populated(1);
      const expected = model.dump();
      expect(dumpBackend(b, d)).toEqual(expected);
      const snapshotRun = b.snapshot(1);
      run(b, d, model, randomOps(prng(2), 4000, 400));
      const snapshot = await snapshotRun.write();
      expect(dumpBackend(b, d), 'the live state took every change').toEqual(model.dump());
      expect(model.dump()).not.toEqual(expected);
      expect(restored([snapshot])).toEqual(expected);
    });

    it('writes the state as of snapshot() while records change it during write()', async () => {
      const { b, d, model } = populated(3, 600, 8000);
      const expected = model.dump();
      const ops = randomOps(prng(4), 6000, 800);
      let next = 0;
      const mutate = (): void => {
        run(b, d, model, ops.slice(next, next + 100));
        next += 100;
        if (next < ops.length) setImmediate(mutate);
      };
      const written = b.snapshot(7).write();
      mutate();
      const snapshot = await written;
      run(b, d, model, ops.slice(next));
      next = ops.length;
      expect(restored([snapshot])).toEqual(expected);
      expect(dumpBackend(b, d)).toEqual(model.dump());
    });

    it('keeps overlapping snapshots apart, written in any order, and survives a released one', async () => {
      const { b, d, model } = populated(5);
      const first = b.snapshot(1);
      const atFirst = model.dump();
      run(b, d, model, randomOps(prng(6), 2000, 400));
      const second = b.snapshot(2);
      const atSecond = model.dump();
      run(b, d, model, randomOps(prng(7), 2000, 400));
      const aborted = b.snapshot(3);
      run(b, d, model, randomOps(prng(8), 500, 400));
      aborted.release();
      aborted.release();
      run(b, d, model, randomOps(prng(9), 500, 400));
      const secondWritten = await second.write();
      run(b, d, model, randomOps(prng(10), 2000, 400));
      const firstWritten = await first.write();
      expect(restored([firstWritten])).toEqual(atFirst);
      expect(restored([secondWritten])).toEqual(atSecond);
      expect(dumpBackend(b, d)).toEqual(model.dump());
      await expect(aborted.write()).rejects.toBeInstanceOf(SluiceError);
      await expect(first.write(), 'write() runs once').rejects.toBeInstanceOf(SluiceError);
    });

    it('restores states declared before restore() and after it; timers fire in order', async () => {
      const { b, model } = populated(11);
      const expected = model.dump();
      const snapshot = await b.snapshot(1).write();
      expect(restored([snapshot], ALL, true)).toEqual(expected);
      const again = backend();
      again.restore([snapshot]);
      const timers = again.getOrCreateTimerQueue(TIMERS);
      expect(timers.size).toBe(expected.timers.length);
      let last = -Infinity;
      for (let t = timers.poll(); t !== undefined; t = timers.poll()) {
        expect(t.timestamp).toBeGreaterThanOrEqual(last);
        last = t.timestamp;
      }
    });

    it('writes back restored states that were not declared yet', async () => {
      const { b, model } = populated(12);
      const expected = model.dump();
      const partial = backend();
      partial.restore([await b.snapshot(1).write()]);
      partial.getOrCreateKeyedState(new ValueStateDescriptor<number>('v'));
      expect(restored([await partial.snapshot(2).write()])).toEqual(expected);
    });

    it('snapshots an empty backend, with one section per key group', async () => {
      const b = backend({ start: 10, end: 19 });
      declareAll(b);
      const snapshot = await b.snapshot(1).write();
      expect(snapshot.keyGroupRange).toEqual({ start: 10, end: 19 });
      expect(snapshot.offsets).toHaveLength(10);
      expect(restored([snapshot], { start: 10, end: 19 })).toEqual(new Model().dump());
    });

    it('refuses a state restored as another kind, and another max parallelism', async () => {
      const b = backend();
      const value = b.getOrCreateKeyedState(new ValueStateDescriptor<number>('count'));
      b.setCurrentKey('k');
      value.update(1);
      const snapshot = await b.snapshot(1).write();
      const other = backend();
      other.restore([snapshot]);
      expectSluiceError(
        () => other.getOrCreateKeyedState(new ListStateDescriptor<number>('count')),
        'SLUICE_STATE_INVALID_ACCESS',
        "'count'",
        'value',
        'list',
      );
      const wider = create({ maxParallelism: 256, keyGroupRange: { start: 0, end: 255 } });
      open.push(wider);
      expectSluiceError(() => wider.restore([snapshot]), 'SLUICE_STATE_INVALID_ACCESS', '128', '256');
    });

    it('moves every key and timer to the backend owning its key group when rescaling', async () => {
      const key = fc.oneof(
        fc.integer({ min: -1000, max: 1000 }),
        fc.string({ maxLength: 6 }),
        fc.tuple(fc.constantFrom('a', 'b'), fc.integer({ min: 0, max: 50 })),
      );
      const entry = fc.tuple(key, fc.integer({ min: 0, max: 99 }), fc.integer({ min: -5, max: 5 }));
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 5 }),
          fc.integer({ min: 1, max: 5 }),
          fc.array(entry, { maxLength: 300 }),
          fc.boolean(),
          async (pOld, pNew, entries, onlyOverlapping) => {
            const rangeOf = (p: number, i: number) => computeKeyGroupRangeForOperatorIndex(MAX_P, p, i);
            const model = new Model();
            const olds = Array.from({ length: pOld }, (_, i) => {
              const b = backend(rangeOf(pOld, i));
              return { b, d: declareAll(b) };
            });
            for (const [k, n, ts] of entries) {
              const owner = olds[computeOperatorIndexForKeyGroup(MAX_P, pOld, assignToKeyGroup(k, MAX_P))]!;
              const ops: Op[] = [
                { kind: 'update', key: k, value: n },
                { kind: 'listAdd', key: k, value: `e${n}` },
                { kind: 'mapPut', key: k, mapKey: `m${n % 3}`, value: n },
                { kind: 'reduce', key: k, value: n },
                { kind: 'timerAdd', key: k, timestamp: ts },
              ];
              run(owner.b, owner.d, model, ops);
            }
            const snapshots = await Promise.all(olds.map(({ b }, i) => b.snapshot(i + 1).write()));
            const merged: Dump = { v: [], l: [], m: [], r: [], a: [], timers: [] };
            for (let j = 0; j < pNew; j++) {
              const range = rangeOf(pNew, j);
              const mine = onlyOverlapping
                ? snapshots.filter(
                    (s) => s.keyGroupRange.start <= range.end && s.keyGroupRange.end >= range.start,
                  )
                : snapshots;
              const dump = restored(mine, range);
              for (const [id] of dump.v) {
                const kg = assignToKeyGroup(JSON.parse(id) as unknown, MAX_P);
                expect(computeOperatorIndexForKeyGroup(MAX_P, pNew, kg)).toBe(j);
              }
              merged.v.push(...dump.v);
              merged.l.push(...dump.l);
              merged.m.push(...dump.m);
              merged.r.push(...dump.r);
              merged.timers.push(...dump.timers);
            }
            const sorted = <T>(xs: [string, T][]) =>
              xs.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
            expect({
              v: sorted(merged.v),
              l: sorted(merged.l),
              m: sorted(merged.m),
              r: sorted(merged.r),
              a: [],
              timers: merged.timers.sort(),
            }).toEqual(model.dump());
            for (const b of open.splice(0)) b.dispose();
          },
        ),
        { numRuns: 40 },
      );
    });
  });
}
