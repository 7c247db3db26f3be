/** Jobmanager checkpoint storage: checkpoints live in JobManager memory, all state inline; for development and tiny state. */
import { SluiceError, invariant } from '../../core/errors.js';
import type { CheckpointId, JobId } from '../../core/ids.js';
import { decodeMetadata, encodeMetadata, type CheckpointMetadata } from '../checkpoint-metadata.js';
import {
  CHECKPOINT_DIR_PREFIX,
  NOT_EXTERNALLY_ADDRESSABLE,
  type CheckpointListing,
  type CheckpointStorage,
  type CheckpointStorageLocation,
  type CompletedCheckpointLocation,
  type ResolvedCheckpoint,
} from '../checkpoint-storage.js';
import type { StreamStateHandle } from '../state-handle.js';
import { checkpointNotFound } from '../storage-errors.js';

/** Default per-state-handle limit, 5 MB (Flink's JobManagerCheckpointStorage.DEFAULT_MAX_STATE_SIZE). */
export const DEFAULT_MAX_STATE_SIZE = 5 * 1024 * 1024;

const POINTER_SCHEME = 'jobmanager://';
const POINTER = /^jobmanager:\/\/([^/]+)\/chk-(\d+)$/u;

/** Options of {@link JobManagerCheckpointStorage}. */
export interface JobManagerCheckpointStorageOptions {
  /** Largest single state handle in bytes; a larger one fails its checkpoint. Default 5 MB. */
  readonly maxStateSize?: number;
}

interface JobCheckpoints {
  /** Initialized and not yet finalized or discarded. */
  readonly pending: Set<number>;
  /** Encoded `_metadata` of completed checkpoints: kept encoded so every resolve returns a fresh copy. */
  readonly completed: Map<number, Uint8Array>;
}

/**
 * Keeps checkpoints in the memory of the JobManager (Flink's JobManagerCheckpointStorage without a
 * checkpoint directory): every state handle is inline, bounded by `maxStateSize`, and a checkpoint
 * is gone when the process ends. Its pointers (`jobmanager://<jobId>/chk-<n>`) mean something only
 * to this instance; the external pointer is `<checkpoint-not-externally-addressable>`.
 */
export class JobManagerCheckpointStorage implements CheckpointStorage {
  readonly name = 'jobmanager';
  /** The per-state-handle limit in bytes. */
  readonly maxStateSize: number;
  private readonly jobs = new Map<JobId, JobCheckpoints>();

  constructor(options: JobManagerCheckpointStorageOptions = {}) {
    const max = options.maxStateSize ?? DEFAULT_MAX_STATE_SIZE;
    if (!Number.isSafeInteger(max) || max < 1)
      throw new SluiceError(
        'SLUICE_CONFIG_INVALID_VALUE',
        `jobmanager checkpoint storage: maxStateSize ${String(max)} is not allowed; expected a positive number of bytes`,
      );
    this.maxStateSize = max;
  }

  locationOf(jobId: JobId, checkpointId: CheckpointId): CheckpointStorageLocation {
    return { jobId, checkpointId, pointer: pointerOf(jobId, checkpointId) };
  }

  initializeCheckpoint(jobId: JobId, checkpointId: CheckpointId): Promise<CheckpointStorageLocation> {
    return settle(() => {
      const job = this.job(jobId);
      invariant(
        !job.completed.has(checkpointId),
        `checkpoint ${checkpointId} of job ${jobId} already completed; checkpoint ids are never reused`,
      );
      job.pending.add(checkpointId);
      return { jobId, checkpointId, pointer: pointerOf(jobId, checkpointId) };
    });
  }

  writeState(location: CheckpointStorageLocation, data: Uint8Array): Promise<StreamStateHandle> {
    return settle(() => {
      if (data.length > this.maxStateSize)
        throw new SluiceError(
          'SLUICE_CHECKPOINT_STATE_TOO_LARGE',
          `checkpoint ${location.checkpointId} of job ${location.jobId}: a state of ${describeSize(data.length)} ` +
            `is larger than the ${describeSize(this.maxStateSize)} that jobmanager checkpoint storage allows per ` +
            'state handle; configure execution.checkpointing.dir (for example file:///var/sluice/checkpoints) to ' +
            'write checkpoints to files instead',
        );
      // A copy: the caller may reuse its buffer, and this one lives as long as the checkpoint.
      return { kind: 'inline', data: data.slice() };
    });
  }

  readState(handle: StreamStateHandle, where: CheckpointStorageLocation | string): Promise<Uint8Array> {
    return settle(() => {
      if (handle.kind === 'inline') return handle.data;
      throw noFiles(handle.path, where);
    });
  }

  checkState(handle: StreamStateHandle, where: CheckpointStorageLocation | string): Promise<void> {
    return settle(() => {
      if (handle.kind !== 'inline') throw noFiles(handle.path, where);
    });
  }

