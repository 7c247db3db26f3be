/** The JSON bodies of Sluice's REST API, in Flink's real shapes: the single source of the response types. */
import type { JobStatus } from '../api/execution.js';

// Where Flink's OpenAPI file (flink-rest-api-v1.yml) and Flink's real JSON differ, these types
// follow the JSON Flink writes (its custom Jackson serializers), and say so.

/** Flink's ExecutionState, as the REST API lists it (Sluice never reports SCHEDULED or RECONCILING). */
export type RestExecutionState =
  | 'CREATED'
  | 'SCHEDULED'
  | 'DEPLOYING'
  | 'RUNNING'
  | 'FINISHED'
  | 'CANCELING'
  | 'CANCELED'
  | 'FAILED'
  | 'RECONCILING'
  | 'INITIALIZING';

/** Every JobStatus, in Flink's declaration order (maps keyed by status list all of them). */
export const JOB_STATUSES: readonly JobStatus[] = [
  'INITIALIZING',
  'CREATED',
  'RUNNING',
  'FAILING',
  'FAILED',
  'CANCELLING',
  'CANCELED',
  'FINISHED',
  'RESTARTING',
  'SUSPENDED',
  'RECONCILING',
];

/** Every ExecutionState, in Flink's declaration order. */
export const EXECUTION_STATES: readonly RestExecutionState[] = [
  'CREATED',
  'SCHEDULED',
  'DEPLOYING',
  'RUNNING',
  'FINISHED',
  'CANCELING',
  'CANCELED',
  'FAILED',
  'RECONCILING',
  'INITIALIZING',
];

/** Every error response: `{"errors": [...]}` (ErrorResponseBody). */
export interface ErrorResponseBody {
  readonly errors: readonly string[];
}

/** `GET /config` (DashboardConfiguration): Flink's web UI reads it once at start. */
export interface DashboardConfiguration {
  readonly 'refresh-interval': number;
  readonly 'timezone-name': string;
  /** Standard offset from UTC in ms. */
  readonly 'timezone-offset': number;
  readonly 'flink-version': string;
  readonly 'flink-revision': string;
  readonly features: {
    readonly 'web-submit': boolean;
    readonly 'web-cancel': boolean;
    readonly 'web-rescale': boolean;
    readonly 'web-history': boolean;
  };
}

/** `GET /overview` (ClusterOverviewWithVersion); the `-blocked` counts are omitted when 0, as Flink. */
export interface ClusterOverviewWithVersion {
  readonly taskmanagers: number;
  readonly 'slots-total': number;
  readonly 'slots-available': number;
  /** Free slots on blocked TaskManagers (Sluice blocks none). */
  readonly 'slots-free-and-blocked': number;
  readonly 'taskmanagers-blocked': number;
  readonly 'jobs-running': number;
  readonly 'jobs-finished': number;
  readonly 'jobs-cancelled': number;
  readonly 'jobs-failed': number;
  readonly 'flink-version': string;
  readonly 'flink-commit': string;
}

/** `GET /jobs` (JobIdsWithStatusOverview). */
export interface JobIdsWithStatusOverview {
  readonly jobs: readonly { readonly id: string; readonly status: JobStatus }[];
}

/** Task counts by lower-case ExecutionState plus `total` (JobDetails' custom serializer). */
export type LowerCaseTaskCounts = Readonly<Record<Lowercase<RestExecutionState> | 'total', number>>;

/** One job of `GET /jobs/overview` (JobDetails). */
export interface JobDetails {
  readonly jid: string;
  readonly name: string;
  readonly state: JobStatus;
  readonly 'start-time': number;
  /** -1 while the job runs. */
  readonly 'end-time': number;
  readonly duration: number;
  readonly 'last-modification': number;
  readonly tasks: LowerCaseTaskCounts;
  readonly 'pending-operators': number;
}

/** `GET /jobs/overview` (MultipleJobsDetails). */
export interface MultipleJobsDetails {
  readonly jobs: readonly JobDetails[];
}

