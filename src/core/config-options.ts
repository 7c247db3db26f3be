/** The registry of every option Sluice knows, grouped as Flink groups them, with Flink's keys and defaults. */
import type { ConfigOption } from './config-option.js';
import {
  CheckpointingOptions,
  RestartOptions,
  StateOptions,
  StateRecoveryOptions,
} from './config-options-checkpointing.js';
import { RestSecurityOptions, SecurityOptions } from './config-options-security.js';
import {
  booleanOption,
  durationOption,
  enumOption,
  intOption,
  memoryOption,
  stringOption,
} from './config-option.js';
import { UPPER_BOUND_MAX_PARALLELISM } from './key-groups.js';

export { CheckpointingOptions, RestartOptions, StateOptions, StateRecoveryOptions };
export { RestSecurityOptions, SecurityOptions };

/** Job-level execution settings (Flink's CoreOptions, PipelineOptions and ExecutionOptions). */
export const PipelineOptions = {
  DEFAULT_PARALLELISM: intOption('parallelism.default', 1, 'Parallelism of operators that set none.', {
    min: 1,
  }),
  MAX_PARALLELISM: intOption(
    'pipeline.max-parallelism',
    -1,
    'Number of key groups (the upper bound for rescaling); -1 derives it from the parallelism.',
    {
      check: (value) =>
        value === -1 || (value >= 1 && value <= UPPER_BOUND_MAX_PARALLELISM)
          ? undefined
          : `an integer between 1 and ${UPPER_BOUND_MAX_PARALLELISM}, or -1 to derive it from the parallelism`,
    },
  ),
  NAME: stringOption('pipeline.name', undefined, 'Job name shown in the CLI, REST API and logs.'),
  OPERATOR_CHAINING: booleanOption(
    'pipeline.operator-chaining.enabled',
    true,
    'Fuse forward-connected operators of equal parallelism into one task.',
  ),
  OBJECT_REUSE: booleanOption(
    'pipeline.object-reuse',
    false,
    'Pass records between chained operators without copying; user functions must not keep or mutate them.',
  ),
  AUTO_WATERMARK_INTERVAL: durationOption(
    'pipeline.auto-watermark-interval',
    '200ms',
    'How often periodic watermark generators emit; 0 disables periodic watermarks.',
  ),
  RUNTIME_MODE: enumOption(
    'execution.runtime-mode',
    ['STREAMING', 'BATCH', 'AUTOMATIC'],
    'STREAMING',
    'STREAMING, BATCH, or AUTOMATIC (BATCH when every source is bounded).',
  ),
  BUFFER_TIMEOUT_ENABLED: booleanOption(
    'execution.buffer-timeout.enabled',
    true,
    'Flush partly filled network buffers after the buffer timeout; when false, only full buffers are sent.',
  ),
  BUFFER_TIMEOUT: durationOption(
    'execution.buffer-timeout.interval',
    '100ms',
    'Longest a record waits in a partly filled network buffer; 0 flushes after every record.',
    { deprecatedKeys: ['execution.buffer-timeout'] },
  ),
} as const;

/** Network buffers and flow control (Flink's NettyShuffleEnvironmentOptions). */
export const NetworkOptions = {
  MEMORY_SEGMENT_SIZE: memoryOption(
    'taskmanager.memory.segment-size',
    '32kb',
    'Size of one network buffer.',
    { min: 1 },
  ),
  NETWORK_BUFFERS_PER_CHANNEL: intOption(
    'taskmanager.network.memory.buffers-per-channel',
    2,
    'Exclusive buffers (credits) per input channel.',
    { min: 0 },
  ),
  NETWORK_FLOATING_BUFFERS_PER_GATE: intOption(
    'taskmanager.network.memory.floating-buffers-per-gate',
    8,
    'Buffers each input gate lends, beyond the exclusive ones, to channels whose producer has a backlog.',
    { min: 0 },
  ),
  NETWORK_MAX_BUFFERS_PER_CHANNEL: intOption(
    'taskmanager.network.memory.max-buffers-per-channel',
    10,
    'Most buffers one output channel may hold, so one slow channel cannot take all buffers.',
    { min: 1 },
  ),
} as const;

