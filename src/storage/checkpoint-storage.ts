/** The CheckpointStorage contract: where checkpoints are written, finalized, found and discarded. */
import type { CheckpointId, JobId } from '../core/ids.js';
import type { CheckpointMetadata } from './checkpoint-metadata.js';
import type { FileStateHandle, StateScope, StreamStateHandle } from './state-handle.js';

/** Name of the file whose presence proves that a checkpoint completed (Flink's METADATA_FILE_NAME). */
export const METADATA_FILE_NAME = '_metadata';
/** Prefix of a checkpoint's directory name, `chk-<n>` (Flink's CHECKPOINT_DIR_PREFIX). */
export const CHECKPOINT_DIR_PREFIX = 'chk-';
/** The job subdirectory for state shared by several checkpoints (Flink's CHECKPOINT_SHARED_STATE_DIR). */
export const SHARED_STATE_DIR = 'shared';
/** The job subdirectory for task-owned state (Flink's CHECKPOINT_TASK_OWNED_STATE_DIR). */
export const TASK_OWNED_STATE_DIR = 'taskowned';
/** Flink's external pointer for checkpoints that exist only in JobManager memory. */
export const NOT_EXTERNALLY_ADDRESSABLE = '<checkpoint-not-externally-addressable>';
/** Default `execution.checkpointing.data-inline-threshold`: 20 KB. */
export const DEFAULT_INLINE_THRESHOLD = 20 * 1024;
/** Largest allowed inline threshold, 1 MB (Flink's MAX_FILE_STATE_THRESHOLD). */
export const MAX_INLINE_THRESHOLD = 1024 * 1024;

/**
 * Where one checkpoint's state goes. Plain data, so the JobManager can hand it to TaskManagers
 * (Flink's CheckpointStorageLocationReference) and they write with their own storage instance.
 */
export interface CheckpointStorageLocation {
  readonly jobId: JobId;
  readonly checkpointId: CheckpointId;
  /**
   * Resolvable by a storage of the same kind: for filesystem storage the absolute `chk-<n>`
   * directory; for jobmanager storage `jobmanager://<jobId>/chk-<n>` (meaningful only to the
   * storage instance that holds it).
   */
  readonly pointer: string;
}

/** A finalized checkpoint: its `_metadata` is durable and it can be restored. */
export interface CompletedCheckpointLocation {
  /**
   * What users see and restore from (REST `external_path`, logs): the `chk-<n>` directory, or
   * `<checkpoint-not-externally-addressable>` for jobmanager storage, as in Flink.
   */
  readonly externalPointer: string;
  /** A pointer this storage's `resolveCheckpoint` accepts, whatever the storage (for recovery). */
  readonly pointer: string;
  /** Size of the encoded `_metadata` in bytes. */
  readonly metadataSize: number;
}

/** A checkpoint found by `resolveCheckpoint`: its metadata and where its exclusive state lives. */
export interface ResolvedCheckpoint {
  readonly metadata: CheckpointMetadata;
  /** Where the checkpoint is now (after a move, not where it was written), for `readState`. */
  readonly location: CheckpointStorageLocation;
}

/** One completed checkpoint of a job, as `listCheckpoints` finds it. */
export interface CheckpointListing {
  readonly checkpointId: CheckpointId;
  readonly pointer: string;
}

/**
 * Checkpoint storage (Flink's CheckpointStorage and CheckpointStorageAccess in one). The storage
 * only stores: retention, subsumption and shared-state reference counting are the caller's
 * decisions, carried out with `discardCheckpoint`.
 */
export interface CheckpointStorage {
  /** `jobmanager` (in memory) or `filesystem` (`execution.checkpointing.dir`). */
  readonly name: 'jobmanager' | 'filesystem';

  /** Prepares checkpoint `checkpointId` of `jobId` (filesystem: creates `chk-<n>/`, `shared/`, `taskowned/`). */
  initializeCheckpoint(jobId: JobId, checkpointId: CheckpointId): Promise<CheckpointStorageLocation>;

