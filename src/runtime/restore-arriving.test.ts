/**
 * A task's keyed state loads while its file is still being read (openRestoreState + the lmdb
 * backend's restoreArriving): the same state as a restore after the read, loading before the read
 * ends, and a corrupt file failing the restore with the file's error, never with what parsing its
 * unverified bytes ran into.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SluiceError } from '../core/errors.js';
import { newJobId, operatorId, type CheckpointId } from '../core/ids.js';
import { HeapKeyedStateBackend } from '../state/heap/heap-keyed-state-backend.js';
import type { KeyedStateBackend } from '../state/keyed-state-backend.js';
import { LmdbKeyedStateBackend } from '../state/lmdb/lmdb-keyed-state-backend.js';
import { LmdbRestoreLoader } from '../state/lmdb/lmdb-restore.js';
import { LmdbStore } from '../state/lmdb/lmdb-store.js';
import { restoreKeyedState } from '../state/restore-keyed-state.js';
import { MapStateDescriptor, ValueStateDescriptor } from '../state/state-descriptor.js';
import type { CheckpointStorageLocation } from '../storage/checkpoint-storage.js';
import {
  FileSystemCheckpointStorage,
  readFileState,
  STATE_FILE_READ_PIECE_BYTES,
  type StateReadProgress,
} from '../storage/filesystem/file-system-checkpoint-storage.js';
import { stateFilePath } from '../storage/filesystem/file-paths.js';
import type { FileStateHandle } from '../storage/state-handle.js';
import { ArrivingState } from './arriving-state.js';
import type { TaskRestoreState } from './checkpoint-gateway.js';
import { openRestoreState, readRestoreState, type StateHandleReader } from './restore-state-reader.js';

const OP = operatorId('0123456789abcdef0123456789abcdef');
const SUBTASK = { subtaskIndex: 0, parallelism: 1, taskName: 'counts (1/1)' };
const RANGE = { maxParallelism: 128, keyGroupRange: { start: 0, end: 127 } };
const KEYS = 2000;

const count = new ValueStateDescriptor<number>('count');
const tags = new MapStateDescriptor<string, string>('tags');

let dir: string;
let storage: FileSystemCheckpointStorage;
let location: CheckpointStorageLocation;
const backends: KeyedStateBackend<number>[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-restore-arriving-'));
  storage = new FileSystemCheckpointStorage({ dir: join(dir, 'checkpoints'), inlineThreshold: 0 });
  location = await storage.initializeCheckpoint(newJobId(), 3 as CheckpointId);
});

afterEach(async () => {
  for (const b of backends.splice(0)) b.dispose();
  vi.restoreAllMocks();
  await rm(dir, { recursive: true, force: true });
});

function lmdbBackend(): LmdbKeyedStateBackend<number> {
  const b = new LmdbKeyedStateBackend<number>({ ...RANGE, localDir: join(dir, 'lmdb') });
  backends.push(b);
  return b;
}

/**
 * A checkpoint of `keys` keys in two states and a timer per tenth key, written as one state file
 * (`pad`: characters added to each key's tag, to make the file larger).
 */
async function checkpoint(
  keys = KEYS,
  pad = 0,
): Promise<{ restore: TaskRestoreState; handle: FileStateHandle }> {
  const b = lmdbBackend();
  const c = b.getOrCreateKeyedState(count);
  const t = b.getOrCreateKeyedState(tags);
  const timers = b.getOrCreateTimerQueue('timers');
  for (let k = 0; k < keys; k++) {
    b.setCurrentKey(k);
    c.update(k * 3);
    t.put('name', `key-${k}`.repeat(1 + (k % 5)) + '.'.repeat(pad));
    if (k % 10 === 0) timers.add(k, 1000 + k);
  }
  const written = await b.snapshot(3).write();
  const handle = (await storage.writeState(location, written.data)) as FileStateHandle;
  expect(handle.kind).toBe('file');
  const restore: TaskRestoreState = {
    checkpointId: 3,
    pointer: location.pointer,
    operators: new Map([
      [
        OP,
        {
          keyed: [{ keyGroupRange: RANGE.keyGroupRange, offsets: written.offsets, handle }],
          operator: undefined,
        },
      ],
    ]),
  };
  return { restore, handle };
}

