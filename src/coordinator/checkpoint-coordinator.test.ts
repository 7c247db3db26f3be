/** CheckpointCoordinator: triggering, completion, timeout, failure counting, concurrency, retention and cleanup (Flink's CheckpointCoordinatorTest scenarios). */
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SluiceError } from '../core/errors.js';
import { computeKeyGroupRangeForOperatorIndex } from '../core/key-groups.js';
import type { OperatorSubtaskState } from '../runtime/checkpoint-gateway.js';
import { NOT_EXTERNALLY_ADDRESSABLE, type CheckpointStorage } from '../storage/checkpoint-storage.js';
import { FileSystemCheckpointStorage } from '../storage/filesystem/file-system-checkpoint-storage.js';
import { JobManagerCheckpointStorage } from '../storage/memory/job-manager-checkpoint-storage.js';
import {
  CheckpointCoordinator,
  type CheckpointCoordinatorSettings,
  type TaskRef,
} from './checkpoint-coordinator.js';
import {
  KEYED_OPERATOR,
  SOURCE_OPERATOR,
  TestingCheckpointContext,
  acknowledgeAll,
  flush,
  taskRef,
  testingMetrics,
  testingSettings,
} from '../../test/support/checkpoint-coordinator-context.js';

const EXPIRED = 'The checkpoint timed out before every task acknowledged it.';
const SUBSUMED = 'A newer checkpoint completed first.';

let tempDirs: string[] = [];

afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(tempDirs.map((d) => rm(d, { recursive: true, force: true })));
  tempDirs = [];
});

async function fileStorage(): Promise<FileSystemCheckpointStorage> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-coordinator-'));
  tempDirs.push(dir);
  // Threshold 0: every non-empty state is a file, so cleanup is visible on disk.
  return new FileSystemCheckpointStorage({ dir, inlineThreshold: 0 });
}

function setup(
  overrides: Partial<CheckpointCoordinatorSettings> = {},
  storage: CheckpointStorage = new JobManagerCheckpointStorage(),
) {
  const ctx = new TestingCheckpointContext(storage);
  const coordinator = new CheckpointCoordinator(testingSettings(overrides), ctx);
  return { ctx, coordinator, storage: ctx.storage };
}

/** Starts the scheduler with a first periodic trigger `initialDelayFraction` into [minPause, interval]. */
function start(coordinator: CheckpointCoordinator, initialDelayFraction = 0): void {
  vi.spyOn(Math, 'random').mockReturnValue(initialDelayFraction);
  coordinator.startCheckpointScheduler();
}

/** Moves the clock and lets every storage call it caused finish. */
async function advance(ctx: TestingCheckpointContext, ms: number): Promise<void> {
  ctx.clock.advance(ms);
  await ctx.storage.settled();
}

async function trigger(coordinator: CheckpointCoordinator): Promise<number> {
  const id = await coordinator.triggerCheckpoint();
  expect(id, 'the checkpoint was triggered').toBeDefined();
  return id!;
}

/** Every file and directory under `dir`, relative and sorted (directories end in `/`). */
async function tree(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1) + (e.isDirectory() ? '/' : ''))
    .sort();
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

function bytesFor(task: TaskRef, checkpointId: number, length = 32): Uint8Array {
  return Uint8Array.from(
    { length },
    (_, i) => (i + task.vertexIndex * 7 + task.subtask * 13 + checkpointId) & 0xff,
  );
}

/**
 * Writes a state for `task` the way a subtask does (source: operator state, keyed operator: one
 * keyed handle over its key-group range) and acknowledges with it.
 */
async function acknowledgeWithState(
  ctx: TestingCheckpointContext,
  coordinator: CheckpointCoordinator,
  checkpointId: number,
  tasks: readonly TaskRef[] = ctx.ackTasks,
): Promise<Map<string, OperatorSubtaskState[]>> {
  const location = coordinator.location(checkpointId);
  expect(location, `checkpoint ${checkpointId} is pending`).toBeDefined();
  const sent = new Map<string, OperatorSubtaskState[]>();
  for (const task of tasks) {
    const data = bytesFor(task, checkpointId);
    const handle = await ctx.storage.writeState(location!, data);
    let states: OperatorSubtaskState[];
    if (task.vertexIndex === 0) {
      states = [
        {
          operatorId: SOURCE_OPERATOR,
          keyed: [],
          operator: [{ name: 'splits', mode: 'SPLIT_DISTRIBUTE', handle }],
        },
      ];
    } else {
      const range = computeKeyGroupRangeForOperatorIndex(128, 2, task.subtask);
      const count = range.end - range.start + 1;
      const offsets = Array.from({ length: count }, (_, i) => Math.floor((i * data.length) / count));
      states = [
        { operatorId: KEYED_OPERATOR, keyed: [{ keyGroupRange: range, offsets, handle }], operator: [] },
      ];
    }
    sent.set(task.key, states);
    coordinator.receiveAcknowledgeMessage(
      task.key,
      checkpointId,
      states,
      testingMetrics({ checkpointedSize: data.length }),
    );
  }
  return sent;
}

/** Triggers a checkpoint, acknowledges it from every task with state, and waits for its completion. */
async function completeOne(
  ctx: TestingCheckpointContext,
  coordinator: CheckpointCoordinator,
): Promise<number> {
  const id = await trigger(coordinator);
  await acknowledgeWithState(ctx, coordinator, id);
  await ctx.completion(id);
  await ctx.storage.settled();
  return id;
}

