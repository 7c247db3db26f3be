/** What the REST handlers read and control, independent of where jobs run (in this process or on a cluster). */
import type { SavepointFormatType } from '../protocol/snapshot-kind.js';
import type {
  CheckpointStats,
  RestoredCheckpointStats,
  SubtaskCheckpointStats,
} from '../api/checkpoint-stats.js';
import type { ExternalizedCheckpointRetention } from '../api/checkpoint-config.js';
import type { JobStatus, VertexMetrics } from '../api/execution.js';
import type { JobId, JobVertexId } from '../core/ids.js';
import type { CheckpointingMode } from '../protocol/barrier-alignment.js';
import type { RestartStrategyConfig } from '../protocol/restart-strategy.js';
import type { ExecutionState } from '../runtime/task.js';
import type { CpuSampling, FlameGraphNode } from '../runtime/cpu-flame-graph.js';
import type { LogFileEntry } from '../core/log-files.js';

/** The cluster behind a REST server: its jobs and TaskManagers. */
export interface RestBackend {
  /** Every job the cluster runs or keeps after it ended, in submission order. */
  jobs(): readonly RestJob[];
  /** The job with this id, if the cluster knows it. */
  job(jobId: string): RestJob | undefined;
  /** The registered TaskManagers. */
  taskManagers(): readonly RestTaskManager[];
  /** Runs an uploaded job bundle (Flink's /jars/:jarid/run); absent when this cluster takes no submissions. */
  submitJob?(request: JobSubmitRequest): Promise<JobId>;
  /**
   * A TaskManager's log or stdout file: its bytes, `missing` when the TaskManager keeps no such
   * file, `unknown` when no TaskManager has this id. Absent when the cluster has no TaskManager processes.
   */
  taskManagerFile?(
    taskManagerId: string,
    file: 'log' | 'stdout',
  ): Promise<Uint8Array | 'missing' | 'unknown'>;
  /** The files of a TaskManager's log directory (none when it keeps no files); `unknown` when no TaskManager has this id. */
  taskManagerLogList?(taskManagerId: string): Promise<readonly LogFileEntry[] | 'unknown'>;
  /** A file of a TaskManager's log directory by plain name, as `taskManagerFile` answers. */
  taskManagerLogFile?(taskManagerId: string, name: string): Promise<Uint8Array | 'missing' | 'unknown'>;
  /**
   * Samples the CPU of the processes of these TaskManagers for the sampling's window; their
   * samples folded into one flame graph. Absent when the backend cannot sample.
   */
  sampleCpu?(taskManagerIds: readonly string[], sampling: CpuSampling): Promise<FlameGraphNode>;
}

/** A job bundle to run, with the settings of Flink's JarRunRequestBody. */
export interface JobSubmitRequest {
  /** The ESM job bundle (the job file with its imports, `sluice` left external). */
  readonly bundle: Uint8Array;
  /** The file name it was uploaded with, e.g. `click-counts.mjs`. */
  readonly fileName: string;
  /** The job's arguments: its `process.argv.slice(2)`. */
  readonly args: readonly string[];
  /** The job's default parallelism (`parallelism.default`), when the submitter chose one. */
  readonly parallelism?: number;
  /** A checkpoint or savepoint to start from (`execution.state-recovery.path`). */
  readonly savepointPath?: string;
  /** Drop snapshot state of operators the job no longer has (`execution.state-recovery.ignore-unclaimed-state`). */
  readonly allowNonRestoredState: boolean;
  /** Configuration options for this job (Flink's `flinkConfiguration`), over the cluster's own. */
  readonly configuration: Readonly<Record<string, string>>;
}

