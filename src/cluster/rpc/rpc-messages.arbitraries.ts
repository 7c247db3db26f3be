/** fast-check generators of valid control-plane messages, in their parsed (normalized) form, for the RPC tests. */
import fc from 'fast-check';
import type { JobId, OperatorId } from '../../core/ids.js';
import type { OperatorEvent } from '../../runtime/stream-operator.js';
import {
  CheckpointFailureReasons,
  type CheckpointFailureReason,
} from '../../protocol/checkpoint-failure-reason.js';
import type { ExecutionState } from '../../runtime/task.js';
import type {
  RpcError,
  RpcMessage,
  TaskAddress,
  ToJobManagerMessage,
  ToTaskManagerMessage,
} from './rpc-messages.js';

const hexId = fc.stringMatching(/^[0-9a-f]{32}$/u);
const jobId = hexId.map((s) => s as JobId);
const operatorId = hexId.map((s) => s as OperatorId);
const nat = fc.nat({ max: 1_000_000 });
const positive = fc.integer({ min: 1, max: 1_000_000 });
const name = fc.string({ minLength: 1, maxLength: 20 });
const finite = fc.double({ noNaN: true, noDefaultInfinity: true }).filter((x) => !Object.is(x, -0));

/**
 * Plain data MessagePack carries unchanged: no -0 (it arrives as 0), no `__proto__` keys (they
 * arrive renamed), no Map or Set (they arrive as objects and arrays).
 */
export const plainData: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    finite,
    fc.string({ maxLength: 20 }),
    fc.uint8Array({ maxLength: 16 }),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(
      fc.string({ maxLength: 8 }).filter((k) => k !== '__proto__'),
      tie('value'),
      { maxKeys: 4 },
    ),
  ),
})).value;

const executionState = fc.constantFrom<ExecutionState>(
  'CREATED',
  'DEPLOYING',
  'INITIALIZING',
  'RUNNING',
  'FINISHED',
  'CANCELING',
  'CANCELED',
  'FAILED',
);
const failureReason = fc.constantFrom(
  ...(Object.keys(CheckpointFailureReasons) as CheckpointFailureReason[]),
);
const rpcError: fc.Arbitrary<RpcError> = fc.record(
  {
    message: fc.string(),
    stack: fc.string(),
    code: fc.constantFrom('SLUICE_RPC_TIMEOUT', 'SLUICE_FUTURE_CODE'),
  },
  { requiredKeys: ['message', 'stack'] },
);
const task: { [K in keyof TaskAddress]: fc.Arbitrary<TaskAddress[K]> } = {
  jobId,
  attempt: nat,
  vertexIndex: nat,
  subtask: nat,
};
const operatorEvent: fc.Arbitrary<OperatorEvent> = fc.oneof(
  fc.constant({ kind: 'request-split' as const }),
  fc.constant({ kind: 'no-more-splits' as const }),
  fc.record({ kind: fc.constant('add-splits' as const), splits: fc.array(plainData, { maxLength: 3 }) }),
  fc.record({ kind: fc.constant('source-event' as const), event: plainData }),
);
const kind = <K extends string>(k: K) => fc.constant(k);

