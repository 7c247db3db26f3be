/** Incremental LMDB snapshots: the shared incremental contract, plus what only the LMDB backend can get wrong. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HeapKeyedStateBackend } from '../heap/heap-keyed-state-backend.js';
import { keyedStateIncrementalContract } from '../keyed-state-incremental.contract.js';
import type { KeyedStateSnapshot } from '../keyed-state-snapshot.js';
import { ValueStateDescriptor } from '../state-descriptor.js';
import { LmdbKeyedStateBackend } from './lmdb-keyed-state-backend.js';

const localDir = mkdtempSync(join(tmpdir(), 'sluice-lmdb-incremental-'));
afterAll(() => rmSync(localDir, { recursive: true, force: true }));

keyedStateIncrementalContract(
  'LmdbKeyedStateBackend',
  (opts) => new LmdbKeyedStateBackend({ ...opts, localDir }),
);

describe('LmdbKeyedStateBackend incremental change tracking', () => {
  it('writes a new base, not a delta, once more keys changed than it tracks (also after that base aborts)', async () => {
    const all = { maxParallelism: 128, keyGroupRange: { start: 0, end: 127 } };
    const b = new LmdbKeyedStateBackend<number>({ ...all, localDir, incremental: {}, maxTrackedKeys: 10 });
    try {
      const v = b.getOrCreateKeyedState(new ValueStateDescriptor<number>('v'));
      const update = (keys: number, value: number) => {
        for (let k = 0; k < keys; k++) {
          b.setCurrentKey(k);
          v.update(value);
        }
      };
      let chain: KeyedStateSnapshot | undefined;
      const kinds: string[] = [];
      const checkpoint = async (id: number, complete: boolean) => {
        const run = b.snapshot(id);
        const written = await run.write();
        kinds.push(run.baseCheckpointId === undefined ? 'base' : 'delta');
        if (!complete) return;
        chain =
          run.baseCheckpointId === undefined
            ? written
            : {
                ...chain!,
                deltas: [...(chain!.deltas ?? []), { offsets: written.offsets, data: written.data }],
              };
        b.notifyCheckpointComplete(id);
      };
      update(100, 1);
      await checkpoint(1, true);
      update(10, 2); // as many as it tracks
      await checkpoint(2, true);
      update(11, 3); // one more
      await checkpoint(3, false); // a new base, aborted
      await checkpoint(4, true); // so this one is a base too
      update(5, 4);
      await checkpoint(5, true);
      expect(kinds).toEqual(['base', 'delta', 'base', 'base', 'delta']);
      const restored = new HeapKeyedStateBackend<number>(all);
      restored.restore([chain!]);
      const rv = restored.getOrCreateKeyedState(new ValueStateDescriptor<number>('v'));
      const values = [0, 5, 10, 11, 99].map((k) => {
        restored.setCurrentKey(k);
        return rv.value();
      });
      expect(values).toEqual([4, 3, 3, 1, 1]);
    } finally {
      b.dispose();
    }
  });
});
