/**
 * A process's log directory as the REST API serves it (Flink's log list and log file handlers):
 * the files listed with their sizes, a file read by a plain name, never by a path.
 */
import { open, readdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** The most of a file served (its end): a log is answered in one message. */
export const MAX_SERVED_FILE_BYTES = 64 * 1024 * 1024;

/** A file of a log directory, as Flink's LogInfo lists it. */
export interface LogFileEntry {
  readonly name: string;
  readonly size: number;
  /** Last modified, ms since the epoch. */
  readonly mtime: number;
}

/** The directory of a process's log files (that of its log, else of its stdout); undefined when it keeps none. */
export function logDirectoryOf(files: {
  readonly log?: string;
  readonly stdout?: string;
}): string | undefined {
  const path = files.log ?? files.stdout;
  return path === undefined ? undefined : dirname(path);
}

/**
 * Whether `name` may name a file of a log directory: a plain file name, no directory part, no
 * `.` or `..`, so that no request reaches outside the directory.
 */
export function isPlainFileName(name: string): boolean {
  return (
    name.length > 0 &&
    name.length <= 255 &&
    name !== '.' &&
    name !== '..' &&
    !name.includes('/') &&
    !name.includes('\\') &&
    !name.includes('\0')
  );
}

/** The regular files of `dir`, by name; none when it does not exist. */
export async function listLogFiles(dir: string): Promise<LogFileEntry[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const entries: LogFileEntry[] = [];
  for (const name of names.sort()) {
    const info = await stat(join(dir, name)).catch(() => undefined);
    if (info?.isFile()) entries.push({ name, size: info.size, mtime: Math.trunc(info.mtimeMs) });
  }
  return entries;
}

/**
 * The end of the file `name` of `dir` (at most MAX_SERVED_FILE_BYTES); undefined when there is no
 * such regular file. `name` must be a plain file name (isPlainFileName): callers refuse others.
 */
export async function readLogFile(dir: string, name: string): Promise<Uint8Array | undefined> {
  if (!isPlainFileName(name)) return undefined;
  return readFileTail(join(dir, name));
}

/** The end of the regular file at `path` (at most MAX_SERVED_FILE_BYTES); undefined when there is none. */
export async function readFileTail(path: string): Promise<Uint8Array | undefined> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EISDIR') return undefined;
    throw e;
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) return undefined;
    const length = Math.min(info.size, MAX_SERVED_FILE_BYTES);
    const content = new Uint8Array(length);
    await handle.read(content, 0, length, info.size - length);
    return content;
  } finally {
    await handle.close();
  }
}
