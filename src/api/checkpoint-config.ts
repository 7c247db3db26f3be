/**
 * CheckpointConfig: Flink's checkpoint settings as setters. Every setter writes the Flink option
 * into the environment's configuration, so code, sluice.yaml and -D are one set of settings.
 */
import type { Configuration } from '../core/configuration.js';
import { CheckpointingOptions } from '../core/config-options.js';
import { invalidProgram } from '../core/errors.js';
import { toMillis, type DurationLike } from '../core/duration.js';

/**
 * Exactly-once (aligned barriers) or at-least-once (no alignment): `CheckpointingMode.EXACTLY_ONCE`
 * as in Flink, or the string `'EXACTLY_ONCE'`.
 */
export const CheckpointingMode = {
  EXACTLY_ONCE: 'EXACTLY_ONCE',
  AT_LEAST_ONCE: 'AT_LEAST_ONCE',
} as const;
/** One of the CheckpointingMode values. */
export type CheckpointingMode = (typeof CheckpointingMode)[keyof typeof CheckpointingMode];

/**
 * What happens to retained checkpoints when the job is cancelled:
 * `ExternalizedCheckpointRetention.RETAIN_ON_CANCELLATION` as in Flink, or the string.
 */
export const ExternalizedCheckpointRetention = {
  DELETE_ON_CANCELLATION: 'DELETE_ON_CANCELLATION',
  RETAIN_ON_CANCELLATION: 'RETAIN_ON_CANCELLATION',
  NO_EXTERNALIZED_CHECKPOINTS: 'NO_EXTERNALIZED_CHECKPOINTS',
} as const;
/** One of the ExternalizedCheckpointRetention values. */
export type ExternalizedCheckpointRetention =
  (typeof ExternalizedCheckpointRetention)[keyof typeof ExternalizedCheckpointRetention];

function nonNegativeInt(what: string, n: number): void {
  if (!Number.isInteger(n) || n < 0)
    throw invalidProgram(`${what} must be a whole number >= 0, got ${String(n)}.`);
}

function positiveMs(what: string, ms: number): void {
  if (!Number.isFinite(ms) || ms < 1)
    throw invalidProgram(`${what} must be at least 1 ms, got ${String(ms)}.`);
}

/** The checkpoint settings of one environment. */
export class CheckpointConfig {
  /** @internal */
  constructor(private readonly configuration: Configuration) {}

  isCheckpointingEnabled(): boolean {
    return this.configuration.get(CheckpointingOptions.CHECKPOINTING_INTERVAL) !== undefined;
  }

  /** `execution.checkpointing.interval` in ms (checkpointing is on once it is set). */
  setCheckpointInterval(ms: number): this {
    positiveMs('the checkpoint interval', ms);
    this.configuration.set(CheckpointingOptions.CHECKPOINTING_INTERVAL, ms);
    return this;
  }
  getCheckpointInterval(): number {
    return this.configuration.get(CheckpointingOptions.CHECKPOINTING_INTERVAL) ?? -1;
  }

  /** `execution.checkpointing.mode`. */
  setCheckpointingConsistencyMode(mode: CheckpointingMode): this {
    this.configuration.set(CheckpointingOptions.CHECKPOINTING_CONSISTENCY_MODE, mode);
    return this;
  }
  /** Flink 1.x name of setCheckpointingConsistencyMode. */
  setCheckpointingMode(mode: CheckpointingMode): this {
    return this.setCheckpointingConsistencyMode(mode);
  }
  getCheckpointingConsistencyMode(): CheckpointingMode {
    return this.configuration.get(CheckpointingOptions.CHECKPOINTING_CONSISTENCY_MODE);
  }

  /** `execution.checkpointing.timeout`: a checkpoint not completed by then is aborted. */
  setCheckpointTimeout(ms: number): this {
    positiveMs('the checkpoint timeout', ms);
    this.configuration.set(CheckpointingOptions.CHECKPOINTING_TIMEOUT, ms);
    return this;
  }
  getCheckpointTimeout(): number {
    return this.configuration.get(CheckpointingOptions.CHECKPOINTING_TIMEOUT);
  }

  /** `execution.checkpointing.min-pause`: time from one completion to the next trigger. */
  setMinPauseBetweenCheckpoints(ms: number): this {
    nonNegativeInt('the minimum pause between checkpoints', ms);
    this.configuration.set(CheckpointingOptions.MIN_PAUSE_BETWEEN_CHECKPOINTS, ms);
    return this;
  }
  getMinPauseBetweenCheckpoints(): number {
    return this.configuration.get(CheckpointingOptions.MIN_PAUSE_BETWEEN_CHECKPOINTS);
  }

