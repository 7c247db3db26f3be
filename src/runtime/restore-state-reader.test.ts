/** A task reads its own restore state: files read and verified from the checkpoint directory, typed errors naming checkpoint and file, its share of operator state. */
import { mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SluiceError } from '../core/errors.js';
import { newJobId, operatorId, type CheckpointId } from '../core/ids.js';
import { encodeListData, parseListData } from '../state/operator-state-snapshot.js';
import type { CheckpointStorageLocation } from '../storage/checkpoint-storage.js';
import { FileSystemCheckpointStorage } from '../storage/filesystem/file-system-checkpoint-storage.js';
import type { FileStateHandle, StreamStateHandle } from '../storage/state-handle.js';
import type { TaskRestoreState } from './checkpoint-gateway.js';
import { isInlineOnly, readRestoreState, restoredInline } from './restore-state-reader.js';

const OP = operatorId('abcdef0123456789abcdef0123456789');
const SERIALIZER = { name: 'msgpack', version: 1 };
const SUBTASK = { subtaskIndex: 1, parallelism: 2, taskName: 'counts (2/2)' };

let dir: string;
let storage: FileSystemCheckpointStorage;
let location: CheckpointStorageLocation;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-restore-reader-'));
  storage = new FileSystemCheckpointStorage({ dir, inlineThreshold: 16 });
  location = await storage.initializeCheckpoint(newJobId(), 4 as CheckpointId);
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const blob = (size: number, seed: number) =>
  Uint8Array.from({ length: size }, (_, i) => (i * 7 + seed) & 0xff);
const list = (...elements: string[]) =>
  encodeListData(
    SERIALIZER,
    elements.map((e) => new TextEncoder().encode(e)),
  );
const elements = (data: Uint8Array) =>
  parseListData(data, 'test').elements.map((e) => new TextDecoder().decode(e));

/** A restore of OP with one keyed file handle and split state of two old subtasks (files or inline). */
async function sampleRestore(): Promise<{ restore: TaskRestoreState; keyed: FileStateHandle }> {
  const keyed = (await storage.writeState(location, blob(5000, 1))) as FileStateHandle;
  expect(keyed.kind).toBe('file');
  const own = await storage.writeState(location, list('split-a', 'split-b', 'split-c'));
  const union = await storage.writeState(location, list('u'));
  return {
    keyed,
    restore: {
      checkpointId: 4,
      pointer: location.pointer,
      operators: new Map([
        [
          OP,
          {
            keyed: [{ keyGroupRange: { start: 64, end: 127 }, offsets: [0], handle: keyed }],
            operator: [
              [{ name: 'u', mode: 'UNION', handle: union }],
              [{ name: 'splits', mode: 'SPLIT_DISTRIBUTE', handle: own }],
            ],
          },
        ],
      ]),
    },
  };
}

describe('readRestoreState', () => {
  // Regression: a task whose chain held inline keyed state and, in another operator, state in a
  // file (a sink's pending committables past the inline threshold) restored the keyed state as
  // zero bytes: only file bases and deltas were read, so every restart failed "truncated".
  it('restores inline keyed state of a task that also has state in files', async () => {
    const { restore } = await sampleRestore();
    const inlineKeyed = await storage.writeState(location, blob(12, 3));
    expect(inlineKeyed.kind).toBe('inline');
    const KEYED = operatorId('0123456789abcdef0123456789abcdef');
    const withInline: TaskRestoreState = {
      ...restore,
      operators: new Map([
        ...restore.operators,
        [
          KEYED,
          {
            keyed: [{ keyGroupRange: { start: 64, end: 127 }, offsets: [0], handle: inlineKeyed }],
            operator: undefined,
          },
        ],
      ]),
    };
    expect(isInlineOnly(withInline)).toBe(false);
    const restored = await readRestoreState(withInline, SUBTASK);
    expect(Uint8Array.from(restored.get(KEYED)!.keyed[0]!.data)).toEqual(blob(12, 3));
    expect(Uint8Array.from(restored.get(OP)!.keyed[0]!.data)).toEqual(blob(5000, 1));
  });

  it('reads and verifies the files from the checkpoint directory and cuts the subtask’s operator state', async () => {
    const { restore } = await sampleRestore();
    expect(isInlineOnly(restore)).toBe(false);

    const restored = (await readRestoreState(restore, SUBTASK)).get(OP)!;

    expect(restored.keyed).toHaveLength(1);
    expect(restored.keyed[0]!.keyGroupRange).toEqual({ start: 64, end: 127 });
    expect(Uint8Array.from(restored.keyed[0]!.data)).toEqual(blob(5000, 1));
    const states = restored.operator!.states.map((s) => [s.name, s.mode, elements(s.data)]);
    expect(states).toEqual([
      ['u', 'UNION', ['u']],
      ['splits', 'SPLIT_DISTRIBUTE', ['split-a', 'split-b', 'split-c']],
    ]);
  });

  it('reads each file once, all at the same time', async () => {
    const { restore } = await sampleRestore();
    let inFlight = 0;
    let most = 0;
    const read = vi.fn(async (handle: StreamStateHandle, pointer: string) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await Promise.resolve();
      inFlight--;
      return storage.readState(handle, pointer);
    });
    await readRestoreState(restore, SUBTASK, read);
    expect(read).toHaveBeenCalledTimes(3);
    expect(most).toBe(3);
  });

  it('fails with SLUICE_RESTORE_STATE_UNREADABLE naming task, checkpoint and file when a file is corrupt', async () => {
    const { restore, keyed } = await sampleRestore();
    const path = join(location.pointer, keyed.path);
    const bytes = await readFile(path);
    bytes[100] = bytes[100]! ^ 0xff;
    await writeFile(path, bytes);

    const error: unknown = await readRestoreState(restore, SUBTASK).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(SluiceError);
    const e = error as SluiceError;
    expect(e.code).toBe('SLUICE_RESTORE_STATE_UNREADABLE');
    expect(e.message).toContain('counts (2/2)');
    expect(e.message).toContain(`checkpoint 4 (${location.pointer})`);
    expect(e.message).toContain(keyed.path);
    expect(e.message).toContain('checksum mismatch');
    expect((e.cause as SluiceError).code).toBe('SLUICE_CHECKPOINT_CORRUPT');
  });

  it('fails with SLUICE_RESTORE_STATE_UNREADABLE when a file is missing', async () => {
    const { restore, keyed } = await sampleRestore();
    await unlink(join(location.pointer, keyed.path));

    const error = (await readRestoreState(restore, SUBTASK).catch((e: unknown) => e)) as SluiceError;

    expect(error.code).toBe('SLUICE_RESTORE_STATE_UNREADABLE');
    expect(error.message).toContain('does not exist');
    expect((error.cause as SluiceError).code).toBe('SLUICE_CHECKPOINT_NOT_FOUND');
  });
});

describe('restoredInline', () => {
  it('restores inline-only state without I/O', () => {
    const restore: TaskRestoreState = {
      checkpointId: 2,
      pointer: 'jobmanager://job/chk-2',
      operators: new Map([
        [
          OP,
          {
            keyed: [
              {
                keyGroupRange: { start: 0, end: 0 },
                offsets: [0],
                handle: { kind: 'inline', data: blob(8, 3) },
              },
            ],
            operator: undefined,
          },
        ],
      ]),
    };
    expect(isInlineOnly(restore)).toBe(true);
    const restored = restoredInline(restore, SUBTASK).get(OP)!;
    expect(Uint8Array.from(restored.keyed[0]!.data)).toEqual(blob(8, 3));
    expect(restored.operator).toBeUndefined();
  });
});
