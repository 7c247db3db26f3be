/** Flink's StateTtlConfig: how long keyed state lives after it was last written (or read), and how it is cleaned up. */
import { toMillis, type DurationLike } from '../../core/duration.js';
import { SluiceError } from '../../core/errors.js';

/** When an entry's timestamp is refreshed (Flink's `StateTtlConfig.UpdateType`). */
export const UpdateType = {
  /** TTL is disabled: state never expires. */
  Disabled: 'Disabled',
  /** The timestamp is set when the value is created and on every write (the default). */
  OnCreateAndWrite: 'OnCreateAndWrite',
  /** As OnCreateAndWrite, and on every read too. */
  OnReadAndWrite: 'OnReadAndWrite',
} as const;
export type UpdateType = (typeof UpdateType)[keyof typeof UpdateType];

/** Whether an expired value that is still stored may be returned (Flink's `StateTtlConfig.StateVisibility`). */
export const StateVisibility = {
  /** An expired value is returned if it was not cleaned up yet (and is cleaned up then). */
  ReturnExpiredIfNotCleanedUp: 'ReturnExpiredIfNotCleanedUp',
  /** An expired value is never returned (the default). */
  NeverReturnExpired: 'NeverReturnExpired',
} as const;
export type StateVisibility = (typeof StateVisibility)[keyof typeof StateVisibility];

/** Which time TTL is measured in (Flink's `StateTtlConfig.TtlTimeCharacteristic`): processing time only, as in Flink. */
export const TtlTimeCharacteristic = { ProcessingTime: 'ProcessingTime' } as const;
export type TtlTimeCharacteristic = (typeof TtlTimeCharacteristic)[keyof typeof TtlTimeCharacteristic];

/** Background cleanup while the state is used (Flink's `IncrementalCleanupStrategy`). */
export interface IncrementalCleanup {
  /** How many entries each step checks. */
  readonly cleanupSize: number;
  /** Whether a step also runs for every record, not only on state access. */
  readonly runCleanupForEveryRecord: boolean;
}

/** How expired state is removed besides on read (Flink's `StateTtlConfig.CleanupStrategies`). */
export interface CleanupStrategies {
  /** Expired entries are left out when a full snapshot is taken, so a restore does not load them. */
  readonly fullSnapshot: boolean;
  /** Checks a few entries per access (the heap backend's default: 5 per access). */
  readonly incremental: IncrementalCleanup | undefined;
  /**
   * Flink's RocksDB compaction filter; the LMDB backend honours it as incremental cleanup that
   * checks this many entries per step (Flink's default: re-reads the time after 1000 entries).
   */
  readonly compactionFilterEntries: number | undefined;
  /** `disableCleanupInBackground()`: only reads (and full snapshots, if asked) remove expired state. */
  readonly inBackground: boolean;
  isCleanupInBackground(): boolean;
}

/**
 * Time-to-live of keyed state (Flink's `StateTtlConfig`), given to a descriptor's
 * `enableTimeToLive(config)`. Built with `StateTtlConfig.newBuilder(Duration.ofSeconds(1))`
 * (or `Time.seconds(1)`, or milliseconds). Expired values read as absent; each list element and
 * each map entry expires on its own, as in Flink.
 */
export class StateTtlConfig {
  /** A config whose state never expires. */
  static readonly DISABLED: StateTtlConfig = new StateTtlConfig(
    'Disabled',
    'NeverReturnExpired',
    'ProcessingTime',
    Number.MAX_SAFE_INTEGER,
    cleanup(false, undefined, undefined, false),
  );

  static readonly UpdateType = UpdateType;
  static readonly StateVisibility = StateVisibility;
  static readonly TtlTimeCharacteristic = TtlTimeCharacteristic;

  private constructor(
    readonly updateType: UpdateType,
    readonly stateVisibility: StateVisibility,
    readonly ttlTimeCharacteristic: TtlTimeCharacteristic,
    /** The time to live in milliseconds. */
    readonly ttlMillis: number,
    readonly cleanupStrategies: CleanupStrategies,
  ) {}

  /** A builder for a TTL of `ttl` (a Duration, Flink 1.x Time, or milliseconds). */
  static newBuilder(ttl: DurationLike): StateTtlConfigBuilder {
    return new StateTtlConfigBuilder(ttl);
  }

  /** @internal */
  static create(b: StateTtlConfigBuilder, parts: BuilderParts): StateTtlConfig {
    void b;
    return new StateTtlConfig(
      parts.updateType,
      parts.stateVisibility,
      'ProcessingTime',
      parts.ttlMillis,
      cleanup(parts.fullSnapshot, parts.incremental, parts.compactionFilterEntries, parts.inBackground),
    );
  }

  isEnabled(): boolean {
    return this.updateType !== 'Disabled';
  }
  getUpdateType(): UpdateType {
    return this.updateType;
  }
  getStateVisibility(): StateVisibility {
    return this.stateVisibility;
  }
  getTtlTimeCharacteristic(): TtlTimeCharacteristic {
    return this.ttlTimeCharacteristic;
  }
  /** The TTL in milliseconds. */
  getTtl(): number {
    return this.ttlMillis;
  }
  getCleanupStrategies(): CleanupStrategies {
    return this.cleanupStrategies;
  }
  toString(): string {
    return `StateTtlConfig{updateType=${this.updateType}, stateVisibility=${this.stateVisibility}, ttl=${this.ttlMillis} ms}`;
  }
}