describe('CheckpointCoordinator triggering', () => {
  // CheckpointCoordinatorTriggeringTest#testPeriodicTriggering
  it('triggers the first periodic checkpoint after the initial delay, then every interval', async () => {
    const { ctx, coordinator } = setup({ intervalMs: 1_000, maxConcurrent: 10, timeoutMs: 60_000 });
    const t0 = ctx.clock.now();
    start(coordinator, 0.5); // initial delay uniform in [0, 1000]: 500

    await advance(ctx, 499);
    expect(ctx.triggers).toEqual([]);
    await advance(ctx, 1);
    expect(ctx.triggeredIds()).toEqual([1]);
    await advance(ctx, 999);
    expect(ctx.triggeredIds()).toEqual([1]);
    await advance(ctx, 1);
    await advance(ctx, 1_000);
    await advance(ctx, 1_000);

    expect(ctx.triggeredIds()).toEqual([1, 2, 3, 4]);
    const times = ctx
      .triggeredIds()
      .map((id) => ctx.triggers.find((t) => t.checkpointId === id)!.timestamp - t0);
    expect(times).toEqual([500, 1_500, 2_500, 3_500]);
    coordinator.stopCheckpointScheduler('CHECKPOINT_COORDINATOR_SHUTDOWN');
  });

  it('draws the initial delay from [min-pause, interval]', async () => {
    for (const [fraction, expected] of [
      [0, 200],
      [0.999_999, 1_000],
    ] as const) {
      vi.restoreAllMocks();
      const { ctx, coordinator } = setup({ intervalMs: 1_000, minPauseMs: 200 });
      start(coordinator, fraction);
      await advance(ctx, expected - 1);
      expect(ctx.triggers, `fraction ${fraction}`).toEqual([]);
      await advance(ctx, 1);
      expect(ctx.triggeredIds(), `fraction ${fraction}`).toEqual([1]);
      coordinator.stopCheckpointScheduler('CHECKPOINT_COORDINATOR_SHUTDOWN');
    }
  });

  // CheckpointCoordinatorTest#testCheckpointAbortsIfTriggerTasksAreNotExecuted
  it('does not trigger, count a failure or use an id while not every task runs', async () => {
    const { ctx, coordinator, storage } = setup({ intervalMs: 1_000, tolerableFailures: 0 });
    ctx.running = false;
    start(coordinator);
    for (let i = 0; i < 5; i++) await advance(ctx, 1_000);
    expect(await coordinator.triggerCheckpoint()).toBeUndefined();

    expect(ctx.triggers).toEqual([]);
    expect(storage.idsOf('initializeCheckpoint')).toEqual([]);
    expect(ctx.jobFailures).toEqual([]);
    expect(coordinator.stats.snapshot().counts.total).toBe(0);

    ctx.running = true;
    await advance(ctx, 1_000);
    expect(ctx.triggeredIds()).toEqual([1]);
    coordinator.stopCheckpointScheduler('CHECKPOINT_COORDINATOR_SHUTDOWN');
  });

  // CheckpointCoordinatorTest#testTriggerAndConfirmSimpleCheckpoint (trigger half)
  it('sends the trigger to the plan’s trigger tasks only, with increasing ids and the trigger time', async () => {
    const { ctx, coordinator } = setup({ maxConcurrent: 3, intervalMs: 1_000_000 });
    start(coordinator, 1);
    const first = await trigger(coordinator);
    ctx.clock.advance(5);
    const second = await trigger(coordinator);

    expect([first, second]).toEqual([1, 2]);
    expect(ctx.triggers).toEqual([
      { task: taskRef(0, 0), checkpointId: 1, timestamp: ctx.clock.now() - 5 },
      { task: taskRef(0, 1), checkpointId: 1, timestamp: ctx.clock.now() - 5 },
      { task: taskRef(0, 0), checkpointId: 2, timestamp: ctx.clock.now() },
      { task: taskRef(0, 1), checkpointId: 2, timestamp: ctx.clock.now() },
    ]);
    expect(coordinator.stats.get(2)).toMatchObject({ status: 'IN_PROGRESS', numSubtasks: 4 });
    coordinator.stopCheckpointScheduler('CHECKPOINT_COORDINATOR_SHUTDOWN');
  });

  it('snapshots the master states once per checkpoint, at the trigger', async () => {
    const { ctx, coordinator } = setup({ intervalMs: 1_000_000 });
    start(coordinator, 1);
    const id = await trigger(coordinator);
    expect(ctx.masterSnapshotIds).toEqual([id]);
    const triggerTime = ctx.triggers[0]!.timestamp;
    ctx.masterStates = () => [{ name: 'enumerator', data: Uint8Array.of(99) }]; // what it would say later

    await acknowledgeWithState(ctx, coordinator, id);
    await ctx.completion(id);
    const { metadata } = await ctx.storage.resolveCheckpoint(coordinator.completedCheckpoints[0]!.pointer);
    expect(metadata.triggerTimestamp).toBe(triggerTime);
    expect(metadata.masterStates).toEqual([
      { name: 'enumerator', handle: { kind: 'inline', data: Uint8Array.of(0xe0, id) } },
    ]);
    expect(ctx.masterSnapshotIds).toEqual([id]);
  });

  it('drops a checkpoint whose tasks stopped running while its storage was being prepared', async () => {
    const { ctx, coordinator, storage } = setup({ intervalMs: 1_000_000 });
    start(coordinator, 1);
    const held = storage.holdNext('initializeCheckpoint', 'after');
    const triggering = coordinator.triggerCheckpoint();
    await held.reached;
    ctx.running = false;
    held.release();

    expect(await triggering).toBeUndefined();
    expect(ctx.triggers).toEqual([]);
    expect(storage.idsOf('discardCheckpoint')).toEqual([1]);
    ctx.running = true;
    expect(await coordinator.triggerCheckpoint()).toBe(2); // ids are never reused
  });

  // CheckpointCoordinatorTest#testIOExceptionCheckpointExceedsTolerableFailureNumber,
  // CheckpointCoordinatorTriggeringTest#testTriggerCheckpointInitializationFailed
  it('counts a storage failure at the trigger and serves the next request', async () => {
    const { ctx, coordinator, storage } = setup({ intervalMs: 1_000_000, tolerableFailures: 0 });
    start(coordinator, 1);
    storage.failNext('initializeCheckpoint', new Error('disk full'));

    expect(await coordinator.triggerCheckpoint()).toBeUndefined();
    expect(ctx.triggers).toEqual([]);
    expect(ctx.jobFailures).toHaveLength(1);
    expect(ctx.jobFailures[0]).toBeInstanceOf(SluiceError);
    expect((ctx.jobFailures[0] as SluiceError).code).toBe('SLUICE_CHECKPOINT_FAILED');
    expect(ctx.jobFailures[0]!.message).toContain('disk full');

    expect(await trigger(coordinator)).toBe(2);
    expect(ctx.triggeredIds()).toEqual([2]);
  });
});

