/**
 * Chooses what a (re)deployed job restores from: the newest retained checkpoint that can be
 * read — falling back to older ones and saying why —, or the checkpoint/savepoint given with
 * `-s` (`execution.state-recovery.path`).
 */
import { SluiceError } from '../core/errors.js';
import type { CheckpointId } from '../core/ids.js';
import { logger } from '../core/log.js';
import type { PipelineSubmission } from '../api/execution.js';
import { chooseCheckpointToRestore } from '../protocol/completed-checkpoint-retention.js';
import type { CheckpointMetadata } from '../storage/checkpoint-metadata.js';
import type { CheckpointStorage } from '../storage/checkpoint-storage.js';
import {
  checkFileState,
  readFileState,
  resolveFileCheckpoint,
} from '../storage/filesystem/file-system-checkpoint-storage.js';
import type { CompletedCheckpoint } from './checkpoint-coordinator.js';
import { planRestore, type RestorePlan } from './checkpoint-restore.js';

/** A checkpoint chosen for restore and the plan made from it. */
export interface LoadedRestore {
  readonly checkpoint: CompletedCheckpoint;
  readonly plan: RestorePlan;
  /** Newer retained checkpoints passed over because they cannot be read, newest first. */
  readonly skipped: readonly { readonly checkpointId: CheckpointId; readonly reason: string }[];
  /** Restored from the path given with `-s` (`execution.state-recovery.path`): nothing to fall back to. */
  readonly fromPath: boolean;
}

const log = logger('job-restore');

/**
 * The newest of `completed` (oldest first) whose state files are all there, planned for the job;
 * undefined when none was ever completed. `unusable` are checkpoints already known unreadable
 * (a task failed to read them), with why: passed over without a word. Throws SLUICE_RESTORE_FAILED
 * when none can be used, or when the checkpoint does not fit the job.
 */
export async function restoreLatest(
  submission: PipelineSubmission,
  storage: CheckpointStorage,
  completed: readonly CompletedCheckpoint[],
  unusable: ReadonlyMap<CheckpointId, string> = new Map(),
): Promise<LoadedRestore | undefined> {
  const newestFirst = [...completed].reverse();
  const unreadable = new Map<CheckpointId, string>(
    newestFirst
      .filter((c) => unusable.has(c.checkpointId))
      .map((c) => [c.checkpointId, unusable.get(c.checkpointId)!]),
  );
  for (;;) {
    const decision = chooseCheckpointToRestore(newestFirst, unreadable);
    if (decision.kind === 'no-checkpoint') return undefined;
    if (decision.kind === 'unrecoverable')
      throw new SluiceError(
        'SLUICE_RESTORE_FAILED',
        `no retained checkpoint can be read: ${decision.skipped.map((s) => `checkpoint ${s.checkpointId} (${s.reason})`).join('; ')}.`,
      );
    const checkpoint = decision.checkpoint;
    try {
      const pointer = checkpoint.pointer;
      const plan = await planRestore(
        checkpoint.metadata,
        {
          pointer,
          checkState: (h) => storage.checkState(h, pointer),
          readState: (h) => storage.readState(h, pointer),
        },
        submission.jobGraph,
        {
          ignoreUnclaimedState: submission.ignoreUnclaimedState,
          where: `checkpoint ${checkpoint.checkpointId}`,
        },
      );
      // Only newer ones were passed over: one known unusable may be older than what is restored.
      const skipped = [...unreadable]
        .filter(([checkpointId]) => checkpointId > checkpoint.checkpointId)
        .map(([checkpointId, reason]) => ({ checkpointId, reason }))
        .sort((a, b) => b.checkpointId - a.checkpointId);
      return { checkpoint, plan, skipped, fromPath: false };
    } catch (e) {
      if (e instanceof SluiceError && e.code === 'SLUICE_RESTORE_FAILED') throw e;
      const reason = e instanceof Error ? e.message : String(e);
      unreadable.set(checkpoint.checkpointId, reason);
      warnUnreadable(checkpoint, reason);
    }
  }
}