/** A vertex's I/O counters (IOMetricsInfo). */
export interface IOMetricsInfo {
  readonly 'read-bytes': number;
  readonly 'read-bytes-complete': boolean;
  readonly 'write-bytes': number;
  readonly 'write-bytes-complete': boolean;
  readonly 'read-records': number;
  readonly 'read-records-complete': boolean;
  readonly 'write-records': number;
  readonly 'write-records-complete': boolean;
  readonly 'accumulated-backpressured-time': number;
  readonly 'accumulated-idle-time': number;
  readonly 'accumulated-busy-time': number;
}

/** One vertex of `GET /jobs/:jobid` (JobDetailsInfo.JobVertexDetailsInfo). */
export interface JobVertexDetailsInfo {
  readonly id: string;
  /** A 32-hex string (SlotSharingGroupIDSerializer); the OpenAPI wrongly shows an object. */
  readonly slotSharingGroupId: string;
  readonly name: string;
  readonly maxParallelism: number;
  readonly parallelism: number;
  readonly status: RestExecutionState;
  readonly 'start-time': number;
  readonly 'end-time': number;
  readonly duration: number;
  /** Counts by upper-case ExecutionState, every state listed. */
  readonly tasks: Readonly<Record<RestExecutionState, number>>;
  readonly metrics: IOMetricsInfo;
}

/** An input of a plan node (JsonPlanGenerator). */
export interface PlanInput {
  readonly num: number;
  readonly id: string;
  readonly ship_strategy: string;
  readonly exchange: string;
}

/** A node of the job plan: one per job vertex, `id` equal to the vertex id. */
export interface PlanNode {
  readonly id: string;
  readonly parallelism: number;
  readonly operator: string;
  readonly operator_strategy: string;
  readonly description: string;
  readonly inputs?: readonly PlanInput[];
  readonly optimizer_properties: Readonly<Record<string, never>>;
}

/** The job plan (JobPlanInfo.Plan); `type` STREAMING keeps the web UI's Checkpoints tab. */
export interface Plan {
  readonly jid: string;
  readonly name: string;
  readonly type: 'STREAMING' | 'BATCH';
  readonly nodes: readonly PlanNode[];
}

/** `GET /jobs/:jobid` (JobDetailsInfo); `stream-graph` is omitted (only adaptive graphs have it). */
export interface JobDetailsInfo {
  readonly jid: string;
  readonly name: string;
  readonly isStoppable: boolean;
  readonly state: JobStatus;
  readonly 'job-type': 'STREAMING' | 'BATCH';
  readonly 'start-time': number;
  readonly 'end-time': number;
  readonly duration: number;
  readonly maxParallelism: number;
  readonly now: number;
  /** When each status was last entered; 0 for statuses never reached; every status listed. */
  readonly timestamps: Readonly<Record<JobStatus, number>>;
  readonly vertices: readonly JobVertexDetailsInfo[];
  readonly 'status-counts': Readonly<Record<RestExecutionState, number>>;
  readonly plan: Plan;
  readonly 'pending-operators': number;
}

/** One entry of the exception history; task fields are omitted for job-wide failures (NON_NULL). */
export interface ExceptionInfo {
  readonly exceptionName: string;
  readonly stacktrace: string;
  readonly timestamp: number;
  readonly failureLabels: Readonly<Record<string, string>>;
  readonly taskName?: string;
  readonly endpoint?: string;
  readonly taskManagerId?: string;
}

/** A root failure with the failures that happened together with it. */
export interface RootExceptionInfo extends ExceptionInfo {
  readonly concurrentExceptions: readonly ExceptionInfo[];
}

/** `GET /jobs/:jobid/exceptions` (JobExceptionsInfoWithHistory, 2.x: no top-level legacy fields). */
export interface JobExceptionsInfoWithHistory {
  readonly exceptionHistory: {
    readonly entries: readonly RootExceptionInfo[];
    readonly truncated: boolean;
  };
}

