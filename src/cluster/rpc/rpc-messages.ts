/** The control-plane messages between JobManager and TaskManagers, as plain data, and their field-by-field validator. */
import type { JobId, OperatorId } from '../../core/ids.js';
import type { OperatorEvent } from '../../runtime/stream-operator.js';
import {
  CheckpointFailureReasons,
  type CheckpointFailureReason,
} from '../../protocol/checkpoint-failure-reason.js';
import type { SubtaskCheckpointMetrics } from '../../runtime/checkpoint-gateway.js';
import type { ExecutionState } from '../../runtime/task.js';
import type { SavepointTarget } from '../../protocol/snapshot-kind.js';
import type { FlameGraphNode } from '../../runtime/cpu-flame-graph.js';
import { isPlainFileName } from '../../core/log-files.js';
import { checkRpcError, type RpcError } from './rpc-error.js';
import {
  RpcProtocolError,
  bool,
  bytes,
  data,
  field,
  finite,
  listOf,
  matching,
  name,
  nat,
  objectOf,
  oneOf,
  optional,
  plainObject,
  port,
  positive,
  recordOf,
  reject,
  text,
  type Check,
  type FieldChecks,
} from './rpc-schema.js';

export { RpcProtocolError };
export type { RpcError };

/** One execution of one subtask: Flink's ExecutionAttemptID, spelled out. */
export interface TaskAddress {
  readonly jobId: JobId;
  /** The job's deployment attempt (0 for the first deployment, +1 per restart). */
  readonly attempt: number;
  readonly vertexIndex: number;
  readonly subtask: number;
}

/** Counters of one running task, reported with heartbeats for the REST API and metrics. */
export interface TaskMetricsReport extends TaskAddress {
  /** Named counters (`recordsIn`, `recordsOut`, `bytesOut`, ...). */
  readonly counters: Readonly<Record<string, number>>;
  /** The task's accumulators, as plain data. */
  readonly accumulators?: unknown;
}

// ---- TaskManager → JobManager ------------------------------------------------------------

/** A TaskManager offers its slots; asked, answered with `registration-accepted` or `-declined`. */
export interface RegisterTaskManager {
  readonly kind: 'register-task-manager';
  readonly taskManagerId: string;
  readonly slots: number;
  /** Where its TcpDataServer listens, for other TaskManagers' input channels. */
  readonly dataAddress: { readonly host: string; readonly port: number };
  readonly pid: number;
  /** What its machine and process have, for the REST API's `/taskmanagers`. */
  readonly hardware?: {
    readonly cpuCores: number;
    readonly physicalMemoryBytes: number;
    readonly heapBytes: number;
  };
}

/** A task changed its ExecutionState; `error` when it FAILED. */
export interface TaskStateMessage extends TaskAddress {
  readonly kind: 'task-state';
  readonly state: ExecutionState;
  readonly error?: RpcError;
  /** With FINISHED: the task's accumulators, as plain data (the cluster wiring defines and checks them). */
  readonly accumulators?: unknown;
}

/** The counters of a TaskManager's running tasks, pushed every second for progress displays and REST. */
export interface TaskMetricsMessage {
  readonly kind: 'task-metrics';
  readonly metrics: readonly TaskMetricsReport[];
  /** The TaskManager process's own figures (heap, CPU, event loop; see core/process-metrics.ts). */
  readonly process?: Readonly<Record<string, number>>;
}

/** A task reached the end of its input (it stays RUNNING until `finish-all`). */
export interface TaskEndedMessage extends TaskAddress {
  readonly kind: 'task-ended';
}

/** A source reader's event for its split enumerator on the JobManager. */
export interface OperatorEventMessage {
  readonly kind: 'operator-event';
  readonly jobId: JobId;
  readonly attempt: number;
  readonly operatorId: OperatorId;
  readonly subtask: number;
  readonly event: OperatorEvent;
}

/** Records a collect sink hands to the client; with `commit`, those checkpoint `commit.checkpointId` covers. */
export interface CollectMessage extends TaskAddress {
  readonly kind: 'collect';
  readonly collectId: string;
  /** The records, serialized with the job's registered classes (`collectedRecordsSerializer`). */
  readonly records: Uint8Array;
  readonly commit?: { readonly checkpointId: number; readonly subtask: number };
}

