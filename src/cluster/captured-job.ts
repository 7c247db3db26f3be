/**
 * A submitted job as plain data: what the JobManager needs of a job module (the graph's shape,
 * the settings) without the module's code, which only TaskManagers and the disposable
 * user-code process run. The child describes its capture; the JobManager checks every field,
 * then rebuilds a submission whose operators are inert stand-ins.
 */
import { newJobId } from '../core/ids.js';
import type { OperatorId } from '../core/ids.js';
import { UPPER_BOUND_MAX_PARALLELISM } from '../core/key-groups.js';
import type { CheckpointingSubmission, PipelineSubmission } from '../api/execution.js';
import type { OperatorFactory } from '../api/operators/stream-operator.js';
import type { StreamOperator } from '../runtime/stream-operator.js';
import type { Source, SourceSplit } from '../api/source/source.js';
import { buildJobGraph } from '../graph/job-graph.js';
import type { PartitionerSpec } from '../graph/partitioner.js';
import type { StreamEdge, StreamGraph, StreamNode } from '../graph/stream-node.js';
import type { ChainingStrategy, Transformation } from '../graph/transformation.js';
import { CheckpointingModes } from '../protocol/barrier-alignment.js';
import type { RestartStrategyConfig } from '../protocol/restart-strategy.js';
import type { CheckpointStorageOptions } from '../storage/create-checkpoint-storage.js';
import {
  bool,
  field,
  listOf,
  matching,
  finite,
  nat,
  objectOf,
  oneOf,
  optional,
  plainObject,
  positive,
  reject,
  type Check,
} from './rpc/rpc-schema.js';

/** One input of a node: the producing node's id and the partitioning (as chosen, and as resolved). */
export interface CapturedInput {
  readonly node: number;
  readonly partitioner: PartitionerSpec['kind'];
  readonly chosen?: PartitionerSpec['kind'] | undefined;
}

/** One stream node (operator) of the job. */
export interface CapturedNode {
  readonly id: number;
  readonly role: 'source' | 'operator' | 'sink';
  readonly kind: string;
  readonly name: string;
  readonly uid?: string | undefined;
  /** The parallelism the user set on the operator, if any. */
  readonly explicitParallelism?: number | undefined;
  readonly parallelism: number;
  readonly maxParallelism: number;
  readonly nonParallel: boolean;
  readonly chainingStrategy: ChainingStrategy;
  readonly operatorId: OperatorId;
  /** The operator factory's kind. */
  readonly operatorKind: string;
  /** Whether the operator reads a Source, whose enumerator the user-code process hosts. */
  readonly hasSource: boolean;
  readonly inputs: readonly CapturedInput[];
}

/** The job's settings, as the environment resolved them (everything of a submission but the graph). */
// The type registry holds the job's classes: it stays in the processes that load the module (the
// user-code process, TaskManagers), which register the same classes when the module runs there.
export type CapturedSettings = Omit<PipelineSubmission, 'jobGraph' | 'collectTargets' | 'types'>;

/** A captured job. */
export interface CapturedJob {
  readonly jobName: string;
  readonly chainingEnabled: boolean;
  readonly nodes: readonly CapturedNode[];
  readonly settings: CapturedSettings;
}

/** Most operators a submitted job may have. */
export const MAX_CAPTURED_NODES = 10_000;
/** Most subtasks (summed over operators) a submitted job may have: the JobManager keeps state per subtask. */
export const MAX_CAPTURED_SUBTASKS = 100_000;

