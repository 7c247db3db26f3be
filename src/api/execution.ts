/** What running a job gives back: JobClient, JobExecutionResult, and the executor hook. */
import type { SavepointFormatType } from '../protocol/snapshot-kind.js';
import type { JobId } from '../core/ids.js';
import type { TypeRegistry } from '../core/type-registry.js';
import type { CheckpointingMode } from '../protocol/barrier-alignment.js';
import type { RestartStrategyConfig } from '../protocol/restart-strategy.js';
import type { CheckpointStorageOptions } from '../storage/create-checkpoint-storage.js';
import type { CheckpointStatsSnapshot } from './checkpoint-stats.js';
import type { ExternalizedCheckpointRetention } from './checkpoint-config.js';
import type { JobGraph } from '../graph/job-graph.js';
import type { OperatorFactory } from './operators/stream-operator.js';
import type { CollectCommit } from '../runtime/stream-operator.js';
import type { StateBackendSettings } from '../state/state-backend.js';

/** Flink's JobStatus. */
export type JobStatus =
  | 'INITIALIZING'
  | 'CREATED'
  | 'RUNNING'
  | 'FAILING'
  | 'FAILED'
  | 'CANCELLING'
  | 'CANCELED'
  | 'FINISHED'
  | 'RESTARTING'
  | 'SUSPENDED'
  | 'RECONCILING';

/** Checkpoint counts of a job run. */
export interface JobCheckpointCounts {
  readonly completed: number;
  readonly failed: number;
  /** How many times the job was restored from a checkpoint or savepoint. */
  readonly restored: number;
  /** The id of the checkpoint last restored, if any. */
  readonly lastRestoredCheckpointId: number | undefined;
}

/** The outcome of a finished job. */
export class JobExecutionResult {
  constructor(
    readonly jobId: JobId,
    /** Wall-clock run time in ms. */
    readonly netRuntime: number,
    /** Merged accumulator values by name. */
    readonly accumulators: Readonly<Record<string, unknown>>,
    /** Checkpoints taken and restored (all zero without checkpointing). */
    readonly checkpoints: JobCheckpointCounts = {
      completed: 0,
      failed: 0,
      restored: 0,
      lastRestoredCheckpointId: undefined,
    },
    /** How many times the job restarted after a failure. */
    readonly numRestarts = 0,
  ) {}

  getJobID(): JobId {
    return this.jobId;
  }
  /** Run time in milliseconds. */
  getNetRuntime(): number {
    return this.netRuntime;
  }
  getAccumulatorResult<T>(name: string): T | undefined {
    return this.accumulators[name] as T | undefined;
  }
  getAllAccumulatorResults(): Readonly<Record<string, unknown>> {
    return this.accumulators;
  }
}

/** Counters of one job vertex, summed over its subtasks. */
export interface VertexMetrics {
  readonly name: string;
  readonly parallelism: number;
  /** Records that entered the chain (from the network, or emitted by the source reader). */
  readonly recordsIn: number;
  /** Records written to the network. */
  readonly recordsOut: number;
  /** Bytes of records read from the network; absent where the metrics come from elsewhere (the REST client). */
  readonly bytesIn?: number;
  readonly bytesOut: number;
  /**
   * The most bytes any one input channel of this vertex has held (received, not yet processed)
   * and the most any one output channel has queued unsent: bounded by credit-based flow control.
   */
  readonly maxInputChannelBytes: number;
  readonly maxOutputChannelBytes: number;
  /**
   * Each subtask's `currentInputWatermark` (Flink's metric): the last watermark its chain's head
   * processed; `MIN_WATERMARK` while it has none (and for sources), or when not reported. Absent
   * where the metrics come from elsewhere (the REST client).
   */
  readonly currentInputWatermarks?: readonly number[];
  /**
   * Each subtask's own counters by Flink-style name (`recordsIn`, `busyTimeMsPerSecond`, …; see
   * the cluster's SubtaskCounters), undefined for a subtask that has not reported yet. Absent
   * where the metrics come from elsewhere (the REST client).
   */
  readonly subtasks?: readonly (Readonly<Record<string, number>> | undefined)[];
}

/** A handle to a submitted job. */
export interface JobClient {
  readonly jobId: JobId;
  readonly jobName: string;
  getJobStatus(): JobStatus;
  /** Cancels the job; resolves when every task has stopped. */
  cancel(): Promise<void>;
  /**
   * Takes a savepoint (Flink's `JobClient.triggerSavepoint`) into a new directory under
   * `targetDirectory`, else `execution.checkpointing.savepoint-dir`, and resolves with its path;
   * the job keeps running. Rejects with SLUICE_SAVEPOINT_FAILED saying why. `formatType`:
   * 'CANONICAL' (default) or 'NATIVE' (Flink's `SavepointFormatType`; restores only into the
   * same state backend type).
   */
  triggerSavepoint(targetDirectory?: string, formatType?: SavepointFormatType): Promise<string>;
  /**
   * Stop-with-savepoint (Flink's `JobClient.stopWithSavepoint`): sources stop after the
   * savepoint's barrier, and the job ends FINISHED once the savepoint completed and sinks
   * committed; resolves with the savepoint's path. With `advanceToEndOfEventTime` (drain), the
   * sources first end their input, so every operator sees its end. Rejects with
   * SLUICE_SAVEPOINT_FAILED saying why; the job then runs on (a drained one finishes).
   */
  stopWithSavepoint(
    advanceToEndOfEventTime: boolean,
    targetDirectory?: string,
    formatType?: SavepointFormatType,
  ): Promise<string>;
  /** Resolves when the job finishes; rejects with the failure (or cancellation). */
  getJobExecutionResult(): Promise<JobExecutionResult>;
  /** Per-vertex counters, for progress displays. */
  getMetrics(): VertexMetrics[];
  /** Checkpoint statistics; undefined when checkpointing is off. */
  getCheckpointStats(): CheckpointStatsSnapshot | undefined;
  /** How many times the job restarted after a failure so far. */
  getNumRestarts(): number;
}