/** A subtask's part of checkpoint `checkpointId` is written. */
export interface AcknowledgeCheckpointMessage extends TaskAddress {
  readonly kind: 'acknowledge-checkpoint';
  readonly checkpointId: number;
  /** The subtask's operator state handles, as plain data (the cluster wiring defines and checks them). */
  readonly state: unknown;
  readonly metrics: SubtaskCheckpointMetrics;
}

/** A subtask could not take its part of checkpoint `checkpointId`. */
export interface DeclineCheckpointMessage extends TaskAddress {
  readonly kind: 'decline-checkpoint';
  readonly checkpointId: number;
  readonly reason: CheckpointFailureReason;
  readonly error?: RpcError;
}

/** The answer to `heartbeat-request` `seq`, with the TaskManager's task counters. */
export interface HeartbeatResponse {
  readonly kind: 'heartbeat-response';
  readonly seq: number;
  readonly metrics?: readonly TaskMetricsReport[];
}

/** The answer to `request-file`: the file's bytes (its last part, when it is long); none when it has no such file. */
export interface FileContentMessage {
  readonly kind: 'file-content';
  readonly content?: Uint8Array;
}

/** The answer to `request-log-list`: the files of its log directory (none when it keeps no files). */
export interface LogListMessage {
  readonly kind: 'log-list';
  readonly logs: readonly LogFileInfo[];
}

/** A file of a process's log directory, as Flink's LogInfo lists it. */
export interface LogFileInfo {
  readonly name: string;
  readonly size: number;
  /** Last modified, ms since the epoch. */
  readonly mtime: number;
}

/** The answer to `request-cpu-profile`: the TaskManager's CPU samples folded into a flame graph. */
export interface CpuProfileMessage {
  readonly kind: 'cpu-profile';
  readonly graph: FlameGraphNode;
}

// ---- JobManager → TaskManager ------------------------------------------------------------

/** Registration succeeded: the TaskManager now answers this JobManager's heartbeats. */
export interface RegistrationAccepted {
  readonly kind: 'registration-accepted';
  readonly jobManagerId: string;
}

/** Registration refused (a duplicate id, say); the TaskManager waits and tries again. */
export interface RegistrationDeclined {
  readonly kind: 'registration-declined';
  readonly reason: string;
}

/** Deploy attempt `attempt` of a job's subtasks; asked, answered with `ack` once the tasks started. */
export interface DeployMessage {
  readonly kind: 'deploy';
  readonly jobId: JobId;
  readonly attempt: number;
  /** The job's bundle, when this TaskManager has not loaded it yet. */
  readonly bundle?: Uint8Array;
  /** Tasks, slots and channel wiring, as plain data: its shape is the cluster wiring's. */
  readonly payload: unknown;
}

/** Cancel every task of a job whatever its attempt, or with `tasks` only those subtasks (a region failover). */
export interface CancelJobMessage {
  readonly kind: 'cancel-job';
  readonly jobId: JobId;
  readonly tasks?: readonly { readonly vertexIndex: number; readonly subtask: number }[];
}

/**
 * The job ended for good (finished, cancelled or failed): the TaskManager lets go of what it
 * keeps for it between attempts, such as its task-local state (Flink's releaseJobResources).
 */
export interface ReleaseJobMessage {
  readonly kind: 'release-job';
  readonly jobId: JobId;
}

/** Start checkpoint `checkpointId` at a source subtask. */
export interface TriggerCheckpointMessage extends TaskAddress {
  readonly kind: 'trigger-checkpoint';
  readonly checkpointId: number;
  readonly timestamp: number;
  /** A savepoint's trigger: its kind and directory, which the barrier carries on. */
  readonly savepoint?: SavepointTarget;
}

/** Checkpoint `checkpointId` completed: two-phase-commit sinks commit now. */
export interface NotifyCheckpointCompleteMessage {
  readonly kind: 'notify-checkpoint-complete';
  readonly jobId: JobId;
  readonly attempt: number;
  readonly checkpointId: number;
}

/** Checkpoint `checkpointId` was aborted. */
export interface NotifyCheckpointAbortedMessage {
  readonly kind: 'notify-checkpoint-aborted';
  readonly jobId: JobId;
  readonly attempt: number;
  readonly checkpointId: number;
}