/** Any valid message a TaskManager sends. */
export const toJobManagerMessage: fc.Arbitrary<ToJobManagerMessage> = fc.oneof(
  fc.record({
    kind: kind('register-task-manager'),
    taskManagerId: name,
    slots: positive,
    dataAddress: fc.record({ host: name, port: fc.integer({ min: 0, max: 65535 }) }),
    pid: nat,
  }),
  fc.record(
    { kind: kind('task-state'), ...task, state: executionState, error: rpcError },
    { requiredKeys: ['kind', 'jobId', 'attempt', 'vertexIndex', 'subtask', 'state'] },
  ),
  fc.record({ kind: kind('task-ended'), ...task }),
  fc.record({
    kind: kind('operator-event'),
    jobId,
    attempt: nat,
    operatorId,
    subtask: nat,
    event: operatorEvent,
  }),
  fc.record(
    {
      kind: kind('collect'),
      ...task,
      collectId: name,
      records: fc.uint8Array({ maxLength: 64 }),
      commit: fc.record({ checkpointId: positive, subtask: nat }),
    },
    { requiredKeys: ['kind', 'jobId', 'attempt', 'vertexIndex', 'subtask', 'collectId', 'records'] },
  ),
  fc.record({
    kind: kind('acknowledge-checkpoint'),
    ...task,
    checkpointId: positive,
    state: plainData,
    metrics: fc.record({
      syncDurationMs: finite,
      asyncDurationMs: finite,
      alignmentDurationMs: finite,
      startDelayMs: finite,
      bytesProcessedDuringAlignment: finite,
      checkpointedSize: finite,
    }),
  }),
  fc.record(
    {
      kind: kind('decline-checkpoint'),
      ...task,
      checkpointId: positive,
      reason: failureReason,
      error: rpcError,
    },
    { requiredKeys: ['kind', 'jobId', 'attempt', 'vertexIndex', 'subtask', 'checkpointId', 'reason'] },
  ),
  fc.record(
    {
      kind: kind('heartbeat-response'),
      seq: nat,
      metrics: fc.array(
        fc.record(
          {
            ...task,
            counters: fc.dictionary(fc.constantFrom('recordsIn', 'recordsOut', 'bytesOut'), finite),
            accumulators: plainData,
          },
          { requiredKeys: ['jobId', 'attempt', 'vertexIndex', 'subtask', 'counters'] },
        ),
        { maxLength: 3 },
      ),
    },
    { requiredKeys: ['kind', 'seq'] },
  ),
  fc.record(
    { kind: kind('file-content'), content: fc.uint8Array({ maxLength: 64 }) },
    { requiredKeys: ['kind'] },
  ),
  fc.record({
    kind: kind('log-list'),
    logs: fc.array(fc.record({ name: fc.constantFrom('a.log', 'b.out'), size: nat, mtime: finite }), {
      maxLength: 3,
    }),
  }),
  fc.record({
    kind: kind('cpu-profile'),
    graph: fc.record({
      name: fc.string(),
      value: nat,
      children: fc.array(fc.record({ name: fc.string(), value: nat, children: fc.constant([]) }), {
        maxLength: 3,
      }),
    }),
  }),
  fc.constant({ kind: 'ack' as const }),
);

/** Any valid message the JobManager sends. */
export const toTaskManagerMessage: fc.Arbitrary<ToTaskManagerMessage> = fc.oneof(
  fc.record({ kind: kind('registration-accepted'), jobManagerId: name }),
  fc.record({ kind: kind('registration-declined'), reason: fc.string() }),
  fc.record(
    {
      kind: kind('deploy'),
      jobId,
      attempt: nat,
      bundle: fc.uint8Array({ maxLength: 64 }),
      payload: plainData,
    },
    { requiredKeys: ['kind', 'jobId', 'attempt', 'payload'] },
  ),
  fc.record(
    {
      kind: kind('cancel-job'),
      jobId,
      tasks: fc.array(fc.record({ vertexIndex: nat, subtask: nat }), { maxLength: 3 }),
    },
    { requiredKeys: ['kind', 'jobId'] },
  ),
  fc.record({ kind: kind('release-job'), jobId }),
  fc.record({ kind: kind('trigger-checkpoint'), ...task, checkpointId: positive, timestamp: finite }),
  fc.record({ kind: kind('notify-checkpoint-complete'), jobId, attempt: nat, checkpointId: positive }),
  fc.record({ kind: kind('notify-checkpoint-aborted'), jobId, attempt: nat, checkpointId: positive }),
  fc.record({ kind: kind('finish-all'), jobId, attempt: nat }),
  fc.record({ kind: kind('end-source-input'), jobId, attempt: nat }),
  fc.record({
    kind: kind('operator-event-to-task'),
    jobId,
    attempt: nat,
    operatorId,
    subtask: nat,
    event: operatorEvent,
  }),
  fc.record({ kind: kind('heartbeat-request'), seq: nat }),
  fc.record({ kind: kind('request-file'), file: fc.constantFrom('log' as const, 'stdout' as const) }),
  fc.constant({ kind: 'request-log-list' as const }),
  fc.record({ kind: kind('request-log-file'), name: fc.constantFrom('a.log', 'sluice-taskmanager-1.out') }),
  fc.record({
    kind: kind('request-cpu-profile'),
    numSamples: positive,
    delayBetweenSamplesMs: positive,
    stackDepth: positive,
  }),
  fc.constant({ kind: 'ack' as const }),
);

/** Any valid message. */
export const rpcMessage: fc.Arbitrary<RpcMessage> = fc.oneof(toJobManagerMessage, toTaskManagerMessage);
