/**
 * `incremental-vs-full-1pct` and `…-lmdb` (issue 12 point 10): 1 M keys of which 1 % change per
 * checkpoint interval; the size and the duration of an incremental checkpoint (a delta) against a
 * full one of the same state, on the hashmap or the lmdb backend. A checkpoint here is what a keyed subtask does for it: the synchronous phase,
 * the asynchronous phase (serialize), and the write of the blob to file-system checkpoint storage
 * (fsynced), with nothing inlined.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CheckpointId, JobId } from '../src/core/ids.js';
import { HeapKeyedStateBackend } from '../src/state/heap/heap-keyed-state-backend.js';
import type { KeyedStateBackend } from '../src/state/keyed-state-backend.js';
import { LmdbKeyedStateBackend } from '../src/state/lmdb/lmdb-keyed-state-backend.js';
import { ValueStateDescriptor } from '../src/state/state-descriptor.js';
import type { ValueState } from '../src/state/state.js';
import { FileSystemCheckpointStorage } from '../src/storage/filesystem/file-system-checkpoint-storage.js';
import { stateSize } from '../src/storage/state-handle.js';
import type { ComparisonResult } from './harness.js';

const RANGE = { maxParallelism: 128, keyGroupRange: { start: 0, end: 127 } };

interface Counter {
  n: number;
  last: number;
}

interface Measured {
  readonly bytes: number;
  readonly ms: number;
  readonly delta: boolean;
}

/** The backends measured: the same figures for each. */
export type BenchBackend = 'hashmap' | 'lmdb';

/** A backend with `keys` keys of a small object each, and a checkpoint function over `storage`. */
function subject(
  keys: number,
  incremental: boolean,
  storage: FileSystemCheckpointStorage,
  job: JobId,
  kind: BenchBackend,
  localDir: string,
) {
  const options = {
    ...RANGE,
    ...(incremental ? { incremental: { maxChainLength: 1000, maxDeltaRatio: 1 } } : {}),
  };
  const backend: KeyedStateBackend<number> =
    kind === 'hashmap'
      ? new HeapKeyedStateBackend<number>(options)
      : new LmdbKeyedStateBackend<number>({ ...options, localDir });
  const state: ValueState<Counter> = backend.getOrCreateKeyedState(
    new ValueStateDescriptor<Counter>('counter'),
  );
  for (let k = 0; k < keys; k++) {
    backend.setCurrentKey(k);
    state.update({ n: 0, last: k });
  }
  let next = 1;
  return {
    /** Changes `count` keys, the same ones for both backends (a deterministic walk). */
    change(from: number, count: number): void {
      for (let i = 0; i < count; i++) {
        const k = ((from + i) * 7919) % keys;
        backend.setCurrentKey(k);
        const c = state.value()!;
        c.n += 1;
        c.last = from;
        state.update(c);
      }
    },
    async checkpoint(): Promise<Measured> {
      const id = next++ as CheckpointId;
      const location = await storage.initializeCheckpoint(job, id);
      const start = performance.now();
      const run = backend.snapshot(id);
      const written = await run.write();
      const handle = await storage.writeState(location, written.data, incremental ? 'shared' : 'exclusive');
      const ms = performance.now() - start;
      backend.notifyCheckpointComplete?.(id);
      return { bytes: stateSize(handle), ms, delta: run.baseCheckpointId !== undefined };
    },
    dispose: () => backend.dispose(),
  };
}

/** The two figures; `keys` keys, `intervals` checkpoints after the first, 1 % of the keys changed before each. */
export async function incrementalVsFull(
  keys: number,
  intervals: number,
  kind: BenchBackend = 'hashmap',
): Promise<{ results: ComparisonResult[]; lines: string[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-incremental-'));
  const name = kind === 'hashmap' ? 'incremental-vs-full-1pct' : `incremental-vs-full-1pct-${kind}`;
  try {
    const storage = new FileSystemCheckpointStorage({ dir: join(dir, 'checkpoints'), inlineThreshold: 0 });
    const localDir = join(dir, 'local');
    await mkdir(localDir);
    const full = subject(keys, false, storage, 'bench-full' as JobId, kind, localDir);
    const incremental = subject(keys, true, storage, 'bench-incremental' as JobId, kind, localDir);
    const changed = Math.max(1, Math.round(keys / 100));
    // First checkpoints: JIT warm-up, and the incremental chain's base.
    const base = await incremental.checkpoint();
    await full.checkpoint();
    const fulls: Measured[] = [];
    const deltas: Measured[] = [];
    for (let i = 0; i < intervals; i++) {
      full.change(i * changed, changed);
      incremental.change(i * changed, changed);
      // Alternated, so noise from other tenants hits both alike.
      fulls.push(await full.checkpoint());
      deltas.push(await incremental.checkpoint());
    }
    full.dispose();
    incremental.dispose();
    if (base.delta || deltas.some((d) => !d.delta) || fulls.some((f) => f.delta))
      throw new Error(`${name}: expected one base, then deltas only, and full checkpoints only`);
    const bestDelta = Math.min(...deltas.map((d) => d.bytes));
    const bestFull = Math.min(...fulls.map((f) => f.bytes));
    const fastDelta = Math.min(...deltas.map((d) => d.ms));
    const fastFull = Math.min(...fulls.map((f) => f.ms));
    const what = `${keys.toLocaleString('en')} keys, ${changed.toLocaleString('en')} changed per interval`;
    const results: ComparisonResult[] = [
      {
        name,
        description: `${kind} backend, size of an incremental checkpoint (the delta), ${what}`,
        baselineDescription: 'a full checkpoint of the same state',
        unit: 'bytes',
        goal: 0.05,
        goalOf: 'ratio-at-most',
        value: bestDelta,
        baseline: bestFull,
        ratio: bestDelta / bestFull,
        subjectSamples: deltas.map((d) => d.bytes),
        baselineSamples: fulls.map((f) => f.bytes),
      },
      {
        name: `${name}-duration`,
        description: `${kind} backend, duration of an incremental checkpoint (sync + async + fsynced write), ${what}`,
        baselineDescription: 'a full checkpoint of the same state',
        unit: 'ms',
        goal: undefined,
        value: fastDelta,
        baseline: fastFull,
        ratio: fastDelta / fastFull,
        subjectSamples: deltas.map((d) => d.ms),
        baselineSamples: fulls.map((f) => f.ms),
      },
    ];
    const lines = [
      `  (incremental base ${(base.bytes / 2 ** 20).toFixed(1)} MiB in ${base.ms.toFixed(0)} ms; ${intervals} intervals)`,
    ];
    return { results, lines };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
