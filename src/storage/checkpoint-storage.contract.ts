/** The contract every CheckpointStorage runs (as Flink's test bases and Hono's shared cases), so none drifts. */
import { afterEach, describe, expect, it } from 'vitest';
import { SluiceError, type ErrorCode } from '../core/errors.js';
import { newJobId, operatorId, type CheckpointId, type JobId } from '../core/ids.js';
import { METADATA_FORMAT_VERSION, encodeMetadata, type CheckpointMetadata } from './checkpoint-metadata.js';
import type { CheckpointStorage, CheckpointStorageLocation } from './checkpoint-storage.js';
import { stateSize, type FileStateHandle, type StateScope, type StreamStateHandle } from './state-handle.js';

/** Ways to damage stored files as the outside world would; only storages that write files have them. */
export interface StoredFiles {
  /** Flips one byte in the middle of a state file. */
  corrupt(handle: FileStateHandle, location: CheckpointStorageLocation): Promise<void>;
  /** Deletes a state file. */
  remove(handle: FileStateHandle, location: CheckpointStorageLocation): Promise<void>;
  /** Leaves a partly written `_metadata` temp file behind, as a crash before the rename would. */
  leaveHalfWrittenMetadata(location: CheckpointStorageLocation, partial: Uint8Array): Promise<void>;
}

/** One storage under test, built fresh for each test. */
export interface CheckpointStorageUnderTest {
  /** Uses the default inline threshold (20 KB) and state size limit (5 MB). */
  readonly storage: CheckpointStorage;
  /** Present when the storage writes state to files. */
  readonly files?: StoredFiles;
  /** Releases whatever the storage used (a temporary directory). */
  dispose(): Promise<void>;
}

const SMALL = 1_000; // below the 20 KB inline threshold
const LARGE = 64 * 1024; // above it, well below the 5 MB jobmanager limit
const SCOPES: readonly StateScope[] = ['exclusive', 'shared', 'task-owned'];

/** Deterministic, position-dependent bytes, so a misplaced or mixed-up read shows. */
export function testBytes(length: number, seed = 1): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (i * 31 + seed * 17 + (i >> 8)) & 0xff);
}

/** A document recording `handles` as operator states of subtask 0 of one operator. */
export function metadataFor(
  location: CheckpointStorageLocation,
  handles: readonly StreamStateHandle[] = [],
): CheckpointMetadata {
  return {
    formatVersion: METADATA_FORMAT_VERSION,
    jobId: location.jobId,
    checkpointId: location.checkpointId,
    triggerTimestamp: 1_700_000_000_000 + location.checkpointId,
    completionTimestamp: 1_700_000_000_100 + location.checkpointId,
    isSavepoint: false,
    operators: [
      {
        operatorId: operatorId('00000000000000000000000000000001'),
        uid: 'source',
        parallelism: 1,
        maxParallelism: 128,
        subtasks: [
          {
            subtask: 0,
            keyed: [],
            operator: handles.map((handle, i) => ({ name: `state-${i}`, mode: 'SPLIT_DISTRIBUTE', handle })),
            stats: { checkpointedSize: handles.reduce((sum, h) => sum + stateSize(h), 0) },
          },
        ],
      },
    ],
    masterStates: [],
  };
}

/** Awaits `promise` and checks that it rejects with a SluiceError of `code` whose message has every fragment. */
export async function expectSluiceRejection(
  promise: Promise<unknown>,
  code: ErrorCode,
  ...fragments: string[]
): Promise<SluiceError> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `expected ${code}`).toBeInstanceOf(SluiceError);
  const sluice = error as SluiceError;
  expect(sluice.code, sluice.message).toBe(code);
  for (const fragment of fragments) expect(sluice.message).toContain(fragment);
  return sluice;
}

/**
 * Checks two byte arrays are equal. Much faster than `toEqual` on large arrays, and on a mismatch
 * says where the first difference is rather than printing 64 KB.
 */
export function expectSameBytes(actual: Uint8Array, expected: Uint8Array): void {
  const a = Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength);
  if (a.equals(expected)) return;
  let at = 0;
  while (at < Math.min(a.length, expected.length) && a[at] === expected[at]) at++;
  expect.fail(`bytes differ: lengths ${a.length} and ${expected.length}, first difference at byte ${at}`);
}

const id = (n: number) => n as CheckpointId;

