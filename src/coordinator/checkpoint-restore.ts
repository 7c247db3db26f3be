/**
 * Turns a completed checkpoint into what each subtask of a (possibly rescaled) job restores, as
 * state handles: keyed state by key-group overlap, the operator state each subtask's share is cut
 * from, and the coordinators' state (read here: the JobManager runs the coordinators). Task state
 * is never read here: each task reads and verifies its own handles (Flink sends handles too). The
 * files are only checked cheaply (they exist, with their recorded size), so a checkpoint with a
 * missing or truncated file is passed over before anything is deployed.
 */
import { SluiceError } from '../core/errors.js';
import type { OperatorId } from '../core/ids.js';
import { computeKeyGroupRangeForOperatorIndex } from '../core/key-groups.js';
import type { OperatorFactory } from '../api/operators/stream-operator.js';
import type { JobGraph, JobVertex } from '../graph/job-graph.js';
import type { OperatorRestoreState, TaskRestoreState } from '../runtime/checkpoint-gateway.js';
import type { CheckpointMetadata, OperatorSnapshot } from '../storage/checkpoint-metadata.js';
import {
  keyedChain,
  type KeyedStateHandle,
  type OperatorStateHandle,
  type StreamStateHandle,
} from '../storage/state-handle.js';
import { enumeratorStateName } from './source-coordinators.js';

/** What a job restores from one checkpoint. */
export interface RestorePlan {
  readonly checkpointId: number;
  /** Restore state (handles) per task, keyed `${vertexIndex}:${subtask}`. */
  readonly tasks: ReadonlyMap<string, TaskRestoreState>;
  /** Coordinator (split enumerator) state by name. */
  readonly masterStates: ReadonlyMap<string, Uint8Array>;
}

function overlaps(a: { start: number; end: number }, b: { start: number; end: number }): boolean {
  return a.start <= b.end && b.start <= a.end;
}

/** How the plan reaches the checkpoint's state. */
export interface RestoreStateAccess {
  /** Where the handles' relative paths resolve (the checkpoint's directory), sent to the tasks. */
  readonly pointer: string;
  /** Checks cheaply that a handle can be read (a file exists with its size), without reading it. */
  checkState(handle: StreamStateHandle): Promise<void>;
  /** Reads a handle (only the coordinators' state is read here). */
  readState(handle: StreamStateHandle): Promise<Uint8Array>;
}

/**
 * Checks every state file of `metadata` exists and plans the restore of `jobGraph` from it:
 * handles for the tasks, bytes for the coordinators.
 */
export async function planRestore(
  metadata: CheckpointMetadata,
  access: RestoreStateAccess,
  jobGraph: JobGraph<OperatorFactory>,
  options: { readonly ignoreUnclaimedState: boolean; readonly where: string },
): Promise<RestorePlan> {
  const nodes = new Map(
    jobGraph.vertices.flatMap((vertex) =>
      vertex.chain.map((node) => [node.operatorId, { node, vertex }] as const),
    ),
  );
  // Every operator with state and no match is named at once, so one look fixes the job. A
  // source's enumerator state counts (Flink's coordinator state): pending splits would be lost.
  const masterStateNames = new Set(metadata.masterStates.map((m) => m.name));
  const unmatched = metadata.operators.filter(
    (op) =>
      !nodes.has(op.operatorId) &&
      (op.subtasks.some((s) => s.keyed.length > 0 || s.operator.length > 0 || s.channelState !== undefined) ||
        masterStateNames.has(enumeratorStateName(op.operatorId))),
  );
  if (unmatched.length > 0 && !options.ignoreUnclaimedState) {
    const names = unmatched.map((op) =>
      op.uid === undefined ? `operator ${op.operatorId}` : `uid '${op.uid}'`,
    );
    throw new SluiceError(
      'SLUICE_RESTORE_FAILED',
      `${options.where} holds state of ${names.length === 1 ? 'an operator' : `${names.length} operators`} ` +
        `this job does not have: ${names.join(', ')}. Give each operator the uid() it had, or drop that ` +
        'state with --allow-non-restored-state (-n; REST allowNonRestoredState, ' +
        'execution.state-recovery.ignore-unclaimed-state: true).',
    );
  }
  // Check every file first (a stat each, no bytes): a missing or truncated one fails the plan
  // before anything starts. A file damaged inside is found by the task that reads it.
  const handles: StreamStateHandle[] = metadata.operators.flatMap((op) =>
    nodes.has(op.operatorId)
      ? op.subtasks.flatMap((s) => [
          // An incremental chain's base and deltas.
          ...s.keyed.flatMap((k) => keyedChain(k).map((blob) => blob.handle)),
          ...s.operator.map((o) => o.handle),
          ...(s.channelState === undefined ? [] : [s.channelState]),
        ])
      : [],
  );
  checkChannelStateRestorable(metadata, nodes, options.where);
  const masterStates = new Map<string, Uint8Array>();
  await Promise.all([
    ...handles.map((h) => access.checkState(h)),
    ...metadata.masterStates.map(async (m) => masterStates.set(m.name, await access.readState(m.handle))),
  ]);

  const tasks = new Map<string, Map<OperatorId, OperatorRestoreState>>();
  for (const op of metadata.operators) {
    const found = nodes.get(op.operatorId);
    if (!found) continue;
    const { node, vertex } = found;
    const hasKeyed = op.subtasks.some((s) => s.keyed.length > 0);
    if (hasKeyed && op.maxParallelism !== node.maxParallelism)
      throw new SluiceError(
        'SLUICE_RESTORE_FAILED',
        `${options.where}: operator '${node.name}'${op.uid === undefined ? '' : ` (uid '${op.uid}')`} was ` +
          `checkpointed with max parallelism ${op.maxParallelism}, the job now has ${node.maxParallelism}. ` +
          'Keyed state is split into max-parallelism key groups for the life of the state, so it cannot be ' +
          `restored under another max parallelism: keep setMaxParallelism(${op.maxParallelism}) ` +
          `(pipeline.max-parallelism: ${op.maxParallelism}), or start the job without this state.`,
      );
    const keyed: KeyedStateHandle[] = op.subtasks.flatMap((s) => s.keyed);
    const hasOperatorState = op.subtasks.some((st) => st.operator.length > 0);
    // Every old subtask keeps its index (an empty one included), so at unchanged parallelism
    // each subtask gets its own state back, as in Flink.
    const oldOperatorState: (readonly OperatorStateHandle[])[] = [];
    for (let index = 0; index < op.parallelism; index++)
      oldOperatorState.push(op.subtasks.find((st) => st.subtask === index)?.operator ?? []);
    for (let subtask = 0; subtask < node.parallelism; subtask++) {
      const range = computeKeyGroupRangeForOperatorIndex(node.maxParallelism, node.parallelism, subtask);
      const key = `${vertex.index}:${subtask}`;
      let ops = tasks.get(key);
      if (!ops) tasks.set(key, (ops = new Map<OperatorId, OperatorRestoreState>()));
      ops.set(node.operatorId, {
        keyed: keyed.filter((k) => overlaps(k.keyGroupRange, range)),
        operator: hasOperatorState
          ? operatorStateFor(oldOperatorState, subtask, node.parallelism)
          : undefined,
        ...channelStateOf(op, subtask),
      });
    }
  }
  const taskStates = new Map<string, TaskRestoreState>();
  for (const vertex of jobGraph.vertices)
    for (let subtask = 0; subtask < vertex.parallelism; subtask++) {
      const key = `${vertex.index}:${subtask}`;
      taskStates.set(key, {
        checkpointId: metadata.checkpointId,
        pointer: access.pointer,
        operators: tasks.get(key) ?? new Map(),
      });
    }
  return {
    checkpointId: metadata.checkpointId,
    tasks: taskStates,
    masterStates,
  };
}