/** Every key's values in `b`, and its timers, for comparing two restores. */
function contents(b: KeyedStateBackend<number>, keys = KEYS): unknown[] {
  const c = b.getOrCreateKeyedState(count);
  const t = b.getOrCreateKeyedState(tags);
  const out: unknown[] = [];
  for (let k = 0; k < keys; k++) {
    b.setCurrentKey(k);
    out.push([k, c.value(), t.get('name')]);
  }
  const timers: unknown[] = [];
  const queue = b.getOrCreateTimerQueue('timers');
  for (let timer = queue.poll(); timer !== undefined; timer = queue.poll())
    timers.push([timer.key, timer.timestamp]);
  out.push(timers);
  return out;
}

/** Restores `backend` as a task does: loading while reading, then the file's verification. */
async function restoreAsTask(
  restore: TaskRestoreState,
  backend: KeyedStateBackend<number>,
  read?: StateHandleReader,
  options?: { windowed: boolean; windowBytes?: number },
): Promise<void> {
  const { restored, verified } = await openRestoreState(restore, SUBTASK, read, options);
  const [files, load] = await Promise.allSettled([
    verified,
    restoreKeyedState(backend as KeyedStateBackend<unknown>, restored.get(OP)!.keyed),
  ]);
  if (files.status === 'rejected') throw files.reason;
  if (load.status === 'rejected') throw load.reason;
}

async function flipByte(handle: FileStateHandle, at: (size: number) => number): Promise<void> {
  const path = stateFilePath(handle, location.pointer);
  const bytes = await readFile(path);
  bytes[at(bytes.length)]! ^= 0xff;
  await writeFile(path, bytes);
}

describe('restoring keyed state while it is read', () => {
  it('restores the same state and timers as a restore after the whole read, on both backends', async () => {
    const { restore } = await checkpoint();
    const afterRead = lmdbBackend();
    afterRead.restore((await readRestoreState(restore, SUBTASK)).get(OP)!.keyed);
    const expected = contents(afterRead);
    expect(expected[1]).toEqual([1, 3, 'key-1key-1']);

    const arriving = lmdbBackend();
    await restoreAsTask(restore, arriving);
    expect(contents(arriving)).toEqual(expected);

    // The heap backend cannot load while reading: it restores once the file is verified.
    const heap = new HeapKeyedStateBackend<number>(RANGE);
    backends.push(heap);
    await restoreAsTask(restore, heap);
    expect(contents(heap)).toEqual(expected);
  });

  it('loads key groups before the file is read to its end', async () => {
    const { restore, handle } = await checkpoint();
    const bytes = await readFile(stateFilePath(handle, location.pointer));
    let release!: () => void;
    const rest = new Promise<void>((resolve) => (release = resolve));
    // A reader that delivers the first half of the file, then holds the rest back.
    const halfThenWait: StateHandleReader = async (h, pointer, progress) => {
      expect(progress).toBeDefined();
      const whole = progress as StateReadProgress;
      whole.into.set(bytes);
      whole.read(bytes.length >> 1);
      await rest;
      whole.read(bytes.length);
      return readFileState(h, pointer);
    };
    const adds = vi.spyOn(LmdbRestoreLoader.prototype, 'add');
    const backend = lmdbBackend();
    const restoring = restoreAsTask(restore, backend, halfThenWait);
    // Blocks of many key groups were loaded while the rest of the file was not read yet.
    const deadline = Date.now() + 30_000;
    while (adds.mock.calls.length < 40 && Date.now() < deadline)
      await new Promise((resolve) => setImmediate(resolve));
    expect(adds.mock.calls.length).toBeGreaterThanOrEqual(40);
    const loadedBeforeTheEnd = adds.mock.calls.length;
    release();
    await restoring;
    expect(adds.mock.calls.length).toBeGreaterThan(loadedBeforeTheEnd);
    backend.getOrCreateKeyedState(count);
    expect(backend.numKeys('count')).toBe(KEYS);
  });

  it('fails with the file’s checksum error when a value byte is corrupt, having loaded unverified bytes', async () => {
    const { restore, handle } = await checkpoint();
    await flipByte(handle, (size) => size - 10);
    const error = await restoreAsTask(restore, lmdbBackend()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SluiceError);
    expect((error as SluiceError).code).toBe('SLUICE_RESTORE_STATE_UNREADABLE');
    expect((error as Error).message).toMatch(/checksum mismatch/);
    expect((error as Error).message).toContain(handle.path);
  });

  it('fails with the file’s error, not the parse error, when the corrupt bytes cannot even be parsed', async () => {
    const { restore, handle } = await checkpoint();
    // The first key group's section header: parsing fails long before the checksum is known.
    const offsets = restore.operators.get(OP)!.keyed[0]!.offsets;
    await flipByte(handle, () => offsets[0]! + 1);
    const backend = lmdbBackend();
    const { restored } = await openRestoreState(restore, SUBTASK);
    const error = await backend.restoreArriving(restored.get(OP)!.keyed).catch((e: unknown) => e);
    expect((error as SluiceError).code).toBe('SLUICE_RESTORE_STATE_UNREADABLE');
    expect((error as Error).message).toMatch(/checksum mismatch/);
  });

  it('fails when the file is shorter than its handle says, naming the file', async () => {
    const { restore, handle } = await checkpoint();
    const path = stateFilePath(handle, location.pointer);
    await writeFile(path, (await readFile(path)).subarray(0, handle.size - 1));
    const error = await restoreAsTask(restore, lmdbBackend()).catch((e: unknown) => e);
    expect((error as SluiceError).code).toBe('SLUICE_RESTORE_STATE_UNREADABLE');
    expect((error as Error).message).toContain(handle.path);
  });

  it('stops loading, without an error, when the backend is disposed while the file arrives', async () => {
    const { restore } = await checkpoint();
    const backend = lmdbBackend();
    const { restored, verified } = await openRestoreState(restore, SUBTASK);
    const restoring = backend.restoreArriving(restored.get(OP)!.keyed);
    backend.dispose();
    await expect(restoring).resolves.toBeUndefined();
    await verified;
  });
});

