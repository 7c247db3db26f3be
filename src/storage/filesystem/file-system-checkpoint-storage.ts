/** Filesystem checkpoint storage: `<dir>/<job-id>/{shared,taskowned,chk-<n>}` on a local or mounted shared directory. */
import { randomUUID } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { mkdir, open, readdir, readFile, rm, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { SluiceError, invariant } from '../../core/errors.js';
import type { CheckpointId, JobId } from '../../core/ids.js';
import { decodeMetadata, encodeMetadata, type CheckpointMetadata } from '../checkpoint-metadata.js';
import {
  CHECKPOINT_DIR_PREFIX,
  DEFAULT_INLINE_THRESHOLD,
  MAX_INLINE_THRESHOLD,
  METADATA_FILE_NAME,
  SHARED_STATE_DIR,
  TASK_OWNED_STATE_DIR,
  type CheckpointListing,
  type CheckpointStorage,
  type CheckpointStorageLocation,
  type CompletedCheckpointLocation,
  type ResolvedCheckpoint,
} from '../checkpoint-storage.js';
import { crc32c } from '../crc32c.js';
import {
  relativePathProblem,
  type FileStateHandle,
  type StateScope,
  type StreamStateHandle,
} from '../state-handle.js';
import { checkpointNotFound, corruptStateFile, isFsError, storageFailed } from '../storage-errors.js';
import { syncDirectory, writeFileAtomically, writeNewFileDurably } from './durable-files.js';
import { checkpointDirOf, parseCheckpointDirectory, pointerToPath, stateFilePath } from './file-paths.js';

const CHECKPOINT_DIR = /^chk-(\d+)$/u;
const SAFE_JOB_ID = /^[A-Za-z0-9_-]+$/u;

/** Options of {@link FileSystemCheckpointStorage}. */
export interface FileSystemCheckpointStorageOptions {
  /** `execution.checkpointing.dir`: `file:///abs/path` or `/abs/path`. */
  readonly dir: string;
  /**
   * `execution.checkpointing.data-inline-threshold` in bytes (default 20 KB, at most 1 MB): state
   * of at most this size is kept inline in `_metadata` instead of a file of its own.
   */
  readonly inlineThreshold?: number;
}

/**
 * Checkpoints as files (Flink's FileSystemCheckpointStorage). Everything is written through
 * node:fs/promises and fsynced before it is reported written; `_metadata` appears atomically.
 * Several processes (JobManager, TaskManagers) may use instances on the same directory: all they
 * share is the directory, and a location is plain data.
 */
export class FileSystemCheckpointStorage implements CheckpointStorage {
  readonly name = 'filesystem';
  /** The absolute base directory; each job gets `<baseDir>/<jobId>/`. */
  readonly baseDir: string;
  /** State of at most this many bytes is stored inline. */
  readonly inlineThreshold: number;

  constructor(options: FileSystemCheckpointStorageOptions) {
    this.baseDir = parseCheckpointDirectory(options.dir);
    const threshold = options.inlineThreshold ?? DEFAULT_INLINE_THRESHOLD;
    if (!Number.isSafeInteger(threshold) || threshold < 0 || threshold > MAX_INLINE_THRESHOLD)
      throw new SluiceError(
        'SLUICE_CONFIG_INVALID_VALUE',
        `execution.checkpointing.data-inline-threshold: ${String(threshold)} is out of range; expected a size ` +
          `between 0 and ${MAX_INLINE_THRESHOLD} bytes (1 mb)`,
      );
    this.inlineThreshold = threshold;
  }

  /** The directory holding everything of `jobId`. */
  jobDir(jobId: JobId): string {
    invariant(SAFE_JOB_ID.test(jobId), `a job id used as a directory name is a plain name, not '${jobId}'`);
    return join(this.baseDir, jobId);
  }

  locationOf(jobId: JobId, checkpointId: CheckpointId): CheckpointStorageLocation {
    return {
      jobId,
      checkpointId,
      pointer: join(this.jobDir(jobId), `${CHECKPOINT_DIR_PREFIX}${checkpointId}`),
    };
  }

  async initializeCheckpoint(jobId: JobId, checkpointId: CheckpointId): Promise<CheckpointStorageLocation> {
    const jobDir = this.jobDir(jobId);
    const chkDir = join(jobDir, `${CHECKPOINT_DIR_PREFIX}${checkpointId}`);
    for (const dir of [join(jobDir, SHARED_STATE_DIR), join(jobDir, TASK_OWNED_STATE_DIR), chkDir]) {
      try {
        await mkdir(dir, { recursive: true });
      } catch (e) {
        throw storageFailed('create checkpoint directory', dir, e);
      }
    }
    // A directory left by an attempt that never completed is reused (its files have random names
    // and go when it is discarded); a completed one must never be written into again.
    invariant(
      !(await exists(join(chkDir, METADATA_FILE_NAME))),
      `checkpoint ids are never reused, but ${chkDir} already holds a completed checkpoint`,
    );
    return { jobId, checkpointId, pointer: chkDir };
  }

  async writeState(
    location: CheckpointStorageLocation,
    data: Uint8Array,
    scope: StateScope = 'exclusive',
  ): Promise<StreamStateHandle> {
    if (data.length <= this.inlineThreshold) return { kind: 'inline', data: data.slice() };
    const chkDir = checkpointDirOf(location);
    const name = randomUUID();
    const relative =
      scope === 'exclusive'
        ? name
        : `${scope === 'shared' ? SHARED_STATE_DIR : TASK_OWNED_STATE_DIR}/${name}`;
    const handle = {
      kind: 'file',
      path: relative,
      size: data.length,
      checksum: crc32c(data),
      scope,
    } as const;
    const path = stateFilePath(handle, chkDir);
    try {
      await writeNewFileDurably(path, data);
      // Exclusive files are made durable by the fsync of chk-<n>/ when _metadata is renamed into
      // it; shared and task-owned ones live elsewhere, so their directory is synced now.
      if (scope !== 'exclusive') await syncDirectory(dirname(path));
    } catch (e) {
      throw storageFailed('write state file', path, e);
    }
    return handle;
  }

  readState(handle: StreamStateHandle, where: CheckpointStorageLocation | string): Promise<Uint8Array> {
    return readFileState(handle, where);
  }

  checkState(handle: StreamStateHandle, where: CheckpointStorageLocation | string): Promise<void> {
    return checkFileState(handle, where);
  }

  async finalizeCheckpoint(
    location: CheckpointStorageLocation,
    metadata: CheckpointMetadata,
  ): Promise<CompletedCheckpointLocation> {
    invariant(
      metadata.jobId === location.jobId && metadata.checkpointId === location.checkpointId,
      `metadata of ${metadata.jobId}/chk-${metadata.checkpointId} is finalized into its own location (${location.pointer})`,
    );
    const chkDir = checkpointDirOf(location);
    const bytes = encodeMetadata(metadata);
    invariant(
      !(await exists(join(chkDir, METADATA_FILE_NAME))),
      `a completed checkpoint is never overwritten, but ${chkDir} already has ${METADATA_FILE_NAME}`,
    );
    try {
      await writeFileAtomically(chkDir, METADATA_FILE_NAME, bytes);
      // The chk-<n> entry itself was created in initializeCheckpoint; make it durable too.
      await syncDirectory(dirname(chkDir));
    } catch (e) {
      throw storageFailed(
        `write checkpoint metadata (was the checkpoint discarded meanwhile?)`,
        join(chkDir, METADATA_FILE_NAME),
        e,
      );
    }
    return { externalPointer: chkDir, pointer: chkDir, metadataSize: bytes.length };
  }

  async discardCheckpoint(where: CheckpointStorageLocation | string): Promise<void> {
    const chkDir = checkpointDirOf(where);
    // rm -r of whatever a pointer names is dangerous; only ever delete a chk-<n> directory.
    invariant(
      CHECKPOINT_DIR.test(basename(chkDir)),
      `discardCheckpoint deletes only chk-<n> directories, not ${chkDir}`,
    );
    try {
      await rm(chkDir, { recursive: true, force: true });
    } catch (e) {
      throw storageFailed('delete checkpoint directory', chkDir, e);
    }
  }

  async discardSharedState(
    where: CheckpointStorageLocation | string,
    files: readonly FileStateHandle[],
  ): Promise<void> {
    const chkDir = checkpointDirOf(where);
    for (const handle of files) {
      // Only ever a file under shared/ of this job: a damaged metadata must not delete elsewhere.
      const problem = relativePathProblem(handle.path);
      invariant(
        handle.scope === 'shared' && problem === undefined && handle.path.startsWith(`${SHARED_STATE_DIR}/`),
        `discardSharedState deletes only files under ${SHARED_STATE_DIR}/, not ${handle.scope} ${handle.path}`,
      );
      const path = stateFilePath(handle, chkDir);
      try {
        await rm(path, { force: true });
      } catch (e) {
        throw storageFailed('delete shared state file', path, e);
      }
    }
  }

  resolveCheckpoint(pointer: string): Promise<ResolvedCheckpoint> {
    return resolveFileCheckpoint(pointer);
  }

  async listCheckpoints(jobId: JobId): Promise<readonly CheckpointListing[]> {
    const jobDir = this.jobDir(jobId);
    const found = await this.checkpointDirs(jobDir);
    const completed = await Promise.all(
      found.map(async (c) => ((await exists(join(c.dir, METADATA_FILE_NAME))) ? c : undefined)),
    );
    return completed
      .filter((c) => c !== undefined)
      .map((c) => ({ checkpointId: c.id as CheckpointId, pointer: c.dir }));
  }

  async disposeJob(jobId: JobId, options: { readonly keepCheckpoints: boolean }): Promise<void> {
    const jobDir = this.jobDir(jobId);
    let keep = false;
    if (options.keepCheckpoints) {
      for (const c of await this.checkpointDirs(jobDir)) {
        if (await exists(join(c.dir, METADATA_FILE_NAME))) keep = true;
        else await this.discardCheckpoint(c.dir);
      }
    }
    if (keep) return;
    try {
      await rm(jobDir, { recursive: true, force: true });
    } catch (e) {
      throw storageFailed('delete job checkpoint directory', jobDir, e);
    }
  }

  /** The `chk-<n>` directories under `jobDir`, by ascending id. */
  private async checkpointDirs(jobDir: string): Promise<{ id: number; dir: string }[]> {
    let names: string[];
    try {
      names = await readdir(jobDir);
    } catch (e) {
      if (isFsError(e, 'ENOENT')) return [];
      throw storageFailed('list checkpoints in', jobDir, e);
    }
    return names
      .map((name) => ({ match: CHECKPOINT_DIR.exec(name), name }))
      .filter((e) => e.match !== null)
      .map((e) => ({ id: Number(e.match?.[1]), dir: join(jobDir, e.name) }))
      .sort((a, b) => a.id - b.id);
  }
}

/** Largest `_metadata` read when resolving a restore path (state above the inline threshold lives in its own files). */
const MAX_METADATA_BYTES = 512 * 1024 * 1024;

/**
 * The completed checkpoint or savepoint at a file pointer: a directory holding `_metadata`, or the
 * metadata file itself, as a path or `file:` URI. Independent of any configured storage, so a job
 * using jobmanager storage can still restore from a savepoint on disk (as Flink's
 * `AbstractFsCheckpointStorageAccess.resolveCheckpointPointer`).
 */
export async function resolveFileCheckpoint(pointer: string): Promise<ResolvedCheckpoint> {
  const path = pointerToPath(pointer);
  let metadataPath: string;
  try {
    metadataPath = (await stat(path)).isDirectory() ? join(path, METADATA_FILE_NAME) : path;
  } catch (e) {
    if (isFsError(e, 'ENOENT') || isFsError(e, 'ENOTDIR'))
      throw checkpointNotFound(
        `Cannot find checkpoint or savepoint file/directory '${pointer}' on file system 'file'.`,
        e,
      );
    throw storageFailed('read checkpoint', path, e);
  }
  let bytes: Uint8Array;
  try {
    // Only a regular file of a plausible size is read: a device (/dev/zero), a pipe or a huge
    // file named as a restore path must not stall or exhaust the JobManager.
    const info = await stat(metadataPath);
    if (!info.isFile() || info.size > MAX_METADATA_BYTES)
      throw checkpointNotFound(
        `'${metadataPath}' is not a checkpoint or savepoint: ${info.isFile() ? `a file of ${info.size} bytes, larger than any ${METADATA_FILE_NAME}` : 'not a regular file'}. ` +
          `Point at a chk-<n> or savepoint directory that contains ${METADATA_FILE_NAME}, or at the ${METADATA_FILE_NAME} file itself.`,
      );
    bytes = await readFile(metadataPath);
  } catch (e) {
    if (e instanceof SluiceError) throw e;
    if (isFsError(e, 'ENOENT'))
      throw checkpointNotFound(
        `Cannot find meta data file '${METADATA_FILE_NAME}' in directory '${path}': the checkpoint did not ` +
          `complete, or this is not a checkpoint or savepoint directory. Point at a chk-<n> or savepoint ` +
          `directory that contains ${METADATA_FILE_NAME}, or at the ${METADATA_FILE_NAME} file itself.`,
        e,
      );
    throw storageFailed('read checkpoint metadata', metadataPath, e);
  }
  const metadata = decodeMetadata(bytes, metadataPath);
  const location = {
    jobId: metadata.jobId,
    checkpointId: metadata.checkpointId,
    pointer: dirname(metadataPath),
  };
  return { metadata, location };
}

/**
 * Opens the file of `handle` in the checkpoint at `where` and checks that it is a regular file of
 * the recorded size, without reading it; the caller closes it.
 */
async function openStateFile(
  handle: FileStateHandle,
  where: CheckpointStorageLocation | string,
): Promise<{ readonly file: FileHandle; readonly path: string }> {
  const chkDir = checkpointDirOf(where);
  const problem = relativePathProblem(handle.path);
  if (problem !== undefined)
    throw corruptStateFile(handle.path, `its path ${problem} (in the metadata of ${chkDir})`);
  const path = stateFilePath(handle, chkDir);
  let file;
  try {
    // Non-blocking, so a pipe in a crafted checkpoint cannot hold a thread of the JobManager.
    file = await open(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  } catch (e) {
    if (isFsError(e, 'ENOENT'))
      throw checkpointNotFound(
        `checkpoint state file ${path} does not exist (it is listed in the metadata of ${chkDir}); it was ` +
          `deleted, or the checkpoint was moved without it`,
        e,
      );
    throw storageFailed('open state file', path, e);
  }
  try {
    // Size first: a wrong size is reported without reading a possibly huge wrong file.
    const info = await file.stat();
    if (!info.isFile()) throw corruptStateFile(path, 'it is not a regular file');
    if (info.size !== handle.size)
      throw corruptStateFile(
        path,
        `it has ${info.size} bytes, the checkpoint metadata records ${handle.size}`,
      );
  } catch (e) {
    await file.close();
    if (e instanceof SluiceError) throw e;
    throw storageFailed('read state file', path, e);
  }
  return { file, path };
}

/**
 * Checks, without reading its bytes, that the file of a state handle exists in the checkpoint at
 * `where` with the size its handle records (inline state needs no check). What the JobManager
 * does before choosing a checkpoint to restore: the tasks read and verify the bytes themselves.
 */
export async function checkFileState(
  handle: StreamStateHandle,
  where: CheckpointStorageLocation | string,
): Promise<void> {
  if (handle.kind === 'inline') return;
  const { file } = await openStateFile(handle, where);
  await file.close();
}

/**
 * Bytes per read of a state file: the checksum of one piece is computed while the next is read
 * (on the thread pool), so reading and checking overlap. Small enough that the piece is still in
 * the CPU cache when it is checksummed (8 MiB pieces were slower than reading, then checking);
 * readFile reads in pieces of this size too.
 */
export const STATE_FILE_READ_PIECE_BYTES = 512 * 2 ** 10;

/**
 * Pieces in flight when a read reports its progress (64 MiB): its consumer holds the main thread
 * for tens of milliseconds at a time (an LMDB write transaction of 32 MiB while restoring), and
 * the thread pool must not run out of reads meanwhile.
 */
const STATE_FILE_READ_AHEAD_PIECES = 128;

/**
 * Watches a state file being read (a task restoring streams its keyed state into its backend while
 * the rest of the file is still being read): the file is read into `into`, and `read(upTo)` is
 * called each time bytes [0, upTo) are in it. Nothing read is verified until the read resolves.
 */
export interface StateReadProgress {
  /** The buffer to read into: exactly the handle's size. */
  readonly into: Uint8Array;
  read(upTo: number): void;
}

/**
 * As StateReadProgress, for a file read through a window of bounded size instead of into a buffer
 * of the file's size (a 1 GB restore into LMDB then needs tens of MiB besides LMDB, not 1 GB):
 * `window` gives where bytes [at, end) go, or undefined while the restorer still holds the bytes
 * that window would overwrite; `room` resolves once it has room for them.
 */
export interface StateReadWindow {
  window(at: number, end: number): Uint8Array | undefined;
  room(end: number): Promise<void>;
  read(upTo: number): void;
}

/**
 * The bytes of a state handle, files resolved against the checkpoint at `where` and checked
 * against the size and CRC32C recorded in the handle. Inline data is returned as is (the
 * metadata's own checksum covered it): do not modify it. With `progress`, a file is read into
 * `progress.into` (which is returned) and its arrival reported piece by piece; with a window
 * (StateReadWindow), piece by piece through it, and an empty array is returned.
 */
export async function readFileState(
  handle: StreamStateHandle,
  where: CheckpointStorageLocation | string,
  progress?: StateReadProgress | StateReadWindow,
): Promise<Uint8Array> {
  if (handle.kind === 'inline') return handle.data;
  const { file, path } = await openStateFile(handle, where);
  // openStateFile checked the size, so the bytes go straight into a buffer of that size.
  const size = handle.size;
  const windowed = progress !== undefined && 'window' in progress ? progress : undefined;
  const whole = progress !== undefined && 'into' in progress ? progress : undefined;
  invariant(
    whole === undefined || whole.into.length === size,
    `a state file of ${size} bytes is read into a buffer of its size (got ${whole?.into.length})`,
  );
  const data = windowed === undefined ? (whole?.into ?? Buffer.allocUnsafe(size)) : undefined;
  /** Where bytes [at, end) go; undefined while a window has no room for them. */
  const target = (at: number, end: number): Uint8Array | undefined =>
    data === undefined ? windowed!.window(at, end) : data.subarray(at, end);
  const readPiece = async (into: Uint8Array, at: number): Promise<void> => {
    for (let done = 0; done < into.length;) {
      const { bytesRead } = await file.read(into, done, into.length - done, at + done);
      if (bytesRead === 0)
        throw corruptStateFile(
          path,
          `it ended after ${at + done} bytes, the checkpoint metadata records ${size}`,
        );
      done += bytesRead;
    }
  };
  // Pieces are read in order, up to `ahead` at once; each is checksummed when it is in.
  const ahead = progress === undefined ? 1 : STATE_FILE_READ_AHEAD_PIECES;
  const reading: { into: Uint8Array; end: number; done: Promise<void> }[] = [];
  let next = 0;
  const pieceEnd = (): number => Math.min(size, next + STATE_FILE_READ_PIECE_BYTES);
  const readMore = (): void => {
    while (reading.length < ahead && next < size) {
      const end = pieceEnd();
      const into = target(next, end);
      if (into === undefined) return;
      const done = readPiece(into, next);
      // Awaited in order below; until then a failure must not count as unhandled.
      done.catch(() => undefined);
      reading.push({ into, end, done });
      next = end;
    }
  };
  let checksum = 0;
  try {
    readMore();
    while (next < size || reading.length > 0) {
      const piece = reading.shift();
      if (piece === undefined) {
        // A window without room, and nothing in flight: wait for the restorer to let go.
        await windowed!.room(pieceEnd());
        readMore();
        continue;
      }
      await piece.done;
      readMore();
      checksum = crc32c(piece.into, checksum);
      progress?.read(piece.end);
    }
  } catch (e) {
    throw e instanceof SluiceError ? e : storageFailed('read state file', path, e);
  } finally {
    // No read may still be writing into `data` (or using the file) once this settles.
    await Promise.allSettled(reading.map((p) => p.done));
    await file.close();
  }
  if (checksum !== handle.checksum)
    throw corruptStateFile(
      path,
      `checksum mismatch (recorded ${hex(handle.checksum)}, computed ${hex(checksum)})`,
    );
  return data ?? new Uint8Array(0);
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (e) {
    if (isFsError(e, 'ENOENT')) return false;
    throw storageFailed('check', path, e);
  }
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}
