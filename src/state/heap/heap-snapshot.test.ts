/** Heap keyed snapshots: copy-on-write under interleaved writes, slicing, release, format and corruption. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SluiceError } from '../../core/errors.js';
import { assignToKeyGroup } from '../../core/key-groups.js';
import { JsonSerializer, type TypeSerializer } from '../../core/serializer.js';
import {
  applyOp,
  declareAll,
  dumpBackend,
  Model,
  prng,
  randomOps,
  type Declared,
  type Dump,
  type Key,
  type Op,
} from '../keyed-state-model.contract.js';
import type { KeyedStateSnapshot } from '../keyed-state-snapshot.js';
import { MapStateDescriptor, ValueStateDescriptor } from '../state-descriptor.js';
import { expectSluiceError } from '../state-kinds.contract.js';
import { HeapKeyedStateBackend } from './heap-keyed-state-backend.js';

const all = { maxParallelism: 128, keyGroupRange: { start: 0, end: 127 } };

function run(b: HeapKeyedStateBackend<Key>, d: Declared, model: Model, ops: readonly Op[]): void {
  for (const op of ops) {
    model.apply(op, applyOp(b, d, op));
  }
}

function restoredDump(snapshot: KeyedStateSnapshot): Dump {
  const b = new HeapKeyedStateBackend<Key>(all);
  b.restore([snapshot]);
  return dumpBackend(b, declareAll(b));
}

type Outcome = { snapshot: KeyedStateSnapshot } | { error: unknown };

async function expectRejects(promise: Promise<unknown>, code: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SluiceError);
  expect((error as SluiceError).code).toBe(code);
}

describe('heap keyed snapshots', () => {
  it('yield to the event loop between slices of the asynchronous phase', async () => {
    const b = new HeapKeyedStateBackend<number>({ ...all, snapshotSliceMillis: 0 });
    const v = b.getOrCreateKeyedState(new ValueStateDescriptor<number>('v'));
    for (let k = 0; k < 20_000; k++) {
      b.setCurrentKey(k);
      v.update(k);
    }
    let done = false;
    let ticks = 0;
    const tick = (): void => {
      ticks++;
      if (!done) setImmediate(tick);
    };
    setImmediate(tick);
    const snapshot = await b.snapshot(1).write();
    done = true;
    expect(ticks).toBeGreaterThan(10);
    expect(snapshot.offsets).toHaveLength(128);
  });

  it('keep every snapshot as of its snapshot() under random ops, snapshots, writes and releases', async () => {
    const step = fc.constantFrom('snapshot', 'tick', 'tick', 'release', 'ops', 'ops');
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.array(step, { maxLength: 25 }),
        async (seed, script) => {
          const random = prng(seed);
          const b = new HeapKeyedStateBackend<Key>({ ...all, snapshotSliceMillis: 0 });
          const d = declareAll(b);
          const model = new Model();
          run(b, d, model, randomOps(random, 1500, 300));
          const pending: { release(): void; expected: Dump; outcome: Promise<Outcome> }[] = [];
          const released: { expected: Dump; outcome: Promise<Outcome> }[] = [];
          let id = 0;
          for (const s of script) {
            if (s === 'snapshot') {
              const snapshotRun = b.snapshot(++id);
              const outcome = snapshotRun.write().then(
                (snapshot) => ({ snapshot }),
                (error: unknown) => ({ error }),
              );
              pending.push({ release: () => snapshotRun.release(), expected: model.dump(), outcome });
            } else if (s === 'tick') await new Promise((resolve) => setImmediate(resolve));
            else if (s === 'release' && pending.length > 0) {
              const victim = pending.splice(Math.floor(random() * pending.length), 1)[0]!;
              victim.release();
              released.push(victim);
            } else run(b, d, model, randomOps(random, 200, 300));
          }
          for (const p of pending) {
            const outcome = await p.outcome;
            expect('snapshot' in outcome && restoredDump(outcome.snapshot)).toEqual(p.expected);
          }
          for (const p of released) {
            const outcome = await p.outcome;
            // A run released after it finished writing has a valid snapshot; otherwise write() rejects.
            if ('snapshot' in outcome) expect(restoredDump(outcome.snapshot)).toEqual(p.expected);
            else expect((outcome.error as SluiceError).code).toBe('SLUICE_CHECKPOINT_STORAGE_FAILED');
          }
          expect(dumpBackend(b, d)).toEqual(model.dump());
        },
      ),
      { numRuns: 30 },
    );
  });

  it('log a written entry once per snapshot, never without one, and drop what a released one kept', async () => {
    const b = new HeapKeyedStateBackend<number>({ ...all, snapshotSliceMillis: 0 });
    const v = b.getOrCreateKeyedState(new ValueStateDescriptor<number>('v'));
    const update = (k: number, value: number) => {
      b.setCurrentKey(k);
      v.update(value);
    };
    for (let k = 0; k < 5000; k++) update(k, k);
    const table = b.getStateTable('v');
    const kg = assignToKeyGroup(4999, 128);
    const entryOf = () => [...table.entriesInKeyGroup(kg)].find((e) => e.key === 4999)!;
    const entry = entryOf();
    update(4999, -1);
    expect(table.retainedEntryCount(), 'no snapshot pinned: nothing logged').toBe(0);
    const snapshotRun = b.snapshot(1);
    for (let k = 0; k < 5000; k++) update(k, -k);
    expect(table.retainedEntryCount(), 'the first write of each key after snapshot() logs its value').toBe(
      5000,
    );
    update(4999, -3);
    expect(table.retainedEntryCount(), 'and only the first').toBe(5000);
    expect(entryOf(), 'a key group no snapshot is writing keeps its entry objects').toBe(entry);
    const written = snapshotRun.write();
    snapshotRun.release();
    await expectRejects(written, 'SLUICE_CHECKPOINT_STORAGE_FAILED');
    expect(table.retainedEntryCount(), 'released: nothing kept').toBe(0);
    b.snapshot(2).release();
    update(4999, -4);
    expect(table.retainedEntryCount(), 'a released snapshot no longer causes logging').toBe(0);
    const full = b.snapshot(3);
    for (let k = 0; k < 5000; k++) update(k, k);
    await full.write();
    expect(table.retainedEntryCount(), 'written: nothing kept').toBe(0);
    const releasedFirst = b.snapshot(4);
    releasedFirst.release();
    await expectRejects(releasedFirst.write(), 'SLUICE_INTERNAL_ASSERTION');
  });

  it('fail a pending write() when the backend is disposed', async () => {
    const b = new HeapKeyedStateBackend<number>({ ...all, snapshotSliceMillis: 0 });
    const v = b.getOrCreateKeyedState(new ValueStateDescriptor<number>('v'));
    for (let k = 0; k < 5000; k++) {
      b.setCurrentKey(k);
      v.update(k);
    }
    const written = b.snapshot(1).write();
    b.dispose();
    await expectRejects(written, 'SLUICE_CHECKPOINT_STORAGE_FAILED');
  });

  it('lay out one self-describing section per key group, after a versioned header', async () => {
    const b = new HeapKeyedStateBackend<number>({
      maxParallelism: 128,
      keyGroupRange: { start: 40, end: 59 },
    });
    const v = b.getOrCreateKeyedState(new ValueStateDescriptor<number>('v'));
    for (let k = 0, n = 0; n < 100; k++)
      if (assignToKeyGroup(k, 128) >= 40 && assignToKeyGroup(k, 128) <= 59) {
        b.setCurrentKey(k);
        v.update(k);
        n++;
      }
    const snapshot = await b.snapshot(1).write();
    expect(snapshot.data[0], 'format version').toBe(1);
    expect(snapshot.stateNames).toEqual(['v']);
    const view = new DataView(snapshot.data.buffer, snapshot.data.byteOffset);
    snapshot.offsets.forEach((offset, i) => expect(view.getUint32(offset)).toBe(40 + i));
  });

  it('reject damaged data with SLUICE_CHECKPOINT_CORRUPT', async () => {
    const b = new HeapKeyedStateBackend<Key>(all);
    const d = declareAll(b);
    run(b, d, new Model(), randomOps(prng(1), 500, 100));
    const good = await b.snapshot(1).write();
    const damaged = (change: (s: { offsets: number[]; data: Uint8Array }) => void): KeyedStateSnapshot => {
      const copy = { ...good, offsets: good.offsets.slice(), data: good.data.slice() };
      change(copy);
      return copy;
    };
    const restoring = (s: KeyedStateSnapshot) => () => {
      const fresh = new HeapKeyedStateBackend<Key>(all);
      fresh.restore([s]);
      declareAll(fresh);
    };
    const corrupt = 'SLUICE_CHECKPOINT_CORRUPT';
    expectSluiceError(restoring(damaged((s) => void (s.data[0] = 9))), corrupt, 'format version 9');
    expectSluiceError(restoring({ ...good, data: good.data.subarray(0, good.data.length - 3) }), corrupt);
    expectSluiceError(restoring(damaged((s) => s.offsets.reverse())), corrupt);
    expectSluiceError(
      restoring(damaged((s) => ([s.offsets[3], s.offsets[4]] = [s.offsets[4]!, s.offsets[4]!]))),
      corrupt,
    );
    expectSluiceError(restoring({ ...good, offsets: good.offsets.slice(1) }), corrupt, 'offsets');
  });

  it('restore every kind of key to its key group, and refuse a key serializer that loses keys', async () => {
    const keys: unknown[] = [
      1n,
      -5n,
      true,
      null,
      new Date(5),
      new Uint8Array([1, 2]),
      { a: 1, b: [2, 'x'] },
      '\u0000x',
      1.5,
      'plain',
      ['t', 1],
    ];
    const b = new HeapKeyedStateBackend<unknown>(all);
    const v = b.getOrCreateKeyedState(new ValueStateDescriptor<number>('v'));
    const m = b.getOrCreateKeyedState(new MapStateDescriptor<string, number | undefined>('m'));
    keys.forEach((k, i) => {
      b.setCurrentKey(k);
      v.update(i);
      m.put('u', undefined);
    });
    const fresh = new HeapKeyedStateBackend<unknown>(all);
    fresh.restore([await b.snapshot(1).write()]);
    const v2 = fresh.getOrCreateKeyedState(new ValueStateDescriptor<number>('v'));
    const m2 = fresh.getOrCreateKeyedState(new MapStateDescriptor<string, number | undefined>('m'));
    keys.forEach((k, i) => {
      fresh.setCurrentKey(k);
      expect(v2.value()).toBe(i);
      expect(m2.contains('u')).toBe(true);
    });

    const encoder = new TextEncoder();
    const lossy: TypeSerializer<unknown> = {
      name: 'lossy',
      version: 1,
      serialize: (key) => encoder.encode(String(key)),
      deserialize: (bytes, start, end) => new TextDecoder().decode(bytes.subarray(start, end)),
    };
    const numbers = new HeapKeyedStateBackend<unknown>({ ...all, keySerializer: lossy });
    const n = numbers.getOrCreateKeyedState(new ValueStateDescriptor<number>('n'));
    for (let k = 0; k < 50; k++) {
      numbers.setCurrentKey(k);
      n.update(k);
    }
    const lossySnapshot = await numbers.snapshot(1).write();
    const target = new HeapKeyedStateBackend<unknown>({ ...all, keySerializer: lossy });
    target.restore([lossySnapshot]);
    expectSluiceError(
      () => target.getOrCreateKeyedState(new ValueStateDescriptor<number>('n')),
      'SLUICE_CHECKPOINT_CORRUPT',
      'does not give back the keys',
    );
    expectSluiceError(
      () => new HeapKeyedStateBackend(all).restore([lossySnapshot]),
      'SLUICE_STATE_INVALID_ACCESS',
      'lossy v1',
    );
  });

  it('use the descriptor serializer, and refuse to read a state with another one', async () => {
    const b = new HeapKeyedStateBackend<string>(all);
    const v = b.getOrCreateKeyedState(
      new ValueStateDescriptor('v', { serializer: new JsonSerializer<number>() }),
    );
    b.setCurrentKey('k');
    v.update(42);
    const snapshot = await b.snapshot(1).write();
    expect(new TextDecoder().decode(snapshot.data)).toContain('json');
    const same = new HeapKeyedStateBackend<string>(all);
    same.restore([snapshot]);
    const v2 = same.getOrCreateKeyedState(
      new ValueStateDescriptor('v', { serializer: new JsonSerializer<number>() }),
    );
    same.setCurrentKey('k');
    expect(v2.value()).toBe(42);
    const other = new HeapKeyedStateBackend<string>(all);
    other.restore([snapshot]);
    expectSluiceError(
      () => other.getOrCreateKeyedState(new ValueStateDescriptor<number>('v')),
      'SLUICE_STATE_MIGRATION_FAILED',
      'json v1',
      'msgpack v1',
    );
    expectSluiceError(() => other.restore([snapshot]), 'SLUICE_INTERNAL_ASSERTION', 'at most once');
  });
});