describe('CheckpointCoordinator completion', () => {
  // CheckpointCoordinatorTest#testTriggerAndConfirmSimpleCheckpoint
  it('finalizes _metadata with every acknowledged handle at its operator and subtask', async () => {
    const { ctx, coordinator, storage } = setup({ intervalMs: 1_000_000 });
    start(coordinator, 1);
    const id = await trigger(coordinator);
    ctx.clock.advance(40);

    const sent = await acknowledgeWithState(ctx, coordinator, id, ctx.ackTasks.slice(0, 3));
    await flush();
    expect(ctx.completedIds).toEqual([]);
    expect(storage.idsOf('finalizeCheckpoint')).toEqual([]);
    expect(coordinator.location(id)).toBeDefined();

    ctx.clock.advance(10);
    for (const [key, states] of await acknowledgeWithState(ctx, coordinator, id, ctx.ackTasks.slice(3)))
      sent.set(key, states);
    await ctx.completion(id);
    await storage.settled();

    expect(ctx.completedIds).toEqual([id]);
    expect(coordinator.location(id)).toBeUndefined();
    expect(coordinator.completedCheckpoints.map((c) => c.checkpointId)).toEqual([id]);
    const completed = coordinator.completedCheckpoints[0]!;
    expect(completed.externalPointer).toBe(NOT_EXTERNALLY_ADDRESSABLE);

    const { metadata } = await storage.resolveCheckpoint(completed.pointer);
    expect(metadata).toMatchObject({ jobId: ctx.jobId, checkpointId: id, isSavepoint: false });
    expect(metadata.completionTimestamp - metadata.triggerTimestamp).toBe(50);
    const source = metadata.operators.find((o) => o.operatorId === SOURCE_OPERATOR)!;
    const keyed = metadata.operators.find((o) => o.operatorId === KEYED_OPERATOR)!;
    expect(source).toMatchObject({ uid: 'source', parallelism: 2, maxParallelism: 128 });
    expect(keyed).toMatchObject({ uid: 'counts', parallelism: 2, maxParallelism: 128 });
    expect(source.subtasks.map((s) => s.subtask)).toEqual([0, 1]);
    expect(keyed.subtasks.map((s) => s.subtask)).toEqual([0, 1]);
    for (const s of source.subtasks) {
      expect(s.keyed).toEqual([]);
      expect(s.operator).toEqual(sent.get(`0:${s.subtask}`)![0]!.operator);
      const handle = s.operator[0]!.handle;
      expect(await storage.readState(handle, completed.pointer)).toEqual(bytesFor(taskRef(0, s.subtask), id));
    }
    for (const s of keyed.subtasks) {
      expect(s.operator).toEqual([]);
      expect(s.keyed).toEqual(sent.get(`1:${s.subtask}`)![0]!.keyed);
    }
  });

  it('reports the completed checkpoint in the stats with its sizes and per-subtask metrics', async () => {
    const { ctx, coordinator } = setup({ intervalMs: 1_000_000 });
    start(coordinator, 1);
    const id = await trigger(coordinator);
    ctx.clock.advance(25);
    await acknowledgeWithState(ctx, coordinator, id);
    await ctx.completion(id);

    const stats = coordinator.stats.get(id)!;
    // Four 32-byte states are referenced, and each subtask reported writing 32 bytes.
    expect(stats).toMatchObject({
      status: 'COMPLETED',
      stateSize: 4 * 32,
      checkpointedSize: 4 * 32,
      numSubtasks: 4,
      endToEndDurationMs: 25,
      externalPath: NOT_EXTERNALLY_ADDRESSABLE,
    });
    expect(stats.subtasks.map((s) => s.taskKey)).toEqual(ctx.ackTasks.map((t) => t.key));
    expect(stats.subtasks[0]).toMatchObject({
      syncDurationMs: 1,
      asyncDurationMs: 2,
      endToEndDurationMs: 25,
    });
    expect(coordinator.completedCheckpoints[0]!.stateSize).toBe(4 * 32);
    const counts = coordinator.stats.snapshot().counts;
    expect(counts).toMatchObject({ total: 1, completed: 1, failed: 0, inProgress: 0 });
    expect(coordinator.stats.snapshot().latestCompleted?.id).toBe(id);
  });

  it('completes a checkpoint of stateless tasks, with no subtask state in _metadata', async () => {
    const { ctx, coordinator, storage } = setup({ intervalMs: 1_000_000 });
    start(coordinator, 1);
    const id = await trigger(coordinator);
    acknowledgeAll(coordinator, ctx.ackTasks, id);
    await ctx.completion(id);

    const { metadata } = await storage.resolveCheckpoint(coordinator.completedCheckpoints[0]!.pointer);
    expect(metadata.operators.map((o) => o.subtasks)).toEqual([[], []]);
    expect(coordinator.stats.get(id)).toMatchObject({ status: 'COMPLETED', stateSize: 0 });
  });

  // CheckpointCoordinatorTest#testStateCleanupForLateOrUnknownMessages
  it('ignores duplicate acknowledgements, unknown tasks and unknown checkpoint ids', async () => {
    const { ctx, coordinator, storage } = setup({ intervalMs: 1_000_000 });
    start(coordinator, 1);
    const id = await trigger(coordinator);
    const [first, ...rest] = ctx.ackTasks;

    acknowledgeAll(coordinator, [first!, first!], id);
    coordinator.receiveAcknowledgeMessage('7:0', id, [], testingMetrics());
    coordinator.receiveAcknowledgeMessage(rest[0]!.key, 99, [], testingMetrics());
    await flush();
    expect(coordinator.stats.get(id)!.subtasks.map((s) => s.taskKey)).toEqual([first!.key]);
    expect(storage.idsOf('finalizeCheckpoint')).toEqual([]);

    acknowledgeAll(coordinator, rest, id);
    await ctx.completion(id);
    acknowledgeAll(coordinator, ctx.ackTasks, id); // late: the checkpoint is no longer pending
    await storage.settled();
    expect(ctx.completedIds).toEqual([id]);
    expect(storage.idsOf('finalizeCheckpoint')).toEqual([id]);
    expect(coordinator.stats.get(id)!.subtasks).toHaveLength(4);
  });

  it('does nothing with acknowledgements that arrive after the checkpoint was aborted', async () => {
    const { ctx, coordinator, storage } = setup({ intervalMs: 1_000_000, tolerableFailures: 5 });
    start(coordinator, 1);
    const id = await trigger(coordinator);
    coordinator.receiveDeclineMessage('1:1', id, 'CHECKPOINT_DECLINED');
    acknowledgeAll(coordinator, ctx.ackTasks, id);
    await storage.settled();

    expect(ctx.completedIds).toEqual([]);
    expect(ctx.abortedIds).toEqual([id]);
    expect(storage.idsOf('finalizeCheckpoint')).toEqual([]);
    expect(coordinator.completedCheckpoints).toEqual([]);
    expect(coordinator.stats.get(id)).toMatchObject({ status: 'FAILED', subtasks: [] });
  });

  it('aborts and counts a checkpoint whose _metadata cannot be written (FINALIZE_CHECKPOINT_FAILURE)', async () => {
    const { ctx, coordinator, storage } = setup({ intervalMs: 1_000_000, tolerableFailures: 0 });
    start(coordinator, 1);
    const id = await trigger(coordinator);
    storage.failNext('finalizeCheckpoint', new Error('no space left on device'));
    acknowledgeAll(coordinator, ctx.ackTasks, id);
    await ctx.abortion(id);
    await storage.settled();

    expect(ctx.completedIds).toEqual([]);
    expect(coordinator.completedCheckpoints).toEqual([]);
    expect(storage.idsOf('discardCheckpoint')).toEqual([id]);
    expect(coordinator.stats.get(id)).toMatchObject({
      status: 'FAILED',
      failureMessage: 'no space left on device',
    });
    expect(ctx.jobFailures).toHaveLength(1);
    expect(ctx.jobFailures[0]!.message).toContain('no space left on device');
  });
});