/** Describes a captured submission as plain data (in the user-code process). */
export function describeSubmission(submission: PipelineSubmission): CapturedJob {
  const graph = submission.jobGraph.streamGraph;
  const { jobGraph: _graph, collectTargets: _targets, types: _types, ...settings } = submission;
  return {
    jobName: graph.jobName,
    chainingEnabled: graph.chainingEnabled,
    nodes: graph.nodes.map((n) => {
      const t = n.transformation;
      return {
        id: n.id,
        role: t.role,
        kind: t.kind,
        name: n.name,
        uid: t.uid,
        explicitParallelism: t.parallelism,
        parallelism: n.parallelism,
        maxParallelism: n.maxParallelism,
        nonParallel: t.nonParallel,
        chainingStrategy: t.chainingStrategy,
        operatorId: n.operatorId,
        operatorKind: t.operator.kind,
        hasSource: t.operator.source !== undefined,
        inputs: n.inEdges.map((e, i) => ({
          node: e.source.id,
          partitioner: e.partitioner.kind,
          chosen: t.inputs[i]?.partitioner?.kind,
        })),
      };
    }),
    settings,
  };
}

// --- checks (in the JobManager: the user-code process is not trusted) ---

function textUpTo(max: number): Check<string> {
  return (v, path) =>
    typeof v === 'string' && v.length <= max ? v : reject(path, `a string of at most ${max} characters`, v);
}

function intIn(min: number, max: number): Check<number> {
  return (v, path) =>
    Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max
      ? (v as number)
      : reject(path, `a whole number between ${min} and ${max}`, v);
}

const duration: Check<number> = intIn(0, Number.MAX_SAFE_INTEGER);
const nonNegative: Check<number> = (v, path) =>
  typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : reject(path, 'a number ≥ 0', v);

const PARTITIONERS = ['forward', 'rebalance', 'rescale', 'shuffle', 'broadcast', 'global', 'hash'] as const;
const partitionerKind = oneOf(PARTITIONERS, 'a partitioner kind');
const parallelism = intIn(1, UPPER_BOUND_MAX_PARALLELISM);

const capturedNode = objectOf<CapturedNode>({
  id: nat,
  role: oneOf(['source', 'operator', 'sink'], 'source, operator or sink'),
  kind: textUpTo(128),
  name: textUpTo(4096),
  uid: optional(textUpTo(4096)),
  explicitParallelism: optional(parallelism),
  parallelism,
  maxParallelism: parallelism,
  nonParallel: bool,
  chainingStrategy: oneOf(['always', 'head', 'never'], 'always, head or never'),
  operatorId: matching<OperatorId>(/^[0-9a-f]{32}$/u, 'an operator id (32 hex characters)'),
  operatorKind: textUpTo(128),
  hasSource: bool,
  inputs: listOf(
    objectOf<CapturedInput>({ node: nat, partitioner: partitionerKind, chosen: optional(partitionerKind) }),
  ),
});

const restartStrategy: Check<RestartStrategyConfig> = (v, path) => {
  const object = plainObject(v, path);
  switch (field(object, 'kind')) {
    case 'none':
      return { kind: 'none' };
    case 'fixed-delay':
      return objectOf({ kind: oneOf(['fixed-delay'], 'fixed-delay'), attempts: nat, delayMs: duration })(
        v,
        path,
      );
    case 'failure-rate':
      return objectOf({
        kind: oneOf(['failure-rate'], 'failure-rate'),
        maxFailuresPerInterval: positive,
        failureRateIntervalMs: duration,
        delayMs: duration,
      })(v, path);
    case 'exponential-delay':
      return objectOf({
        kind: oneOf(['exponential-delay'], 'exponential-delay'),
        initialBackoffMs: duration,
        maxBackoffMs: duration,
        backoffMultiplier: nonNegative,
        resetBackoffThresholdMs: duration,
        jitterFactor: nonNegative,
        attemptsBeforeResetBackoff: nat,
      })(v, path);
    default:
      return reject(`${path}.kind`, 'a restart strategy kind', field(object, 'kind'));
  }
};

/** Most global job parameters a job may have, and their longest key or value. */
const MAX_PARAMETERS = 10_000;
const MAX_PARAMETER_LENGTH = 64 * 1024;