/** Says, in one WARN line, that `checkpoint` cannot be read and why, and that recovery falls back. */
export function warnUnreadable(checkpoint: CompletedCheckpoint, reason: string): void {
  log.warn(
    { checkpointId: checkpoint.checkpointId, path: checkpoint.externalPointer, reason },
    `checkpoint ${checkpoint.checkpointId} cannot be read (${reason}); falling back to an older one`,
  );
}

/**
 * What a restore that fell back past newer checkpoints means for the output, as a notice for the
 * log and the exception history; undefined when the newest was restored. A checkpoint is notified
 * complete the moment it completes, so two-phase-commit sinks had committed its output: what the
 * job wrote after the older checkpoint is written again, and a sink sees it twice.
 */
export function restoreFallBackNotice(restore: LoadedRestore): SluiceError | undefined {
  const newest = restore.skipped[0];
  if (!newest) return undefined;
  const restored = restore.checkpoint.checkpointId;
  const passed = restore.skipped.map((s) => `checkpoint ${s.checkpointId} (${s.reason})`).join('; ');
  const notice = new SluiceError(
    'SLUICE_RESTORE_FELL_BACK',
    `recovery fell back to checkpoint ${restored}: ${passed} cannot be read. Checkpoint ` +
      `${newest.checkpointId} had completed and its output was committed, so output after checkpoint ` +
      `${restored} will be produced again (sinks see what was committed up to checkpoint ` +
      `${newest.checkpointId} twice). Keep checkpoints where files are not lost or damaged.`,
  );
  // Not a failure but a notice: named by its code, so the exception history tells it apart.
  notice.name = 'SLUICE_RESTORE_FELL_BACK';
  return notice;
}

/** The checkpoint or savepoint at `path` (a chk-<n> directory or its _metadata), planned for the job. */
export async function restoreFromPath(submission: PipelineSubmission, path: string): Promise<LoadedRestore> {
  // A path is a file location whatever the job's own storage is (as Flink's resolveCheckpointPointer).
  const resolved = await resolveFileCheckpoint(path);
  checkNativeFormat(resolved.metadata, submission.stateBackend?.kind ?? 'hashmap', path);
  const pointer = resolved.location.pointer;
  const plan = await planRestore(
    resolved.metadata,
    {
      pointer,
      checkState: (h) => checkFileState(h, pointer),
      readState: (h) => readFileState(h, pointer),
    },
    submission.jobGraph,
    { ignoreUnclaimedState: submission.ignoreUnclaimedState, where: `the snapshot at ${path}` },
  );
  return {
    checkpoint: {
      checkpointId: resolved.metadata.checkpointId,
      // NO_CLAIM (the default): never deleted by this job, it is the user's, so retention treats it
      // as a savepoint. CLAIM: the job owns it like its own checkpoints, deleted once subsumed.
      kind: submission.claimMode === 'CLAIM' ? 'checkpoint' : 'savepoint',
      metadata: resolved.metadata,
      pointer,
      externalPointer: pointer,
      stateSize: 0,
    },
    plan,
    skipped: [],
    fromPath: true,
  };
}

/**
 * A NATIVE savepoint is the state backend's own format, so it restores only into the backend type
 * that took it (as in Flink); a CANONICAL one (the default) restores into any.
 */
function checkNativeFormat(metadata: CheckpointMetadata, backend: string, path: string): void {
  if (metadata.savepointFormat !== 'NATIVE' || metadata.stateBackend === undefined) return;
  if (metadata.stateBackend === backend) return;
  throw new SluiceError(
    'SLUICE_RESTORE_FAILED',
    `the savepoint at ${path} is in the NATIVE format of the ${metadata.stateBackend} state backend, ` +
      `which restores only into that backend, but this job uses ${backend} (state.backend.type). ` +
      `Restore it with state.backend.type: ${metadata.stateBackend}, or take a CANONICAL savepoint ` +
      '(the default, `--type canonical`) to change state backends.',
  );
}