/** Every task of the job ended: let them close and finish. */
export interface FinishAllMessage {
  readonly kind: 'finish-all';
  readonly jobId: JobId;
  readonly attempt: number;
}

/** Stop-with-savepoint: every source task of the job ends its input now, as if its source had ended. */
export interface EndSourceInputMessage {
  readonly kind: 'end-source-input';
  readonly jobId: JobId;
  readonly attempt: number;
}

/** A split enumerator's event for one source reader. */
export interface OperatorEventToTaskMessage {
  readonly kind: 'operator-event-to-task';
  readonly jobId: JobId;
  readonly attempt: number;
  readonly operatorId: OperatorId;
  readonly subtask: number;
  readonly event: OperatorEvent;
}

/** Asks for the TaskManager's log or stdout file (Flink's FileType); answered with `file-content`. */
export interface RequestFileMessage {
  readonly kind: 'request-file';
  readonly file: TaskManagerFileType;
}

/** Lists the files of the TaskManager's log directory; answered with `log-list`. */
export interface RequestLogListMessage {
  readonly kind: 'request-log-list';
}

/** Asks for a file of the TaskManager's log directory by name; answered with `file-content`. */
export interface RequestLogFileMessage {
  readonly kind: 'request-log-file';
  /** A plain file name: no directory part. */
  readonly name: string;
}

/** Samples the TaskManager's CPU (Flink's `rest.flamegraph.*` settings); answered with `cpu-profile`. */
export interface RequestCpuProfileMessage {
  readonly kind: 'request-cpu-profile';
  readonly numSamples: number;
  readonly delayBetweenSamplesMs: number;
  readonly stackDepth: number;
}

/** The files a TaskManager serves: its log and its stdout (`.log`, `.out`). */
export type TaskManagerFileType = 'log' | 'stdout';

/** Are you there? Answered with `heartbeat-response` carrying the same `seq`. */
export interface HeartbeatRequest {
  readonly kind: 'heartbeat-request';
  readonly seq: number;
}

// ---- Either way --------------------------------------------------------------------------

/** The answer to an ask that needs no data (Flink's Acknowledge). */
export interface AckMessage {
  readonly kind: 'ack';
}

/** What a TaskManager sends to the JobManager. */
export type ToJobManagerMessage =
  | RegisterTaskManager
  | TaskStateMessage
  | TaskMetricsMessage
  | TaskEndedMessage
  | OperatorEventMessage
  | CollectMessage
  | AcknowledgeCheckpointMessage
  | DeclineCheckpointMessage
  | HeartbeatResponse
  | FileContentMessage
  | LogListMessage
  | CpuProfileMessage
  | AckMessage;

/** What the JobManager sends to a TaskManager. */
export type ToTaskManagerMessage =
  | RegistrationAccepted
  | RegistrationDeclined
  | DeployMessage
  | CancelJobMessage
  | ReleaseJobMessage
  | TriggerCheckpointMessage
  | NotifyCheckpointCompleteMessage
  | NotifyCheckpointAbortedMessage
  | FinishAllMessage
  | EndSourceInputMessage
  | OperatorEventToTaskMessage
  | HeartbeatRequest
  | RequestFileMessage
  | RequestLogListMessage
  | RequestLogFileMessage
  | RequestCpuProfileMessage
  | AckMessage;

/** Every control-plane message, discriminated on `kind`. */
export type RpcMessage = ToJobManagerMessage | ToTaskManagerMessage;

/** The process a message travels to. */
export type RpcEndpoint = 'job-manager' | 'task-manager';

/** The messages that travel to `E`. */
export type MessageTo<E extends RpcEndpoint> = E extends 'job-manager'
  ? ToJobManagerMessage
  : ToTaskManagerMessage;

// ---- Validation --------------------------------------------------------------------------