describe('restoring keyed state read through a window smaller than its file', () => {
  /** Three read pieces: the 3 MiB file wraps around it twice. */
  const windowed = { windowed: true, windowBytes: 3 * STATE_FILE_READ_PIECE_BYTES };
  const BIG = 9_000;

  it('restores the same state and timers as a restore after the whole read', async () => {
    const { restore, handle } = await checkpoint(BIG, 300);
    expect(handle.size).toBeGreaterThan(2 * windowed.windowBytes);
    const afterRead = lmdbBackend();
    afterRead.restore((await readRestoreState(restore, SUBTASK)).get(OP)!.keyed);
    const expected = contents(afterRead, BIG);

    const window = lmdbBackend();
    await restoreAsTask(restore, window, undefined, windowed);
    expect(contents(window, BIG)).toEqual(expected);
  });

  it('lets the reader reuse a batch’s bytes only once the store has loaded them', async () => {
    const { restore } = await checkpoint(BIG, 1200);
    const afterRead = lmdbBackend();
    afterRead.restore((await readRestoreState(restore, SUBTASK)).get(OP)!.keyed);
    // Entries of over 512 bytes on average, which the store's write thread loads. It falls behind
    // here: it reads a batch's bytes only after the reader has had time to fill whatever the
    // restorer released, so bytes released early are overwritten.
    const loads = vi.spyOn(LmdbStore.prototype, 'loadAsync').mockImplementation(function (
      this: LmdbStore,
      write,
    ) {
      return new Promise<void>((resolve) => setTimeout(resolve, 10)).then(() => this.load(write));
    });
    const slow = lmdbBackend();
    await restoreAsTask(restore, slow, undefined, windowed);
    expect(loads.mock.calls.length).toBeGreaterThan(2);
    expect(contents(slow, BIG)).toEqual(contents(afterRead, BIG));
  });

  it('loads small entries itself, without a record per put on the heap until the write thread commits', async () => {
    const { restore } = await checkpoint(BIG);
    const loads = vi.spyOn(LmdbStore.prototype, 'loadAsync');
    const small = lmdbBackend();
    await restoreAsTask(restore, small, undefined, windowed);
    expect(loads).not.toHaveBeenCalled();
    const afterRead = lmdbBackend();
    afterRead.restore((await readRestoreState(restore, SUBTASK)).get(OP)!.keyed);
    expect(contents(small, BIG)).toEqual(contents(afterRead, BIG));
  });

  it('restores from a reader that returns the whole file instead (a task-local copy)', async () => {
    const { restore, handle } = await checkpoint(BIG, 300);
    const bytes = await readFile(stateFilePath(handle, location.pointer));
    const afterRead = lmdbBackend();
    afterRead.restore((await readRestoreState(restore, SUBTASK)).get(OP)!.keyed);
    const local = lmdbBackend();
    await restoreAsTask(restore, local, () => Promise.resolve(bytes), windowed);
    expect(contents(local, BIG)).toEqual(contents(afterRead, BIG));
  });

  it('fails with the file’s checksum error when a byte near the end is corrupt', async () => {
    const { restore, handle } = await checkpoint(BIG, 300);
    await flipByte(handle, (size) => size - 10);
    const error = await restoreAsTask(restore, lmdbBackend(), undefined, windowed).catch((e: unknown) => e);
    expect((error as SluiceError).code).toBe('SLUICE_RESTORE_STATE_UNREADABLE');
    expect((error as Error).message).toMatch(/checksum mismatch/);
  });

  it('fails with the file’s error when a section cannot be parsed, reading the rest of the file to say so', async () => {
    const { restore, handle } = await checkpoint(BIG, 300);
    const offsets = restore.operators.get(OP)!.keyed[0]!.offsets;
    await flipByte(handle, () => offsets[3]! + 1);
    const error = await restoreAsTask(restore, lmdbBackend(), undefined, windowed).catch((e: unknown) => e);
    expect((error as SluiceError).code).toBe('SLUICE_RESTORE_STATE_UNREADABLE');
    expect((error as Error).message).toMatch(/checksum mismatch/);
  });

  it('stops loading when the backend is disposed, and the file is still read to its end and verified', async () => {
    const { restore } = await checkpoint(BIG, 300);
    const backend = lmdbBackend();
    const { restored, verified } = await openRestoreState(restore, SUBTASK, undefined, windowed);
    const restoring = backend.restoreArriving(restored.get(OP)!.keyed);
    backend.dispose();
    await expect(restoring).resolves.toBeUndefined();
    await verified;
  });
});