describe('CheckpointCoordinator aborts while a checkpoint is being finalized', () => {
  it('does not complete or notify a checkpoint aborted after its _metadata was written', async () => {
    const { ctx, coordinator, storage } = setup({ intervalMs: 1_000_000, tolerableFailures: 0 });
    start(coordinator, 1);
    const id = await trigger(coordinator);
    const held = storage.holdNext('finalizeCheckpoint', 'after');
    acknowledgeAll(coordinator, ctx.ackTasks, id);
    await held.reached;
    coordinator.stopCheckpointScheduler('CHECKPOINT_COORDINATOR_SUSPEND'); // e.g. a failover
    held.release();
    await storage.settled();

    expect(ctx.abortedIds).toEqual([id]);
    expect(ctx.completedIds).toEqual([]);
    expect(coordinator.completedCheckpoints).toEqual([]);
    await expect(storage.resolveCheckpoint(`jobmanager://${ctx.jobId}/chk-${id}`)).rejects.toThrow();
    expect(ctx.jobFailures).toEqual([]);
    expect(coordinator.stats.get(id)!.status).toBe('FAILED');
  });

  it('reports a checkpoint aborted before its _metadata was written once, and does not count it', async () => {
    const { ctx, coordinator, storage } = setup({ intervalMs: 1_000_000, tolerableFailures: 0 });
    start(coordinator, 1);
    const id = await trigger(coordinator);
    const held = storage.holdNext('finalizeCheckpoint', 'before');
    acknowledgeAll(coordinator, ctx.ackTasks, id);
    await held.reached;
    coordinator.stopCheckpointScheduler('CHECKPOINT_COORDINATOR_SUSPEND');
    held.release();
    await storage.settled();

    expect(ctx.abortedIds).toEqual([id]);
    expect(ctx.completedIds).toEqual([]);
    expect(coordinator.completedCheckpoints).toEqual([]);
    expect(ctx.jobFailures).toEqual([]);
  });

  it('keeps the newer checkpoint when an older one finishes writing its _metadata after it', async () => {
    const { ctx, coordinator, storage } = setup({ intervalMs: 1_000_000, maxConcurrent: 2, numRetained: 1 });
    start(coordinator, 1);
    const older = await trigger(coordinator);
    const newer = await trigger(coordinator);
    const held = storage.holdNext('finalizeCheckpoint', 'after');
    await acknowledgeWithState(ctx, coordinator, older);
    await held.reached;
    await acknowledgeWithState(ctx, coordinator, newer);
    await ctx.completion(newer);
    held.release();
    await storage.settled();

    expect(ctx.completedIds).toEqual([newer]);
    expect(ctx.abortedIds).toEqual([older]);
    expect(coordinator.completedCheckpoints.map((c) => c.checkpointId)).toEqual([newer]);
    const { metadata } = await storage.resolveCheckpoint(coordinator.completedCheckpoints[0]!.pointer);
    expect(metadata.checkpointId).toBe(newer);
  });
});

