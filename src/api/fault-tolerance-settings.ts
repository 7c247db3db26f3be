/** Reads the checkpoint, restart and recovery options of a submission from the configuration. */
import type { ConfigOption } from '../core/config-option.js';
import type { Configuration } from '../core/configuration.js';
import {
  CheckpointingOptions,
  ClusterOptions,
  RestartOptions,
  RestOptions,
  StateRecoveryOptions,
} from '../core/config-options.js';
import { SluiceError } from '../core/errors.js';
import { restartStrategyFromConfig } from '../protocol/restart-strategy.js';
import type { CheckpointingSubmission, PipelineSubmission } from './execution.js';

type FaultToleranceSettings = Pick<
  PipelineSubmission,
  | 'checkpointing'
  | 'restartStrategy'
  | 'restorePath'
  | 'ignoreUnclaimedState'
  | 'claimMode'
  | 'failoverStrategy'
>;

function storageKind(configuration: Configuration): 'jobmanager' | 'filesystem' | undefined {
  const raw = configuration.get(CheckpointingOptions.CHECKPOINT_STORAGE);
  if (raw === undefined) return undefined;
  const kind = raw.trim().toLowerCase();
  if (kind === 'jobmanager' || kind === 'filesystem') return kind;
  throw new SluiceError(
    'SLUICE_CONFIG_INVALID_VALUE',
    `${CheckpointingOptions.CHECKPOINT_STORAGE.key}: "${raw}" is not a checkpoint storage; expected jobmanager or filesystem`,
  );
}

/**
 * The checkpointing, restart-strategy and state-recovery settings, with Flink's defaults; with
 * `checkpointing: false` (a BATCH job) as if no checkpoint interval were set.
 */
export function faultTolerance(
  configuration: Configuration,
  options: { readonly checkpointing?: boolean } = {},
): FaultToleranceSettings {
  const interval =
    options.checkpointing === false
      ? undefined
      : configuration.get(CheckpointingOptions.CHECKPOINTING_INTERVAL);
  let checkpointing: CheckpointingSubmission | undefined;
  if (interval !== undefined) {
    const dir = configuration.get(CheckpointingOptions.CHECKPOINTS_DIRECTORY);
    const storage = storageKind(configuration);
    const mode = configuration.get(CheckpointingOptions.CHECKPOINTING_CONSISTENCY_MODE);
    const recover = configuration.get(StateRecoveryOptions.LOCAL_RECOVERY);
    // Flink: local backup falls back to from-local when it is not set.
    const backup = configuration.contains(CheckpointingOptions.LOCAL_BACKUP_ENABLED)
      ? configuration.get(CheckpointingOptions.LOCAL_BACKUP_ENABLED)
      : recover;
    const savepointDir = configuration.get(CheckpointingOptions.SAVEPOINT_DIRECTORY);
    checkpointing = {
      intervalMs: interval,
      timeoutMs: configuration.get(CheckpointingOptions.CHECKPOINTING_TIMEOUT),
      minPauseMs: configuration.get(CheckpointingOptions.MIN_PAUSE_BETWEEN_CHECKPOINTS),
      maxConcurrent: configuration.get(CheckpointingOptions.MAX_CONCURRENT_CHECKPOINTS),
      tolerableFailures: configuration.get(CheckpointingOptions.TOLERABLE_FAILURE_NUMBER),
      mode,
      // Flink takes unaligned checkpoints in EXACTLY_ONCE only; AT_LEAST_ONCE never aligns anyway.
      unaligned: mode === 'EXACTLY_ONCE' && configuration.get(CheckpointingOptions.ENABLE_UNALIGNED),
      alignedCheckpointTimeoutMs: configuration.get(CheckpointingOptions.ALIGNED_CHECKPOINT_TIMEOUT),
      numRetained: configuration.get(CheckpointingOptions.MAX_RETAINED_CHECKPOINTS),
      historySize: configuration.get(RestOptions.CHECKPOINTS_HISTORY_SIZE),
      retention: configuration.get(CheckpointingOptions.EXTERNALIZED_CHECKPOINT_RETENTION),
      storage: {
        ...(storage === undefined ? {} : { storage }),
        ...(dir === undefined ? {} : { dir }),
        inlineThreshold: configuration.get(CheckpointingOptions.FS_SMALL_FILE_THRESHOLD),
      },
      ...(backup || recover ? { localRecovery: { backup, recover } } : {}),
      ...(savepointDir === undefined ? {} : { savepointDir }),
    };
  }
  const values: Record<string, unknown> = {};
  for (const option of Object.values(RestartOptions) as ConfigOption<unknown>[])
    values[option.key] = configuration.getOptional(option);
  return {
    checkpointing,
    restartStrategy: restartStrategyFromConfig(values, {
      checkpointingEnabled: interval !== undefined,
    }),
    restorePath: configuration.get(StateRecoveryOptions.SAVEPOINT_PATH),
    ignoreUnclaimedState: configuration.get(StateRecoveryOptions.SAVEPOINT_IGNORE_UNCLAIMED_STATE),
    claimMode: configuration.get(StateRecoveryOptions.RESTORE_MODE),
    failoverStrategy: configuration.get(ClusterOptions.EXECUTION_FAILOVER_STRATEGY),
  };
}