/** One job, as the REST API shows and controls it. */
export interface RestJob {
  readonly jobId: JobId;
  readonly name: string;
  status(): JobStatus;
  /** When the job was submitted (ms since the epoch). */
  readonly startTime: number;
  /** When the job reached a terminal status; undefined until then. */
  endTime(): number | undefined;
  /** When each status was last entered; statuses never reached are absent. */
  statusTimestamps(): ReadonlyMap<JobStatus, number>;
  /** The job vertices in topological order, with their current subtask states. */
  vertices(): readonly RestVertex[];
  /** Failures, newest first. */
  exceptions(): readonly RestException[];
  /** Checkpoint settings, or undefined when the job does not checkpoint. */
  checkpointConfig(): RestCheckpointConfig | undefined;
  /** Checkpoint statistics, or undefined when the job does not checkpoint. */
  checkpointStats(): RestCheckpointStats | undefined;
  /** Triggers a checkpoint now; resolves when it completed or failed, never rejects. */
  triggerCheckpoint(): Promise<RestCheckpointOutcome>;
  /** `execution.checkpointing.savepoint-dir` of the job, if set. */
  defaultSavepointDirectory(): string | undefined;
  /** Triggers a savepoint into `targetDirectory`; resolves when it completed or failed, never rejects. */
  triggerSavepoint(targetDirectory: string, formatType?: SavepointFormatType): Promise<RestSavepointOutcome>;
  /** Stop-with-savepoint into `targetDirectory`; resolves once the job ended or the savepoint failed, never rejects. */
  stopWithSavepoint(
    targetDirectory: string,
    drain: boolean,
    formatType?: SavepointFormatType,
  ): Promise<RestSavepointOutcome>;
  /** Cancels the job; resolves once it is CANCELED. */
  cancel(): Promise<void>;
  /** The job's result once it ended and its result is known; undefined until then. */
  result(): RestJobResult | undefined;
  /** How many times the job restarted after a failure so far (Flink's `numRestarts`). */
  numRestarts(): number;
  /** What `/jobs/:jobid/config` reports of the job's settings. */
  executionConfig(): RestExecutionConfig;
}

/** A job's settings as Flink's ExecutionConfigInfo reports them. */
export interface RestExecutionConfig {
  /** The job's default parallelism. */
  readonly parallelism: number;
  /** The job's restart strategy; undefined when the backend cannot tell. */
  readonly restartStrategy: RestartStrategyConfig | undefined;
  /** STREAMING or BATCH (Flink's `job-type`). */
  readonly runtimeMode: 'STREAMING' | 'BATCH';
  /** The global job parameters (Flink's `user-config`). */
  readonly userConfig: Readonly<Record<string, string>>;
}

/** A job vertex: a chain of operators run as `parallelism` subtasks. */
export interface RestVertex {
  readonly id: JobVertexId;
  readonly name: string;
  readonly parallelism: number;
  readonly maxParallelism: number;
  /** The state of each subtask of the current attempt. */
  readonly taskStates: readonly ExecutionState[];
  /** Counters summed over the subtasks; undefined while nothing is deployed. */
  readonly metrics: VertexMetrics | undefined;
  /** The vertices feeding this one, with Flink's ship strategy names (HASH, FORWARD, ...). */
  readonly inputs: readonly { readonly sourceId: JobVertexId; readonly shipStrategy: string }[];
  /** The attempt each subtask's current execution runs in (0 first; a restart of it or its job takes the next). */
  readonly attemptNumbers: readonly number[];
  /** Where each subtask of the current attempt runs; undefined while it is not deployed. */
  readonly locations: readonly (RestTaskLocation | undefined)[];
  /** When each subtask's current execution was deployed (ms since the epoch); -1 while it was not. */
  readonly startTimes: readonly number[];
  /** When each subtask entered its current state (ms since the epoch): a task's end time once it ended. */
  readonly stateTimestamps: readonly number[];
}

/** Where a subtask runs. */
export interface RestTaskLocation {
  /** host:port of its TaskManager (`localhost` in process). */
  readonly endpoint: string;
  /** Its TaskManager's resource id. */
  readonly taskManagerId: string;
}

