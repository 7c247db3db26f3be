/** Turning configured directories and checkpoint pointers (`/path`, `file:///path`) into local paths. */
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SluiceError } from '../../core/errors.js';
import { METADATA_FILE_NAME, type CheckpointStorageLocation } from '../checkpoint-storage.js';
import type { FileStateHandle } from '../state-handle.js';
import { checkpointNotFound } from '../storage-errors.js';

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):/u;
const SUPPORTED = 'a local or mounted shared directory, as file:///absolute/path or /absolute/path';

/**
 * The absolute local directory named by `execution.checkpointing.dir`. Only `file://` URIs and
 * plain absolute paths are accepted: a relative path would resolve differently in each process,
 * and object stores (`s3://`, `gs://`, `hdfs://`) are not implemented yet.
 */
export function parseCheckpointDirectory(dir: string, key = 'execution.checkpointing.dir'): string {
  const invalid = (problem: string) =>
    new SluiceError(
      'SLUICE_CONFIG_INVALID_VALUE',
      `${key}: ${JSON.stringify(dir)} ${problem}; expected ${SUPPORTED}`,
    );
  const scheme = SCHEME.exec(dir)?.[1]?.toLowerCase();
  if (scheme !== undefined && scheme !== 'file')
    throw invalid(`uses the ${scheme}:// scheme, which Sluice checkpoint storage does not support yet`);
  if (scheme === 'file') {
    try {
      return resolve(fileURLToPath(dir));
    } catch (e) {
      throw invalid(`is not a valid file URI (${(e as Error).message})`);
    }
  }
  if (dir.trim() === '') throw invalid('is empty');
  if (!isAbsolute(dir))
    throw invalid(
      'is a relative path (every JobManager and TaskManager process must find the same directory)',
    );
  return resolve(dir);
}

/**
 * The local path a checkpoint pointer names: a plain path (relative ones against the working
 * directory, for command-line use) or a `file:` URI (`file:///p`, Flink's `file:/p`). Other schemes
 * throw SLUICE_CHECKPOINT_NOT_FOUND saying what is supported.
 */
export function pointerToPath(pointer: string): string {
  const scheme = SCHEME.exec(pointer)?.[1]?.toLowerCase();
  if (scheme === undefined) return resolve(pointer);
  if (scheme !== 'file')
    throw checkpointNotFound(
      `cannot read checkpoint '${pointer}': the ${scheme}:// scheme is not supported yet; expected ${SUPPORTED}`,
    );
  try {
    return resolve(fileURLToPath(pointer));
  } catch (e) {
    throw checkpointNotFound(
      `cannot read checkpoint '${pointer}': not a valid file URI (${(e as Error).message})`,
      e,
    );
  }
}

/** The checkpoint directory a location or pointer refers to (a `_metadata` path means its directory). */
export function checkpointDirOf(where: CheckpointStorageLocation | string): string {
  const path = pointerToPath(typeof where === 'string' ? where : where.pointer);
  return basename(path) === METADATA_FILE_NAME ? dirname(path) : path;
}

/**
 * Absolute path of a state file: exclusive files are relative to the checkpoint directory, shared
 * and task-owned ones to the job directory, which is the checkpoint directory's parent.
 */
export function stateFilePath(handle: FileStateHandle, checkpointDir: string): string {
  return handle.scope === 'exclusive'
    ? join(checkpointDir, handle.path)
    : join(dirname(checkpointDir), handle.path);
}
