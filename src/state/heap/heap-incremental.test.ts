/** Incremental heap snapshots: a chain restores to what a full snapshot would, under random ops, aborts and isolation. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applyOp,
  declareAll,
  dumpBackend,
  Model,
  prng,
  randomOps,
  type Dump,
  type Key,
} from '../keyed-state-model.contract.js';
import type { KeyedSnapshotRun, KeyedStateSnapshot } from '../keyed-state-snapshot.js';
import { ValueStateDescriptor } from '../state-descriptor.js';
import { LmdbKeyedStateBackend } from '../lmdb/lmdb-keyed-state-backend.js';
import { HeapKeyedStateBackend } from './heap-keyed-state-backend.js';

const all = { maxParallelism: 128, keyGroupRange: { start: 0, end: 127 } };

function restoredDump(snapshot: KeyedStateSnapshot): Dump {
  const b = new HeapKeyedStateBackend<Key>(all);
  b.restore([snapshot]);
  return dumpBackend(b, declareAll(b));
}

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

describe('incremental heap snapshots', () => {
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
          const b = new HeapKeyedStateBackend<Key>({
            ...all,
            snapshotSliceMillis: 0,
            incremental: { maxChainLength, maxDeltaRatio: 100 },
          });
          const d = declareAll(b);
          const model = new Model();
          const apply = (n: number) => {
            for (const op of randomOps(random, n, 300)) {
              model.apply(op, applyOp(b, d, op));
            }
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
              pending.push({ id, run, expected: model.dump(), written: run.write(), base: completed });
            } else if (s === 'tick') await new Promise((resolve) => setImmediate(resolve));
            else if (s === 'ops') apply(200);
            else if (pending.length > 0) {
              const p = pending.shift()!;
              const written = await p.written;
              if (s === 'abort') continue; // written, never completed: its changes go into the next delta
              const chain = chainOf(p.run, written, p.base);
              if (p.run.baseCheckpointId !== undefined) deltas++;
              restoredDeltas += chain.deltas?.length ?? 0;
              expect(restoredDump(chain)).toEqual(p.expected);
              completed = { id: p.id, chain };
              b.notifyCheckpointComplete(p.id);
            }
          }
          for (const p of pending) await p.written;
          const last = b.snapshot(++id);
          const written = await last.write();
          const chain = chainOf(last, written, completed);
          expect(restoredDump(chain)).toEqual(model.dump());
          expect(chain.deltas?.length ?? 0).toBeLessThanOrEqual(maxChainLength);
          if (maxChainLength === 0) expect(deltas).toBe(0);
        },
      ),
      { numRuns: 40 },
    );
    expect(restoredDeltas, 'chains with deltas were restored').toBeGreaterThan(20);
  });

  it('write a delta of about what changed, and materialize when the chain is long or heavy', async () => {
    const b = new HeapKeyedStateBackend<number>({
      ...all,
      incremental: { maxChainLength: 3, maxDeltaRatio: 0.5 },
    });
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
      b.notifyCheckpointComplete(id);
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

  it('restore into the lmdb backend as into the heap (random ops, a chain of deltas)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-incremental-lmdb-'));
    try {
      const random = prng(7);
      const b = new HeapKeyedStateBackend<Key>({ ...all, incremental: { maxDeltaRatio: 100 } });
      const d = declareAll(b);
      const model = new Model();
      let chain: KeyedStateSnapshot | undefined;
      for (let id = 1; id <= 4; id++) {
        for (const op of randomOps(random, 800, 300)) {
          model.apply(op, applyOp(b, d, op));
        }
        const run = b.snapshot(id);
        chain = chainOf(run, await run.write(), chain === undefined ? undefined : { id: id - 1, chain });
        b.notifyCheckpointComplete(id);
      }
      expect(chain!.deltas).toHaveLength(3);
      const lmdb = new LmdbKeyedStateBackend<Key>({ ...all, localDir: dir });
      lmdb.restore([chain!]);
      expect(dumpBackend(lmdb, declareAll(lmdb))).toEqual(model.dump());
      lmdb.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('restore a chain at another parallelism (a rescaled subtask reads its key groups of the chain)', async () => {
    const b = new HeapKeyedStateBackend<number>({ ...all, incremental: {} });
    const v = b.getOrCreateKeyedState(new ValueStateDescriptor<number>('v'));
    for (let k = 0; k < 100; k++) {
      b.setCurrentKey(k);
      v.update(k);
    }
    const first = b.snapshot(1);
    const base = await first.write();
    b.notifyCheckpointComplete(1);
    b.setCurrentKey(5);
    v.clear();
    b.setCurrentKey(6);
    v.update(-6);
    const second = b.snapshot(2);
    const delta = await second.write();
    expect(second.baseCheckpointId).toBe(1);
    const chain = { ...base, deltas: [{ offsets: delta.offsets, data: delta.data }] };
    // Rescaled: a backend owning half the key groups reads only its part of the chain.
    const half = new HeapKeyedStateBackend<number>({
      maxParallelism: 128,
      keyGroupRange: { start: 0, end: 63 },
    });
    half.restore([chain]);
    const hv = half.getOrCreateKeyedState(new ValueStateDescriptor<number>('v'));
    const keys = [...half.getKeys('v')].sort((x, y) => x - y);
    expect(keys).not.toContain(5);
    for (const k of keys) {
      half.setCurrentKey(k);
      expect(hv.value()).toBe(k === 6 ? -6 : k);
    }
    const whole = new HeapKeyedStateBackend<number>(all);
    whole.restore([chain]);
    const wv = whole.getOrCreateKeyedState(new ValueStateDescriptor<number>('v'));
    expect(whole.numKeys('v')).toBe(99);
    whole.setCurrentKey(6);
    expect(wv.value()).toBe(-6);
  });
});