/**
 * A throwable as SerializedThrowableSerializer writes it: `class` and `stack-trace` are missing
 * from the OpenAPI. `serialized-throwable` holds Java serialization in Flink; Sluice puts the
 * base64 of the stack trace's UTF-8 there (no Java client can read it either way).
 */
export interface SerializedThrowable {
  readonly class: string;
  readonly 'stack-trace': string;
  readonly 'serialized-throwable': string;
}

/** A percentile value: Jackson writes NaN (no data) as the string "NaN". */
export type RestDouble = number | 'NaN';

/** Min/max/avg and percentiles of a statistic (StatsSummaryDto); min/max/avg are 0 without data. */
export interface StatsSummaryDto {
  readonly min: number;
  readonly max: number;
  readonly avg: number;
  readonly p50: RestDouble;
  readonly p90: RestDouble;
  readonly p95: RestDouble;
  readonly p99: RestDouble;
  readonly p999: RestDouble;
}

/** One task's (job vertex's) part of a checkpoint (TaskCheckpointStatistics). */
export interface TaskCheckpointStatistics {
  readonly id: number;
  readonly status: 'IN_PROGRESS' | 'COMPLETED' | 'FAILED';
  /** -1 before the first acknowledgement. */
  readonly latest_ack_timestamp: number;
  readonly checkpointed_size: number;
  readonly state_size: number;
  /** -1 before the first acknowledgement. */
  readonly end_to_end_duration: number;
  /** Always 0 (deprecated in Flink). */
  readonly alignment_buffered: number;
  readonly processed_data: number;
  readonly persisted_data: number;
  readonly num_subtasks: number;
  readonly num_acknowledged_subtasks: number;
}

/** Fields every checkpoint statistics object has (CheckpointStatistics). */
interface CheckpointStatisticsBase {
  readonly id: number;
  readonly status: 'IN_PROGRESS' | 'COMPLETED' | 'FAILED';
  readonly is_savepoint: boolean;
  readonly savepointFormat: 'CANONICAL' | 'NATIVE' | null;
  readonly trigger_timestamp: number;
  readonly latest_ack_timestamp: number;
  readonly checkpointed_size: number;
  readonly state_size: number;
  readonly end_to_end_duration: number;
  readonly alignment_buffered: number;
  readonly processed_data: number;
  readonly persisted_data: number;
  readonly num_subtasks: number;
  readonly num_acknowledged_subtasks: number;
  readonly checkpoint_type: 'CHECKPOINT' | 'UNALIGNED_CHECKPOINT' | 'SAVEPOINT' | 'SYNC_SAVEPOINT';
  /** Keyed by job vertex id: every vertex in `details`, `{}` in the history and `latest`. */
  readonly tasks: Readonly<Record<string, TaskCheckpointStatistics>>;
}

/** A completed checkpoint (`className: "completed"`). */
export interface CompletedCheckpointStatistics extends CheckpointStatisticsBase {
  readonly className: 'completed';
  readonly status: 'COMPLETED';
  readonly external_path: string;
  /** Whether its files were deleted (subsumed, or dropped when the job ended). */
  readonly discarded: boolean;
}

/** A failed checkpoint (`className: "failed"`). */
export interface FailedCheckpointStatistics extends CheckpointStatisticsBase {
  readonly className: 'failed';
  readonly status: 'FAILED';
  readonly failure_timestamp: number;
  readonly failure_message: string;
}

/** A checkpoint still running (`className: "in_progress"`). */
export interface PendingCheckpointStatistics extends CheckpointStatisticsBase {
  readonly className: 'in_progress';
  readonly status: 'IN_PROGRESS';
}

/** CheckpointStatistics: polymorphic on `className`. */
export type CheckpointStatistics =
  CompletedCheckpointStatistics | FailedCheckpointStatistics | PendingCheckpointStatistics;

/** The checkpoint a job last restored from. */
export interface RestoredCheckpointStatistics {
  readonly id: number;
  readonly restore_timestamp: number;
  readonly is_savepoint: boolean;
  readonly external_path: string;
}