const globalJobParameters: Check<Readonly<Record<string, string>>> = (v, path) => {
  const object = plainObject(v, path);
  const entries = Object.entries(object);
  if (entries.length > MAX_PARAMETERS) reject(path, `at most ${MAX_PARAMETERS} parameters`, entries.length);
  const value = textUpTo(MAX_PARAMETER_LENGTH);
  for (const [key, text] of entries) {
    if (key.length > MAX_PARAMETER_LENGTH)
      reject(path, `keys of at most ${MAX_PARAMETER_LENGTH} characters`, key);
    value(text, `${path}.${key}`);
  }
  return object as Readonly<Record<string, string>>;
};

const settings = objectOf<CapturedSettings>({
  bufferTimeoutMs: intIn(-1, Number.MAX_SAFE_INTEGER),
  segmentSize: intIn(1, 256 * 1024 * 1024),
  buffersPerChannel: intIn(1, 100_000),
  floatingBuffersPerGate: intIn(0, 100_000),
  maxBuffersPerChannel: intIn(1, 100_000),
  checkpointing: optional(
    objectOf<CheckpointingSubmission>({
      intervalMs: intIn(1, Number.MAX_SAFE_INTEGER),
      timeoutMs: intIn(1, Number.MAX_SAFE_INTEGER),
      minPauseMs: duration,
      maxConcurrent: intIn(1, 1000),
      tolerableFailures: nat,
      mode: oneOf(CheckpointingModes, 'EXACTLY_ONCE or AT_LEAST_ONCE'),
      unaligned: optional(bool),
      alignedCheckpointTimeoutMs: optional(duration),
      numRetained: intIn(1, 10_000),
      historySize: intIn(1, 10_000),
      retention: oneOf(
        ['NO_EXTERNALIZED_CHECKPOINTS', 'RETAIN_ON_CANCELLATION', 'DELETE_ON_CANCELLATION'],
        'a checkpoint retention',
      ),
      storage: objectOf<CheckpointStorageOptions>({
        storage: optional(oneOf(['jobmanager', 'filesystem'], 'jobmanager or filesystem')),
        dir: optional(textUpTo(4096)),
        inlineThreshold: optional(nat),
        maxStateSize: optional(nat),
      }),
      localRecovery: optional(objectOf({ backup: bool, recover: bool })),
      savepointDir: optional(textUpTo(4096)),
    }),
  ),
  restartStrategy,
  restorePath: optional(textUpTo(4096)),
  ignoreUnclaimedState: bool,
  claimMode: optional(oneOf(['CLAIM', 'NO_CLAIM'], 'CLAIM or NO_CLAIM')),
  failoverStrategy: oneOf(['full', 'region'], 'full or region'),
  runtimeMode: optional(oneOf(['STREAMING', 'BATCH'], 'STREAMING or BATCH')),
  globalJobParameters: optional(globalJobParameters),
  stateBackend: optional(
    objectOf({
      kind: oneOf(['hashmap', 'lmdb'], 'hashmap or lmdb'),
      localDir: optional(textUpTo(4096)),
      incremental: optional(objectOf({ maxChainLength: nat, maxDeltaRatio: finite })),
    }),
  ),
});

/**
 * Checks a captured job field by field and its graph as a whole (ids unique, inputs earlier
 * nodes, bounded size); throws an RpcProtocolError naming the first problem.
 */
export function checkCapturedJob(value: unknown): CapturedJob {
  const object = plainObject(value, 'job');
  const nodes = field(object, 'nodes');
  if (!Array.isArray(nodes) || nodes.length === 0 || nodes.length > MAX_CAPTURED_NODES)
    return reject('job.nodes', `1 to ${MAX_CAPTURED_NODES} operators`, nodes);
  const job: CapturedJob = {
    jobName: textUpTo(4096)(field(object, 'jobName'), 'job.jobName'),
    chainingEnabled: bool(field(object, 'chainingEnabled'), 'job.chainingEnabled'),
    nodes: listOf(capturedNode)(nodes, 'job.nodes'),
    settings: settings(field(object, 'settings'), 'job.settings'),
  };
  const seen = new Set<number>();
  const operatorIds = new Set<string>();
  let subtasks = 0;
  job.nodes.forEach((n, i) => {
    const path = `job.nodes[${i}]`;
    if (n.maxParallelism < n.parallelism)
      reject(`${path}.maxParallelism`, `at least the parallelism (${n.parallelism})`, n.maxParallelism);
    for (const input of n.inputs)
      if (!seen.has(input.node)) reject(`${path}.inputs`, 'ids of earlier operators', input.node);
    if (seen.has(n.id)) reject(`${path}.id`, 'an id no other operator has', n.id);
    if (operatorIds.has(n.operatorId))
      reject(`${path}.operatorId`, 'an id no other operator has', n.operatorId);
    seen.add(n.id);
    operatorIds.add(n.operatorId);
    subtasks += n.parallelism;
  });
  if (subtasks > MAX_CAPTURED_SUBTASKS)
    reject('job.nodes', `at most ${MAX_CAPTURED_SUBTASKS} subtasks in all`, subtasks);
  return job;
}

