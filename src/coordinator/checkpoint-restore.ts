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
import type { JobGraph } from '../graph/job-graph.js';
import type { OperatorRestoreState, TaskRestoreState } from '../runtime/checkpoint-gateway.js';
import type { CheckpointMetadata } from '../storage/checkpoint-metadata.js';
import {
  keyedChain,
  type KeyedStateHandle,
  type OperatorStateHandle,
  type StreamStateHandle,
} from '../storage/state-handle.js';

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
  // Every operator with state and no match is named at once, so one look fixes the job.
  const unmatched = metadata.operators.filter(
    (op) => !nodes.has(op.operatorId) && op.subtasks.some((s) => s.keyed.length > 0 || s.operator.length > 0),
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
        ])
      : [],
  );
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
        `${options.where}: operator '${node.name}' was checkpointed with max parallelism ${op.maxParallelism}, ` +
          `the job now has ${node.maxParallelism}. Keep setMaxParallelism(${op.maxParallelism}): the number of key groups is fixed for the life of the state.`,
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
