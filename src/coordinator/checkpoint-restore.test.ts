/** planRestore: keyed handles by key-group overlap, operator state redistributed (as each task cuts its share), master state, files checked but never read, and the checks against the job (Flink's CheckpointCoordinatorRestoringTest / CheckpointMetadataLoadingTest). */
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { StreamExecutionEnvironment } from '../api/environment.js';
import type { OperatorFactory } from '../api/operators/stream-operator.js';
import { SluiceError } from '../core/errors.js';
import { newJobId, operatorId, type CheckpointId, type OperatorId } from '../core/ids.js';
import { computeKeyGroupRangeForOperatorIndex, type KeyGroupRange } from '../core/key-groups.js';
import type { JobGraph } from '../graph/job-graph.js';
import type { StreamNode } from '../graph/stream-node.js';
import { encodeListData, parseListData, type OperatorStateMode } from '../state/operator-state-snapshot.js';
import type {
  CheckpointMetadata,
  OperatorSnapshot,
  SubtaskSnapshot,
} from '../storage/checkpoint-metadata.js';
import { restoredInline } from '../runtime/restore-state-reader.js';
import type { KeyedStateHandle, StreamStateHandle } from '../storage/state-handle.js';
import { planRestore, type RestorePlan, type RestoreStateAccess } from './checkpoint-restore.js';

const MAX_P = 128;
const SERIALIZER = { name: 'msgpack', version: 1 };

/** source -> map (uid 'reader') | keyBy -> reduce (uid 'counts') -> print, all at `parallelism`. */
function buildJob(parallelism: number, maxParallelism = MAX_P): JobGraph<OperatorFactory> {
  const env = new StreamExecutionEnvironment();
  env.setParallelism(parallelism).setMaxParallelism(maxParallelism);
  env
    .fromSequence(0, 99)
    .map((x) => x)
    .uid('reader')
    .keyBy((x) => x % 7)
    .reduce((a, b) => a + b)
    .uid('counts')
    .print();
  return env.getJobGraph();
}

function nodeWhere(
  graph: JobGraph<OperatorFactory>,
  test: (n: StreamNode<OperatorFactory>) => boolean,
): StreamNode<OperatorFactory> {
  const node = graph.streamGraph.nodes.find(test);
  expect(node, 'the job has the node').toBeDefined();
  return node!;
}

const sourceOf = (g: JobGraph<OperatorFactory>) => nodeWhere(g, (n) => n.transformation.role === 'source');
const countsOf = (g: JobGraph<OperatorFactory>) => nodeWhere(g, (n) => n.transformation.uid === 'counts');
const vertexOf = (g: JobGraph<OperatorFactory>, id: OperatorId) =>
  g.vertices.find((v) => v.chain.some((n) => n.operatorId === id))!;

function inline(...bytes: number[]): StreamStateHandle {
  return { kind: 'inline', data: Uint8Array.from(bytes) };
}

/** A keyed handle of old subtask `subtask` of `parallelism`, whose blob is tagged with the subtask. */
function keyedHandle(parallelism: number, subtask: number, maxParallelism = MAX_P): KeyedStateHandle {
  const range = computeKeyGroupRangeForOperatorIndex(maxParallelism, parallelism, subtask);
  const count = range.end - range.start + 1;
  return {
    keyGroupRange: range,
    offsets: Array.from({ length: count }, () => 0),
    handle: inline(0xc0, subtask),
  };
}

function listState(...elements: string[]): StreamStateHandle {
  return {
    kind: 'inline',
    data: encodeListData(
      SERIALIZER,
      elements.map((e) => new TextEncoder().encode(e)),
    ),
  };
}

function elementsOf(data: Uint8Array): string[] {
  return parseListData(data, 'test').elements.map((e) => new TextDecoder().decode(e));
}