describe('CheckpointCoordinator timeout', () => {
  // CheckpointCoordinatorTest#testCheckpointTimeoutIsolated
  it('aborts with CHECKPOINT_EXPIRED at the timeout, deleting what was written', async () => {
    const fs = await fileStorage();
    const { ctx, coordinator, storage } = setup(
      { intervalMs: 1_000_000, timeoutMs: 600, tolerableFailures: 5 },
      fs,
    );
    start(coordinator, 1);
    const id = await trigger(coordinator);
    const chkDir = join(fs.jobDir(ctx.jobId), `chk-${id}`);
    const triggerTime = ctx.clock.now();
    await acknowledgeWithState(ctx, coordinator, id, ctx.ackTasks.slice(0, 2));
    expect((await readdir(chkDir)).length).toBe(2);

    await advance(ctx, 599);
    expect(ctx.abortedIds).toEqual([]);
    await advance(ctx, 1);

    expect(ctx.abortedIds).toEqual([id]);
    expect(ctx.completedIds).toEqual([]);
    expect(await exists(chkDir)).toBe(false);
    expect(coordinator.stats.get(id)).toMatchObject({
      status: 'FAILED',
      failureMessage: EXPIRED,
      failureTimestamp: triggerTime + 600,
      endToEndDurationMs: 600,
    });
    expect(coordinator.stats.snapshot().latestFailed?.id).toBe(id);

    acknowledgeAll(coordinator, ctx.ackTasks.slice(2), id); // too late
    await storage.settled();
    expect(ctx.completedIds).toEqual([]);
    expect(await exists(chkDir)).toBe(false);
  });

  it('does not expire a checkpoint that completed in time', async () => {
    const { ctx, coordinator } = setup({ intervalMs: 1_000_000, timeoutMs: 600, tolerableFailures: 0 });
    start(coordinator, 1);
    const id = await trigger(coordinator);
    await advance(ctx, 599);
    acknowledgeAll(coordinator, ctx.ackTasks, id);
    await ctx.completion(id);
    await advance(ctx, 10_000);
    expect(ctx.abortedIds).toEqual([]);
    expect(ctx.jobFailures).toEqual([]);
  });

  // CheckpointCoordinatorTest#testExpiredCheckpointExceedsTolerableFailureNumber
  it('fails the job on the first expiry with tolerable-failed-checkpoints 0, naming the reason and the option', async () => {
    const { ctx, coordinator } = setup({ intervalMs: 1_000_000, timeoutMs: 100, tolerableFailures: 0 });
    start(coordinator, 1);
    await trigger(coordinator);
    await advance(ctx, 100);

    expect(ctx.jobFailures).toHaveLength(1);
    const error = ctx.jobFailures[0]!;
    expect(error).toBeInstanceOf(SluiceError);
    expect((error as SluiceError).code).toBe('SLUICE_CHECKPOINT_FAILED');
    expect(error.message).toContain('Exceeded checkpoint tolerable failure threshold.');
    expect(error.message).toContain(EXPIRED);
    expect(error.message).toContain('execution.checkpointing.tolerable-failed-checkpoints');
    expect(error.message).not.toContain('..');
  });

  // CheckpointFailureManagerTest#testContinuousFailure, with expirations
  it('with tolerable 2, fails the job on the third consecutive expiry, once', async () => {
    const { ctx, coordinator } = setup({ intervalMs: 1_000_000, timeoutMs: 100, tolerableFailures: 2 });
    start(coordinator, 1);
    for (let i = 0; i < 2; i++) {
      await trigger(coordinator);
      await advance(ctx, 100);
    }
    expect(ctx.jobFailures).toEqual([]);
    await trigger(coordinator);
    await advance(ctx, 100);
    expect(ctx.jobFailures).toHaveLength(1);
    expect(ctx.abortedIds).toEqual([1, 2, 3]);
    expect(coordinator.stats.snapshot().counts).toMatchObject({ failed: 3, completed: 0 });
  });

  // CheckpointFailureManagerTest#testBreakContinuousFailure
  it('with tolerable 2, a completed checkpoint between expiries resets the count', async () => {
    const { ctx, coordinator } = setup({ intervalMs: 1_000_000, timeoutMs: 100, tolerableFailures: 2 });
    start(coordinator, 1);
    const expire = async () => {
      await trigger(coordinator);
      await advance(ctx, 100);
    };
    await expire();
    await expire();
    const ok = await trigger(coordinator);
    acknowledgeAll(coordinator, ctx.ackTasks, ok);
    await ctx.completion(ok);
    await expire();
    await expire();
    expect(ctx.jobFailures).toEqual([]);
    await expire();
    expect(ctx.jobFailures).toHaveLength(1);
  });
});