  /**
   * The location `initializeCheckpoint` makes for this checkpoint, without touching the storage:
   * how a TaskManager, with its own storage instance, finds where the JobManager's checkpoint goes.
   */
  locationOf(jobId: JobId, checkpointId: CheckpointId): CheckpointStorageLocation;

  /**
   * Stores one piece of state and returns its handle: inline when it is at most the inline
   * threshold (jobmanager storage: always inline, up to its per-handle limit), else a durable file
   * in the directory of `scope` (default `exclusive`). `data` is copied or written before this
   * returns, so the caller may reuse its buffer.
   */
  writeState(
    location: CheckpointStorageLocation,
    data: Uint8Array,
    scope?: StateScope,
  ): Promise<StreamStateHandle>;

  /**
   * The bytes of `handle`, whose relative paths are resolved against `where` (a location or a
   * pointer). Verifies size and CRC32C of files: SLUICE_CHECKPOINT_CORRUPT naming the file on a
   * mismatch, SLUICE_CHECKPOINT_NOT_FOUND when it is missing.
   */
  readState(handle: StreamStateHandle, where: CheckpointStorageLocation | string): Promise<Uint8Array>;

  /**
   * Checks cheaply, without reading its bytes, that `handle` can be read: a file exists with the
   * size the handle records (its checksum is verified only by `readState`). The JobManager checks
   * a checkpoint this way before restoring from it; the tasks read their own state.
   * SLUICE_CHECKPOINT_NOT_FOUND / SLUICE_CHECKPOINT_CORRUPT as `readState`.
   */
  checkState(handle: StreamStateHandle, where: CheckpointStorageLocation | string): Promise<void>;

  /**
   * Makes the checkpoint complete by durably and atomically writing its `_metadata`: until this
   * resolves, the checkpoint does not exist for `resolveCheckpoint` or `listCheckpoints`. Fails
   * with SLUICE_CHECKPOINT_STORAGE_FAILED when the checkpoint was discarded meanwhile.
   */
  finalizeCheckpoint(
    location: CheckpointStorageLocation,
    metadata: CheckpointMetadata,
  ): Promise<CompletedCheckpointLocation>;

  /**
   * Deletes everything exclusive to one checkpoint (its `chk-<n>` directory), for aborted,
   * failed and subsumed checkpoints. Shared and task-owned state is left alone. Idempotent.
   */
  discardCheckpoint(where: CheckpointStorageLocation | string): Promise<void>;

  /**
   * Deletes shared state files (scope `shared`, paths relative to the job directory of the
   * checkpoint at `where`) that the shared-state registry found unused, or that an aborted
   * checkpoint wrote. Missing files are fine (idempotent); other handles are refused.
   */
  discardSharedState(
    where: CheckpointStorageLocation | string,
    files: readonly FileStateHandle[],
  ): Promise<void>;

  /**
   * The completed checkpoint at `pointer`: a `chk-<n>` directory or its `_metadata` file, with or
   * without `file://` (filesystem), or a jobmanager pointer from this storage. Throws
   * SLUICE_CHECKPOINT_NOT_FOUND when there is no `_metadata`, SLUICE_CHECKPOINT_CORRUPT when it
   * is damaged.
   */
  resolveCheckpoint(pointer: string): Promise<ResolvedCheckpoint>;

  /** The job's completed checkpoints (those with `_metadata`), oldest first, for recovery fallback. */
  listCheckpoints(jobId: JobId): Promise<readonly CheckpointListing[]>;

  /**
   * Cleans up after a job ended. Without `keepCheckpoints` everything of the job goes (the job
   * directory with `shared/` and `taskowned/`); with it, completed checkpoints and all shared
   * state stay and only unfinished checkpoints (no `_metadata`) are removed.
   */
  disposeJob(jobId: JobId, options: { readonly keepCheckpoints: boolean }): Promise<void>;
}