/** An operator of the job being restored, and the task (vertex) it runs in. */
interface PlacedNode {
  readonly node: JobVertex<OperatorFactory>['chain'][number];
  readonly vertex: JobVertex<OperatorFactory>;
}

/** Subtask `subtask`'s in-flight data of an unaligned checkpoint, if it has any. */
function channelStateOf(op: OperatorSnapshot, subtask: number): { channelState?: StreamStateHandle } {
  const channelState = op.subtasks.find((st) => st.subtask === subtask)?.channelState;
  return channelState === undefined ? {} : { channelState };
}

/**
 * In-flight data is stored per channel of the old job's exchanges, so it restores only into the
 * same channels: every operator at its old parallelism, and each operator with channel state still
 * the head of its task. Flink redistributes it on rescaling; Sluice refuses with what to do.
 */
function checkChannelStateRestorable(
  metadata: CheckpointMetadata,
  nodes: ReadonlyMap<OperatorId, PlacedNode>,
  where: string,
): void {
  const withChannelState = metadata.operators.filter((op) =>
    op.subtasks.some((s) => s.channelState !== undefined),
  );
  if (withChannelState.length === 0) return;
  const refuse = (problem: string): never => {
    throw new SluiceError(
      'SLUICE_RESTORE_FAILED',
      `${where} is an unaligned checkpoint holding in-flight data, which restores only into the same job at the ` +
        `same parallelism, but ${problem}. Restore it unchanged, or take a savepoint (always aligned) and rescale from that.`,
    );
  };
  for (const op of metadata.operators) {
    const found = nodes.get(op.operatorId);
    if (found !== undefined && found.node.parallelism !== op.parallelism)
      refuse(
        `operator '${found.node.name}' had parallelism ${op.parallelism} and now has ${found.node.parallelism}`,
      );
  }
  for (const op of withChannelState) {
    const found = nodes.get(op.operatorId);
    if (found === undefined) continue;
    if (found.vertex.chain[0]!.operatorId !== op.operatorId)
      refuse(`operator '${found.node.name}' is no longer the first of its chain`);
  }
}

/**
 * The old subtasks' operator state handles that new subtask `subtask` (of `parallelism`) cuts its
 * share from. At unchanged parallelism split state stays where it was, so only its own subtask's
 * handles and everyone's union state concern it; otherwise the split is over all of them.
 */
function operatorStateFor(
  old: readonly (readonly OperatorStateHandle[])[],
  subtask: number,
  parallelism: number,
): readonly (readonly OperatorStateHandle[])[] {
  if (old.length !== parallelism) return old;
  return old.map((handles, index) =>
    index === subtask ? handles : handles.filter((h) => h.mode === 'UNION'),
  );
}