describe('CheckpointCoordinator min-pause', () => {
  // CheckpointCoordinatorTriggeringTest#testMinTimeBetweenCheckpointsInterval
  it('holds the next periodic trigger until the last completion plus min-pause', async () => {
    const { ctx, coordinator } = setup({ intervalMs: 100, minPauseMs: 500, timeoutMs: 60_000 });
    const t0 = ctx.clock.now();
    start(coordinator, 0); // first trigger after min(min-pause, interval) = 100
    await advance(ctx, 100);
    expect(ctx.triggeredIds()).toEqual([1]);

    await advance(ctx, 50);
    acknowledgeAll(coordinator, ctx.ackTasks, 1);
    await ctx.completion(1);
    const completedAt = ctx.clock.now() - t0; // 150

    await advance(ctx, completedAt + 500 - 1 - (ctx.clock.now() - t0));
    expect(ctx.triggeredIds()).toEqual([1]);
    await advance(ctx, 1);
    expect(ctx.triggeredIds()).toEqual([1, 2]);
    expect(ctx.triggers.find((t) => t.checkpointId === 2)!.timestamp - t0).toBe(completedAt + 500);
    coordinator.stopCheckpointScheduler('CHECKPOINT_COORDINATOR_SHUTDOWN');
  });

  // CheckpointCoordinatorTest#testMinCheckpointPause
  it('with interval = min-pause, no checkpoint within half the pause after a completion, one eventually', async () => {
    const { ctx, coordinator } = setup({ intervalMs: 1_000, minPauseMs: 1_000, timeoutMs: 60_000 });
    start(coordinator, 0);
    await advance(ctx, 1_000);
    expect(ctx.triggeredIds()).toEqual([1]);
    await advance(ctx, 300);
    acknowledgeAll(coordinator, ctx.ackTasks, 1);
    await ctx.completion(1);

    await advance(ctx, 500);
    expect(ctx.triggeredIds()).toEqual([1]);
    for (let i = 0; i < 10; i++) await advance(ctx, 100);
    expect(ctx.triggeredIds()).toEqual([1, 2]);
    coordinator.stopCheckpointScheduler('CHECKPOINT_COORDINATOR_SHUTDOWN');
  });
});

describe('CheckpointCoordinator max-concurrent-checkpoints', () => {
  // CheckpointCoordinatorTest#testMaxConcurrentAttempts1
  it('with 1, triggers no second checkpoint while one is pending', async () => {
    const { ctx, coordinator } = setup({ intervalMs: 100, maxConcurrent: 1, timeoutMs: 60_000 });
    start(coordinator, 0);
    await advance(ctx, 100);
    for (let i = 0; i < 5; i++) await advance(ctx, 100);
    expect(ctx.triggeredIds()).toEqual([1]);

    acknowledgeAll(coordinator, ctx.ackTasks, 1);
    await ctx.completion(1);
    await advance(ctx, 100);
    expect(ctx.triggeredIds()).toEqual([1, 2]);
    coordinator.stopCheckpointScheduler('CHECKPOINT_COORDINATOR_SHUTDOWN');
  });

  // CheckpointCoordinatorTest#testMaxConcurrentAttempts2
  it('with 2, keeps two pending at once and no more', async () => {
    const { ctx, coordinator } = setup({ intervalMs: 100, maxConcurrent: 2, timeoutMs: 60_000 });
    start(coordinator, 0);
    for (let i = 0; i < 6; i++) await advance(ctx, 100);
    expect(ctx.triggeredIds()).toEqual([1, 2]);
    expect(coordinator.location(1)).toBeDefined();
    expect(coordinator.location(2)).toBeDefined();

    acknowledgeAll(coordinator, ctx.ackTasks, 1);
    await ctx.completion(1);
    await advance(ctx, 100);
    expect(ctx.triggeredIds()).toEqual([1, 2, 3]);
    coordinator.stopCheckpointScheduler('CHECKPOINT_COORDINATOR_SHUTDOWN');
  });

  // CheckpointCoordinatorTest#testSuccessfulCheckpointSubsumesUnsuccessful
  it('aborts an older pending checkpoint as CHECKPOINT_SUBSUMED when a newer one completes, without counting it', async () => {
    const fs = await fileStorage();
    const { ctx, coordinator, storage } = setup(
      { intervalMs: 1_000_000, maxConcurrent: 2, tolerableFailures: 0 },
      fs,
    );
    start(coordinator, 1);
    const older = await trigger(coordinator);
    const newer = await trigger(coordinator);
    await acknowledgeWithState(ctx, coordinator, older, ctx.ackTasks.slice(0, 3));
    await acknowledgeWithState(ctx, coordinator, newer);
    await ctx.completion(newer);
    await storage.settled();

    expect(ctx.completedIds).toEqual([newer]);
    expect(ctx.abortedIds).toEqual([older]);
    expect(await exists(join(fs.jobDir(ctx.jobId), `chk-${older}`))).toBe(false);
    expect(coordinator.stats.get(older)).toMatchObject({ status: 'FAILED', failureMessage: SUBSUMED });
    expect(ctx.jobFailures).toEqual([]);

    acknowledgeAll(coordinator, ctx.ackTasks.slice(3), older);
    await storage.settled();
    expect(ctx.completedIds).toEqual([newer]);
  });
});

