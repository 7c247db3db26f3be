/** Runs the checkpoint storage contract against jobmanager (in-memory) storage, plus its limits. */
import { describe, expect, it } from 'vitest';
import { newJobId, type CheckpointId } from '../../core/ids.js';
import {
  checkpointStorageContract,
  expectSluiceRejection,
  metadataFor,
  testBytes,
} from '../checkpoint-storage.contract.js';
import { NOT_EXTERNALLY_ADDRESSABLE } from '../checkpoint-storage.js';
import { DEFAULT_MAX_STATE_SIZE, JobManagerCheckpointStorage } from './job-manager-checkpoint-storage.js';

checkpointStorageContract(
  'JobManagerCheckpointStorage',
  () => Promise.resolve({ storage: new JobManagerCheckpointStorage(), dispose: () => Promise.resolve() }),
  { writesFiles: false },
);

describe('JobManagerCheckpointStorage', () => {
  it('allows state up to 5 MB per handle by default', async () => {
    const storage = new JobManagerCheckpointStorage();
    expect(storage.maxStateSize).toBe(5 * 1024 * 1024);
    const location = await storage.initializeCheckpoint(newJobId(), 1 as CheckpointId);
    const handle = await storage.writeState(location, new Uint8Array(DEFAULT_MAX_STATE_SIZE));
    expect(handle.kind).toBe('inline');
  });

  it('fails a larger state, saying the size, the limit and how to store files instead', async () => {
    const storage = new JobManagerCheckpointStorage({ maxStateSize: 1000 });
    const job = newJobId();
    const location = await storage.initializeCheckpoint(job, 9 as CheckpointId);
    await expectSluiceRejection(
      storage.writeState(location, new Uint8Array(1001)),
      'SLUICE_CHECKPOINT_STATE_TOO_LARGE',
      `checkpoint 9 of job ${job}`,
      '1001 bytes',
      '1000 bytes',
      'execution.checkpointing.dir',
    );
    const big = new JobManagerCheckpointStorage();
    await expectSluiceRejection(
      big.writeState(location, new Uint8Array(DEFAULT_MAX_STATE_SIZE + 1)),
      'SLUICE_CHECKPOINT_STATE_TOO_LARGE',
      '(5.0 MB)',
    );
  });

  it('is not externally addressable, and says so when asked to resolve that pointer', async () => {
    const storage = new JobManagerCheckpointStorage();
    const location = await storage.initializeCheckpoint(newJobId(), 1 as CheckpointId);
    const completed = await storage.finalizeCheckpoint(location, metadataFor(location));
    expect(completed.externalPointer).toBe(NOT_EXTERNALLY_ADDRESSABLE);
    expect(completed.pointer).toMatch(/^jobmanager:\/\/[0-9a-f]{32}\/chk-1$/u);
    await expectSluiceRejection(
      storage.resolveCheckpoint(NOT_EXTERNALLY_ADDRESSABLE),
      'SLUICE_CHECKPOINT_NOT_FOUND',
      'execution.checkpointing.dir',
    );
  });

  it('cannot read file state, and says where such state can be read', async () => {
    const storage = new JobManagerCheckpointStorage();
    await expectSluiceRejection(
      storage.readState({ kind: 'file', path: 'abc', size: 1, checksum: 0, scope: 'exclusive' }, '/x/chk-1'),
      'SLUICE_CHECKPOINT_NOT_FOUND',
      'abc',
      'filesystem checkpoint storage',
    );
  });

  it('keeps each resolved document independent of the stored one', async () => {
    const storage = new JobManagerCheckpointStorage();
    const location = await storage.initializeCheckpoint(newJobId(), 1 as CheckpointId);
    const handle = await storage.writeState(location, testBytes(100));
    const { pointer } = await storage.finalizeCheckpoint(location, metadataFor(location, [handle]));
    const first = await storage.resolveCheckpoint(pointer);
    const h = first.metadata.operators[0]!.subtasks[0]!.operator[0]!.handle;
    if (h.kind === 'inline') h.data.fill(0);
    const second = await storage.resolveCheckpoint(pointer);
    expect(second.metadata.operators[0]!.subtasks[0]!.operator[0]!.handle).toEqual({
      kind: 'inline',
      data: testBytes(100),
    });
  });

  it('rejects a limit that is not a positive number of bytes', () => {
    expect(() => new JobManagerCheckpointStorage({ maxStateSize: 0 })).toThrow(/maxStateSize 0/u);
  });
});
