/** Picks the checkpoint storage from configuration, by Flink's rule: a directory means files, none means memory. */
import { SluiceError } from '../core/errors.js';
import { logger } from '../core/log.js';
import type { CheckpointStorage } from './checkpoint-storage.js';
import { FileSystemCheckpointStorage } from './filesystem/file-system-checkpoint-storage.js';
import { JobManagerCheckpointStorage } from './memory/job-manager-checkpoint-storage.js';

/** What `createCheckpointStorage` reads: `execution.checkpointing.storage`, `.dir`, `.data-inline-threshold`. */
export interface CheckpointStorageOptions {
  /** `execution.checkpointing.storage`; unset means "decide by whether `dir` is set". */
  readonly storage?: 'jobmanager' | 'filesystem';
  /** `execution.checkpointing.dir`. */
  readonly dir?: string;
  /** `execution.checkpointing.data-inline-threshold` in bytes (filesystem storage). */
  readonly inlineThreshold?: number;
  /** Per-state-handle limit in bytes (jobmanager storage). */
  readonly maxStateSize?: number;
}

/**
 * The checkpoint storage for `options` (Flink's CheckpointStorageLoader): with a directory,
 * filesystem storage unless `jobmanager` is asked for; without one, jobmanager storage, and asking
 * for `filesystem` without a directory is a configuration error.
 */
export function createCheckpointStorage(options: CheckpointStorageOptions = {}): CheckpointStorage {
  const { storage, dir } = options;
  if (storage === 'filesystem' || (storage === undefined && dir !== undefined)) {
    if (dir === undefined)
      throw new SluiceError(
        'SLUICE_CONFIG_INVALID_VALUE',
        'execution.checkpointing.storage: "filesystem" needs a checkpoint directory; expected ' +
          'execution.checkpointing.dir to be set (for example file:///var/sluice/checkpoints)',
      );
    return new FileSystemCheckpointStorage({
      dir,
      ...(options.inlineThreshold === undefined ? {} : { inlineThreshold: options.inlineThreshold }),
    });
  }
  if (dir !== undefined)
    // Flink's JobManagerCheckpointStorage would still write _metadata into the directory; Sluice's
    // keeps everything in memory, so say that the directory is not used rather than ignore it.
    logger('checkpoint-storage').warn(
      { dir },
      'execution.checkpointing.storage is jobmanager: checkpoints stay in memory and execution.checkpointing.dir is not used',
    );
  return new JobManagerCheckpointStorage(
    options.maxStateSize === undefined ? {} : { maxStateSize: options.maxStateSize },
  );
}
