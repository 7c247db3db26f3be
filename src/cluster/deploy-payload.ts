/**
 * What travels between JobManager and TaskManagers inside the control messages whose payload the
 * RPC layer leaves opaque: the `deploy` payload, a subtask's checkpoint state (acknowledgements),
 * the state it restores from, and accumulators. Plain data, each with a field-by-field check.
 */
import type { OperatorId } from '../core/ids.js';
import { Counter, ListAccumulator } from '../api/accumulators.js';
import { type Accumulator, type AccumulatorRegistry } from '../core/accumulator.js';
import type {
  OperatorRestoreState,
  OperatorSubtaskState,
  TaskRestoreState,
} from '../runtime/checkpoint-gateway.js';
import type {
  KeyedStateDelta,
  KeyedStateHandle,
  OperatorStateHandle,
  StreamStateHandle,
} from '../storage/state-handle.js';
import { OPERATOR_STATE_MODES, STATE_SCOPES } from '../storage/state-handle.js';
import {
  bytes,
  data,
  field,
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
} from './rpc/rpc-schema.js';

/** One subtask: vertex index and subtask index. */
export interface SubtaskRef {
  readonly vertexIndex: number;
  readonly subtask: number;
}

/** A TaskManager as other TaskManagers reach it. */
export interface DataEndpoint {
  readonly taskManagerId: string;
  readonly host: string;
  readonly port: number;
}

/** A subtask's restore state (handles, which the task reads itself), addressed. */
export interface SubtaskRestore extends SubtaskRef {
  readonly state: TaskRestoreState;
}

/** The `payload` of a `deploy` message: how the TaskManager rebuilds the job and which part it runs. */
export interface DeployPayload {
  /** Which `execute()` call of the job module this job is (0 for the first). */
  readonly jobIndex: number;
  /** The module's `process.argv.slice(2)`. */
  readonly args: readonly string[];
  /** The configuration the job was built with, so the module builds the same graph. */
  readonly configuration: Readonly<Record<string, string>>;
  /** `-p` of `sluice run`, when given. */
  readonly parallelism?: number | undefined;
  /**
   * The global job parameters and runtime mode as the JobManager's evaluation of the module set
   * them: they win over the TaskManager's own (parameters may come from the client's clock or
   * environment). Absent: the TaskManager's own.
   */
  readonly globalJobParameters?: Readonly<Record<string, string>> | undefined;
  readonly runtimeMode?: 'STREAMING' | 'BATCH' | undefined;
  /** The JobManager's vertex ids, by index: the rebuilt graph must have the same. */
  readonly vertexIds: readonly string[];
  /** Every TaskManager holding a subtask of this attempt. */
  readonly endpoints: readonly DataEndpoint[];
  /** For each vertex, for each subtask, its TaskManager's index in `endpoints`. */
  readonly placement: readonly (readonly number[])[];
  /** Which index in `endpoints` is the receiving TaskManager. */
  readonly self: number;
  /**
   * Restore state of this TaskManager's subtasks that have any: state handles (small state inline
   * in them, as in `_metadata`), never the bytes of state files, which each task reads itself.
   */
  readonly restore: readonly SubtaskRestore[];
  /**
   * A partial deployment (a region failover): only these subtasks, each placed on the receiving
   * TaskManager. Absent: every subtask placed there, replacing whatever of the job it runs.
   */
  readonly only?: readonly SubtaskRef[] | undefined;
}

const hex32 = /^[0-9a-f]{32}$/u;
const operatorId = matching<OperatorId>(hex32, 'an operator id (32 hex characters)');
const keyGroupRange = objectOf({ start: nat, end: (v: unknown, p: string) => intAtLeast(v, p, -1) });

function intAtLeast(v: unknown, path: string, min: number): number {
  return Number.isSafeInteger(v) && (v as number) >= min
    ? (v as number)
    : reject(path, `a whole number ≥ ${min}`, v);
}

