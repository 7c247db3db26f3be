/** Checks Flink's rule for picking checkpoint storage: a directory means files, none means memory. */
import { describe, expect, it } from 'vitest';
import { createCheckpointStorage } from './create-checkpoint-storage.js';
import { FileSystemCheckpointStorage } from './filesystem/file-system-checkpoint-storage.js';
import { JobManagerCheckpointStorage } from './memory/job-manager-checkpoint-storage.js';

describe('createCheckpointStorage', () => {
  it('uses jobmanager storage when no directory is configured', () => {
    expect(createCheckpointStorage()).toBeInstanceOf(JobManagerCheckpointStorage);
    expect(createCheckpointStorage({ storage: 'jobmanager' }).name).toBe('jobmanager');
  });

  it('uses filesystem storage when a directory is configured', () => {
    const storage = createCheckpointStorage({ dir: 'file:///tmp/ckpt', inlineThreshold: 512 });
    expect(storage).toBeInstanceOf(FileSystemCheckpointStorage);
    expect(storage).toMatchObject({ name: 'filesystem', baseDir: '/tmp/ckpt', inlineThreshold: 512 });
    expect(createCheckpointStorage({ storage: 'filesystem', dir: '/tmp/ckpt' }).name).toBe('filesystem');
  });

  it('keeps jobmanager storage when it is asked for, even with a directory', () => {
    const storage = createCheckpointStorage({ storage: 'jobmanager', dir: '/tmp/ckpt', maxStateSize: 1024 });
    expect(storage).toBeInstanceOf(JobManagerCheckpointStorage);
    expect(storage).toMatchObject({ maxStateSize: 1024 });
  });

  it('rejects filesystem storage without a directory, naming the option to set', () => {
    expect(() => createCheckpointStorage({ storage: 'filesystem' })).toThrow(
      expect.objectContaining({
        code: 'SLUICE_CONFIG_INVALID_VALUE',
        message: expect.stringContaining('execution.checkpointing.dir'),
      }),
    );
  });

  it('rejects directories on storages that are not supported yet', () => {
    expect(() => createCheckpointStorage({ dir: 's3://bucket/ckpt' })).toThrow(/s3:\/\/ scheme/u);
  });
});