  /** `execution.checkpointing.max-concurrent-checkpoints`. */
  setMaxConcurrentCheckpoints(n: number): this {
    if (!Number.isInteger(n) || n < 1)
      throw invalidProgram(`max concurrent checkpoints must be >= 1, got ${String(n)}.`);
    this.configuration.set(CheckpointingOptions.MAX_CONCURRENT_CHECKPOINTS, n);
    return this;
  }
  getMaxConcurrentCheckpoints(): number {
    return this.configuration.get(CheckpointingOptions.MAX_CONCURRENT_CHECKPOINTS);
  }

  /** `execution.checkpointing.tolerable-failed-checkpoints`: consecutive failures before failover. */
  setTolerableCheckpointFailureNumber(n: number): this {
    nonNegativeInt('the tolerable checkpoint failure number', n);
    this.configuration.set(CheckpointingOptions.TOLERABLE_FAILURE_NUMBER, n);
    return this;
  }
  getTolerableCheckpointFailureNumber(): number {
    return this.configuration.get(CheckpointingOptions.TOLERABLE_FAILURE_NUMBER);
  }

  /** `execution.checkpointing.externalized-checkpoint-retention`. */
  setExternalizedCheckpointRetention(retention: ExternalizedCheckpointRetention): this {
    this.configuration.set(CheckpointingOptions.EXTERNALIZED_CHECKPOINT_RETENTION, retention);
    return this;
  }
  getExternalizedCheckpointRetention(): ExternalizedCheckpointRetention {
    return this.configuration.get(CheckpointingOptions.EXTERNALIZED_CHECKPOINT_RETENTION);
  }

  /**
   * Where checkpoints go: `'jobmanager'` (in memory), or a directory URI such as
   * `file:///var/sluice/checkpoints` (`execution.checkpointing.dir`, file storage).
   */
  setCheckpointStorage(storage: string): this {
    if (typeof storage !== 'string' || storage.length === 0)
      throw invalidProgram(
        "setCheckpointStorage() needs 'jobmanager' or a directory URI such as file:///path.",
      );
    if (storage === 'jobmanager')
      this.configuration.set(CheckpointingOptions.CHECKPOINT_STORAGE, 'jobmanager');
    else {
      this.configuration.set(CheckpointingOptions.CHECKPOINTS_DIRECTORY, storage);
      this.configuration.set(CheckpointingOptions.CHECKPOINT_STORAGE, 'filesystem');
    }
    return this;
  }

  /**
   * `execution.checkpointing.unaligned.enabled`: under backpressure, barriers overtake the data
   * queued in the channels, and that in-flight data is stored with the checkpoint (EXACTLY_ONCE
   * only; savepoints stay aligned). With `setAlignedCheckpointTimeout`, a checkpoint starts aligned
   * and goes unaligned only where aligning takes longer.
   */
  enableUnalignedCheckpoints(enabled = true): this {
    this.configuration.set(CheckpointingOptions.ENABLE_UNALIGNED, enabled);
    return this;
  }
  isUnalignedCheckpointsEnabled(): boolean {
    return this.configuration.get(CheckpointingOptions.ENABLE_UNALIGNED);
  }

  /**
   * `execution.checkpointing.aligned-checkpoint-timeout` (default 0: unaligned from the start):
   * with unaligned checkpoints on, how long a checkpoint may align before it goes unaligned.
   */
  setAlignedCheckpointTimeout(timeout: DurationLike): this {
    this.configuration.set(
      CheckpointingOptions.ALIGNED_CHECKPOINT_TIMEOUT,
      toMillis(timeout, 'setAlignedCheckpointTimeout(timeout)'),
    );
    return this;
  }
  getAlignedCheckpointTimeout(): number {
    return this.configuration.get(CheckpointingOptions.ALIGNED_CHECKPOINT_TIMEOUT);
  }

  /** `execution.checkpointing.num-retained`: completed checkpoints kept. */
  setNumRetainedCheckpoints(n: number): this {
    if (!Number.isInteger(n) || n < 1)
      throw invalidProgram(`retained checkpoints must be >= 1, got ${String(n)}.`);
    this.configuration.set(CheckpointingOptions.MAX_RETAINED_CHECKPOINTS, n);
    return this;
  }
}
