/**
 * `restore-1gb-lmdb` (issue 12 point 10): a task's restore of ~1 GB of keyed state into the lmdb
 * backend, against reading the same checkpoint file from this disk in the same run. The restore is
 * the path a task takes: read the handle from file-system checkpoint storage (size and CRC32C
 * verified, `openRestoreState`) while a fresh LMDB backend loads each key group as it arrives
 * (`restoreKeyedState`), until the file is verified and the backend can process records.
 */
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CheckpointId, JobId, OperatorId } from '../src/core/ids.js';
import { openRestoreState } from '../src/runtime/restore-state-reader.js';
import { restoreKeyedState } from '../src/state/restore-keyed-state.js';
import { LmdbKeyedStateBackend } from '../src/state/lmdb/lmdb-keyed-state-backend.js';
import { ValueStateDescriptor } from '../src/state/state-descriptor.js';
import {
  FileSystemCheckpointStorage,
  STATE_FILE_READ_PIECE_BYTES,
} from '../src/storage/filesystem/file-system-checkpoint-storage.js';
import { stateFilePath } from '../src/storage/filesystem/file-paths.js';
import type { StreamStateHandle } from '../src/storage/state-handle.js';
import type { ComparisonResult } from './harness.js';

const RANGE = { maxParallelism: 128, keyGroupRange: { start: 0, end: 127 } };
const OPERATOR = 'restore-bench' as OperatorId;
/** 250,000 keys of 4,000 bytes is 1 GB: a little under 1 GiB, so the snapshot's buffer does not double past it. */
const VALUE_BYTES = 4000;

const blob = new ValueStateDescriptor<Uint8Array>('blob');

/** The value of key `k`: every byte depends on the key, so a restore that mixes values up is caught. */
function valueOf(k: number, into: Uint8Array): Uint8Array {
  let x = (k * 2654435761) >>> 0;
  for (let i = 0; i < into.length; i += 4) {
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    into[i] = x;
    into[i + 1] = x >>> 8;
    into[i + 2] = x >>> 16;
    into[i + 3] = x >>> 24;
  }
  return into;
}

/** Builds `keys` keys of state in an lmdb backend and writes a full snapshot of it to `storage`. */
async function checkpointOf(
  keys: number,
  localDir: string,
  storage: FileSystemCheckpointStorage,
): Promise<{ handle: StreamStateHandle; offsets: readonly number[]; pointer: string }> {
  const backend = new LmdbKeyedStateBackend<number>({ ...RANGE, localDir });
  try {
    const state = backend.getOrCreateKeyedState(blob);
    const value = new Uint8Array(VALUE_BYTES);
    for (let k = 0; k < keys; k++) {
      backend.setCurrentKey(k);
      state.update(valueOf(k, value));
    }
    const location = await storage.initializeCheckpoint('bench-restore' as JobId, 1 as CheckpointId);
    const written = await backend.snapshot(1).write();
    const handle = await storage.writeState(location, written.data);
    return { handle, offsets: written.offsets, pointer: location.pointer };
  } finally {
    backend.dispose();
  }
}

/** One restore as a task does it; returns its duration in ms and the backend (to check, then dispose). */
async function restoreOnce(
  checkpoint: { handle: StreamStateHandle; offsets: readonly number[]; pointer: string },
  localDir: string,
): Promise<{ ms: number; backend: LmdbKeyedStateBackend<number> }> {
  const start = performance.now();
  const { restored, verified } = await openRestoreState(
    {
      checkpointId: 1,
      pointer: checkpoint.pointer,
      operators: new Map([
        [
          OPERATOR,
          {
            keyed: [
              { keyGroupRange: RANGE.keyGroupRange, offsets: checkpoint.offsets, handle: checkpoint.handle },
            ],
            operator: undefined,
          },
        ],
      ]),
    },
    { subtaskIndex: 0, parallelism: 1, taskName: 'restore-bench (1/1)' },
    undefined,
    // As a task with the lmdb backend: the file comes through a window of bounded size.
    { windowed: true },
  );
  const backend = new LmdbKeyedStateBackend<number>({ ...RANGE, localDir });
  // As a task: the file must check out, and the backend have loaded it.
  await Promise.all([verified, restoreKeyedState(backend, restored.get(OPERATOR)!.keyed)]);
  // Ready for records: the operator declares its state (checked against the restored one).
  backend.getOrCreateKeyedState(blob);
  return { ms: performance.now() - start, backend };
}

/**
 * Reads the file the way readFileState does (open, stat, reads of STATE_FILE_READ_PIECE_BYTES into
 * a buffer of its size, close), without checking it.
 */