/** One failure of a job. */
export interface RestException {
  readonly timestamp: number;
  /** The error's name (Flink: its class). */
  readonly name: string;
  readonly stacktrace: string;
  /** The failed task, e.g. `Map (2/4)#0`; absent for failures of the job as a whole. */
  readonly taskName?: string;
  /** Where the failed task ran (host:port, or `localhost` in process). */
  readonly endpoint?: string;
  readonly taskManagerId?: string;
}

/** A job's checkpoint settings, with Flink's names for its state backend and storage. */
export interface RestCheckpointConfig {
  readonly mode: CheckpointingMode;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly minPauseMs: number;
  readonly maxConcurrent: number;
  readonly tolerableFailures: number;
  /** execution.checkpointing.unaligned.enabled */
  readonly unaligned: boolean;
  /** execution.checkpointing.aligned-checkpoint-timeout in ms */
  readonly alignedCheckpointTimeoutMs: number;
  readonly retention: ExternalizedCheckpointRetention;
  /** e.g. HashMapStateBackend */
  readonly stateBackend: string;
  /** e.g. JobManagerCheckpointStorage, FileSystemCheckpointStorage */
  readonly checkpointStorage: string;
}

/** A subtask's acknowledgement, placed in its vertex. */
export interface RestSubtaskAck extends SubtaskCheckpointStats {
  readonly vertexId: JobVertexId;
  readonly subtaskIndex: number;
}

/** One checkpoint's statistics, acknowledgements placed in their vertices. */
export interface RestCheckpoint extends Omit<CheckpointStats, 'subtasks'> {
  readonly subtasks: readonly RestSubtaskAck[];
  /** Completed, and its files are gone (subsumed, or deleted when the job ended). */
  readonly discarded: boolean;
}

/** A job's checkpoint statistics. */
export interface RestCheckpointStats {
  readonly counts: {
    readonly restored: number;
    readonly total: number;
    readonly inProgress: number;
    readonly completed: number;
    readonly failed: number;
  };
  readonly latestCompleted: RestCheckpoint | undefined;
  readonly latestSavepoint?: RestCheckpoint | undefined;
  readonly latestFailed: RestCheckpoint | undefined;
  readonly latestRestored: RestoredCheckpointStats | undefined;
  /** Newest first, at most `web.checkpoints.history` entries. */
  readonly history: readonly RestCheckpoint[];
}

/** How a triggered checkpoint ended. */
export type RestCheckpointOutcome =
  | { readonly kind: 'completed'; readonly checkpointId: number; readonly externalPath: string }
  | { readonly kind: 'failed'; readonly error: Error };

/** How a triggered savepoint ended: its directory, or why it failed. */
export type RestSavepointOutcome =
  | { readonly kind: 'completed'; readonly location: string }
  | { readonly kind: 'failed'; readonly error: Error };

/** The result of a job that ended. */
export interface RestJobResult {
  readonly status: 'FINISHED' | 'FAILED' | 'CANCELED';
  readonly netRuntimeMs: number;
  readonly accumulators: Readonly<Record<string, unknown>>;
  /** Why the job failed (or that it was cancelled). */
  readonly failure: Error | undefined;
  readonly startTime: number;
  readonly endTime: number;
}

/** A TaskManager and its slots. */
export interface RestTaskManager {
  /** 32 hex characters (a ResourceID). */
  readonly id: string;
  /** Its RPC address. */
  readonly path: string;
  /** The data-plane port; -1 when it exchanges data in process only. */
  readonly dataPort: number;
  readonly lastHeartbeat: number;
  readonly slotsNumber: number;
  readonly freeSlots: number;
  readonly cpuCores: number;
  readonly physicalMemoryBytes: number;
  /** The largest heap this TaskManager may use, in bytes. */
  readonly heapBytes: number;
  /** Its process figures by Flink's `Status.JVM.*` names; undefined when it runs in this process (or has not reported). */
  readonly metrics?: Readonly<Record<string, number>> | undefined;
}
