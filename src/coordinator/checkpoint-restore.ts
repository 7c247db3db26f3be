/**
 * Turns a completed checkpoint into what each subtask of a (possibly rescaled) job restores:
 * keyed state by key-group overlap, operator state redistributed, and the coordinators' state.
 * Every state file is read (and its checksum checked) before anything is deployed, so a broken
 * checkpoint is found here and recovery can fall back to an older one.
 */
import { SluiceError } from '../core/errors.js';
import type { OperatorId } from '../core/ids.js';
import { computeKeyGroupRangeForOperatorIndex } from '../core/key-groups.js';
import type { OperatorFactory } from '../api/operators/stream-operator.js';
import type { JobGraph } from '../graph/job-graph.js';
import type { OperatorRestoreState, TaskRestoreState } from '../runtime/checkpoint-gateway.js';
import type { KeyedStateSnapshot } from '../state/keyed-state-snapshot.js';
import { redistributeOperatorState } from '../state/operator-state-redistribution.js';
import type { OperatorStateSnapshot } from '../state/operator-state-snapshot.js';
import type { CheckpointMetadata } from '../storage/checkpoint-metadata.js';
import { keyedChain, type StreamStateHandle } from '../storage/state-handle.js';

/** What a job restores from one checkpoint. */
export interface RestorePlan {
  readonly checkpointId: number;
  /** Restore state per task, keyed `${vertexIndex}:${subtask}`. */
  readonly tasks: ReadonlyMap<string, TaskRestoreState>;
  /** Coordinator (split enumerator) state by name. */
  readonly masterStates: ReadonlyMap<string, Uint8Array>;
}

function overlaps(a: { start: number; end: number }, b: { start: number; end: number }): boolean {
  return a.start <= b.end && b.start <= a.end;
}

/** Reads every state of `metadata` and plans the restore of `jobGraph` from it. */
export async function planRestore(
  metadata: CheckpointMetadata,
  readState: (handle: StreamStateHandle) => Promise<Uint8Array>,
  jobGraph: JobGraph<OperatorFactory>,
  options: { readonly ignoreUnclaimedState: boolean; readonly where: string },
): Promise<RestorePlan> {
  const nodes = new Map(
    jobGraph.vertices.flatMap((vertex) =>
      vertex.chain.map((node) => [node.operatorId, { node, vertex }] as const),
    ),
  );
  for (const op of metadata.operators) {
    const hasState = op.subtasks.some((s) => s.keyed.length > 0 || s.operator.length > 0);
    if (hasState && !nodes.has(op.operatorId) && !options.ignoreUnclaimedState)
      throw new SluiceError(
        'SLUICE_RESTORE_FAILED',
        `${options.where} holds state of operator ${op.uid === undefined ? op.operatorId : `uid '${op.uid}'`} ` +
          'which this job does not have. Give the operator the uid() it had, or set ' +
          'execution.state-recovery.ignore-unclaimed-state: true to drop that state.',
      );
  }
  // Read everything first: a missing or corrupt file fails the plan before anything starts.
  const bytes = new Map<StreamStateHandle, Uint8Array>();
  const handles: StreamStateHandle[] = [
    ...metadata.masterStates.map((m) => m.handle),
    ...metadata.operators.flatMap((op) =>
      nodes.has(op.operatorId)
        ? op.subtasks.flatMap((s) => [
            ...s.keyed.flatMap((k) => keyedChain(k).map((blob) => blob.handle)),
            ...s.operator.map((o) => o.handle),
          ])
        : [],
    ),
  ];
  await Promise.all(handles.map(async (h) => bytes.set(h, await readState(h))));

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
    const keyed: KeyedStateSnapshot[] = op.subtasks.flatMap((s) =>
      s.keyed.map((k) => ({
        keyGroupRange: k.keyGroupRange,
        offsets: k.offsets,
        data: bytes.get(k.handle)!,
        stateNames: [],
        // An incremental chain: the task applies the deltas after the base.
        ...(k.deltas === undefined
          ? {}
          : { deltas: k.deltas.map((d) => ({ offsets: d.offsets, data: bytes.get(d.handle)! })) }),
      })),
    );
    const oldOperatorState: OperatorStateSnapshot[][] = [];
    // Every old subtask keeps its index (an empty one included), so at unchanged parallelism
    // each subtask gets its own state back, as in Flink.
    for (let index = 0; index < op.parallelism; index++) {
      const old = op.subtasks.find((st) => st.subtask === index);
      oldOperatorState.push([
        {
          states: (old?.operator ?? []).map((o) => ({
            name: o.name,
            mode: o.mode === 'UNION' ? ('UNION' as const) : ('SPLIT_DISTRIBUTE' as const),
            data: bytes.get(o.handle)!,
          })),
        },
      ]);
    }
    const hasOperatorState = op.subtasks.some((st) => st.operator.length > 0);
    const newOperatorState = hasOperatorState
      ? redistributeOperatorState(oldOperatorState, node.parallelism)
      : [];
    for (let subtask = 0; subtask < node.parallelism; subtask++) {
      const range = computeKeyGroupRangeForOperatorIndex(node.maxParallelism, node.parallelism, subtask);
      const key = `${vertex.index}:${subtask}`;
      let ops = tasks.get(key);
      if (!ops) tasks.set(key, (ops = new Map<OperatorId, OperatorRestoreState>()));
      ops.set(node.operatorId, {
        keyed: keyed.filter((k) => overlaps(k.keyGroupRange, range)),
        operator: newOperatorState[subtask],
      });
    }
  }
  const taskStates = new Map<string, TaskRestoreState>();
  for (const vertex of jobGraph.vertices)
    for (let subtask = 0; subtask < vertex.parallelism; subtask++) {
      const key = `${vertex.index}:${subtask}`;
      taskStates.set(key, { checkpointId: metadata.checkpointId, operators: tasks.get(key) ?? new Map() });
    }
  return {
    checkpointId: metadata.checkpointId,
    tasks: taskStates,
    masterStates: new Map(metadata.masterStates.map((m) => [m.name, bytes.get(m.handle)!])),
  };
}
