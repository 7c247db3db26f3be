/** Checkpointing, state, recovery and restart options: Flink's keys and defaults (reference/flink-config.md). */
import {
  booleanOption,
  durationOption,
  enumOption,
  floatOption,
  intOption,
  memoryOption,
  stringOption,
} from './config-option.js';

// Constant names follow Flink's (CheckpointingOptions.CHECKPOINTING_INTERVAL, ...) so code and
// Flink's docs cross-reference. Deprecated keys are the Flink 1.x names the seeds still use.

/** Checkpoint triggering, alignment, storage and retention (Flink's CheckpointingOptions). */
export const CheckpointingOptions = {
  CHECKPOINTING_INTERVAL: durationOption(
    'execution.checkpointing.interval',
    undefined,
    'Interval at which checkpoints are triggered; checkpointing is off when unset.',
    { min: 1 },
  ),
  CHECKPOINTING_INTERVAL_DURING_BACKLOG: durationOption(
    'execution.checkpointing.interval-during-backlog',
    undefined,
    'Checkpoint interval while a source reports backlog; 0 disables checkpoints during backlog.',
  ),
  CHECKPOINTING_TIMEOUT: durationOption(
    'execution.checkpointing.timeout',
    '10min',
    'The longest a checkpoint may take before it is aborted.',
    { min: 1 },
  ),
  MAX_CONCURRENT_CHECKPOINTS: intOption(
    'execution.checkpointing.max-concurrent-checkpoints',
    1,
    'How many checkpoints may be in flight at once.',
    { min: 1 },
  ),
  MIN_PAUSE_BETWEEN_CHECKPOINTS: durationOption(
    'execution.checkpointing.min-pause',
    0,
    'Least time between the end of one checkpoint and the start of the next.',
  ),
  TOLERABLE_FAILURE_NUMBER: intOption(
    'execution.checkpointing.tolerable-failed-checkpoints',
    0,
    'Consecutive checkpoint failures (async phase, I/O, timeout) tolerated before the job fails over.',
    { min: 0 },
  ),
  CHECKPOINTING_CONSISTENCY_MODE: enumOption(
    'execution.checkpointing.mode',
    ['EXACTLY_ONCE', 'AT_LEAST_ONCE'],
    'EXACTLY_ONCE',
    'Exactly-once (aligned barriers) or at-least-once (no alignment) checkpoints.',
  ),
  EXTERNALIZED_CHECKPOINT_RETENTION: enumOption(
    'execution.checkpointing.externalized-checkpoint-retention',
    ['NO_EXTERNALIZED_CHECKPOINTS', 'RETAIN_ON_CANCELLATION', 'DELETE_ON_CANCELLATION'],
    'NO_EXTERNALIZED_CHECKPOINTS',
    'Whether retained checkpoints are kept or deleted when the job is cancelled.',
  ),
  CHECKPOINTS_DIRECTORY: stringOption(
    'execution.checkpointing.dir',
    undefined,
    'Directory (or URI) for checkpoint data and metadata; must be reachable from every process.',
    { deprecatedKeys: ['state.checkpoints.dir', 'state.backend.fs.checkpointdir'] },
  ),
  SAVEPOINT_DIRECTORY: stringOption(
    'execution.checkpointing.savepoint-dir',
    undefined,
    'Default directory for savepoints.',
    { deprecatedKeys: ['state.savepoints.dir', 'savepoints.state.backend.fs.dir'] },
  ),
  CHECKPOINT_STORAGE: stringOption(
    'execution.checkpointing.storage',
    undefined,
    'Checkpoint storage shortcut name (e.g. jobmanager, filesystem).',
    { deprecatedKeys: ['state.checkpoint-storage'] },
  ),
  MAX_RETAINED_CHECKPOINTS: intOption(
    'execution.checkpointing.num-retained',
    1,
    'How many completed checkpoints to keep.',
    { min: 1, deprecatedKeys: ['state.checkpoints.num-retained'] },
  ),
  INCREMENTAL_CHECKPOINTS: booleanOption(
    'execution.checkpointing.incremental',
    false,
    'Write only the difference from the previous checkpoint, where the state backend supports it.',
    { deprecatedKeys: ['state.backend.incremental'] },
  ),
  INCREMENTAL_MAX_CHAIN_LENGTH: intOption(
    'execution.checkpointing.incremental.max-chain-length',
    10,
    'Incremental checkpoints (hashmap): after this many deltas on one base the next checkpoint writes a new full base, so restore reads a bounded chain (Sluice only).',
    { min: 0 },
  ),
  INCREMENTAL_MAX_DELTA_RATIO: floatOption(
    'execution.checkpointing.incremental.max-delta-ratio',
    1.0,
    "Incremental checkpoints (hashmap): once a chain's deltas add up to more than this fraction of its base's size, the next checkpoint writes a new full base (Sluice only).",
  ),
  FS_SMALL_FILE_THRESHOLD: memoryOption(
    'execution.checkpointing.data-inline-threshold',
    '20kb',
    'State chunks smaller than this are stored inline in the checkpoint metadata file (at most 1 mb).',
    {
      max: 1024 * 1024,
      deprecatedKeys: ['state.storage.fs.memory-threshold', 'state.backend.fs.memory-threshold'],
    },
  ),
  FS_WRITE_BUFFER_SIZE: intOption(
    'execution.checkpointing.write-buffer-size',
    4096,
    'Write buffer size in bytes of checkpoint streams to file systems (at least the inline threshold).',
    { min: 0, deprecatedKeys: ['state.storage.fs.write-buffer-size', 'state.backend.fs.write-buffer-size'] },
  ),
  CREATE_CHECKPOINT_SUB_DIR: booleanOption(
    'execution.checkpointing.create-subdir',
    true,
    'Put checkpoints under a per-job subdirectory, so jobs can share one checkpoint directory.',
    { deprecatedKeys: ['state.checkpoints.create-subdir'] },
  ),
  CLEANER_PARALLEL_MODE: booleanOption(
    'execution.checkpointing.cleaner.parallel-mode',
    true,
    "Discard a checkpoint's state files in parallel.",
    { deprecatedKeys: ['state.checkpoint.cleaner.parallel-mode'] },
  ),
  ENABLE_UNALIGNED: booleanOption(
    'execution.checkpointing.unaligned.enabled',
    false,
    'Let barriers overtake in-flight buffers (stored in the checkpoint); exactly-once with one concurrent checkpoint only.',
    { deprecatedKeys: ['execution.checkpointing.unaligned'] },
  ),
  ALIGNED_CHECKPOINT_TIMEOUT: durationOption(
    'execution.checkpointing.aligned-checkpoint-timeout',
    0,
    'With unaligned checkpoints: start aligned and switch to unaligned after this long; 0 is always unaligned.',
    { deprecatedKeys: ['execution.checkpointing.alignment-timeout'] },
  ),
  FORCE_UNALIGNED: booleanOption(
    'execution.checkpointing.unaligned.forced',
    false,
    'Force unaligned checkpoints even where they are normally refused.',
  ),
  ENABLE_UNALIGNED_INTERRUPTIBLE_TIMERS: booleanOption(
    'execution.checkpointing.unaligned.interruptible-timers.enabled',
    false,
    'Let unaligned checkpoints skip timers that are currently firing, where the operator supports it.',
  ),
  UNALIGNED_MAX_SUBTASKS_PER_CHANNEL_STATE_FILE: intOption(
    'execution.checkpointing.unaligned.max-subtasks-per-channel-state-file',
    5,
    'How many subtasks share one channel-state file in unaligned checkpoints.',
    { min: 1 },
  ),
  UNALIGNED_RECOVER_OUTPUT_ON_DOWNSTREAM: booleanOption(
    'execution.checkpointing.unaligned.recover-output-on-downstream.enabled',
    false,
    "Recover an upstream task's output buffers on the downstream task when restoring an unaligned checkpoint.",
  ),
  ENABLE_CHECKPOINTS_AFTER_TASKS_FINISH: booleanOption(
    'execution.checkpointing.checkpoints-after-tasks-finish',
    true,
    'Keep checkpointing after some tasks have finished.',
    { deprecatedKeys: ['execution.checkpointing.checkpoints-after-tasks-finish.enabled'] },
  ),
  LOCAL_BACKUP_ENABLED: booleanOption(
    'execution.checkpointing.local-backup.enabled',
    false,
    'Also keep a copy of keyed state snapshots on local disk for faster recovery.',
  ),
  LOCAL_RECOVERY_TASK_MANAGER_STATE_ROOT_DIRS: stringOption(
    'execution.checkpointing.local-backup.dirs',
    undefined,
    'Root directories for local state backups.',
    { deprecatedKeys: ['taskmanager.state.local.root-dirs'] },
  ),
  FILE_MERGING_ENABLED: booleanOption(
    'execution.checkpointing.file-merging.enabled',
    false,
    'Merge small checkpoint files into fewer physical files (experimental in Flink).',
  ),
  FILE_MERGING_ACROSS_BOUNDARY: booleanOption(
    'execution.checkpointing.file-merging.across-checkpoint-boundary',
    false,
    'With file merging: let different checkpoints share one physical file.',
  ),
  FILE_MERGING_MAX_FILE_SIZE: memoryOption(
    'execution.checkpointing.file-merging.max-file-size',
    '32mb',
    'With file merging: the largest physical file.',
  ),
  FILE_MERGING_POOL_BLOCKING: booleanOption(
    'execution.checkpointing.file-merging.pool-blocking',
    false,
    'With file merging: wait for a returned physical file instead of creating a new one.',
  ),
  FILE_MERGING_MAX_SPACE_AMPLIFICATION: floatOption(
    'execution.checkpointing.file-merging.max-space-amplification',
    2.0,
    'With file merging: rewrite physical files once occupied/valid space exceeds this; below 1 disables.',
  ),
  PAUSE_SOURCES_UNTIL_FIRST_CHECKPOINT: booleanOption(
    'pipeline.sources.pause-until-first-checkpoint',
    false,
    'Sources emit nothing until the first checkpoint is triggered.',
  ),
} as const;