/** Where collected records (executeAndCollect / collectAsync) are delivered in the client. */
export interface CollectTarget {
  /**
   * @internal Takes records; with `commit`, only once per (subtask, checkpoint), in increasing
   * checkpoints.
   */
  push(records: readonly unknown[], commit?: CollectCommit): void;
}

/** A submitted pipeline: the job graph plus the client-side ends of its collect sinks. */
export interface PipelineSubmission {
  readonly jobGraph: JobGraph<OperatorFactory>;
  readonly collectTargets: ReadonlyMap<string, CollectTarget>;
  /** `execution.buffer-timeout.interval` in ms (-1 when disabled). */
  readonly bufferTimeoutMs: number;
  readonly segmentSize: number;
  /** Exclusive buffers (credit) of each input channel. */
  readonly buffersPerChannel: number;
  /** Buffers each input gate lends to channels with a backlog. */
  readonly floatingBuffersPerGate: number;
  readonly maxBuffersPerChannel: number;
  /** Checkpointing settings; undefined when `execution.checkpointing.interval` is not set. */
  readonly checkpointing: CheckpointingSubmission | undefined;
  /** The restart strategy (already resolved with Flink's defaults). */
  readonly restartStrategy: RestartStrategyConfig;
  /** `execution.state-recovery.path`: a checkpoint or savepoint to start from. */
  readonly restorePath: string | undefined;
  /** `execution.state-recovery.ignore-unclaimed-state`. */
  readonly ignoreUnclaimedState: boolean;
  /**
   * `execution.state-recovery.claim-mode` for `restorePath`: CLAIM makes the job own the snapshot
   * (deleted once subsumed, as its own checkpoints are); NO_CLAIM (the default) never touches it.
   */
  readonly claimMode?: 'CLAIM' | 'NO_CLAIM';
  /** `jobmanager.execution.failover-strategy`. */
  readonly failoverStrategy: 'full' | 'region';
  /** `execution.runtime-mode` as resolved for this job; STREAMING when absent. */
  readonly runtimeMode?: 'STREAMING' | 'BATCH';
  /**
   * The global job parameters (`env.getConfig().setGlobalJobParameters`) as strings. The
   * JobManager's copy is sent with every deployment, so TaskManagers use it, not their own
   * evaluation of the module. Absent: none.
   */
  readonly globalJobParameters?: Readonly<Record<string, string>>;
  /** The keyed state backend (`state.backend.type`); absent: the heap (hashmap). */
  readonly stateBackend?: StateBackendSettings;
  /**
   * @internal The classes the job registered before `execute()` (`env.registerType`): the
   * default record and state serializers keep their instances' class. Absent: none registered.
   */
  readonly types?: TypeRegistry;
}

/** Checkpoint settings of a submission, already parsed (Flink's option names in comments). */
export interface CheckpointingSubmission {
  /** execution.checkpointing.interval */
  readonly intervalMs: number;
  /** execution.checkpointing.timeout */
  readonly timeoutMs: number;
  /** execution.checkpointing.min-pause */
  readonly minPauseMs: number;
  /** execution.checkpointing.max-concurrent-checkpoints */
  readonly maxConcurrent: number;
  /** execution.checkpointing.tolerable-failed-checkpoints */
  readonly tolerableFailures: number;
  /** execution.checkpointing.mode */
  readonly mode: CheckpointingMode;
  /** execution.checkpointing.unaligned.enabled (EXACTLY_ONCE only; absent: false) */
  readonly unaligned?: boolean;
  /** execution.checkpointing.aligned-checkpoint-timeout in ms (absent: 0) */
  readonly alignedCheckpointTimeoutMs?: number;
  /** execution.checkpointing.num-retained */
  readonly numRetained: number;
  /** web.checkpoints.history */
  readonly historySize: number;
  /** execution.checkpointing.externalized-checkpoint-retention */
  readonly retention: ExternalizedCheckpointRetention;
  /** execution.checkpointing.storage / dir / data-inline-threshold */
  readonly storage: CheckpointStorageOptions;
  /**
   * Local recovery: `backup` (execution.checkpointing.local-backup.enabled, defaulting to
   * `recover`) keeps a copy of every state file on the TaskManager's disk, `recover`
   * (execution.state-recovery.from-local) restores from a copy that matches. Absent: both off.
   */
  readonly localRecovery?: { readonly backup: boolean; readonly recover: boolean };
  /** execution.checkpointing.savepoint-dir: where savepoints go when no target is given. */
  readonly savepointDir?: string;
}

/** Runs submitted pipelines (local inline now; the cluster later). */
export interface PipelineExecutor {
  execute(submission: PipelineSubmission): Promise<JobClient>;
}

let defaultExecutor: PipelineExecutor | undefined;

/** Installs the executor `execute()` uses (the package root installs the local one). */
export function setDefaultPipelineExecutor(executor: PipelineExecutor): void {
  defaultExecutor = executor;
}

/** The installed executor. */
export function getDefaultPipelineExecutor(): PipelineExecutor | undefined {
  return defaultExecutor;
}
