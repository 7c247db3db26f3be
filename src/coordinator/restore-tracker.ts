/** What each deployment of a job restores from, and how often the job was restored. */
import type { Clock } from '../core/clock.js';
import { SluiceError } from '../core/errors.js';
import type { CheckpointId, JobId } from '../core/ids.js';
import type { Logger } from '../core/log.js';
import type { PipelineSubmission } from '../api/execution.js';
import type { JobCheckpoints } from './job-checkpoints.js';
import {
  restoreFallBackNotice,
  restoreFromPath,
  restoreLatest,
  warnUnreadable,
  type LoadedRestore,
} from './job-restore.js';

/**
 * Loads the state to restore for a deployment (throwing SLUICE_RESTORE_FAILED when there is
 * none that can be used), remembers the checkpoints a task could not read, and counts the restores.
 */
export class RestoreTracker {
  private lastRestoredId: number | undefined;
  private restoredCount = 0;
  /** Checkpoints a task failed to read (SLUICE_RESTORE_STATE_UNREADABLE), with why: never chosen again. */
  private readonly unusable = new Map<CheckpointId, string>();

  constructor(
    private readonly jobId: JobId,
    private readonly submission: PipelineSubmission,
    private readonly checkpoints: JobCheckpoints | undefined,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  /**
   * What deployment `attempt` of the whole job restores from: the first from
   * `execution.state-recovery.path` if set, the others from the newest readable checkpoint.
   */
  forJob(attempt: number): Promise<LoadedRestore | undefined> {
    if (attempt === 0 && this.submission.restorePath !== undefined)
      return restoreFromPath(this.submission, this.submission.restorePath);
    return this.latest();
  }

  /** What failed-over regions restore from: the newest readable checkpoint. */
  latest(): Promise<LoadedRestore | undefined> {
    const checkpoints = this.checkpoints;
    return checkpoints
      ? restoreLatest(
          this.submission,
          checkpoints.storage,
          checkpoints.coordinator.completedCheckpoints,
          this.unusable,
        )
      : Promise.resolve(undefined);
  }

  /**
   * A task could not read the state of `restore` (`error`, SLUICE_RESTORE_STATE_UNREADABLE): its
   * checkpoint is unusable from now on, which one WARN line says. Returns the error the job fails
   * with when there is nothing to fall back to (a restore from an explicit `-s` path), else
   * undefined: the caller restores the whole job again, from an older retained checkpoint.
   */
  markUnusable(restore: LoadedRestore, error: Error): SluiceError | undefined {
    const { checkpoint } = restore;
    if (restore.fromPath)
      return new SluiceError(
        'SLUICE_RESTORE_FAILED',
        `the job cannot be restored from ${checkpoint.externalPointer}: ${error.message}`,
        { cause: error },
      );
    if (!this.unusable.has(checkpoint.checkpointId)) {
      this.unusable.set(checkpoint.checkpointId, error.message);
      warnUnreadable(checkpoint, error.message);
    }
    return undefined;
  }

  /**
   * Why a region failover cannot restore from `restore`, or undefined when it can: the other
   * regions went on past the checkpoint this region would fall back to, and split assignments
   * since then are forgotten, so only the whole job can go back that far.
   */
  regionFallbackError(restore: LoadedRestore | undefined): SluiceError | undefined {
    const latest = this.checkpoints?.coordinator.completedCheckpoints.at(-1);
    if (!restore || !latest || restore.checkpoint.checkpointId >= latest.checkpointId) return undefined;
    return new SluiceError(
      'SLUICE_RESTORE_FAILED',
      `checkpoint ${latest.checkpointId} cannot be read for a region failover; restarting the whole job from checkpoint ${restore.checkpoint.checkpointId}`,
    );
  }

  /**
   * Logs that the job (or some of its regions, `what`) is deployed to restore from a checkpoint,
   * and adopts it as the newest completed one (checkpoint ids go on after it).
   */
  noteDeploying(restore: LoadedRestore, what: string): void {
    this.checkpoints?.coordinator.adoptRestored(restore.checkpoint);
    this.log.info(
      {
        jobId: this.jobId,
        checkpointId: restore.checkpoint.checkpointId,
        path: restore.checkpoint.externalPointer,
      },
      `restoring ${what} from checkpoint ${restore.checkpoint.checkpointId} (${restore.checkpoint.externalPointer})`,
    );
  }

  /**
   * Counts a restore once its tasks read their state and run. Returns the notice of a restore
   * that fell back past newer checkpoints (logged here too), for the exception history.
   */
  noteRestored(restore: LoadedRestore): SluiceError | undefined {
    const coordinator = this.checkpoints?.coordinator;
    coordinator?.stats.reportRestored({
      id: restore.checkpoint.checkpointId,
      restoreTimestamp: this.clock.now(),
      isSavepoint: restore.checkpoint.metadata.isSavepoint,
      externalPath: restore.checkpoint.externalPointer,
    });
    this.lastRestoredId = restore.checkpoint.checkpointId;
    this.restoredCount++;
    const fellBack = restoreFallBackNotice(restore);
    if (fellBack)
      this.log.warn(
        {
          jobId: this.jobId,
          checkpointId: restore.checkpoint.checkpointId,
          code: 'SLUICE_RESTORE_FELL_BACK',
        },
        fellBack.message,
      );
    return fellBack;
  }

  /** How many times the job was restored, and from which checkpoint last. */
  get counts(): { readonly restored: number; readonly lastRestoredCheckpointId: number | undefined } {
    return { restored: this.restoredCount, lastRestoredCheckpointId: this.lastRestoredId };
  }
}
