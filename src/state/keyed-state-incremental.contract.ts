/**
 * The keyed state backend contract, part four: incremental snapshots. A chain (base plus deltas)
 * restores, into either backend and at another parallelism, to exactly what was live at each
 * snapshot, under random ops, aborts and late writes; deltas hold about what changed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { KeyGroupRange } from '../core/key-groups.js';
import { HeapKeyedStateBackend } from './heap/heap-keyed-state-backend.js';
import type { IncrementalOptions } from './heap/incremental-snapshots.js';
import type { KeyedStateBackend } from './keyed-state-backend.js';
import {
  applyOp,
  declareAll,
  dumpBackend,
  Model,
  prng,
  randomOps,
  type Dump,
  type Key,
} from './keyed-state-model.contract.js';
import type { KeyedSnapshotRun, KeyedStateSnapshot } from './keyed-state-snapshot.js';
import { LmdbKeyedStateBackend } from './lmdb/lmdb-keyed-state-backend.js';
import { ValueStateDescriptor } from './state-descriptor.js';

/** How the contract builds the backend under test, with incremental checkpoints on. */
export type IncrementalBackendFactory = (opts: {
  maxParallelism: number;
  keyGroupRange: KeyGroupRange;
  incremental: IncrementalOptions;
  snapshotSliceMillis?: number;
}) => KeyedStateBackend;

/** The backends a chain is restored into: both, whichever wrote it. */
const TARGETS = ['hashmap', 'lmdb'] as const;
type Target = (typeof TARGETS)[number];

const all = { maxParallelism: 128, keyGroupRange: { start: 0, end: 127 } };

/** What a subtask does with a written snapshot: a base alone, or the base's chain plus the delta. */
function chainOf(
  run: KeyedSnapshotRun,
  written: KeyedStateSnapshot,
  completed: { id: number; chain: KeyedStateSnapshot } | undefined,
): KeyedStateSnapshot {
  if (run.baseCheckpointId === undefined) return written;
  expect(run.baseCheckpointId).toBe(completed?.id);
  const base = completed!.chain;
  return { ...base, deltas: [...(base.deltas ?? []), { offsets: written.offsets, data: written.data }] };
}