// Records, not arrays: adding a state or a message kind does not compile until it is listed here.
const EXECUTION_STATES: Record<ExecutionState, true> = {
  CREATED: true,
  DEPLOYING: true,
  INITIALIZING: true,
  RUNNING: true,
  FINISHED: true,
  CANCELING: true,
  CANCELED: true,
  FAILED: true,
};
const TO_JOB_MANAGER: Record<ToJobManagerMessage['kind'], true> = {
  'register-task-manager': true,
  'task-state': true,
  'task-metrics': true,
  'task-ended': true,
  'operator-event': true,
  collect: true,
  'acknowledge-checkpoint': true,
  'decline-checkpoint': true,
  'heartbeat-response': true,
  'file-content': true,
  'log-list': true,
  'cpu-profile': true,
  ack: true,
};
const TO_TASK_MANAGER: Record<ToTaskManagerMessage['kind'], true> = {
  'registration-accepted': true,
  'registration-declined': true,
  deploy: true,
  'cancel-job': true,
  'release-job': true,
  'trigger-checkpoint': true,
  'notify-checkpoint-complete': true,
  'notify-checkpoint-aborted': true,
  'finish-all': true,
  'end-source-input': true,
  'operator-event-to-task': true,
  'heartbeat-request': true,
  'request-file': true,
  'request-log-list': true,
  'request-log-file': true,
  'request-cpu-profile': true,
  ack: true,
};

const hex32 = /^[0-9a-f]{32}$/u;
const jobId = matching<JobId>(hex32, 'a job id (32 hex characters)');
const operatorId = matching<OperatorId>(hex32, 'an operator id (32 hex characters)');
const executionState = oneOf(Object.keys(EXECUTION_STATES) as ExecutionState[], 'an ExecutionState');
const failureReason = oneOf(
  Object.keys(CheckpointFailureReasons) as CheckpointFailureReason[],
  'a CheckpointFailureReason',
);
const operatorEvent: Check<OperatorEvent> = (v, path) => {
  const object = plainObject(v, path);
  switch (field(object, 'kind')) {
    case 'request-split':
      return { kind: 'request-split' };
    case 'no-more-splits':
      return { kind: 'no-more-splits' };
    case 'add-splits':
      return { kind: 'add-splits', splits: listOf(data)(field(object, 'splits'), `${path}.splits`) };
    case 'source-event':
      return { kind: 'source-event', event: field(object, 'event') };
    default:
      return reject(`${path}.kind`, 'an operator event kind', field(object, 'kind'));
  }
};

/** An absolute POSIX path of at most 4096 characters (a savepoint directory). */
const absolutePath: Check<string> = (v, path) =>
  typeof v === 'string' && v.startsWith('/') && v.length <= 4096 ? v : reject(path, 'an absolute path', v);

/** A file name without a directory part: what a log file request may name. */
const fileName: Check<string> = (v, path) =>
  typeof v === 'string' && isPlainFileName(v) ? v : reject(path, 'a file name without a directory part', v);

/** Deepest flame graph accepted (`rest.flamegraph.stack-depth` frames, the root, and slack). */
const MAX_FLAME_GRAPH_DEPTH = 4096;

const flameGraphNode: Check<FlameGraphNode> = (v, path) => {
  const check = (value: unknown, at: string, depth: number): FlameGraphNode => {
    if (depth > MAX_FLAME_GRAPH_DEPTH)
      return reject(at, `a flame graph at most ${MAX_FLAME_GRAPH_DEPTH} deep`, value);
    const object = plainObject(value, at);
    const children = field(object, 'children');
    if (!Array.isArray(children)) return reject(`${at}.children`, 'an array', children);
    return {
      name: text(field(object, 'name'), `${at}.name`),
      value: nat(field(object, 'value'), `${at}.value`),
      children: children.map((c, i) => check(c, `${at}.children[${i}]`, depth + 1)),
    };
  };
  return check(v, path, 0);
};

const task: FieldChecks<TaskAddress> = { jobId, attempt: nat, vertexIndex: nat, subtask: nat };
const checkpointMetrics = objectOf<SubtaskCheckpointMetrics>({
  syncDurationMs: finite,
  asyncDurationMs: finite,
  alignmentDurationMs: finite,
  startDelayMs: finite,
  bytesProcessedDuringAlignment: finite,
  checkpointedSize: finite,
  persistedData: optional(finite),
  unaligned: optional(bool),
});
const taskMetrics = objectOf<TaskMetricsReport>({
  ...task,
  counters: recordOf(finite),
  accumulators: data,
});