/** Restoring from a savepoint or retained checkpoint (Flink's StateRecoveryOptions). */
export const StateRecoveryOptions = {
  SAVEPOINT_PATH: stringOption(
    'execution.state-recovery.path',
    undefined,
    'Savepoint or retained checkpoint to restore the job from.',
    { deprecatedKeys: ['execution.savepoint.path'] },
  ),
  SAVEPOINT_IGNORE_UNCLAIMED_STATE: booleanOption(
    'execution.state-recovery.ignore-unclaimed-state',
    false,
    'Skip snapshot state that belongs to no operator of the job (e.g. after removing an operator).',
    { deprecatedKeys: ['execution.savepoint.ignore-unclaimed-state'] },
  ),
  RESTORE_MODE: enumOption(
    'execution.state-recovery.claim-mode',
    ['CLAIM', 'NO_CLAIM'],
    'NO_CLAIM',
    'CLAIM takes ownership of the restored snapshot (deleted once subsumed); NO_CLAIM never touches it.',
    { deprecatedKeys: ['execution.savepoint-restore-mode'] },
  ),
  LOCAL_RECOVERY: booleanOption(
    'execution.state-recovery.from-local',
    false,
    'Recover keyed state from local backups when available.',
    { deprecatedKeys: ['state.backend.local-recovery'] },
  ),
  CHECKPOINT_ID_OF_IGNORED_IN_FLIGHT_DATA: intOption(
    'execution.state-recovery.without-channel-state.checkpoint-id',
    -1,
    'Checkpoint whose in-flight (channel) data is ignored on recovery; -1 for none. A last resort.',
    { min: -1, deprecatedKeys: ['execution.checkpointing.recover-without-channel-state.checkpoint-id'] },
  ),
} as const;