const streamHandle: Check<StreamStateHandle> = (v, path) => {
  const object = plainObject(v, path);
  switch (field(object, 'kind')) {
    case 'inline':
      return { kind: 'inline', data: bytes(field(object, 'data'), `${path}.data`) };
    case 'file':
      return {
        kind: 'file',
        path: name(field(object, 'path'), `${path}.path`),
        size: nat(field(object, 'size'), `${path}.size`),
        checksum: nat(field(object, 'checksum'), `${path}.checksum`),
        scope: oneOf(STATE_SCOPES, 'a state scope')(field(object, 'scope'), `${path}.scope`),
      };
    default:
      return reject(`${path}.kind`, "'inline' or 'file'", field(object, 'kind'));
  }
};

const keyedHandle = objectOf<KeyedStateHandle>({
  keyGroupRange,
  offsets: listOf(nat),
  handle: streamHandle,
  deltas: optional(listOf(objectOf<KeyedStateDelta>({ offsets: listOf(nat), handle: streamHandle }))),
});
const operatorHandle = objectOf<OperatorStateHandle>({
  name,
  mode: oneOf(OPERATOR_STATE_MODES, 'an operator state mode'),
  handle: streamHandle,
});

/** Checks the `state` of an `acknowledge-checkpoint` message. */
export const checkSubtaskState: Check<readonly OperatorSubtaskState[]> = listOf(
  objectOf<OperatorSubtaskState>({
    operatorId,
    keyed: listOf(keyedHandle),
    operator: listOf(operatorHandle),
    channelState: optional(streamHandle),
  }),
);

interface WireOperatorRestore {
  readonly operatorId: OperatorId;
  readonly keyed: readonly KeyedStateHandle[];
  readonly operator?: readonly (readonly OperatorStateHandle[])[];
  readonly channelState?: StreamStateHandle;
}
interface WireTaskRestore extends SubtaskRef {
  readonly checkpointId: number;
  readonly pointer: string;
  readonly operators: readonly WireOperatorRestore[];
}

const wireTaskRestore = objectOf<WireTaskRestore>({
  vertexIndex: nat,
  subtask: nat,
  checkpointId: positive,
  pointer: text,
  operators: listOf(
    objectOf<WireOperatorRestore>({
      operatorId,
      keyed: listOf(keyedHandle),
      operator: optional(listOf(listOf(operatorHandle))),
      channelState: optional(streamHandle),
    }),
  ),
});

/** The plain-data form of a payload (maps become lists). */
export function encodeDeployPayload(payload: DeployPayload): unknown {
  return {
    ...payload,
    restore: payload.restore.map((r): WireTaskRestore => ({
      vertexIndex: r.vertexIndex,
      subtask: r.subtask,
      checkpointId: r.state.checkpointId,
      pointer: r.state.pointer,
      operators: [...r.state.operators].map(([id, op]) => ({
        operatorId: id,
        keyed: op.keyed,
        ...(op.operator === undefined ? {} : { operator: op.operator }),
        ...(op.channelState === undefined ? {} : { channelState: op.channelState }),
      })),
    })),
  };
}

const wirePayload = objectOf({
  jobIndex: nat,
  args: listOf(text),
  configuration: recordOf(text),
  parallelism: optional(positive),
  globalJobParameters: optional(recordOf(text)),
  runtimeMode: optional(oneOf(['STREAMING', 'BATCH'] as const, "'STREAMING' or 'BATCH'")),
  vertexIds: listOf(name),
  endpoints: listOf(objectOf<DataEndpoint>({ taskManagerId: name, host: name, port })),
  placement: listOf(listOf(nat)),
  self: nat,
  restore: listOf(wireTaskRestore),
  only: optional(listOf(objectOf<SubtaskRef>({ vertexIndex: nat, subtask: nat }))),
});