/** `GET /jobs/:jobid/checkpoints` (CheckpointingStatistics). */
export interface CheckpointingStatistics {
  readonly counts: {
    readonly restored: number;
    readonly total: number;
    readonly in_progress: number;
    readonly completed: number;
    readonly failed: number;
  };
  readonly summary: {
    readonly checkpointed_size: StatsSummaryDto;
    readonly state_size: StatsSummaryDto;
    readonly end_to_end_duration: StatsSummaryDto;
    readonly alignment_buffered: StatsSummaryDto;
    readonly processed_data: StatsSummaryDto;
    readonly persisted_data: StatsSummaryDto;
  };
  readonly latest: {
    readonly completed: CompletedCheckpointStatistics | null;
    readonly savepoint: CompletedCheckpointStatistics | null;
    readonly failed: FailedCheckpointStatistics | null;
    readonly restored: RestoredCheckpointStatistics | null;
  };
  /** Newest first, at most `web.checkpoints.history` entries. */
  readonly history: readonly CheckpointStatistics[];
}

/**
 * `GET /jobs/:jobid/checkpoints/config` (CheckpointConfigInfo). `mode` is lower case
 * (ProcessingModeSerializer), unlike the OpenAPI enum.
 */
export interface CheckpointConfigInfo {
  readonly mode: 'exactly_once' | 'at_least_once';
  readonly interval: number;
  readonly timeout: number;
  readonly min_pause: number;
  readonly max_concurrent: number;
  readonly externalization: { readonly enabled: boolean; readonly delete_on_cancellation: boolean };
  readonly state_backend: string;
  readonly checkpoint_storage: string;
  readonly unaligned_checkpoints: boolean;
  readonly tolerable_failed_checkpoints: number;
  readonly aligned_checkpoint_timeout: number;
  readonly checkpoints_after_tasks_finish: boolean;
  readonly state_changelog_enabled: boolean;
  readonly changelog_periodic_materialization_interval: number;
  readonly changelog_storage: string;
}

/** A subtask that acknowledged the checkpoint. */
export interface CompletedSubtaskCheckpointStatistics {
  readonly className: 'completed';
  readonly index: number;
  readonly status: 'completed';
  readonly ack_timestamp: number;
  readonly end_to_end_duration: number;
  readonly checkpointed_size: number;
  readonly state_size: number;
  readonly checkpoint: { readonly sync: number; readonly async: number };
  readonly alignment: {
    readonly buffered: number;
    readonly processed: number;
    readonly persisted: number;
    readonly duration: number;
  };
  readonly start_delay: number;
  readonly unaligned_checkpoint: boolean;
  readonly aborted: boolean;
}

/** A subtask that has not acknowledged (yet, or ever). */
export interface PendingSubtaskCheckpointStatistics {
  readonly className: 'pending';
  readonly index: number;
  readonly status: 'pending_or_failed';
}

/** `GET /jobs/:jobid/checkpoints/details/:checkpointid/subtasks/:vertexid`. */
export interface TaskCheckpointStatisticsWithSubtaskDetails extends TaskCheckpointStatistics {
  readonly summary: {
    readonly checkpointed_size: StatsSummaryDto;
    readonly state_size: StatsSummaryDto;
    readonly end_to_end_duration: StatsSummaryDto;
    readonly checkpoint_duration: { readonly sync: StatsSummaryDto; readonly async: StatsSummaryDto };
    readonly alignment: {
      readonly buffered: StatsSummaryDto;
      readonly processed: StatsSummaryDto;
      readonly persisted: StatsSummaryDto;
      readonly duration: StatsSummaryDto;
    };
    readonly start_delay: StatsSummaryDto;
  };
  readonly subtasks: readonly (CompletedSubtaskCheckpointStatistics | PendingSubtaskCheckpointStatistics)[];
}

/** `POST /jobs/:jobid/checkpoints` → 202 (TriggerResponse). */
export interface TriggerResponse {
  readonly 'request-id': string;
}