describe('CheckpointCoordinator decline', () => {
  // CheckpointCoordinatorTest#testTriggerAndDeclineCheckpointComplex
  it('aborts only the declined checkpoint: files deleted, tasks told, a later one still completes', async () => {
    const fs = await fileStorage();
    const { ctx, coordinator, storage } = setup(
      { intervalMs: 1_000_000, maxConcurrent: 2, tolerableFailures: 1 },
      fs,
    );
    start(coordinator, 1);
    const declined = await trigger(coordinator);
    const other = await trigger(coordinator);
    await acknowledgeWithState(ctx, coordinator, declined, ctx.ackTasks.slice(0, 2));
    coordinator.receiveDeclineMessage('1:0', declined, 'CHECKPOINT_DECLINED', new Error('snapshot failed'));
    await storage.settled();

    expect(ctx.abortedIds).toEqual([declined]);
    expect(await exists(join(fs.jobDir(ctx.jobId), `chk-${declined}`))).toBe(false);
    expect(coordinator.stats.get(declined)).toMatchObject({
      status: 'FAILED',
      failureMessage: 'A task declined the checkpoint: snapshot failed',
    });
    expect(ctx.jobFailures).toEqual([]);

    await acknowledgeWithState(ctx, coordinator, other);
    await ctx.completion(other);
    expect(ctx.completedIds).toEqual([other]);
  });

  // CheckpointCoordinatorTest#testTriggerAndDeclineSyncCheckpointFailureSimple
  it('counts a decline against tolerable-failed-checkpoints', async () => {
    const { ctx, coordinator } = setup({ intervalMs: 1_000_000, tolerableFailures: 0 });
    start(coordinator, 1);
    const id = await trigger(coordinator);
    coordinator.receiveDeclineMessage('0:1', id, 'CHECKPOINT_DECLINED', new Error('boom'));
    coordinator.receiveDeclineMessage('1:1', id, 'CHECKPOINT_DECLINED'); // the same checkpoint: no-op

    expect(ctx.abortedIds).toEqual([id]);
    expect(ctx.jobFailures).toHaveLength(1);
    expect((ctx.jobFailures[0] as SluiceError).code).toBe('SLUICE_CHECKPOINT_FAILED');
    expect(ctx.jobFailures[0]!.message).toContain('A task declined the checkpoint');
    expect(ctx.jobFailures[0]!.message).toContain('boom');
  });

  it('does not count a decline whose reason is not a checkpoint failure (task not ready)', async () => {
    const { ctx, coordinator } = setup({ intervalMs: 1_000_000, tolerableFailures: 0 });
    start(coordinator, 1);
    const id = await trigger(coordinator);
    coordinator.receiveDeclineMessage('0:0', id, 'CHECKPOINT_DECLINED_TASK_NOT_READY');
    coordinator.receiveDeclineMessage('0:0', 42, 'CHECKPOINT_DECLINED'); // unknown id
    expect(ctx.abortedIds).toEqual([id]);
    expect(ctx.jobFailures).toEqual([]);
  });
});

describe('CheckpointCoordinator retention', () => {
  it('with num-retained 1 keeps only the newest checkpoint and deletes older chk directories', async () => {
    const fs = await fileStorage();
    const { ctx, coordinator, storage } = setup({ intervalMs: 1_000_000, numRetained: 1 }, fs);
    start(coordinator, 1);
    const jobDir = fs.jobDir(ctx.jobId);
    for (let i = 0; i < 3; i++) await completeOne(ctx, coordinator);

    expect(coordinator.completedCheckpoints.map((c) => c.checkpointId)).toEqual([3]);
    expect(storage.idsOf('discardCheckpoint')).toEqual([1, 2]);
    expect((await readdir(jobDir)).sort()).toEqual(['chk-3', 'shared', 'taskowned']);
    expect((await storage.listCheckpoints(ctx.jobId)).map((c) => c.checkpointId)).toEqual([3]);
  });

  it('with num-retained 3 keeps the three newest checkpoints, oldest first', async () => {
    const fs = await fileStorage();
    const { ctx, coordinator } = setup({ intervalMs: 1_000_000, numRetained: 3 }, fs);
    start(coordinator, 1);
    for (let i = 0; i < 5; i++) await completeOne(ctx, coordinator);

    expect(coordinator.completedCheckpoints.map((c) => c.checkpointId)).toEqual([3, 4, 5]);
    expect((await readdir(fs.jobDir(ctx.jobId))).sort()).toEqual([
      'chk-3',
      'chk-4',
      'chk-5',
      'shared',
      'taskowned',
    ]);
    for (const c of coordinator.completedCheckpoints) {
      expect(c.externalPointer).toBe(join(fs.jobDir(ctx.jobId), `chk-${c.checkpointId}`));
      const { metadata } = await fs.resolveCheckpoint(c.externalPointer);
      expect(metadata.checkpointId).toBe(c.checkpointId);
    }
  });

  it('leaves exactly one chk directory plus shared/ and taskowned/ after 20 checkpoints with num-retained 1', async () => {
    const fs = await fileStorage();
    const { ctx, coordinator, storage } = setup(
      { intervalMs: 1_000_000, timeoutMs: 100, tolerableFailures: 100, numRetained: 1 },
      fs,
    );
    start(coordinator, 1);
    for (let i = 1; i <= 20; i++) {
      if (i % 5 === 0) {
        // Some attempts fail half-written: an expiry and a decline leave nothing behind either.
        const failed = await trigger(coordinator);
        await acknowledgeWithState(ctx, coordinator, failed, ctx.ackTasks.slice(0, 2));
        if (i % 10 === 0) await advance(ctx, 100);
        else coordinator.receiveDeclineMessage('1:1', failed, 'CHECKPOINT_DECLINED');
      }
      await completeOne(ctx, coordinator);
    }
    await storage.settled();

    const last = coordinator.completedCheckpoints.map((c) => c.checkpointId);
    expect(last).toEqual([24]);
    const files = await tree(fs.jobDir(ctx.jobId));
    const uuid = /^chk-24\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/u;
    expect(files.filter((f) => !uuid.test(f))).toEqual([
      'chk-24/',
      'chk-24/_metadata',
      'shared/',
      'taskowned/',
    ]);
    // Four task states and one master state, nothing else.
    expect(files.filter((f) => uuid.test(f))).toHaveLength(5);
  });

  it('subsumed checkpoints can no longer be resolved from jobmanager storage', async () => {
    const { ctx, coordinator, storage } = setup({ intervalMs: 1_000_000, numRetained: 2 });
    start(coordinator, 1);
    for (let i = 0; i < 3; i++) await completeOne(ctx, coordinator);
    expect(coordinator.completedCheckpoints.map((c) => c.checkpointId)).toEqual([2, 3]);
    expect((await storage.listCheckpoints(ctx.jobId)).map((c) => c.checkpointId)).toEqual([2, 3]);
    await expect(storage.resolveCheckpoint(`jobmanager://${ctx.jobId}/chk-1`)).rejects.toThrow(SluiceError);
  });
});