/** Checks a decoded payload field by field (throws RpcProtocolError naming the field). */
export function decodeDeployPayload(value: unknown): DeployPayload {
  const wire = wirePayload(value, 'payload');
  for (const [v, row] of wire.placement.entries())
    for (const [s, tm] of row.entries())
      if (tm >= wire.endpoints.length) reject(`payload.placement[${v}][${s}]`, 'an index into endpoints', tm);
  if (wire.self >= wire.endpoints.length) reject('payload.self', 'an index into endpoints', wire.self);
  for (const [i, t] of (wire.only ?? []).entries())
    if (wire.placement[t.vertexIndex]?.[t.subtask] !== wire.self)
      reject(`payload.only[${i}]`, 'a subtask placed on this TaskManager', t);
  return {
    ...wire,
    restore: wire.restore.map((r) => ({
      vertexIndex: r.vertexIndex,
      subtask: r.subtask,
      state: {
        checkpointId: r.checkpointId,
        pointer: r.pointer,
        operators: new Map<OperatorId, OperatorRestoreState>(
          r.operators.map((op) => [
            op.operatorId,
            {
              keyed: op.keyed,
              operator: op.operator,
              ...(op.channelState === undefined ? {} : { channelState: op.channelState }),
            },
          ]),
        ),
      },
    })),
  };
}

// ---- Accumulators --------------------------------------------------------------------------

/** An accumulator as plain data: the built-in kinds keep their kind, others travel as values. */
export interface WireAccumulator {
  readonly name: string;
  readonly kind: 'counter' | 'list' | 'value';
  readonly value: unknown;
}

/** The accumulators of a subtask, as plain data. */
export function encodeAccumulators(registry: AccumulatorRegistry): WireAccumulator[] {
  return [...registry].map(([accName, acc]) => ({
    name: accName,
    kind: acc instanceof Counter ? 'counter' : acc instanceof ListAccumulator ? 'list' : 'value',
    value: acc.getLocalValue(),
  }));
}

/** Checks accumulators received from a TaskManager. */
export const checkAccumulators: Check<readonly WireAccumulator[]> = listOf(
  objectOf<WireAccumulator>({
    name,
    kind: oneOf(['counter', 'list', 'value'] as const, 'an accumulator kind'),
    value: data,
  }),
);

/** A value-only accumulator of a custom kind: numbers add, arrays concatenate, anything else keeps the last. */
class ValueAccumulator implements Accumulator<unknown, unknown> {
  constructor(private value: unknown) {}
  add(value: unknown): void {
    this.value = value;
  }
  getLocalValue(): unknown {
    return this.value;
  }
  resetLocal(): void {
    this.value = undefined;
  }
  merge(other: Accumulator<unknown, unknown>): void {
    const v = other.getLocalValue();
    if (typeof this.value === 'number' && typeof v === 'number') this.value += v;
    else if (Array.isArray(this.value) && Array.isArray(v))
      this.value = [...(this.value as unknown[]), ...(v as unknown[])];
    else this.value = v;
  }
  clone(): ValueAccumulator {
    return new ValueAccumulator(Array.isArray(this.value) ? [...(this.value as unknown[])] : this.value);
  }
}

/** Rebuilds a registry from its plain form, so it merges with the others as usual. */
export function decodeAccumulators(wire: readonly WireAccumulator[]): AccumulatorRegistry {
  const registry: AccumulatorRegistry = new Map();
  for (const acc of wire) {
    if (acc.kind === 'counter' && typeof acc.value === 'number') {
      const counter = new Counter();
      counter.add(acc.value);
      registry.set(acc.name, counter);
    } else if (acc.kind === 'list' && Array.isArray(acc.value)) {
      const list = new ListAccumulator<unknown>();
      for (const v of acc.value as unknown[]) list.add(v);
      registry.set(acc.name, list);
    } else registry.set(acc.name, new ValueAccumulator(acc.value));
  }
  return registry;
}
