/**
 * Keyed state get+update throughput per backend (issue 12 point 10): `value()` then `update()`
 * of a ValueState for every key of `keys` keys, against a plain Map's get+set of the same values.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeapKeyedStateBackend } from '../src/state/heap/heap-keyed-state-backend.js';
import type { KeyedStateBackend } from '../src/state/keyed-state-backend.js';
import { LmdbKeyedStateBackend } from '../src/state/lmdb/lmdb-keyed-state-backend.js';
import { ValueStateDescriptor } from '../src/state/state-descriptor.js';
import { expectCount, type Comparison } from './harness.js';

const RANGE = { maxParallelism: 128, keyGroupRange: { start: 0, end: 127 } };

/** One pass: every key's count read and incremented through the backend's ValueState. */
function stateOps(backend: KeyedStateBackend<number>, keys: number): () => number {
  const count = backend.getOrCreateKeyedState(new ValueStateDescriptor<number>('count', { defaultValue: 0 }));
  let passes = 0;
  return () => {
    passes++;
    for (let k = 0; k < keys; k++) {
      backend.setCurrentKey(k);
      count.update(count.value()! + 1);
    }
    backend.setCurrentKey(keys - 1);
    expectCount('state-ops last key', count.value()!, passes);
    return keys;
  };
}

/** The same reads and writes on a plain Map. */
function mapOps(keys: number): () => number {
  const map = new Map<number, number>();
  let passes = 0;
  return () => {
    passes++;
    for (let k = 0; k < keys; k++) map.set(k, (map.get(k) ?? 0) + 1);
    expectCount('state-ops baseline last key', map.get(keys - 1)!, passes);
    return keys;
  };
}

/** `state-ops-hashmap` and `state-ops-lmdb` over `keys` keys. */
export function stateOps1m(keys: number): Comparison[] {
  const heap = new HeapKeyedStateBackend<number>(RANGE);
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-lmdb-'));
  const lmdb = new LmdbKeyedStateBackend<number>({ ...RANGE, localDir: dir });
  const baselineDescription = `plain Map get+set of a number per key, ${keys} keys`;
  return [
    {
      name: 'state-ops-hashmap',
      description: `hashmap backend: ValueState value()+update() per key, ${keys} keys`,
      baselineDescription,
      subject: stateOps(heap, keys),
      baseline: mapOps(keys),
      // The issue sets no goal for these figures: they are tracked, not judged.
      goal: null,
      close: () => Promise.resolve(heap.dispose()),
    },
    {
      name: 'state-ops-lmdb',
      description: `lmdb backend: ValueState value()+update() per key, ${keys} keys`,
      baselineDescription,
      subject: stateOps(lmdb, keys),
      baseline: mapOps(keys),
      // On-disk state is expected far below a Map: the figure tracks it; the issue sets no goal.
      goal: null,
      close: () => {
        lmdb.dispose();
        rmSync(dir, { recursive: true, force: true });
        return Promise.resolve();
      },
    },
  ];
}