/** The fields of each message kind, checked against the types above by the compiler. */
type Schemas = {
  readonly [K in RpcMessage['kind']]: FieldChecks<Omit<Extract<RpcMessage, { kind: K }>, 'kind'>>;
};
const schemas: Schemas = {
  'register-task-manager': {
    taskManagerId: name,
    slots: positive,
    dataAddress: objectOf({ host: name, port }),
    pid: nat,
    hardware: optional(objectOf({ cpuCores: nat, physicalMemoryBytes: nat, heapBytes: nat })),
  },
  'task-state': { ...task, state: executionState, error: optional(checkRpcError), accumulators: data },
  'task-metrics': { metrics: listOf(taskMetrics), process: optional(recordOf(finite)) },
  'task-ended': task,
  'operator-event': { jobId, attempt: nat, operatorId, subtask: nat, event: operatorEvent },
  collect: {
    ...task,
    collectId: name,
    records: bytes,
    commit: optional(objectOf({ checkpointId: positive, subtask: nat })),
  },
  'acknowledge-checkpoint': { ...task, checkpointId: positive, state: data, metrics: checkpointMetrics },
  'decline-checkpoint': {
    ...task,
    checkpointId: positive,
    reason: failureReason,
    error: optional(checkRpcError),
  },
  'heartbeat-response': { seq: nat, metrics: optional(listOf(taskMetrics)) },
  'registration-accepted': { jobManagerId: name },
  'registration-declined': { reason: text },
  deploy: { jobId, attempt: nat, bundle: optional(bytes), payload: data },
  'cancel-job': { jobId, tasks: optional(listOf(objectOf({ vertexIndex: nat, subtask: nat }))) },
  'release-job': { jobId },
  'trigger-checkpoint': {
    ...task,
    checkpointId: positive,
    timestamp: finite,
    savepoint: optional(
      objectOf<SavepointTarget>({
        kind: oneOf(['savepoint', 'sync-savepoint'], 'savepoint or sync-savepoint'),
        pointer: absolutePath,
      }),
    ),
  },
  'notify-checkpoint-complete': { jobId, attempt: nat, checkpointId: positive },
  'notify-checkpoint-aborted': { jobId, attempt: nat, checkpointId: positive },
  'finish-all': { jobId, attempt: nat },
  'end-source-input': { jobId, attempt: nat },
  'operator-event-to-task': { jobId, attempt: nat, operatorId, subtask: nat, event: operatorEvent },
  'heartbeat-request': { seq: nat },
  'request-file': { file: oneOf(['log', 'stdout'] as TaskManagerFileType[], 'log or stdout') },
  'file-content': { content: optional(bytes) },
  'request-log-list': {},
  'log-list': { logs: listOf(objectOf<LogFileInfo>({ name: fileName, size: nat, mtime: finite })) },
  'request-log-file': { name: fileName },
  'request-cpu-profile': { numSamples: positive, delayBetweenSamplesMs: positive, stackDepth: positive },
  'cpu-profile': { graph: flameGraphNode },
  ack: {},
};

const checks = new Map<string, Check<RpcMessage>>(
  Object.entries(schemas).map(([kind, fields]) => {
    const check = objectOf(fields as FieldChecks<Record<string, unknown>>);
    return [kind, (v: unknown, path: string) => ({ kind, ...check(v, path) }) as RpcMessage];
  }),
);

/**
 * Checks a decoded value field by field and returns the message it is, rebuilt with only its
 * declared fields, or the RpcProtocolError saying which field is wrong. With `to`, a message
 * that does not travel to that endpoint (a `deploy` sent to the JobManager) is an error too.
 */
export function parseRpcMessage(value: unknown): RpcMessage | RpcProtocolError;
export function parseRpcMessage<E extends RpcEndpoint>(
  value: unknown,
  to: E,
): MessageTo<E> | RpcProtocolError;
export function parseRpcMessage(value: unknown, to?: RpcEndpoint): RpcMessage | RpcProtocolError {
  try {
    const kind = field(plainObject(value, 'message'), 'kind');
    const check = typeof kind === 'string' ? checks.get(kind) : undefined;
    if (typeof kind !== 'string' || check === undefined)
      return reject('message.kind', 'a message kind', kind);
    const allowed =
      to === undefined || Object.hasOwn(to === 'job-manager' ? TO_JOB_MANAGER : TO_TASK_MANAGER, kind);
    if (!allowed) {
      return new RpcProtocolError(
        'message.kind',
        `malformed message: a ${kind} message is never sent to the ${to}`,
      );
    }
    return check(value, kind);
  } catch (e) {
    if (e instanceof RpcProtocolError) return e;
    throw e;
  }
}