/** `GET /jobs/:jobid/checkpoints/:triggerid` (AsynchronousOperationResult<CheckpointInfo>). */
export interface CheckpointOperationResult {
  readonly status: { readonly id: 'IN_PROGRESS' | 'COMPLETED' };
  /** null while in progress (no JsonInclude); then exactly one of the two fields (NON_NULL). */
  readonly operation:
    { readonly checkpointId: number } | { readonly failureCause: SerializedThrowable } | null;
}

/** `GET /jobs/:jobid/savepoints/:triggerid` (AsynchronousOperationResult<SavepointInfo>). */
export interface SavepointOperationResult {
  readonly status: { readonly id: 'IN_PROGRESS' | 'COMPLETED' };
  /** null while in progress; then the savepoint's directory, or why it failed. */
  readonly operation:
    { readonly location: string } | { readonly 'failure-cause': SerializedThrowable } | null;
}

/** One TaskManager of `GET /taskmanagers` (TaskManagerInfo). Memory sizes in bytes, resources in MB. */
export interface TaskManagerInfo {
  readonly id: string;
  readonly path: string;
  readonly dataPort: number;
  readonly jmxPort: number;
  /** Despite the name, the time of the last heartbeat (ms since the epoch), as Flink. */
  readonly timeSinceLastHeartbeat: number;
  readonly slotsNumber: number;
  readonly freeSlots: number;
  readonly totalResource: ResourceProfileInfo;
  readonly freeResource: ResourceProfileInfo;
  readonly hardware: {
    readonly cpuCores: number;
    readonly physicalMemory: number;
    readonly freeMemory: number;
    readonly managedMemory: number;
  };
  readonly memoryConfiguration: Readonly<
    Record<
      | 'frameworkHeap'
      | 'taskHeap'
      | 'frameworkOffHeap'
      | 'taskOffHeap'
      | 'networkMemory'
      | 'managedMemory'
      | 'jvmMetaspace'
      | 'jvmOverhead'
      | 'totalFlinkMemory'
      | 'totalProcessMemory',
      number
    >
  >;
  readonly blocked: boolean;
}

/** Resources of a TaskManager or slot (ResourceProfileInfo); memory in MB. */
export interface ResourceProfileInfo {
  readonly cpuCores: number;
  readonly taskHeapMemory: number;
  readonly taskOffHeapMemory: number;
  readonly managedMemory: number;
  readonly networkMemory: number;
  readonly extendedResources: Readonly<Record<string, number>>;
}

/** `GET /taskmanagers` (TaskManagersInfo). */
export interface TaskManagersInfo {
  readonly taskmanagers: readonly TaskManagerInfo[];
}

/**
 * A job's result as JobResultSerializer writes it (`id`, `application-status`, `net-runtime`,
 * ...); the OpenAPI's `JobResult` bean names (`jobId`, `applicationStatus`) are not what Flink
 * sends. Accumulator values are base64 strings (Java serialization in Flink; the UTF-8 of their
 * JSON in Sluice).
 */
export interface JobResultBody {
  readonly id: string;
  readonly name: string;
  readonly 'application-status': 'SUCCEEDED' | 'FAILED' | 'CANCELED' | 'UNKNOWN';
  readonly 'accumulator-results': Readonly<Record<string, string>>;
  readonly 'net-runtime': number;
  readonly 'failure-cause'?: SerializedThrowable;
  readonly 'start-time': number;
  readonly 'end-time': number;
}

/** `GET /jobs/:jobid/execution-result` (JobExecutionResultResponseBody). */
export interface JobExecutionResultResponseBody {
  readonly status: { readonly id: 'IN_PROGRESS' | 'COMPLETED' };
  /** null while the job runs (the field has no JsonInclude). */
  readonly 'job-execution-result': JobResultBody | null;
}

/** `GET /jobs/:jobid/plan` (JobPlanInfo). */
export interface JobPlanInfo {
  readonly plan: Plan;
}

