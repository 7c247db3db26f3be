/** Savepoint directories (`<dir>/savepoint-<shortjobid>-<random>/`): made, written into, recognised and deleted. */
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { SluiceError, invariant } from '../../core/errors.js';
import type { CheckpointId, JobId } from '../../core/ids.js';
import {
  METADATA_FILE_NAME,
  type CheckpointStorage,
  type CheckpointStorageLocation,
} from '../checkpoint-storage.js';
import { isFsError, storageFailed } from '../storage-errors.js';
import { FileSystemCheckpointStorage, resolveFileCheckpoint } from './file-system-checkpoint-storage.js';
import { checkpointDirOf, parseCheckpointDirectory } from './file-paths.js';

/** Prefix of a savepoint directory's name (Flink's `savepoint-`). */
export const SAVEPOINT_DIR_PREFIX = 'savepoint-';
/** `savepoint-<6 hex of the job id>-<12 hex>`, as Flink names them. */
const SAVEPOINT_DIR = /^savepoint-[0-9a-f]{6}-[0-9a-f]{12}$/u;
/** Flink's attempts at a fresh random name before giving up. */
const MAX_MKDIR_ATTEMPTS = 10;

/**
 * The storage a savepoint's state is written with: files in the savepoint directory itself, paths
 * relative to it (exclusive scope), so the directory can be moved or copied and restored from
 * there. State up to the job's file storage inline threshold (`data-inline-threshold`; the
 * default with jobmanager storage) is inline in `_metadata`, as in its checkpoints.
 */
export function savepointStorage(
  pointer: string,
  jobStorage: CheckpointStorage,
): FileSystemCheckpointStorage {
  return new FileSystemCheckpointStorage({
    dir: dirname(pointer),
    ...(jobStorage instanceof FileSystemCheckpointStorage
      ? { inlineThreshold: jobStorage.inlineThreshold }
      : {}),
  });
}

/**
 * Creates a new savepoint directory under `targetDirectory` (created if missing) for checkpoint
 * `checkpointId` of `jobId`. The target must be absolute (`/p` or `file:///p`): every process of
 * the job must find the same directory.
 */
export async function initializeSavepointLocation(
  targetDirectory: string,
  jobId: JobId,
  checkpointId: CheckpointId,
): Promise<CheckpointStorageLocation> {
  const base = parseCheckpointDirectory(targetDirectory, 'target-directory');
  try {
    await mkdir(base, { recursive: true });
  } catch (e) {
    throw storageFailed('create savepoint target directory', base, e);
  }
  for (let attempt = 1; ; attempt++) {
    const dir = join(base, `${SAVEPOINT_DIR_PREFIX}${jobId.slice(0, 6)}-${randomBytes(6).toString('hex')}`);
    try {
      await mkdir(dir);
      return { jobId, checkpointId, pointer: dir };
    } catch (e) {
      if (!isFsError(e, 'EEXIST') || attempt >= MAX_MKDIR_ATTEMPTS)
        throw storageFailed('create savepoint directory', dir, e);
    }
  }
}

/**
 * Deletes a savepoint directory this job created and never completed (an aborted savepoint).
 * Only a directory named as a savepoint is ever deleted.
 */
export async function discardSavepointLocation(where: CheckpointStorageLocation | string): Promise<void> {
  const dir = checkpointDirOf(where);
  invariant(
    SAVEPOINT_DIR.test(basename(dir)),
    `only savepoint directories are discarded as such, not ${dir}`,
  );
  try {
    await rm(dir, { recursive: true, force: true });
  } catch (e) {
    throw storageFailed('delete savepoint directory', dir, e);
  }
}

/**
 * Disposes of the savepoint at `path` (its directory or its `_metadata`), as `flink savepoint
 * --dispose`: refuses anything whose `_metadata` cannot be read or is not a savepoint's, so a
 * mistyped path never deletes a checkpoint or an unrelated directory. Returns the directory deleted.
 */
export async function disposeSavepoint(path: string): Promise<string> {
  const resolved = await resolveFileCheckpoint(path);
  const dir = resolved.location.pointer;
  if (!resolved.metadata.isSavepoint)
    throw new SluiceError(
      'SLUICE_SAVEPOINT_DISPOSE_REFUSED',
      `${dir} holds checkpoint ${resolved.metadata.checkpointId} of job ${resolved.metadata.jobId}, not a savepoint: ` +
        'checkpoints are deleted by their job per its retention policy; delete the directory yourself if it is no longer needed.',
    );
  try {
    // _metadata first: a directory left half-deleted is then no longer a savepoint anyone restores.
    await rm(join(dir, METADATA_FILE_NAME), { force: true });
    await rm(dir, { recursive: true, force: true });
  } catch (e) {
    throw storageFailed('delete savepoint directory', dir, e);
  }
  return dir;
}