/** JobManager/TaskManager processes, slots, heartbeats and failover. */
export const ClusterOptions = {
  NUM_TASK_SLOTS: intOption('taskmanager.numberOfTaskSlots', 1, 'Task slots per TaskManager.', { min: 1 }),
  TASK_MANAGERS: intOption(
    'cluster.taskmanagers',
    undefined,
    'Sluice only: TaskManagers a local cluster starts; when unset, enough for the job.',
    { min: 1 },
  ),
  REDUNDANT_TASK_MANAGERS: intOption(
    'slotmanager.redundant-taskmanager-num',
    0,
    'TaskManagers kept running beyond what the jobs need, so that a lost one is replaced at once (local mode).',
    { min: 0 },
  ),
  CLUSTER_SECRET: stringOption(
    'security.cluster.secret',
    undefined,
    'Sluice only: shared secret TaskManagers present to the JobManager; redacted in REST and logs.',
  ),
  HEARTBEAT_INTERVAL: durationOption('heartbeat.interval', '10s', 'Time between heartbeat requests.', {
    min: 1,
  }),
  HEARTBEAT_TIMEOUT: durationOption(
    'heartbeat.timeout',
    '50s',
    'Silence after which a heartbeat target is considered lost.',
    { min: 1 },
  ),
  HEARTBEAT_RPC_FAILURE_THRESHOLD: intOption(
    'heartbeat.rpc-failure-threshold',
    2,
    'Consecutive failed heartbeat RPCs after which a target is considered unreachable.',
    { min: 1 },
  ),
  SLOT_REQUEST_TIMEOUT: durationOption(
    'slot.request.timeout',
    '5min',
    'How long the scheduler waits for slots before failing the job.',
    { min: 1 },
  ),
  JOB_MANAGER_RPC_ADDRESS: stringOption(
    'jobmanager.rpc.address',
    '127.0.0.1',
    'Address TaskManagers use to reach the JobManager.',
  ),
  JOB_MANAGER_RPC_PORT: intOption('jobmanager.rpc.port', 6123, 'Port of the JobManager for TaskManagers.', {
    min: 0,
    max: 65535,
  }),
  JOB_MANAGER_BIND_HOST: stringOption(
    'jobmanager.bind-host',
    '127.0.0.1',
    'Interface the JobManager listens on for TaskManagers (0.0.0.0 for all).',
  ),
  TASK_MANAGER_HOST: stringOption(
    'taskmanager.host',
    '127.0.0.1',
    'Address other TaskManagers use to reach this one for data.',
  ),
  TASK_MANAGER_BIND_HOST: stringOption(
    'taskmanager.bind-host',
    '127.0.0.1',
    'Interface the TaskManager listens on for data connections (0.0.0.0 for all).',
  ),
  TASK_MANAGER_DATA_PORT: intOption(
    'taskmanager.data.port',
    0,
    'Port of the TaskManager for data connections; 0 picks a free one.',
    { min: 0, max: 65535 },
  ),
  TASK_MANAGER_REGISTRATION_TIMEOUT: durationOption(
    'taskmanager.registration.timeout',
    '5min',
    'A TaskManager that cannot register for this long exits.',
    { min: 1 },
  ),
  EXECUTION_TARGET: enumOption(
    'execution.target',
    ['local', 'inline'],
    'local',
    'Sluice: where `sluice run` and a plain `node job.js` run jobs: local (a JobManager here and TaskManager child processes) or inline (every task in this process).',
  ),
  EXECUTION_FAILOVER_STRATEGY: enumOption(
    'jobmanager.execution.failover-strategy',
    ['full', 'region'],
    'region',
    'Restart every task (full) or only the pipelined region of the failed task (region).',
  ),
} as const;

/** The REST endpoint and web UI (Flink's RestOptions and WebOptions). */
export const RestOptions = {
  PORT: intOption('rest.port', 8081, 'Port of the REST API and web UI; 0 picks a free port.', {
    min: 0,
    max: 65535,
  }),
  ADDRESS: stringOption('rest.address', '127.0.0.1', 'Address clients use to reach the REST API.'),
  BIND_ADDRESS: stringOption('rest.bind-address', '127.0.0.1', 'Address the REST server listens on.'),
  CHECKPOINTS_HISTORY_SIZE: intOption(
    'web.checkpoints.history',
    10,
    'Recent checkpoints kept in the checkpoint statistics history.',
    { min: 1 },
  ),
  FLAMEGRAPH_ENABLED: booleanOption(
    'rest.flamegraph.enabled',
    false,
    "Serve CPU flame graphs of a vertex's TaskManagers (V8's sampling profiler runs while one is taken).",
  ),
  FLAMEGRAPH_REFRESH_INTERVAL: durationOption(
    'rest.flamegraph.refresh-interval',
    '1min',
    'How long a flame graph is served before a new one is sampled.',
    { min: 1 },
  ),
  FLAMEGRAPH_CLEANUP_INTERVAL: durationOption(
    'rest.flamegraph.cleanup-interval',
    '10min',
    'How long a flame graph nobody asked for is kept.',
    { min: 1 },
  ),
  FLAMEGRAPH_NUM_SAMPLES: intOption(
    'rest.flamegraph.num-samples',
    100,
    'Samples a flame graph is built from.',
    {
      min: 1,
    },
  ),
  FLAMEGRAPH_DELAY_BETWEEN_SAMPLES: durationOption(
    'rest.flamegraph.delay-between-samples',
    '50ms',
    "Time between two samples of a flame graph (V8's sampling interval).",
    { min: 1 },
  ),
  FLAMEGRAPH_STACK_DEPTH: intOption(
    'rest.flamegraph.stack-depth',
    100,
    'Frames kept of each sampled stack, from its root.',
    { min: 1 },
  ),
} as const;

/** Logging of the Sluice processes (Flink configures log4j instead; `env.log.dir` is Flink's). */
export const LogOptions = {
  FORMAT: enumOption(
    'log.format',
    ['text', 'json'],
    'text',
    'Sluice: log lines as readable text (errors on one line, stacks at debug level and in log files) or one JSON object a line.',
    { aliases: { pretty: 'text' } },
  ),
  LEVEL: enumOption(
    'log.level',
    ['trace', 'debug', 'info', 'warn', 'error', 'silent'],
    'info',
    'Sluice: the lowest level logged (debug also prints error stacks).',
  ),
  FILE: stringOption(
    'log.file',
    undefined,
    'Sluice: the file this process writes its log to, one JSON object a line (a local-mode TaskManager names its own in env.log.dir).',
  ),
  LOG_DIR: stringOption(
    'env.log.dir',
    undefined,
    'Directory of each process’s log (.log, JSON lines) and stdout (.out) files; default for standalone processes: a per-user directory.',
  ),
} as const;

/** Every registered option, for key lookup, alias resolution and "did you mean" suggestions. */
export const ALL_OPTIONS: readonly ConfigOption<unknown>[] = [
  PipelineOptions,
  CheckpointingOptions,
  StateRecoveryOptions,
  StateOptions,
  RestartOptions,
  NetworkOptions,
  ClusterOptions,
  RestOptions,
  LogOptions,
  RestSecurityOptions,
  SecurityOptions,
].flatMap((group): ConfigOption<unknown>[] => Object.values<ConfigOption<unknown>>(group));