/**
 * `GET /jobs/:jobid/config` as JobConfigInfo's serializer writes it (`jid`, `name`,
 * `execution-config`); the OpenAPI's `jobId`/`jobName`/`executionConfigInfo` are bean names.
 */
export interface JobConfigInfo {
  readonly jid: string;
  readonly name: string;
  readonly 'execution-config': {
    readonly 'job-parallelism': number;
    readonly 'object-reuse-mode': boolean;
    /** A description, e.g. "Restart with fixed delay (1 s). #3 restart attempts." */
    readonly 'restart-strategy': string;
    /** Global job parameters (secrets hidden). */
    readonly 'user-config': Readonly<Record<string, string>>;
  };
}

/** A metric of `GET .../metrics`: the value is a string, absent when only ids are listed. */
export interface Metric {
  readonly id: string;
  readonly value?: string;
}

/** `GET /jobs/:jobid/metrics`: a bare array (MetricCollectionResponseBody's serializer). */
export type MetricCollectionResponseBody = readonly Metric[];

/** Statistics of one value over a vertex's subtasks (AggregatedTaskDetailsInfo). */
export interface AggregatedStatistics {
  readonly min: number;
  readonly max: number;
  readonly avg: number;
  readonly sum: number;
  readonly median: number;
  readonly p25: number;
  readonly p75: number;
  readonly p95: number;
}

/** One attempt of a subtask (SubtaskExecutionAttemptDetailsInfo). */
export interface SubtaskExecutionAttemptDetailsInfo {
  readonly subtask: number;
  readonly status: RestExecutionState;
  readonly attempt: number;
  /** host:port of its TaskManager, or "(unassigned)". */
  readonly endpoint: string;
  /** -1 before deployment. */
  readonly 'start-time': number;
  /** The same as `start-time` (Flink keeps the old name for compatibility; not in its OpenAPI). */
  readonly start_time: number;
  /** -1 until the subtask ended. */
  readonly 'end-time': number;
  readonly duration: number;
  readonly metrics: IOMetricsInfo;
  /** Its TaskManager's resource id, or "(unassigned)". */
  readonly 'taskmanager-id': string;
  /** Time spent in CREATED, SCHEDULED, DEPLOYING, INITIALIZING and RUNNING, ms. */
  readonly 'status-duration': Readonly<Record<string, number>>;
  // `other-concurrent-attempts` (speculative execution) is left out when empty, as Flink does.
}

/**
 * `GET /jobs/:jobid/vertices/:vertexid` (Flink's top-level JobVertexDetailsInfo; that name is
 * taken here by the vertex of `GET /jobs/:jobid`).
 */
export interface JobVertexDetailsBody {
  readonly id: string;
  readonly name: string;
  readonly parallelism: number;
  readonly maxParallelism: number;
  readonly now: number;
  readonly subtasks: readonly SubtaskExecutionAttemptDetailsInfo[];
  readonly aggregated: {
    readonly metrics: Readonly<Record<string, AggregatedStatistics>>;
    readonly 'status-duration': Readonly<Record<string, AggregatedStatistics>>;
  };
}

/** One uploaded job bundle of `GET /jars` (JarListInfo.JarFileInfo). */
export interface JarFileInfo {
  readonly id: string;
  readonly name: string;
  readonly uploaded: number;
  /** Entry classes of a jar; a bundle has one entry point and lists none. */
  readonly entry: readonly { readonly name: string; readonly description: string }[];
}

/** `GET /jars` (JarListInfo). */
export interface JarListInfo {
  /** The REST server's URL. */
  readonly address: string;
  readonly files: readonly JarFileInfo[];
}

/**
 * `POST /jars/upload` (JarUploadResponseBody). Flink puts the stored jar's path in `filename`,
 * whose last segment is the jar id; Sluice keeps bundles in memory, so it is the id alone.
 */
export interface JarUploadResponseBody {
  readonly filename: string;
  readonly status: 'success';
}

/** `POST /jars/:jarid/run` (JarRunResponseBody). */
export interface JarRunResponseBody {
  readonly jobid: string;
}