// --- the JobManager's stand-in graph ---

/** Operators of a rebuilt job: they exist for their kind and source; they never run here. */
function inertFactory(
  kind: string,
  source: Source<unknown, SourceSplit, unknown> | undefined,
): OperatorFactory {
  return {
    kind,
    create(): StreamOperator {
      throw new Error(`the ${kind} operator of a submitted job runs on TaskManagers only`);
    },
    ...(source === undefined ? {} : { source }),
  };
}

function partitionerOf(kind: PartitionerSpec['kind']): PartitionerSpec {
  if (kind !== 'hash') return { kind };
  return {
    kind,
    keySelector: () => {
      throw new Error('the key selector of a submitted job runs on TaskManagers only');
    },
  };
}

/**
 * The submission the JobManager runs: the captured graph (with a fresh job id) whose sources are
 * `sourceOf(operatorId)`, and the captured settings. Its collect sinks deliver nowhere: the module
 * that would read them runs in no process of the JobManager.
 */
export function rebuildSubmission(
  job: CapturedJob,
  sourceOf: (operatorId: OperatorId) => Source<unknown, SourceSplit, unknown>,
): PipelineSubmission {
  const transformations = new Map<number, Transformation<OperatorFactory>>();
  const streamNodes = new Map<number, StreamNode<OperatorFactory>>();
  const nodes: StreamNode<OperatorFactory>[] = [];
  for (const n of job.nodes) {
    const transformation: Transformation<OperatorFactory> = {
      id: n.id,
      role: n.role,
      kind: n.kind,
      name: n.name,
      uid: n.uid,
      parallelism: n.explicitParallelism,
      nonParallel: n.nonParallel,
      maxParallelism: n.maxParallelism,
      chainingStrategy: n.chainingStrategy,
      inputs: n.inputs.map((input) => ({
        node: transformations.get(input.node)!,
        partitioner: input.chosen === undefined ? undefined : partitionerOf(input.chosen),
      })),
      keySelector: undefined,
      serializer: undefined,
      operator: inertFactory(n.operatorKind, n.hasSource ? sourceOf(n.operatorId) : undefined),
    };
    const node: StreamNode<OperatorFactory> = {
      id: n.id,
      transformation,
      name: n.name,
      parallelism: n.parallelism,
      maxParallelism: n.maxParallelism,
      operatorId: n.operatorId,
      inEdges: [],
      outEdges: [],
    };
    for (const input of n.inputs) {
      const source = streamNodes.get(input.node)!;
      const edge: StreamEdge<OperatorFactory> = {
        source,
        target: node,
        partitioner: partitionerOf(input.partitioner),
      };
      source.outEdges.push(edge);
      node.inEdges.push(edge);
    }
    transformations.set(n.id, transformation);
    streamNodes.set(n.id, node);
    nodes.push(node);
  }
  const streamGraph: StreamGraph<OperatorFactory> = {
    jobName: job.jobName,
    nodes,
    chainingEnabled: job.chainingEnabled,
  };
  return { jobGraph: buildJobGraph(streamGraph, newJobId()), collectTargets: new Map(), ...job.settings };
}
