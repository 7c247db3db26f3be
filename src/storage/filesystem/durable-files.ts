/** Writing files so that they survive a crash: fsync the data, rename into place, fsync the directory. */
import { randomUUID } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { isFsError } from '../storage-errors.js';

/** Prefix of the temporary name `_metadata` is written under before the rename makes it visible. */
export const IN_PROGRESS_PREFIX = '.inprogress-';

/**
 * Creates `path` (failing if it exists: names are random, so a clash means a bug) with `data` and
 * fsyncs it. On failure the partial file is removed and the error rethrown.
 */
export async function writeNewFileDurably(path: string, data: Uint8Array): Promise<void> {
  const file = await open(path, 'wx');
  try {
    await file.writeFile(data);
    await file.sync();
  } catch (e) {
    await file.close().catch(() => undefined);
    await unlink(path).catch(() => undefined);
    throw e;
  }
  await file.close();
}

/**
 * Writes `dir/name` so that it appears complete or not at all: the data goes to a temporary name in
 * the same directory (a rename is atomic only within one file system), is fsynced, renamed over
 * `name`, and the directory is fsynced so the rename itself survives a crash.
 */
export async function writeFileAtomically(dir: string, name: string, data: Uint8Array): Promise<void> {
  const temp = join(dir, `${IN_PROGRESS_PREFIX}${name}-${randomUUID()}`);
  await writeNewFileDurably(temp, data);
  try {
    await rename(temp, join(dir, name));
  } catch (e) {
    await unlink(temp).catch(() => undefined);
    throw e;
  }
  await syncDirectory(dir);
}

/** Fsyncs a directory, making the creation, rename or removal of its entries durable. */
export async function syncDirectory(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (e) {
    // Some platforms (Windows, some network file systems) cannot fsync a directory; there the
    // rename is as durable as the platform makes it and there is nothing more to do.
    if (!(isFsError(e, 'EISDIR') || isFsError(e, 'EINVAL') || isFsError(e, 'EPERM'))) throw e;
  } finally {
    await handle?.close();
  }
}