/** Defines the incremental snapshot describe block for the backend that `create` builds. */
export function keyedStateIncrementalContract(name: string, create: IncrementalBackendFactory): void {
  describe(`${name} (incremental snapshot contract)`, () => {
    const localDir = mkdtempSync(join(tmpdir(), 'sluice-incremental-contract-'));
    afterAll(() => rmSync(localDir, { recursive: true, force: true }));
    const open: KeyedStateBackend[] = [];
    afterEach(() => {
      for (const b of open.splice(0)) b.dispose();
    });
    function backend<K>(incremental: IncrementalOptions, sliceMillis?: number): KeyedStateBackend<K> {
      const b = create({
        ...all,
        incremental,
        ...(sliceMillis === undefined ? {} : { snapshotSliceMillis: sliceMillis }),
      });
      open.push(b);
      return b as KeyedStateBackend<K>;
    }
    /** A backend without incremental checkpoints of kind `target`, to restore into. */
    function target<K>(kind: Target, keyGroupRange: KeyGroupRange = all.keyGroupRange): KeyedStateBackend<K> {
      const options = { maxParallelism: all.maxParallelism, keyGroupRange };
      const b =
        kind === 'hashmap'
          ? new HeapKeyedStateBackend<K>(options)
          : new LmdbKeyedStateBackend<K>({ ...options, localDir });
      open.push(b);
      return b;
    }
    /** Disposes `b` now (LMDB environments are not left to pile up until the test ends). */
    function close(b: KeyedStateBackend<unknown>): void {
      const at = open.indexOf(b);
      if (at >= 0) open.splice(at, 1);
      b.dispose();
    }
    function restoredDump(chain: KeyedStateSnapshot, kind: Target): Dump {
      const b = target<Key>(kind);
      b.restore([chain]);
      const dump = dumpBackend(b, declareAll(b));
      close(b);
      return dump;
    }

    it('restore, base plus deltas, exactly what was live at each snapshot() (random ops, aborts, late writes)', async () => {
      const step = fc.constantFrom(
        'snapshot',
        'snapshot',
        'tick',
        'complete',
        'complete',
        'abort',
        'ops',
        'ops',
      );
      let restoredDeltas = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 0, max: 2 ** 31 - 1 }),
          fc.array(step, { minLength: 10, maxLength: 40, size: 'max' }),
          fc.integer({ min: 0, max: 4 }),
          async (seed, script, maxChainLength) => {
            const random = prng(seed);
            const b = backend<Key>({ maxChainLength, maxDeltaRatio: 100 }, 0);
            const d = declareAll(b);
            const model = new Model();
            const apply = (n: number) => {
              for (const op of randomOps(random, n, 300)) model.apply(op, applyOp(b, d, op));
            };
            apply(1500);
            const pending: {
              id: number;
              run: KeyedSnapshotRun;
              expected: Dump;
              written: Promise<KeyedStateSnapshot>;
              /** The completed chain at snapshot(), as the subtask captures it at the synchronous phase. */
              base: { id: number; chain: KeyedStateSnapshot } | undefined;
            }[] = [];
            let completed: { id: number; chain: KeyedStateSnapshot } | undefined;
            let id = 0;
            let deltas = 0;
            for (const s of script) {
              if (s === 'snapshot') {
                const run = b.snapshot(++id);
                const written = run.write();
                // A failed property disposes the backend under runs still writing: not unhandled.
                written.catch(() => undefined);
                pending.push({ id, run, expected: model.dump(), written, base: completed });
              } else if (s === 'tick') await new Promise((resolve) => setImmediate(resolve));
              else if (s === 'ops') apply(200);
              else if (pending.length > 0) {
                const p = pending.shift()!;
                const written = await p.written;
                if (s === 'abort') continue; // written, never completed: its changes go into the next delta
                const chain = chainOf(p.run, written, p.base);
                if (p.run.baseCheckpointId !== undefined) deltas++;
                restoredDeltas += chain.deltas?.length ?? 0;
                // Into the other backend every other time: a chain is backend-neutral.
                expect(restoredDump(chain, TARGETS[p.id % 2]!)).toEqual(p.expected);
                completed = { id: p.id, chain };
                b.notifyCheckpointComplete?.(p.id);
              }
            }
            for (const p of pending) await p.written;
            const last = b.snapshot(++id);
            const chain = chainOf(last, await last.write(), completed);
            for (const kind of TARGETS) expect(restoredDump(chain, kind)).toEqual(model.dump());
            expect(chain.deltas?.length ?? 0).toBeLessThanOrEqual(maxChainLength);
            if (maxChainLength === 0) expect(deltas).toBe(0);
            close(b);
          },
        ),
        { numRuns: 20 },
      );
      expect(restoredDeltas, 'chains with deltas were restored').toBeGreaterThan(5);
      // Every run restores each chain it completes (into the LMDB backend every other time): about
      // 10 s on two idle cores, several times that beside other test files.
    }, 180_000);

    it('write a delta of about what changed, and materialize when the chain is long or heavy', async () => {
      const b = backend<number>({ maxChainLength: 3, maxDeltaRatio: 0.5 });
      const v = b.getOrCreateKeyedState(new ValueStateDescriptor<number>('v'));
      const update = (from: number, to: number, value: number) => {
        for (let k = from; k < to; k++) {
          b.setCurrentKey(k);
          v.update(value);
        }
      };
      update(0, 10_000, 1);
      const sizes: { id: number; delta: boolean; bytes: number }[] = [];
      const checkpoint = async (id: number) => {
        const run = b.snapshot(id);
        const written = await run.write();
        sizes.push({ id, delta: run.baseCheckpointId !== undefined, bytes: written.data.length });
        b.notifyCheckpointComplete?.(id);
      };
      await checkpoint(1);
      for (let id = 2; id <= 6; id++) {
        update(id * 100, id * 100 + 100, id); // 1% of the keys
        await checkpoint(id);
      }
      expect(sizes.map((s) => s.delta)).toEqual([false, true, true, true, false, true]);
      const full = sizes[0]!.bytes;
      for (const s of sizes.filter((x) => x.delta)) expect(s.bytes).toBeLessThan(full * 0.05);
      // Heavy deltas: every key changes, the delta outweighs half the base, the next is a new base.
      update(0, 10_000, 7);
      await checkpoint(7);
      await checkpoint(8);
      expect(sizes.slice(-2).map((s) => s.delta)).toEqual([true, false]);
    });

    /** A backend whose value state 'v' holds k for keys 0 … keys − 1, and its completed checkpoint 1 (a base). */
    async function completedBase(keys: number) {
      const b = backend<number>({});
      const v = b.getOrCreateKeyedState(new ValueStateDescriptor<number>('v'));
      for (let k = 0; k < keys; k++) {
        b.setCurrentKey(k);
        v.update(k);
      }
      const first = b.snapshot(1);
      const base = await first.write();
      expect(first.baseCheckpointId).toBeUndefined();
      b.notifyCheckpointComplete?.(1);
      return { b, v, base };
    }

    it("an aborted checkpoint's changes go into the next delta, which builds on the last completed one", async () => {
      const { b, v, base } = await completedBase(50);
      const timers = b.getOrCreateTimerQueue('timers');
      b.setCurrentKey(1);
      v.update(-1);
      timers.add(1, 100);
      // Checkpoint 2 is aborted before its asynchronous phase, checkpoint 3 after it.
      b.snapshot(2).release();
      b.setCurrentKey(2);
      v.clear();
      const third = b.snapshot(3);
      await third.write();
      b.setCurrentKey(3);
      v.update(-3);
      const fourth = b.snapshot(4);
      const delta = await fourth.write();
      expect(fourth.baseCheckpointId).toBe(1);
      const chain = { ...base, deltas: [{ offsets: delta.offsets, data: delta.data }] };
      for (const kind of TARGETS) {
        const r = target<number>(kind);
        r.restore([chain]);
        const rv = r.getOrCreateKeyedState(new ValueStateDescriptor<number>('v'));
        expect(r.numKeys('v')).toBe(49);
        const values = [1, 2, 3, 4].map((k) => {
          r.setCurrentKey(k);
          return rv.value();
        });
        expect(values).toEqual([-1, undefined, -3, 4]);
        const queue = r.getOrCreateTimerQueue('timers');
        const restoredTimers = [...Array(128).keys()].flatMap((kg) =>
          [...queue.timersInKeyGroup(kg)].map(({ key, timestamp }) => ({ key, timestamp })),
        );
        expect(restoredTimers).toEqual([{ key: 1, timestamp: 100 }]);
      }
    });

    it('restore a chain at another parallelism (a rescaled subtask reads its key groups of the chain)', async () => {
      const { b, v, base } = await completedBase(100);
      b.setCurrentKey(5);
      v.clear();
      b.setCurrentKey(6);
      v.update(-6);
      const second = b.snapshot(2);
      const delta = await second.write();
      expect(second.baseCheckpointId).toBe(1);
      const chain = { ...base, deltas: [{ offsets: delta.offsets, data: delta.data }] };
      for (const kind of TARGETS) {
        // Rescaled: a backend owning half the key groups reads only its part of the chain; the
        // other half's owner reads the rest.
        const seen: number[] = [];
        for (const keyGroupRange of [
          { start: 0, end: 63 },
          { start: 64, end: 127 },
        ]) {
          const half = target<number>(kind, keyGroupRange);
          half.restore([chain]);
          const hv = half.getOrCreateKeyedState(new ValueStateDescriptor<number>('v'));
          for (const k of half.getKeys('v')) {
            half.setCurrentKey(k);
            expect(hv.value()).toBe(k === 6 ? -6 : k);
            seen.push(k);
          }
        }
        expect(seen.sort((x, y) => x - y)).toEqual([...Array(100).keys()].filter((k) => k !== 5));
      }
    });
  });
}