/** State backend choice, plus Flink's changelog keys (accepted so Flink configs load; no effect yet). */
export const StateOptions = {
  STATE_BACKEND: enumOption(
    'state.backend.type',
    ['hashmap', 'lmdb', 'rocksdb'],
    'hashmap',
    "Keyed state backend: hashmap (in memory) or lmdb (on disk); a Flink config's rocksdb selects lmdb, saying so.",
    { deprecatedKeys: ['state.backend'] },
  ),
  STATE_BACKEND_LOCAL_DIR: stringOption(
    'state.backend.local-dir',
    undefined,
    "Where the lmdb state backend keeps its working files (one directory per task's keyed operator, deleted when it ends); default: the OS temp dir's 'sluice-lmdb'.",
    { deprecatedKeys: ['state.backend.rocksdb.localdir'] },
  ),
  ENABLE_STATE_CHANGE_LOG: booleanOption(
    'state.changelog.enabled',
    false,
    'Write state changes to a changelog (Flink reference only; Sluice has no changelog).',
  ),
  MATERIALIZATION_MAX_FAILURES_ALLOWED: intOption(
    'state.changelog.max-failures-allowed',
    3,
    'Consecutive changelog materialization failures allowed (Flink reference only).',
    { min: 0 },
  ),
  PERIODIC_MATERIALIZATION_ENABLED: booleanOption(
    'state.changelog.periodic-materialize.enabled',
    true,
    'Periodically materialize the changelog (Flink reference only).',
  ),
  PERIODIC_MATERIALIZATION_INTERVAL: durationOption(
    'state.changelog.periodic-materialize.interval',
    '10min',
    'Changelog materialization interval (Flink reference only).',
  ),
  STATE_CHANGE_LOG_STORAGE: stringOption(
    'state.changelog.storage',
    'memory',
    'Changelog storage: memory or filesystem (Flink reference only).',
  ),
} as const;

