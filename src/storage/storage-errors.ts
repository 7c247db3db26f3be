/** The errors checkpoint storage raises, worded once so every storage says the same thing. */
import { SluiceError } from '../core/errors.js';

/** A damaged `_metadata` file: `where` names the file (or in-memory checkpoint), `problem` what is wrong. */
export function corruptMetadata(where: string, problem: string, cause?: unknown): SluiceError {
  return new SluiceError(
    'SLUICE_CHECKPOINT_CORRUPT',
    `checkpoint metadata ${where} is corrupt: ${problem}`,
    cause === undefined ? undefined : { cause },
  );
}

/** A damaged state file: it exists but its size or checksum differ from what `_metadata` recorded. */
export function corruptStateFile(path: string, problem: string): SluiceError {
  return new SluiceError('SLUICE_CHECKPOINT_CORRUPT', `checkpoint state file ${path} is corrupt: ${problem}`);
}

/** Something a pointer or a handle refers to does not exist. */
export function checkpointNotFound(message: string, cause?: unknown): SluiceError {
  return new SluiceError('SLUICE_CHECKPOINT_NOT_FOUND', message, cause === undefined ? undefined : { cause });
}

/** An I/O operation on checkpoint storage failed; `operation` is a verb phrase ("write state file"). */
export function storageFailed(operation: string, path: string, cause: unknown): SluiceError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new SluiceError('SLUICE_CHECKPOINT_STORAGE_FAILED', `cannot ${operation} ${path}: ${reason}`, {
    cause,
  });
}

/** True for a node:fs error with the given code (`ENOENT`, `EEXIST`, ...). */
export function isFsError(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}