describe('CheckpointCoordinator shutdown', () => {
  it('shutdown(false) deletes everything of the job and stops triggering', async () => {
    const fs = await fileStorage();
    const { ctx, coordinator, storage } = setup({ intervalMs: 1_000, numRetained: 2 }, fs);
    start(coordinator, 1);
    await completeOne(ctx, coordinator);
    await completeOne(ctx, coordinator);
    const pending = await trigger(coordinator);
    await acknowledgeWithState(ctx, coordinator, pending, ctx.ackTasks.slice(0, 1));

    await coordinator.shutdown(false);
    await storage.settled();

    expect(ctx.abortedIds).toEqual([pending]);
    expect(coordinator.completedCheckpoints).toEqual([]);
    expect(await exists(fs.jobDir(ctx.jobId))).toBe(false);
    const triggered = ctx.triggers.length;
    await advance(ctx, 10_000);
    expect(ctx.triggers.length).toBe(triggered);
    expect(ctx.jobFailures).toEqual([]);
  });

  it('shutdown(true) keeps the completed checkpoints and removes the unfinished one', async () => {
    const fs = await fileStorage();
    const { ctx, coordinator, storage } = setup({ intervalMs: 1_000, numRetained: 2 }, fs);
    start(coordinator, 1);
    await completeOne(ctx, coordinator);
    await completeOne(ctx, coordinator);
    const pending = await trigger(coordinator);
    await acknowledgeWithState(ctx, coordinator, pending, ctx.ackTasks.slice(0, 1));

    await coordinator.shutdown(true);
    await storage.settled();

    expect(ctx.abortedIds).toEqual([pending]);
    expect((await readdir(fs.jobDir(ctx.jobId))).sort()).toEqual(['chk-1', 'chk-2', 'shared', 'taskowned']);
    for (const c of coordinator.completedCheckpoints) {
      const { metadata } = await fs.resolveCheckpoint(c.externalPointer);
      expect(metadata.checkpointId).toBe(c.checkpointId);
    }
    const triggered = ctx.triggers.length;
    await advance(ctx, 10_000);
    expect(ctx.triggers.length).toBe(triggered);
    expect(ctx.jobFailures).toEqual([]);
  });

  // Regression: a job cancelled while a checkpoint wrote its _metadata ended with that
  // checkpoint's directory still on disk (deleted a moment later), beside the retained one.
  it('shutdown(true) while a checkpoint is being finalized returns only once that checkpoint is deleted', async () => {
    const fs = await fileStorage();
    const { ctx, coordinator, storage } = setup({ intervalMs: 1_000, numRetained: 1 }, fs);
    start(coordinator, 1);
    const kept = await completeOne(ctx, coordinator);
    const finalizing = await trigger(coordinator);
    const held = storage.holdNext('finalizeCheckpoint', 'after');
    await acknowledgeWithState(ctx, coordinator, finalizing);
    await held.reached;

    let shutDown = false;
    const shutdown = coordinator.shutdown(true).then(() => (shutDown = true));
    await flush();
    expect(shutDown).toBe(false);
    held.release();
    await shutdown;

    expect(ctx.abortedIds).toEqual([finalizing]);
    expect((await readdir(fs.jobDir(ctx.jobId))).sort()).toEqual([`chk-${kept}`, 'shared', 'taskowned']);
  });
});

describe('CheckpointCoordinator notifyTaskEnded', () => {
  it('re-triggers a pending checkpoint for an ended task that has not acknowledged it', async () => {
    const { ctx, coordinator } = setup({ intervalMs: 1_000_000, maxConcurrent: 2 });
    start(coordinator, 1);
    const first = await trigger(coordinator);
    const triggerTime = ctx.clock.now();
    ctx.clock.advance(30);
    const second = await trigger(coordinator);
    acknowledgeAll(coordinator, [taskRef(1, 0)], first);
    ctx.triggers.length = 0;

    coordinator.notifyTaskEnded(taskRef(1, 0)); // acked `first`, not `second`
    coordinator.notifyTaskEnded(taskRef(1, 1)); // acked neither
    coordinator.notifyTaskEnded(taskRef(5, 0)); // not part of any checkpoint

    expect(ctx.triggers).toEqual([
      { task: taskRef(1, 0), checkpointId: second, timestamp: triggerTime + 30 },
      { task: taskRef(1, 1), checkpointId: first, timestamp: triggerTime },
      { task: taskRef(1, 1), checkpointId: second, timestamp: triggerTime + 30 },
    ]);
  });

  it('re-triggers nothing once the checkpoint is no longer pending', async () => {
    const { ctx, coordinator } = setup({ intervalMs: 1_000_000 });
    start(coordinator, 1);
    const id = await trigger(coordinator);
    acknowledgeAll(coordinator, ctx.ackTasks, id);
    await ctx.completion(id);
    ctx.triggers.length = 0;
    coordinator.notifyTaskEnded(taskRef(1, 1));
    expect(ctx.triggers).toEqual([]);
  });
});