  finalizeCheckpoint(
    location: CheckpointStorageLocation,
    metadata: CheckpointMetadata,
  ): Promise<CompletedCheckpointLocation> {
    return settle(() => {
      const { jobId, checkpointId } = location;
      invariant(
        metadata.jobId === jobId && metadata.checkpointId === checkpointId,
        `metadata of ${metadata.jobId}/chk-${metadata.checkpointId} is finalized into its own location (${location.pointer})`,
      );
      const job = this.jobs.get(jobId);
      invariant(
        job?.completed.has(checkpointId) !== true,
        `a completed checkpoint is never overwritten, but ${location.pointer} already completed`,
      );
      if (job?.pending.has(checkpointId) !== true)
        throw new SluiceError(
          'SLUICE_CHECKPOINT_STORAGE_FAILED',
          `cannot finalize checkpoint ${checkpointId} of job ${jobId}: it was discarded or never initialized`,
        );
      const bytes = encodeMetadata(metadata);
      job.pending.delete(checkpointId);
      job.completed.set(checkpointId, bytes);
      return {
        externalPointer: NOT_EXTERNALLY_ADDRESSABLE,
        pointer: location.pointer,
        metadataSize: bytes.length,
      };
    });
  }

  discardCheckpoint(where: CheckpointStorageLocation | string): Promise<void> {
    return settle(() => {
      const { jobId, checkpointId } = parsePointer(typeof where === 'string' ? where : where.pointer);
      const job = this.jobs.get(jobId);
      job?.pending.delete(checkpointId);
      job?.completed.delete(checkpointId);
    });
  }

  /** Nothing to delete: this storage keeps every handle inline, so it never has shared files. */
  discardSharedState(): Promise<void> {
    return Promise.resolve();
  }

  resolveCheckpoint(pointer: string): Promise<ResolvedCheckpoint> {
    return settle(() => {
      const { jobId, checkpointId } = parsePointer(pointer);
      const bytes = this.jobs.get(jobId)?.completed.get(checkpointId);
      if (bytes === undefined)
        throw checkpointNotFound(
          `no completed checkpoint ${checkpointId} of job ${jobId} in jobmanager checkpoint storage: it did not ` +
            'complete, was discarded, or was taken by another JobManager process',
        );
      const metadata = decodeMetadata(bytes, pointer);
      return { metadata, location: { jobId, checkpointId, pointer: pointerOf(jobId, checkpointId) } };
    });
  }

  listCheckpoints(jobId: JobId): Promise<readonly CheckpointListing[]> {
    return settle(() =>
      [...(this.jobs.get(jobId)?.completed.keys() ?? [])]
        .sort((a, b) => a - b)
        .map((n) => ({ checkpointId: n as CheckpointId, pointer: pointerOf(jobId, n as CheckpointId) })),
    );
  }

  disposeJob(jobId: JobId, options: { readonly keepCheckpoints: boolean }): Promise<void> {
    return settle(() => {
      const job = this.jobs.get(jobId);
      if (job === undefined) return;
      job.pending.clear();
      if (!options.keepCheckpoints || job.completed.size === 0) this.jobs.delete(jobId);
    });
  }

  private job(jobId: JobId): JobCheckpoints {
    let job = this.jobs.get(jobId);
    if (job === undefined) {
      job = { pending: new Set(), completed: new Map() };
      this.jobs.set(jobId, job);
    }
    return job;
  }
}

/** Runs `fn` now and reports its result or error through a promise, as an I/O storage would. */
/** A file handle given to a storage that keeps none. */
function noFiles(path: string, where: CheckpointStorageLocation | string): SluiceError {
  return checkpointNotFound(
    `state file ${path} (of ${typeof where === 'string' ? where : where.pointer}) cannot be read by ` +
      'jobmanager checkpoint storage, which keeps no files; read checkpoints and savepoints on disk through ' +
      'filesystem checkpoint storage',
  );
}

function settle<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (e) {
    return Promise.reject(e instanceof Error ? e : new Error(String(e)));
  }
}

function pointerOf(jobId: JobId, checkpointId: CheckpointId): string {
  return `${POINTER_SCHEME}${jobId}/${CHECKPOINT_DIR_PREFIX}${checkpointId}`;
}

function parsePointer(pointer: string): { jobId: JobId; checkpointId: CheckpointId } {
  const match = POINTER.exec(pointer);
  if (match !== null) return { jobId: match[1] as JobId, checkpointId: Number(match[2]) as CheckpointId };
  if (pointer === NOT_EXTERNALLY_ADDRESSABLE)
    throw checkpointNotFound(
      `${NOT_EXTERNALLY_ADDRESSABLE}: checkpoints in jobmanager storage live only in the memory of the JobManager ` +
        'that took them and cannot be restored by pointer; set execution.checkpointing.dir to keep checkpoints on ' +
        'disk, then restore from a chk-<n> directory',
    );
  throw checkpointNotFound(
    `'${pointer}' is not a jobmanager checkpoint pointer (${POINTER_SCHEME}<job-id>/chk-<n>); checkpoints and ` +
      'savepoints on disk are read through filesystem checkpoint storage',
  );
}

function describeSize(bytes: number): string {
  return bytes >= 1024 * 1024
    ? `${bytes} bytes (${(bytes / (1024 * 1024)).toFixed(1)} MB)`
    : `${bytes} bytes`;
}