/** Keyed state of `counts` at `parallelism`, and list state of the source (elements per old subtask). */
function metadataOf(
  graph: JobGraph<OperatorFactory>,
  parallelism: number,
  sourceLists: readonly (readonly string[])[],
  options: { mode?: OperatorStateMode; maxParallelism?: number; extra?: OperatorSnapshot[] } = {},
): CheckpointMetadata {
  const maxParallelism = options.maxParallelism ?? MAX_P;
  const keyedSubtasks: SubtaskSnapshot[] = Array.from({ length: parallelism }, (_, subtask) => ({
    subtask,
    keyed: [keyedHandle(parallelism, subtask, maxParallelism)],
    operator: [],
  }));
  const sourceSubtasks: SubtaskSnapshot[] = sourceLists.map((elements, subtask) => ({
    subtask,
    keyed: [],
    operator: [{ name: 'splits', mode: options.mode ?? 'SPLIT_DISTRIBUTE', handle: listState(...elements) }],
  }));
  return {
    formatVersion: 1,
    jobId: graph.jobId,
    checkpointId: 7 as CheckpointId,
    triggerTimestamp: 1_000,
    completionTimestamp: 1_100,
    isSavepoint: false,
    operators: [
      {
        operatorId: sourceOf(graph).operatorId,
        parallelism,
        maxParallelism,
        subtasks: sourceSubtasks,
      },
      {
        operatorId: countsOf(graph).operatorId,
        uid: 'counts',
        parallelism,
        maxParallelism,
        subtasks: keyedSubtasks,
      },
      ...(options.extra ?? []),
    ],
    masterStates: [{ name: 'Sequence Source', handle: inline(0xee, 1, 2) }],
  };
}

const readInline = (h: StreamStateHandle): Promise<Uint8Array> =>
  h.kind === 'inline' ? Promise.resolve(h.data) : Promise.reject(new Error(`no file ${h.path}`));
const checkInline = (h: StreamStateHandle): Promise<void> =>
  h.kind === 'inline' ? Promise.resolve() : Promise.reject(new Error(`no file ${h.path}`));

const POINTER = '/checkpoints/job/chk-7';

function restore(
  metadata: CheckpointMetadata,
  graph: JobGraph<OperatorFactory>,
  ignoreUnclaimedState = false,
  access: Partial<RestoreStateAccess> = {},
): Promise<RestorePlan> {
  return planRestore(
    metadata,
    { pointer: POINTER, checkState: checkInline, readState: readInline, ...access },
    graph,
    { ignoreUnclaimedState, where: 'checkpoint 7' },
  );
}

/** The old subtasks whose keyed blobs new subtask `subtask` of `vertexIndex` received for `op`. */
function keyedSources(plan: RestorePlan, vertexIndex: number, subtask: number, op: OperatorId): number[] {
  const state = plan.tasks.get(`${vertexIndex}:${subtask}`)?.operators.get(op);
  return (state?.keyed ?? []).map((k) => (k.handle.kind === 'inline' ? k.handle.data[1]! : -1));
}

/** The operator state `op`'s subtask `subtask` (of `parallelism`) cuts from the plan, as its task does. */
function operatorShare(
  plan: RestorePlan,
  vertexIndex: number,
  subtask: number,
  parallelism: number,
  op: OperatorId,
) {
  const task = plan.tasks.get(`${vertexIndex}:${subtask}`)!;
  return restoredInline(task, { subtaskIndex: subtask, parallelism, taskName: 'test' }).get(op)!.operator!;
}

async function rejection(promise: Promise<unknown>): Promise<SluiceError> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SluiceError);
  return error as SluiceError;
}

