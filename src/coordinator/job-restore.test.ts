/** restoreLatest: the newest retained checkpoint whose files are there (or that no task found unreadable), falling back to older ones and saying why; restoreFromPath. */
import { mkdtemp, readFile, rm, truncate, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { StreamExecutionEnvironment } from '../api/environment.js';
import type { PipelineSubmission } from '../api/execution.js';
import type { OperatorFactory } from '../api/operators/stream-operator.js';
import { SluiceError } from '../core/errors.js';
import { computeKeyGroupRangeForOperatorIndex } from '../core/key-groups.js';
import type { JobGraph } from '../graph/job-graph.js';
import type { OperatorSubtaskState } from '../runtime/checkpoint-gateway.js';
import { encodeListData, parseListData } from '../state/operator-state-snapshot.js';
import { FileSystemCheckpointStorage } from '../storage/filesystem/file-system-checkpoint-storage.js';
import type { FileStateHandle } from '../storage/state-handle.js';
import { CheckpointCoordinator, type CompletedCheckpoint } from './checkpoint-coordinator.js';
import { restoreFallBackNotice, restoreFromPath, restoreLatest } from './job-restore.js';
import {
  TestingCheckpointContext,
  taskRef,
  testingMetrics,
  testingSettings,
} from '../../test/support/checkpoint-coordinator-context.js';

const warn = vi.hoisted(() => vi.fn());

// Only job-restore's own logger is replaced, so its warnings can be checked.
vi.mock(import('../core/log.js'), async (importOriginal) => {
  const original = await importOriginal();
  return {
    ...original,
    logger: (component: string) => {
      const real = original.logger(component);
      if (component !== 'job-restore') return real;
      return new Proxy(real, {
        get: (target, prop, receiver): unknown =>
          prop === 'warn' ? warn : (Reflect.get(target, prop, receiver) as unknown),
      });
    },
  };
});

const MAX_P = 128;
const SERIALIZER = { name: 'msgpack', version: 1 };

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

function submissionFor(
  jobGraph: JobGraph<OperatorFactory>,
  ignoreUnclaimedState = false,
): PipelineSubmission {
  return {
    jobGraph,
    collectTargets: new Map(),
    bufferTimeoutMs: -1,
    segmentSize: 32 * 1024,
    buffersPerChannel: 2,
    floatingBuffersPerGate: 8,
    maxBuffersPerChannel: 10,
    checkpointing: undefined,
    restartStrategy: { kind: 'none' },
    restorePath: undefined,
    ignoreUnclaimedState,
    failoverStrategy: 'region',
  };
}

const keyedBlob = (checkpointId: number, subtask: number) =>
  Uint8Array.from({ length: 64 }, (_, i) => (i * 3 + checkpointId * 11 + subtask) & 0xff);

let dir: string;
let storage: FileSystemCheckpointStorage;
let graph: JobGraph<OperatorFactory>;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-job-restore-'));
  storage = new FileSystemCheckpointStorage({ dir, inlineThreshold: 0 });
  graph = buildJob(2);
  warn.mockClear();
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs `count` checkpoints of `graph` at parallelism 2 through a coordinator that retains all of them. */
async function takeCheckpoints(count: number): Promise<readonly CompletedCheckpoint[]> {
  const ctx = new TestingCheckpointContext(storage);
  const source = graph.streamGraph.nodes.find((n) => n.transformation.role === 'source')!;
  const counts = graph.streamGraph.nodes.find((n) => n.transformation.uid === 'counts')!;
  const vertexOf = (id: string) =>
    graph.vertices.find((v) => v.chain.some((n) => n.operatorId === id))!.index;
  const sourceVertex = vertexOf(source.operatorId);
  const countsVertex = vertexOf(counts.operatorId);
  ctx.jobOperators = graph.streamGraph.nodes.map((n) => ({
    operatorId: n.operatorId,
    ...(n.transformation.uid === undefined ? {} : { uid: n.transformation.uid }),
    parallelism: n.parallelism,
    maxParallelism: n.maxParallelism,
  }));
  ctx.triggerTasks = [taskRef(sourceVertex, 0), taskRef(sourceVertex, 1)];
  ctx.ackTasks = graph.vertices.flatMap((v) => [0, 1].map((s) => taskRef(v.index, s)));
  const coordinator = new CheckpointCoordinator(
    testingSettings({ intervalMs: 1_000_000, numRetained: count }),
    ctx,
  );
  vi.spyOn(Math, 'random').mockReturnValue(0.5);
  coordinator.startCheckpointScheduler();
  vi.restoreAllMocks();
  for (let i = 0; i < count; i++) {
    const id = (await coordinator.triggerCheckpoint())!;
    const location = coordinator.location(id)!;
    for (const task of ctx.ackTasks) {
      let states: OperatorSubtaskState[];
      if (task.vertexIndex === sourceVertex) {
        const data = encodeListData(SERIALIZER, [new TextEncoder().encode(`split-${task.subtask}@${id}`)]);
        const handle = await storage.writeState(location, data);
        states = [
          {
            operatorId: source.operatorId,
            keyed: [],
            operator: [{ name: 'splits', mode: 'SPLIT_DISTRIBUTE', handle }],
          },
        ];
      } else {
        const range = computeKeyGroupRangeForOperatorIndex(MAX_P, 2, task.subtask);
        const handle = await storage.writeState(location, keyedBlob(id, task.subtask));
        const offsets = Array.from({ length: range.end - range.start + 1 }, () => 0);
        states = [
          { operatorId: counts.operatorId, keyed: [{ keyGroupRange: range, offsets, handle }], operator: [] },
        ];
      }
      coordinator.receiveAcknowledgeMessage(task.key, id, states, testingMetrics());
    }
    await ctx.completion(id);
  }
  await ctx.storage.settled();
  await coordinator.shutdown(true);
  expect(coordinator.completedCheckpoints.map((c) => c.checkpointId)).toEqual(
    Array.from({ length: count }, (_, i) => i + 1),
  );
  expect(countsVertex).not.toBe(sourceVertex);
  return coordinator.completedCheckpoints;
}

/** The keyed state file of subtask 0 of `counts` in `checkpoint`. */
function keyedFileOf(checkpoint: CompletedCheckpoint): string {
  const counts = checkpoint.metadata.operators.find((o) => o.uid === 'counts')!;
  const handle = counts.subtasks[0]!.keyed[0]!.handle as FileStateHandle;
  expect(handle.kind).toBe('file');
  return join(checkpoint.pointer, handle.path);
}

async function flipByte(path: string): Promise<void> {
  const bytes = await readFile(path);
  bytes[bytes.length >> 1]! ^= 0x01;
  await writeFile(path, bytes);
}

function fallbackWarnings(): string[] {
  return warn.mock.calls.map((c) => String(c[1]));
}

describe('restoreLatest', () => {
  it('returns undefined when no checkpoint ever completed', async () => {
    await expect(restoreLatest(submissionFor(graph), storage, [])).resolves.toBeUndefined();
    expect(warn).not.toHaveBeenCalled();
  });

  it('restores the newest completed checkpoint', async () => {
    const completed = await takeCheckpoints(3);
    const restored = await restoreLatest(submissionFor(graph), storage, completed);

    expect(restored?.checkpoint.checkpointId).toBe(3);
    expect(restored?.plan.checkpointId).toBe(3);
    const counts = graph.streamGraph.nodes.find((n) => n.transformation.uid === 'counts')!.operatorId;
    // Handles only: the tasks read the bytes, from the checkpoint's directory.
    const tasks = [...restored!.plan.tasks.values()];
    expect(new Set(tasks.map((t) => t.pointer))).toEqual(new Set([completed[2]!.pointer]));
    const keyed = tasks.flatMap((t) => t.operators.get(counts)?.keyed ?? []);
    expect(keyed.map((k) => k.handle.kind)).toEqual(['file', 'file']);
    const bytes = await Promise.all(keyed.map((k) => storage.readState(k.handle, completed[2]!.pointer)));
    expect(bytes.map((b) => Uint8Array.from(b))).toEqual([keyedBlob(3, 0), keyedBlob(3, 1)]);
    expect(warn).not.toHaveBeenCalled();
    expect(restored!.skipped).toEqual([]);
    expect(restoreFallBackNotice(restored!)).toBeUndefined();
  });

  it('falls back to the previous checkpoint when a state file of the newest is truncated, and logs why', async () => {
    const completed = await takeCheckpoints(3);
    const truncated = keyedFileOf(completed[2]!);
    await truncate(truncated, 10);

    const restored = await restoreLatest(submissionFor(graph), storage, completed);

    expect(restored?.checkpoint.checkpointId).toBe(2);
    const source = graph.streamGraph.nodes.find((n) => n.transformation.role === 'source')!.operatorId;
    const splits = await Promise.all(
      [...restored!.plan.tasks.values()]
        .flatMap((t) => t.operators.get(source)?.operator ?? [])
        .flat()
        .map((o) => storage.readState(o.handle, restored!.checkpoint.pointer)),
    );
    expect(
      splits.flatMap((s) => parseListData(s, 'test').elements.map((e) => new TextDecoder().decode(e))),
    ).toEqual(['split-0@2', 'split-1@2']);
    expect(fallbackWarnings()).toHaveLength(1);
    expect(fallbackWarnings()[0]).toContain('checkpoint 3 cannot be read');
    expect(fallbackWarnings()[0]).toContain('10 bytes');
    expect(fallbackWarnings()[0]).toContain(truncated);
    // What the job master says of it: the output after checkpoint 2 comes again.
    expect(restored!.skipped).toEqual([{ checkpointId: 3, reason: expect.stringContaining('10 bytes') }]);
    const notice = restoreFallBackNotice(restored!);
    expect(notice).toMatchObject({ code: 'SLUICE_RESTORE_FELL_BACK', name: 'SLUICE_RESTORE_FELL_BACK' });
    expect(notice?.message).toMatch(
      /^recovery fell back to checkpoint 2: checkpoint 3 \(.*10 bytes.*\) cannot be read\. Checkpoint 3 had completed and its output was committed, so output after checkpoint 2 will be produced again/su,
    );
  });

  it('does not read state files: a file damaged inside (same size) is left to the task that reads it', async () => {
    const completed = await takeCheckpoints(2);
    await flipByte(keyedFileOf(completed[1]!));

    const restored = await restoreLatest(submissionFor(graph), storage, completed);

    expect(restored?.checkpoint.checkpointId).toBe(2);
    expect(warn).not.toHaveBeenCalled();
  });

  it('passes over, without another warning, checkpoints a task found unreadable', async () => {
    const completed = await takeCheckpoints(3);
    const reason = 'task counts (1/2) cannot restore from checkpoint 3: checksum mismatch';

    const restored = await restoreLatest(
      submissionFor(graph),
      storage,
      completed,
      new Map([[completed[2]!.checkpointId, reason]]),
    );

    expect(restored?.checkpoint.checkpointId).toBe(2);
    expect(restored!.skipped).toEqual([{ checkpointId: 3, reason }]);
    expect(warn).not.toHaveBeenCalled();
    expect(restoreFallBackNotice(restored!)?.message).toContain('checksum mismatch');
  });

  it('falls back past every unreadable checkpoint to the oldest readable one', async () => {
    const completed = await takeCheckpoints(3);
    await unlink(keyedFileOf(completed[2]!));
    await truncate(keyedFileOf(completed[1]!), 1);

    const restored = await restoreLatest(submissionFor(graph), storage, completed);

    expect(restored?.checkpoint.checkpointId).toBe(1);
    expect(fallbackWarnings().map((w) => /checkpoint (\d+) cannot/u.exec(w)?.[1])).toEqual(['3', '2']);
  });

  it('does not call a restore a fall-back for a checkpoint found unreadable that is older than the one restored', async () => {
    const completed = await takeCheckpoints(3);

    const restored = await restoreLatest(
      submissionFor(graph),
      storage,
      completed,
      new Map([[completed[0]!.checkpointId, 'checksum mismatch']]),
    );

    expect(restored?.checkpoint.checkpointId).toBe(3);
    expect(restored!.skipped).toEqual([]);
    expect(restoreFallBackNotice(restored!)).toBeUndefined();
  });

  it('fails with SLUICE_RESTORE_FAILED listing each checkpoint and its reason when none can be read', async () => {
    const completed = await takeCheckpoints(3);
    for (const c of completed) await rm(c.pointer, { recursive: true, force: true }); // _metadata and state

    const error: unknown = await restoreLatest(submissionFor(graph), storage, completed).catch(
      (e: unknown) => e,
    );

    expect(error).toBeInstanceOf(SluiceError);
    const { code, message } = error as SluiceError;
    expect(code).toBe('SLUICE_RESTORE_FAILED');
    for (const c of completed) {
      expect(message).toContain(`checkpoint ${c.checkpointId} (`);
      expect(message).toContain(c.pointer);
    }
    expect(message.indexOf('checkpoint 3 (')).toBeLessThan(message.indexOf('checkpoint 1 ('));
    expect(message).toContain('does not exist');
    expect(fallbackWarnings()).toHaveLength(3);
  });

  // CheckpointCoordinatorRestoringTest#testRestoreLatestCheckpointFailureWhenMaxParallelismChanges
  it('does not fall back when the newest checkpoint does not fit the job: that is the job’s fault', async () => {
    const completed = await takeCheckpoints(2);
    const changed = buildJob(2, 256);

    const error: unknown = await restoreLatest(submissionFor(changed), storage, completed).catch(
      (e: unknown) => e,
    );

    expect(error).toBeInstanceOf(SluiceError);
    expect((error as SluiceError).code).toBe('SLUICE_RESTORE_FAILED');
    expect((error as SluiceError).message).toContain('checkpoint 2');
    expect(warn).not.toHaveBeenCalled();
  });

  it('restores at another parallelism from the same checkpoints', async () => {
    const completed = await takeCheckpoints(1);
    const rescaled = buildJob(3);
    const restored = await restoreLatest(submissionFor(rescaled), storage, completed);
    expect(restored?.plan.tasks.size).toBe(6);
  });
});

describe('restoreFromPath', () => {
  it('restores from a chk-<n> directory as a savepoint the job does not own', async () => {
    const completed = await takeCheckpoints(2);
    const restored = await restoreFromPath(submissionFor(graph), completed[0]!.externalPointer);
    expect(restored.checkpoint).toMatchObject({ checkpointId: 1, kind: 'savepoint' });
    expect(restored.fromPath).toBe(true);
    expect(restored.plan.checkpointId).toBe(1);
  });
});