/** Defines the contract's describe/it blocks for the storage that `create` builds. */
export function checkpointStorageContract(
  name: string,
  create: () => Promise<CheckpointStorageUnderTest>,
  /** Whether the storage writes state to files (then the file-damage tests run too). */
  options: { readonly writesFiles: boolean },
): void {
  const itWithFiles = options.writesFiles ? it : () => {};
  describe(`${name} (checkpoint storage contract)`, () => {
    const open: CheckpointStorageUnderTest[] = [];
    afterEach(async () => {
      for (const subject of open.splice(0)) await subject.dispose();
    });
    async function subject(): Promise<CheckpointStorageUnderTest> {
      const s = await create();
      open.push(s);
      return s;
    }
    /** Initializes checkpoint `n` of `job`, writes `states` and finalizes it. */
    async function complete(storage: CheckpointStorage, job: JobId, n: number, states: Uint8Array[] = []) {
      const location = await storage.initializeCheckpoint(job, id(n));
      const handles = await Promise.all(states.map((s) => storage.writeState(location, s)));
      const metadata = metadataFor(location, handles);
      const completed = await storage.finalizeCheckpoint(location, metadata);
      return { location, handles, metadata, completed };
    }

    it('initializes a location naming the job and checkpoint', async () => {
      const { storage } = await subject();
      const job = newJobId();
      const location = await storage.initializeCheckpoint(job, id(3));
      expect(location).toMatchObject({ jobId: job, checkpointId: 3 });
      expect(location.pointer).toContain(job);
      expect(location.pointer).toContain('chk-3');
    });

    it('computes the location of a checkpoint without creating it, as a TaskManager does', async () => {
      const { storage } = await subject();
      const job = newJobId();
      const computed = storage.locationOf(job, id(4));
      expect(computed).toEqual(await storage.initializeCheckpoint(job, id(4)));
    });

    it('stores small state inline and reads it back', async () => {
      const { storage } = await subject();
      const location = await storage.initializeCheckpoint(newJobId(), id(1));
      for (const size of [0, 1, SMALL]) {
        const data = testBytes(size);
        const handle = await storage.writeState(location, data);
        expect(handle).toEqual({ kind: 'inline', data });
        expectSameBytes(await storage.readState(handle, location), data);
      }
    });

    it('stores large state in a file of each scope (inline where there are no files) and reads it back', async () => {
      const { storage, files } = await subject();
      const location = await storage.initializeCheckpoint(newJobId(), id(1));
      for (const [i, scope] of SCOPES.entries()) {
        const data = testBytes(LARGE, i);
        const handle = await storage.writeState(location, data, scope);
        expect(stateSize(handle)).toBe(LARGE);
        if (files === undefined) expect(handle.kind).toBe('inline');
        else expect(handle).toMatchObject({ kind: 'file', size: LARGE, scope });
        expectSameBytes(await storage.readState(handle, location), data);
        expectSameBytes(await storage.readState(handle, location.pointer), data);
      }
    });

    it('copies what it stores, so the caller may reuse its buffer', async () => {
      const { storage } = await subject();
      const location = await storage.initializeCheckpoint(newJobId(), id(1));
      for (const size of [SMALL, LARGE]) {
        const buffer = testBytes(size);
        const handle = await storage.writeState(location, buffer);
        buffer.fill(0);
        expectSameBytes(await storage.readState(handle, location), testBytes(size));
      }
    });

    it('writes many states concurrently', async () => {
      const { storage } = await subject();
      const location = await storage.initializeCheckpoint(newJobId(), id(1));
      const data = Array.from({ length: 24 }, (_, i) => testBytes(i % 2 === 0 ? SMALL + i : LARGE + i, i));
      const handles = await Promise.all(data.map((d, i) => storage.writeState(location, d, SCOPES[i % 3])));
      const read = await Promise.all(handles.map((h) => storage.readState(h, location)));
      read.forEach((r, i) => expectSameBytes(r, data[i]!));
    });

    it('resolves a finalized checkpoint to the same metadata, and its state reads back', async () => {
      const { storage } = await subject();
      const job = newJobId();
      const { metadata, completed, handles } = await complete(storage, job, 7, [
        testBytes(SMALL),
        testBytes(LARGE),
      ]);
      expect(completed.metadataSize).toBe(encodeMetadata(metadata).length);
      expect(typeof completed.externalPointer).toBe('string');
      const resolved = await storage.resolveCheckpoint(completed.pointer);
      expect(resolved.metadata).toEqual(metadata);
      expect(resolved.location).toMatchObject({ jobId: job, checkpointId: 7 });
      const restored = resolved.metadata.operators[0]!.subtasks[0]!.operator.map((o) => o.handle);
      expect(restored).toEqual(handles);
      expectSameBytes(await storage.readState(restored[1]!, resolved.location), testBytes(LARGE));
    });

    it('lists only completed checkpoints, oldest first, with pointers that resolve', async () => {
      const { storage } = await subject();
      const job = newJobId();
      expect(await storage.listCheckpoints(job)).toEqual([]);
      for (const n of [3, 1, 12]) await complete(storage, job, n);
      await storage.initializeCheckpoint(job, id(13)); // pending, never finalized
      const listed = await storage.listCheckpoints(job);
      expect(listed.map((l) => l.checkpointId)).toEqual([1, 3, 12]);
      for (const l of listed)
        expect((await storage.resolveCheckpoint(l.pointer)).metadata.checkpointId).toBe(l.checkpointId);
    });

    it('never resolves a checkpoint whose metadata was not finalized, even with a half-written one left behind', async () => {
      const { storage, files } = await subject();
      const job = newJobId();
      const location = await storage.initializeCheckpoint(job, id(4));
      const handle = await storage.writeState(location, testBytes(LARGE));
      const bytes = encodeMetadata(metadataFor(location, [handle]));
      await files?.leaveHalfWrittenMetadata(location, bytes.subarray(0, bytes.length >> 1));
      await expectSluiceRejection(storage.resolveCheckpoint(location.pointer), 'SLUICE_CHECKPOINT_NOT_FOUND');
      expect(await storage.listCheckpoints(job)).toEqual([]);
      // A leftover from a crashed attempt does not stand in the way of a later finalize.
      const completed = await storage.finalizeCheckpoint(location, metadataFor(location, [handle]));
      expect((await storage.resolveCheckpoint(completed.pointer)).metadata.checkpointId).toBe(4);
    });

    it('discards everything exclusive to a checkpoint, and nothing else', async () => {
      const { storage, files } = await subject();
      const job = newJobId();
      const kept = await complete(storage, job, 1, [testBytes(LARGE, 1)]);
      const location = await storage.initializeCheckpoint(job, id(2));
      const exclusive = await storage.writeState(location, testBytes(LARGE, 2));
      const shared = await storage.writeState(location, testBytes(LARGE, 3), 'shared');
      const completed = await storage.finalizeCheckpoint(
        location,
        metadataFor(location, [exclusive, shared]),
      );

      await storage.discardCheckpoint(completed.pointer);
      await storage.discardCheckpoint(location); // idempotent
      await expectSluiceRejection(
        storage.resolveCheckpoint(completed.pointer),
        'SLUICE_CHECKPOINT_NOT_FOUND',
      );
      expect((await storage.listCheckpoints(job)).map((l) => l.checkpointId)).toEqual([1]);
      if (files !== undefined)
        await expectSluiceRejection(storage.readState(exclusive, location), 'SLUICE_CHECKPOINT_NOT_FOUND');
      // Shared state belongs to the shared-state registry, not to one checkpoint.
      expectSameBytes(await storage.readState(shared, location), testBytes(LARGE, 3));
      const other = await storage.resolveCheckpoint(kept.completed.pointer);
      expectSameBytes(await storage.readState(kept.handles[0]!, other.location), testBytes(LARGE, 1));
    });

    it('deletes shared files the registry gives up, and only those', async () => {
      const { storage, files } = await subject();
      const job = newJobId();
      const location = await storage.initializeCheckpoint(job, id(1));
      const gone = await storage.writeState(location, testBytes(LARGE, 4), 'shared');
      const kept = await storage.writeState(location, testBytes(LARGE, 5), 'shared');
      if (gone.kind === 'file') {
        await storage.discardSharedState(location, [gone]);
        await storage.discardSharedState(location.pointer, [gone]); // idempotent
        await expectSluiceRejection(storage.readState(gone, location), 'SLUICE_CHECKPOINT_NOT_FOUND');
        await expect(storage.discardSharedState(location, [{ ...gone, scope: 'exclusive' }])).rejects.toThrow(
          /only files under shared/u,
        );
      } else expect(files).toBeUndefined();
      expectSameBytes(await storage.readState(kept, location), testBytes(LARGE, 5));
    });

    it('fails to finalize a checkpoint that was discarded meanwhile, and completes nothing', async () => {
      const { storage } = await subject();
      const job = newJobId();
      const location = await storage.initializeCheckpoint(job, id(5));
      const handle = await storage.writeState(location, testBytes(SMALL));
      await storage.discardCheckpoint(location);
      await expectSluiceRejection(
        storage.finalizeCheckpoint(location, metadataFor(location, [handle])),
        'SLUICE_CHECKPOINT_STORAGE_FAILED',
      );
      expect(await storage.listCheckpoints(job)).toEqual([]);
    });

    itWithFiles('detects corrupt and missing state files, naming the file', async () => {
      const { storage, files } = await subject();
      if (files === undefined) throw new Error('a storage that writes files must provide the files hooks');
      const location = await storage.initializeCheckpoint(newJobId(), id(1));
      const [a, b] = await Promise.all([
        storage.writeState(location, testBytes(LARGE, 1)),
        storage.writeState(location, testBytes(LARGE, 2), 'shared'),
      ]);
      if (a?.kind !== 'file' || b?.kind !== 'file') throw new Error('expected file handles');
      await files.corrupt(a, location);
      await expectSluiceRejection(
        storage.readState(a, location),
        'SLUICE_CHECKPOINT_CORRUPT',
        a.path,
        'checksum',
      );
      await expectSluiceRejection(
        storage.readState({ ...a, size: a.size + 1 }, location),
        'SLUICE_CHECKPOINT_CORRUPT',
        a.path,
        `${LARGE} bytes`,
      );
      await files.remove(b, location);
      await expectSluiceRejection(storage.readState(b, location), 'SLUICE_CHECKPOINT_NOT_FOUND', b.path);
    });

    itWithFiles(
      'checks a state file exists with its size without reading it: damage inside is left to readState',
      async () => {
        const { storage, files } = await subject();
        if (files === undefined) throw new Error('a storage that writes files must provide the files hooks');
        const location = await storage.initializeCheckpoint(newJobId(), id(1));
        const [a, b] = await Promise.all([
          storage.writeState(location, testBytes(LARGE, 1)),
          storage.writeState(location, testBytes(LARGE, 2), 'shared'),
        ]);
        if (a?.kind !== 'file' || b?.kind !== 'file') throw new Error('expected file handles');
        await storage.checkState(a, location);
        await storage.checkState(b, location.pointer);
        await storage.checkState({ kind: 'inline', data: testBytes(SMALL) }, location);
        await files.corrupt(a, location);
        await storage.checkState(a, location);
        await expectSluiceRejection(
          storage.checkState({ ...a, size: a.size + 1 }, location),
          'SLUICE_CHECKPOINT_CORRUPT',
          a.path,
          `${LARGE} bytes`,
        );
        await files.remove(b, location);
        await expectSluiceRejection(storage.checkState(b, location), 'SLUICE_CHECKPOINT_NOT_FOUND', b.path);
      },
    );

    it('keeps jobs apart', async () => {
      const { storage } = await subject();
      const [jobA, jobB] = [newJobId(), newJobId()];
      const a = await complete(storage, jobA, 1, [testBytes(LARGE, 1)]);
      const b = await complete(storage, jobB, 1, [testBytes(LARGE, 2)]);
      await storage.discardCheckpoint(a.completed.pointer);
      expect(await storage.listCheckpoints(jobA)).toEqual([]);
      const resolved = await storage.resolveCheckpoint(b.completed.pointer);
      expect(resolved.metadata.jobId).toBe(jobB);
      expectSameBytes(await storage.readState(b.handles[0]!, resolved.location), testBytes(LARGE, 2));
    });

    it('disposes a job: everything, or all but its completed checkpoints', async () => {
      const { storage } = await subject();
      const [gone, kept] = [newJobId(), newJobId()];
      for (const job of [gone, kept]) {
        await complete(storage, job, 1, [testBytes(LARGE)]);
        await complete(storage, job, 2);
      }
      const unfinished = await storage.initializeCheckpoint(kept, id(3));
      await storage.disposeJob(gone, { keepCheckpoints: false });
      await storage.disposeJob(kept, { keepCheckpoints: true });
      expect(await storage.listCheckpoints(gone)).toEqual([]);
      expect((await storage.listCheckpoints(kept)).map((l) => l.checkpointId)).toEqual([1, 2]);
      await expectSluiceRejection(
        storage.finalizeCheckpoint(unfinished, metadataFor(unfinished)),
        'SLUICE_CHECKPOINT_STORAGE_FAILED',
      );
      await storage.disposeJob(newJobId(), { keepCheckpoints: false }); // unknown job: nothing to do
    });

    it('never reuses or overwrites a completed checkpoint', async () => {
      const { storage } = await subject();
      const job = newJobId();
      const { location } = await complete(storage, job, 1);
      await expectSluiceRejection(
        storage.initializeCheckpoint(job, id(1)),
        'SLUICE_INTERNAL_ASSERTION',
        'never reused',
      );
      await expectSluiceRejection(
        storage.finalizeCheckpoint(location, metadataFor(location)),
        'SLUICE_INTERNAL_ASSERTION',
      );
    });

    it('only finalizes metadata of its own checkpoint', async () => {
      const { storage } = await subject();
      const location = await storage.initializeCheckpoint(newJobId(), id(1));
      await expectSluiceRejection(
        storage.finalizeCheckpoint(location, { ...metadataFor(location), checkpointId: id(2) }),
        'SLUICE_INTERNAL_ASSERTION',
      );
    });

    it('does not resolve a pointer to nothing', async () => {
      const { storage } = await subject();
      await expectSluiceRejection(
        storage.resolveCheckpoint('/definitely/not/here/chk-1'),
        'SLUICE_CHECKPOINT_NOT_FOUND',
        '/definitely/not/here/chk-1',
      );
    });
  });
}