interface BuilderParts {
  updateType: UpdateType;
  stateVisibility: StateVisibility;
  ttlMillis: number;
  fullSnapshot: boolean;
  incremental: IncrementalCleanup | undefined;
  compactionFilterEntries: number | undefined;
  inBackground: boolean;
}

function cleanup(
  fullSnapshot: boolean,
  incremental: IncrementalCleanup | undefined,
  compactionFilterEntries: number | undefined,
  inBackground: boolean,
): CleanupStrategies {
  return {
    fullSnapshot,
    incremental,
    compactionFilterEntries,
    inBackground,
    isCleanupInBackground: () => inBackground,
  };
}

/** Flink's `StateTtlConfig.Builder`. */
export class StateTtlConfigBuilder {
  private readonly parts: BuilderParts;

  constructor(ttl: DurationLike) {
    const ttlMillis = toMillis(ttl, 'StateTtlConfig.newBuilder(ttl)');
    if (ttlMillis <= 0) throw invalid(`the TTL must be positive, got ${ttlMillis} ms`);
    this.parts = {
      updateType: 'OnCreateAndWrite',
      stateVisibility: 'NeverReturnExpired',
      ttlMillis,
      fullSnapshot: false,
      incremental: undefined,
      compactionFilterEntries: undefined,
      inBackground: true,
    };
  }

  setUpdateType(updateType: UpdateType): this {
    if (!Object.values(UpdateType).includes(updateType))
      throw invalid(
        `unknown update type ${String(updateType)}; use one of ${Object.values(UpdateType).join(', ')}`,
      );
    this.parts.updateType = updateType;
    return this;
  }
  updateTtlOnCreateAndWrite(): this {
    return this.setUpdateType('OnCreateAndWrite');
  }
  updateTtlOnReadAndWrite(): this {
    return this.setUpdateType('OnReadAndWrite');
  }

  setStateVisibility(visibility: StateVisibility): this {
    if (!Object.values(StateVisibility).includes(visibility))
      throw invalid(
        `unknown state visibility ${String(visibility)}; use one of ${Object.values(StateVisibility).join(', ')}`,
      );
    this.parts.stateVisibility = visibility;
    return this;
  }
  returnExpiredIfNotCleanedUp(): this {
    return this.setStateVisibility('ReturnExpiredIfNotCleanedUp');
  }
  neverReturnExpired(): this {
    return this.setStateVisibility('NeverReturnExpired');
  }

  /** Only processing time exists, as in Flink. */
  setTtlTimeCharacteristic(characteristic: TtlTimeCharacteristic): this {
    if (characteristic !== 'ProcessingTime')
      throw invalid(
        `TTL is measured in processing time only (Flink's ProcessingTime), got ${String(characteristic)}`,
      );
    return this;
  }
  useProcessingTime(): this {
    return this;
  }

  setTtl(ttl: DurationLike): this {
    const ttlMillis = toMillis(ttl, 'StateTtlConfig.Builder.setTtl(ttl)');
    if (ttlMillis <= 0) throw invalid(`the TTL must be positive, got ${ttlMillis} ms`);
    this.parts.ttlMillis = ttlMillis;
    return this;
  }

  cleanupFullSnapshot(): this {
    this.parts.fullSnapshot = true;
    return this;
  }
  /** Checks `cleanupSize` entries per state access (and per record if `runCleanupForEveryRecord`). */
  cleanupIncrementally(cleanupSize: number, runCleanupForEveryRecord = false): this {
    if (!Number.isInteger(cleanupSize) || cleanupSize <= 0)
      throw invalid(`cleanupIncrementally(cleanupSize) needs a positive integer, got ${String(cleanupSize)}`);
    this.parts.incremental = { cleanupSize, runCleanupForEveryRecord };
    return this;
  }
  /** Flink's RocksDB compaction filter; honoured by the LMDB backend (see CleanupStrategies). */
  cleanupInRocksdbCompactFilter(queryTimeAfterNumEntries = 1000): this {
    if (!Number.isInteger(queryTimeAfterNumEntries) || queryTimeAfterNumEntries <= 0)
      throw invalid(
        `cleanupInRocksdbCompactFilter(queryTimeAfterNumEntries) needs a positive integer, got ${String(queryTimeAfterNumEntries)}`,
      );
    this.parts.compactionFilterEntries = queryTimeAfterNumEntries;
    return this;
  }
  disableCleanupInBackground(): this {
    this.parts.inBackground = false;
    return this;
  }

  build(): StateTtlConfig {
    return StateTtlConfig.create(this, { ...this.parts });
  }
}

function invalid(message: string): SluiceError {
  return new SluiceError('SLUICE_PROGRAM_INVALID', `StateTtlConfig: ${message}.`);
}