async function readInPieces(path: string, size: number): Promise<number> {
  const start = performance.now();
  const file = await open(path, 'r');
  try {
    if ((await file.stat()).size !== size) throw new Error(`restore-1gb-lmdb: ${path} is not ${size} bytes`);
    const data = Buffer.allocUnsafe(size);
    for (let at = 0; at < size;) {
      const { bytesRead } = await file.read(data, at, Math.min(STATE_FILE_READ_PIECE_BYTES, size - at), at);
      if (bytesRead === 0) throw new Error(`restore-1gb-lmdb: ${path} ended after ${at} bytes`);
      at += bytesRead;
    }
  } finally {
    await file.close();
  }
  return performance.now() - start;
}

/** Node's own way to read a whole file, so the baseline is not slowed by how Sluice reads. */
async function readWhole(path: string, size: number): Promise<number> {
  const start = performance.now();
  const data = await readFile(path);
  if (data.length !== size) throw new Error(`restore-1gb-lmdb: read ${data.length} bytes, expected ${size}`);
  return performance.now() - start;
}

/** Checks every key is back with its own value (untimed). */
function verify(backend: LmdbKeyedStateBackend<number>, keys: number): void {
  const state = backend.getOrCreateKeyedState(blob);
  const expected = new Uint8Array(VALUE_BYTES);
  const n = backend.numKeys('blob');
  if (n !== keys) throw new Error(`restore-1gb-lmdb: restored ${n} keys, expected ${keys}`);
  for (let k = 0; k < keys; k += Math.max(1, Math.floor(keys / 997))) {
    backend.setCurrentKey(k);
    const actual = state.value();
    valueOf(k, expected);
    if (actual === undefined || Buffer.compare(Buffer.from(actual), Buffer.from(expected)) !== 0)
      throw new Error(`restore-1gb-lmdb: key ${k} restored with a wrong value`);
  }
}

/** The figure over `stateBytes` of values (4,000 bytes per key), `repetitions` samples of each side. */
export async function restoreLmdb(
  stateBytes: number,
  repetitions: number,
): Promise<{ results: ComparisonResult[]; lines: string[] }> {
  const keys = Math.max(1, Math.round(stateBytes / VALUE_BYTES));
  const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-restore-'));
  try {
    const storage = new FileSystemCheckpointStorage({ dir: join(dir, 'checkpoints'), inlineThreshold: 0 });
    const localDir = join(dir, 'lmdb');
    const buildStart = performance.now();
    const checkpoint = await checkpointOf(keys, localDir, storage);
    const buildMs = performance.now() - buildStart;
    const { handle } = checkpoint;
    if (handle.kind !== 'file') throw new Error('restore-1gb-lmdb: the snapshot was inlined');
    const path = stateFilePath(handle, checkpoint.pointer);
    // Warm-up, untimed: JIT, and the file in the page cache for both sides alike.
    await readInPieces(path, handle.size);
    await readWhole(path, handle.size);
    const warm = await restoreOnce(checkpoint, localDir);
    verify(warm.backend, keys);
    warm.backend.dispose();
    const restores: number[] = [];
    const inPieces: number[] = [];
    const whole: number[] = [];
    for (let i = 0; i < repetitions; i++) {
      // Alternated, so noise from other tenants hits both alike.
      inPieces.push(await readInPieces(path, handle.size));
      whole.push(await readWhole(path, handle.size));
      const { ms, backend } = await restoreOnce(checkpoint, localDir);
      restores.push(ms);
      backend.dispose();
    }
    const reads = inPieces.map((ms, i) => Math.min(ms, whole[i]!));
    const value = Math.min(...restores);
    const baseline = Math.min(...reads);
    const size = `${(handle.size / 1e9).toFixed(2)} GB`;
    return {
      results: [
        {
          name: 'restore-1gb-lmdb',
          description: `lmdb backend: a task's restore of ${size} of keyed state (${keys.toLocaleString('en')} keys of ${VALUE_BYTES} bytes): read + CRC32C check + load into LMDB`,
          baselineDescription: `reading the same ${size} checkpoint file from this disk, unchecked: the faster of the restore's way and readFile`,
          unit: 'ms',
          goal: 2,
          goalOf: 'ratio-at-most',
          value,
          baseline,
          ratio: value / baseline,
          subjectSamples: restores,
          baselineSamples: reads,
        },
      ],
      lines: [
        `  (reads, best: in the restore's 512 KiB pieces ${Math.min(...inPieces).toFixed(0)} ms, readFile ${Math.min(...whole).toFixed(0)} ms)`,
        `  (state built and checkpointed in ${(buildMs / 1000).toFixed(1)} s; checkpoint file ${size})`,
      ],
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
