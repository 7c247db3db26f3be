/**
 * When the FileSink closes a bucket's in-progress part file and starts the next one (Flink's
 * `RollingPolicy`, `DefaultRollingPolicy`, `OnCheckpointRollingPolicy`). A closed part file is
 * pending until the next checkpoint completes, and only then visible.
 */
import { SluiceError } from '../../core/errors.js';
import { type DurationLike, toMillis } from '../../core/duration.js';

/** What a rolling policy sees of an in-progress part file (Flink's `PartFileInfo`). */
export interface PartFileInfo {
  getBucketId(): string;
  /** When the part file was opened (processing time, ms). */
  getCreationTime(): number;
  /** Bytes written to it so far. */
  getSize(): number;
  /** When a record was last written to it (processing time, ms). */
  getLastUpdateTime(): number;
}

export interface RollingPolicy<T = unknown> {
  /** At a checkpoint barrier: close the part file? (Bulk formats always do.) */
  shouldRollOnCheckpoint(partFileState: PartFileInfo): boolean;
  /** Before writing `element` into the part file. */
  shouldRollOnEvent(partFileState: PartFileInfo, element: T): boolean;
  /** On the sink's processing-time check (at each checkpoint barrier). */
  shouldRollOnProcessingTime(partFileState: PartFileInfo, currentTime: number): boolean;
}

const DEFAULT_INTERVAL_MS = 60_000;
const DEFAULT_MAX_PART_SIZE = 128 * 1024 * 1024;

/**
 * Rolls when a part file reaches a size, is older than the rollover interval, or has not been
 * written to for the inactivity interval (defaults as Flink: 128 MB, 60 s, 60 s).
 */
export class DefaultRollingPolicy<T = unknown> implements RollingPolicy<T> {
  constructor(
    private readonly partSize: number,
    private readonly rolloverInterval: number,
    private readonly inactivityInterval: number,
  ) {}

  static builder(): DefaultRollingPolicyBuilder {
    return new DefaultRollingPolicyBuilder();
  }

  shouldRollOnCheckpoint(partFileState: PartFileInfo): boolean {
    return partFileState.getSize() > this.partSize;
  }

  shouldRollOnEvent(partFileState: PartFileInfo): boolean {
    return partFileState.getSize() > this.partSize;
  }

  shouldRollOnProcessingTime(partFileState: PartFileInfo, currentTime: number): boolean {
    return (
      currentTime - partFileState.getCreationTime() >= this.rolloverInterval ||
      currentTime - partFileState.getLastUpdateTime() >= this.inactivityInterval
    );
  }

  getMaxPartSize(): number {
    return this.partSize;
  }
  getRolloverInterval(): number {
    return this.rolloverInterval;
  }
  getInactivityInterval(): number {
    return this.inactivityInterval;
  }
}

function positive(what: string, value: number): number {
  if (!(value > 0) || !Number.isFinite(value))
    throw new SluiceError(
      'SLUICE_PROGRAM_INVALID',
      `DefaultRollingPolicy: ${what} must be a positive number, got ${String(value)}.`,
    );
  return value;
}

/** Builds a DefaultRollingPolicy; times in ms (or a Duration-like value), size in bytes. */
export class DefaultRollingPolicyBuilder {
  private partSize = DEFAULT_MAX_PART_SIZE;
  private rolloverInterval = DEFAULT_INTERVAL_MS;
  private inactivityInterval = DEFAULT_INTERVAL_MS;

  withMaxPartSize(bytes: number | { getBytes(): number }): this {
    this.partSize = positive('the max part size', typeof bytes === 'number' ? bytes : bytes.getBytes());
    return this;
  }

  withRolloverInterval(interval: DurationLike): this {
    this.rolloverInterval = positive(
      'the rollover interval',
      toMillis(interval, 'DefaultRollingPolicy.withRolloverInterval()'),
    );
    return this;
  }

  withInactivityInterval(interval: DurationLike): this {
    this.inactivityInterval = positive(
      'the inactivity interval',
      toMillis(interval, 'DefaultRollingPolicy.withInactivityInterval()'),
    );
    return this;
  }

  build<T = unknown>(): DefaultRollingPolicy<T> {
    return new DefaultRollingPolicy<T>(this.partSize, this.rolloverInterval, this.inactivityInterval);
  }
}

/** Rolls at every checkpoint and only then (Flink's `OnCheckpointRollingPolicy`). */
export class OnCheckpointRollingPolicy<T = unknown> implements RollingPolicy<T> {
  static build<T = unknown>(): OnCheckpointRollingPolicy<T> {
    return new OnCheckpointRollingPolicy<T>();
  }

  shouldRollOnCheckpoint(): boolean {
    return true;
  }

  shouldRollOnEvent(): boolean {
    return false;
  }

  shouldRollOnProcessingTime(): boolean {
    return false;
  }
}