/** What happens after a failure (Flink's RestartStrategyOptions). */
export const RestartOptions = {
  RESTART_STRATEGY: enumOption(
    'restart-strategy.type',
    ['none', 'fixed-delay', 'failure-rate', 'exponential-delay'],
    undefined,
    'Restart strategy; when unset, exponential-delay if checkpointing is on, else none.',
    {
      deprecatedKeys: ['restart-strategy'],
      aliases: {
        off: 'none',
        disable: 'none',
        fixeddelay: 'fixed-delay',
        failurerate: 'failure-rate',
        exponentialdelay: 'exponential-delay',
      },
    },
  ),
  RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS: intOption(
    'restart-strategy.fixed-delay.attempts',
    1,
    'fixed-delay: restarts before the job is declared failed.',
    { min: 0 },
  ),
  RESTART_STRATEGY_FIXED_DELAY_DELAY: durationOption(
    'restart-strategy.fixed-delay.delay',
    '1s',
    'fixed-delay: pause between restarts.',
  ),
  RESTART_STRATEGY_FAILURE_RATE_MAX_FAILURES_PER_INTERVAL: intOption(
    'restart-strategy.failure-rate.max-failures-per-interval',
    1,
    'failure-rate: restarts allowed within one interval before the job fails.',
    { min: 1 },
  ),
  RESTART_STRATEGY_FAILURE_RATE_FAILURE_RATE_INTERVAL: durationOption(
    'restart-strategy.failure-rate.failure-rate-interval',
    '1min',
    'failure-rate: the window in which failures are counted.',
    { min: 1 },
  ),
  RESTART_STRATEGY_FAILURE_RATE_DELAY: durationOption(
    'restart-strategy.failure-rate.delay',
    '1s',
    'failure-rate: pause between restarts.',
  ),
  RESTART_STRATEGY_EXPONENTIAL_DELAY_INITIAL_BACKOFF: durationOption(
    'restart-strategy.exponential-delay.initial-backoff',
    '1s',
    'exponential-delay: the first pause between restarts.',
  ),
  RESTART_STRATEGY_EXPONENTIAL_DELAY_MAX_BACKOFF: durationOption(
    'restart-strategy.exponential-delay.max-backoff',
    '1min',
    'exponential-delay: the longest pause between restarts.',
  ),
  RESTART_STRATEGY_EXPONENTIAL_DELAY_BACKOFF_MULTIPLIER: floatOption(
    'restart-strategy.exponential-delay.backoff-multiplier',
    1.5,
    'exponential-delay: factor applied to the pause after each failure.',
    { min: 1 },
  ),
  RESTART_STRATEGY_EXPONENTIAL_DELAY_RESET_BACKOFF_THRESHOLD: durationOption(
    'restart-strategy.exponential-delay.reset-backoff-threshold',
    '1h',
    'exponential-delay: failure-free running time after which the pause resets to the initial one.',
  ),
  RESTART_STRATEGY_EXPONENTIAL_DELAY_JITTER_FACTOR: floatOption(
    'restart-strategy.exponential-delay.jitter-factor',
    0.1,
    'exponential-delay: random +/- share of the pause, so jobs do not restart in lockstep.',
    { min: 0, max: 1 },
  ),
  // Flink's default is Integer.MAX_VALUE, documented as "infinite".
  RESTART_STRATEGY_EXPONENTIAL_DELAY_ATTEMPTS: intOption(
    'restart-strategy.exponential-delay.attempts-before-reset-backoff',
    2_147_483_647,
    'exponential-delay: restarts before the job fails, counted since the last backoff reset.',
    { min: 0 },
  ),
} as const;