describe('ArrivingState', () => {
  it('resolves each wait once its bytes are read, in any order asked, and rejects them all on failure', async () => {
    const a = new ArrivingState(100);
    const order: number[] = [];
    const waits = [60, 10, 100, 30].map((end) => a.until(end).then(() => order.push(end)));
    a.read(30);
    await Promise.resolve();
    await Promise.resolve();
    expect(order).toEqual([10, 30]);
    a.read(60);
    await Promise.all(waits.slice(0, 2).concat(waits[3]!));
    expect(order).toEqual([10, 30, 60]);
    const late = a.until(90);
    a.fail(new Error('gone'));
    await expect(late).rejects.toThrow('gone');
    await expect(waits[2]).rejects.toThrow('gone');
    await expect(a.verified).rejects.toThrow('gone');
    await expect(a.until(1)).rejects.toThrow('gone');
  });

  it('resolves every wait and its verification on completion', async () => {
    const a = new ArrivingState(8);
    const wait = a.until(8);
    a.complete();
    await expect(wait).resolves.toBeUndefined();
    await expect(a.verified).resolves.toBeUndefined();
  });
});

describe('readFileState with progress', () => {
  it('reads into the given buffer, reporting every piece in order, and verifies the whole', async () => {
    const data = Uint8Array.from({ length: 3 * 2 ** 20 + 17 }, (_, i) => (i * 31) & 0xff);
    const handle = (await storage.writeState(location, data)) as FileStateHandle;
    const into = Buffer.alloc(data.length);
    const seen: number[] = [];
    const bytes = await readFileState(handle, location, { into, read: (upTo) => seen.push(upTo) });
    expect(bytes).toBe(into);
    expect(Buffer.compare(into, Buffer.from(data))).toBe(0);
    expect(seen.length).toBeGreaterThan(1);
    expect(seen).toEqual([...seen].sort((x, y) => x - y));
    expect(seen.at(-1)).toBe(data.length);
  });
});