describe('planRestore', () => {
  it('gives stable operator ids to the same program at another parallelism (what rescaling relies on)', () => {
    const [a, b] = [buildJob(2), buildJob(3)];
    expect(sourceOf(a).operatorId).toBe(sourceOf(b).operatorId);
    expect(countsOf(a).operatorId).toBe(countsOf(b).operatorId);
  });

  it('restores every subtask as it was at unchanged parallelism', async () => {
    const graph = buildJob(2);
    const plan = await restore(metadataOf(graph, 2, [['a', 'b'], ['c']]), graph);
    const counts = countsOf(graph).operatorId;
    const source = sourceOf(graph).operatorId;
    const keyedVertex = vertexOf(graph, counts).index;
    const sourceVertex = vertexOf(graph, source).index;

    expect(plan.checkpointId).toBe(7);
    expect([...plan.tasks.keys()].sort()).toEqual(['0:0', '0:1', '1:0', '1:1']);
    expect(keyedSources(plan, keyedVertex, 0, counts)).toEqual([0]);
    expect(keyedSources(plan, keyedVertex, 1, counts)).toEqual([1]);
    const restored = plan.tasks.get(`${keyedVertex}:0`)!.operators.get(counts)!.keyed[0]!;
    expect(restored.keyGroupRange).toEqual({ start: 0, end: 63 });
    expect(restored.offsets).toHaveLength(64);
    for (const subtask of [0, 1]) {
      const task = plan.tasks.get(`${sourceVertex}:${subtask}`)!;
      expect(task.pointer).toBe(POINTER);
      // At unchanged parallelism a subtask is sent only its own split state.
      expect(task.operators.get(source)!.operator!.map((old) => old.length)).toEqual(
        subtask === 0 ? [1, 0] : [0, 1],
      );
      const op = operatorShare(plan, sourceVertex, subtask, 2, source);
      expect(op.states.map((s) => [s.name, s.mode, elementsOf(s.data)])).toEqual([
        ['splits', 'SPLIT_DISTRIBUTE', subtask === 0 ? ['a', 'b'] : ['c']],
      ]);
    }
    expect(plan.masterStates).toEqual(new Map([['Sequence Source', Uint8Array.of(0xee, 1, 2)]]));
  });

  // CheckpointCoordinatorRestoringTest#testRestoreLatestCheckpointedStateScaleOut
  it('on scale-out 2 → 3 gives each new subtask the keyed handles overlapping its key groups', async () => {
    const old = buildJob(2);
    const graph = buildJob(3);
    const plan = await restore(
      metadataOf(old, 2, [
        ['a', 'b'],
        ['c', 'd', 'e'],
      ]),
      graph,
    );
    const counts = countsOf(graph).operatorId;
    const v = vertexOf(graph, counts).index;

    // Old: [0,63] [64,127]; new: [0,42] [43,85] [86,127].
    expect(keyedSources(plan, v, 0, counts)).toEqual([0]);
    expect(keyedSources(plan, v, 1, counts)).toEqual([0, 1]);
    expect(keyedSources(plan, v, 2, counts)).toEqual([1]);
    expect(plan.tasks.size).toBe(6);
  });

  // CheckpointCoordinatorRestoringTest#testRestoreLatestCheckpointedStateScaleIn
  it('on scale-in 3 → 1 gives the single subtask every keyed handle', async () => {
    const old = buildJob(3);
    const graph = buildJob(1);
    const plan = await restore(metadataOf(old, 3, [['a'], ['b'], ['c']]), graph);
    const counts = countsOf(graph).operatorId;
    expect(keyedSources(plan, vertexOf(graph, counts).index, 0, counts)).toEqual([0, 1, 2]);
    expect(plan.tasks.size).toBe(2);
  });

  // StateAssignmentOperationTest#testRepartitionSplitDistributeStates
  it('splits SPLIT_DISTRIBUTE list state evenly over the new subtasks, in old-subtask order', async () => {
    const old = buildJob(2);
    const graph = buildJob(3);
    const plan = await restore(
      metadataOf(old, 2, [
        ['a', 'b'],
        ['c', 'd', 'e'],
      ]),
      graph,
    );
    const source = sourceOf(graph).operatorId;
    const v = vertexOf(graph, source).index;
    const lists = [0, 1, 2].map((s) => elementsOf(operatorShare(plan, v, s, 3, source).states[0]!.data));
    expect(lists).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
  });

  // StateAssignmentOperationTest#testRepartitionUnionState
  it('gives every new subtask the whole UNION list state', async () => {
    const old = buildJob(3);
    const graph = buildJob(1);
    const plan = await restore(metadataOf(old, 3, [['a'], ['b', 'c'], []], { mode: 'UNION' }), graph);
    const source = sourceOf(graph).operatorId;
    const state = operatorShare(plan, vertexOf(graph, source).index, 0, 1, source);
    expect(state.states.map((s) => [s.mode, elementsOf(s.data)])).toEqual([['UNION', ['a', 'b', 'c']]]);
  });

  it('restores operators without state in the checkpoint with nothing', async () => {
    const graph = buildJob(2);
    const plan = await restore(metadataOf(graph, 2, [['a'], ['b']]), graph);
    const reader = nodeWhere(graph, (n) => n.transformation.uid === 'reader').operatorId;
    for (const task of plan.tasks.values()) expect(task.operators.has(reader)).toBe(false);
  });

  // CheckpointMetadataLoadingTest#testUnmatchedState / allowNonRestoredState
  it('fails with SLUICE_RESTORE_FAILED naming the uid of state the job has no operator for', async () => {
    const graph = buildJob(2);
    const gone: OperatorSnapshot = {
      operatorId: operatorId('ffffffffffffffffffffffffffffffff'),
      uid: 'dedup',
      parallelism: 2,
      maxParallelism: MAX_P,
      subtasks: [{ subtask: 0, keyed: [keyedHandle(2, 0)], operator: [] }],
    };
    const metadata = metadataOf(graph, 2, [['a'], ['b']], { extra: [gone] });
    const readState = vi.fn(readInline);
    const checkState = vi.fn(checkInline);

    const error = await rejection(restore(metadata, graph, false, { readState, checkState }));
    expect(error.code).toBe('SLUICE_RESTORE_FAILED');
    expect(error.message).toContain("uid 'dedup'");
    expect(error.message).toContain('checkpoint 7');
    expect(error.message).toContain('execution.state-recovery.ignore-unclaimed-state');
    expect(readState).not.toHaveBeenCalled();
    expect(checkState).not.toHaveBeenCalled();
  });

  it('gives UNION state of every old subtask to each subtask at unchanged parallelism', async () => {
    const graph = buildJob(2);
    const plan = await restore(metadataOf(graph, 2, [['a'], ['b', 'c']], { mode: 'UNION' }), graph);
    const source = sourceOf(graph).operatorId;
    const v = vertexOf(graph, source).index;
    for (const subtask of [0, 1])
      expect(elementsOf(operatorShare(plan, v, subtask, 2, source).states[0]!.data)).toEqual(['a', 'b', 'c']);
  });

  it('checks task state files exist without reading them, and hands their handles to the tasks', async () => {
    const graph = buildJob(2);
    const file: StreamStateHandle = { kind: 'file', path: 'f-1', size: 9, checksum: 42, scope: 'exclusive' };
    const metadata = metadataOf(graph, 2, [['a'], ['b']]);
    const counts = metadata.operators[1]!;
    const withFile: CheckpointMetadata = {
      ...metadata,
      operators: [
        metadata.operators[0]!,
        {
          ...counts,
          subtasks: counts.subtasks.map((s) => ({
            ...s,
            keyed: s.keyed.map((k) => ({ ...k, handle: file })),
          })),
        },
      ],
    };
    const readState = vi.fn(readInline);
    const checkState = vi.fn((): Promise<void> => Promise.resolve());

    const plan = await restore(withFile, graph, false, { readState, checkState });

    expect(checkState).toHaveBeenCalledWith(file);
    // Only the coordinator's state is read here (inline); the file is the tasks' to read.
    expect(readState.mock.calls.map(([h]) => h.kind)).toEqual(['inline']);
    const v = vertexOf(graph, countsOf(graph).operatorId).index;
    expect(plan.tasks.get(`${v}:1`)!.operators.get(countsOf(graph).operatorId)!.keyed[0]!.handle).toBe(file);
  });

  it('fails before planning when a task state file is missing (the check rejects)', async () => {
    const graph = buildJob(2);
    const checkState = (h: StreamStateHandle) =>
      h.kind === 'inline' && h.data[0] === 0xc0 && h.data[1] === 1
        ? Promise.reject(new Error('checkpoint state file /x does not exist'))
        : checkInline(h);
    await expect(restore(metadataOf(graph, 2, [['a'], ['b']]), graph, false, { checkState })).rejects.toThrow(
      'does not exist',
    );
  });

  it('names the operator id of unclaimed state that has no uid', async () => {
    const graph = buildJob(2);
    const id = operatorId('eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee');
    const metadata = metadataOf(graph, 2, [['a'], ['b']], {
      extra: [
        {
          operatorId: id,
          parallelism: 1,
          maxParallelism: MAX_P,
          subtasks: [
            { subtask: 0, keyed: [], operator: [{ name: 'x', mode: 'UNION', handle: listState('x') }] },
          ],
        },
      ],
    });
    const error = await rejection(restore(metadata, graph));
    expect(error.code).toBe('SLUICE_RESTORE_FAILED');
    expect(error.message).toContain(id);
  });

  it('drops unclaimed state with ignoreUnclaimedState, without reading it', async () => {
    const graph = buildJob(2);
    const unreadable: StreamStateHandle = {
      kind: 'file',
      path: 'gone',
      size: 3,
      checksum: 0,
      scope: 'exclusive',
    };
    const gone: OperatorSnapshot = {
      operatorId: operatorId('ffffffffffffffffffffffffffffffff'),
      uid: 'dedup',
      parallelism: 2,
      maxParallelism: MAX_P,
      subtasks: [{ subtask: 0, keyed: [], operator: [{ name: 's', mode: 'UNION', handle: unreadable }] }],
    };
    const plan = await restore(metadataOf(graph, 2, [['a'], ['b']], { extra: [gone] }), graph, true);
    for (const task of plan.tasks.values()) expect(task.operators.has(gone.operatorId)).toBe(false);
    expect(plan.tasks.size).toBe(4);
  });

  // CheckpointMetadataLoadingTest#testUnmatchedCoordinatorOnlyStateFails
  it('fails for a gone source that has only its enumerator’s state; allowed, that state is not used', async () => {
    const graph = buildJob(2);
    const gone: OperatorSnapshot = {
      operatorId: operatorId('cccccccccccccccccccccccccccccccc'),
      uid: 'old-source',
      parallelism: 2,
      maxParallelism: MAX_P,
      subtasks: [],
    };
    const base = metadataOf(graph, 2, [['a'], ['b']], { extra: [gone] });
    const metadata: CheckpointMetadata = {
      ...base,
      masterStates: [
        ...base.masterStates,
        { name: `enumerator:${gone.operatorId}`, handle: inline(0xee, 9) },
      ],
    };
    const error = await rejection(restore(metadata, graph));
    expect(error.code).toBe('SLUICE_RESTORE_FAILED');
    expect(error.message).toContain("uid 'old-source'");
    const plan = await restore(metadata, graph, true);
    for (const task of plan.tasks.values()) expect(task.operators.has(gone.operatorId)).toBe(false);
  });

  it('accepts operators that are gone from the job if they had no state', async () => {
    const graph = buildJob(2);
    const stateless: OperatorSnapshot = {
      operatorId: operatorId('dddddddddddddddddddddddddddddddd'),
      uid: 'filter',
      parallelism: 2,
      maxParallelism: MAX_P,
      subtasks: [],
    };
    await expect(
      restore(metadataOf(graph, 2, [['a'], ['b']], { extra: [stateless] }), graph),
    ).resolves.toBeDefined();
  });

  // CheckpointCoordinatorRestoringTest#testRestoreLatestCheckpointFailureWhenMaxParallelismChanges
  it('fails with SLUICE_RESTORE_FAILED naming both values when the max parallelism changed', async () => {
    const old = buildJob(2, 128);
    const graph = buildJob(2, 256);
    const error = await rejection(restore(metadataOf(old, 2, [['a'], ['b']]), graph));
    expect(error.code).toBe('SLUICE_RESTORE_FAILED');
    expect(error.message).toContain(
      "operator 'Keyed Reduce' (uid 'counts') was checkpointed with max parallelism 128, the job now has 256.",
    );
    expect(error.message).toContain('keep setMaxParallelism(128)');
    expect(error.message).toContain('start the job without this state');
  });

  it('fails with the read error (not SLUICE_RESTORE_FAILED) when the coordinators’ state cannot be read, before planning', async () => {
    const graph = buildJob(2);
    const failing = (h: StreamStateHandle) =>
      h.kind === 'inline' && h.data[0] === 0xee
        ? Promise.reject(new Error('master state lost'))
        : readInline(h);
    await expect(
      restore(metadataOf(graph, 2, [['a'], ['b']]), graph, false, { readState: failing }),
    ).rejects.toThrow('master state lost');
  });

  it('property: every key group of every new subtask is covered by exactly one received handle', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 8 }),
        fc.constantFrom(8, 16, 128),
        async (oldP, newP, maxP) => {
          const old = buildJob(oldP, maxP);
          const graph = buildJob(newP, maxP);
          const plan = await restore(metadataOf(old, oldP, [], { maxParallelism: maxP }), graph);
          const counts = countsOf(graph).operatorId;
          const v = vertexOf(graph, counts).index;
          for (let s = 0; s < newP; s++) {
            const own = computeKeyGroupRangeForOperatorIndex(maxP, newP, s);
            const received: KeyGroupRange[] = plan.tasks
              .get(`${v}:${s}`)!
              .operators.get(counts)!
              .keyed.map((k) => k.keyGroupRange);
            for (const r of received) expect(r.start <= own.end && own.start <= r.end).toBe(true);
            for (let kg = own.start; kg <= own.end; kg++)
              expect(received.filter((r) => r.start <= kg && kg <= r.end)).toHaveLength(1);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('plans for the job it is given, whatever job id the checkpoint was taken by', async () => {
    const graph = buildJob(2);
    const metadata = { ...metadataOf(graph, 2, [['a'], ['b']]), jobId: newJobId() };
    await expect(restore(metadata, graph)).resolves.toMatchObject({ checkpointId: 7 });
  });
});
