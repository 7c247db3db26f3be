/** Shared (incremental) state through the CheckpointCoordinator: Flink's CheckpointCoordinatorTest #13 and IncrementalStateReuseAfterFailureITCase. */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { OperatorSubtaskState } from '../runtime/checkpoint-gateway.js';
import { FileSystemCheckpointStorage } from '../storage/filesystem/file-system-checkpoint-storage.js';
import type { FileStateHandle, KeyedStateHandle } from '../storage/state-handle.js';
import { CheckpointCoordinator } from './checkpoint-coordinator.js';
import {
  KEYED_OPERATOR,
  TestingCheckpointContext,
  taskRef,
  testingMetrics,
  testingSettings,
} from '../../test/support/checkpoint-coordinator-context.js';

let dirs: string[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  dirs = [];
});

async function setup(numRetained = 1) {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-shared-'));
  dirs.push(dir);
  const storage = new FileSystemCheckpointStorage({ dir, inlineThreshold: 0 });
  const ctx = new TestingCheckpointContext(storage);
  ctx.triggerTasks = [taskRef(1, 0)];
  ctx.ackTasks = [taskRef(1, 0)];
  ctx.masterStates = () => [];
  const settings = testingSettings({ numRetained, tolerableFailures: 10 });
  vi.spyOn(Math, 'random').mockReturnValue(0);
  const coordinator = new CheckpointCoordinator(settings, ctx);
  coordinator.startCheckpointScheduler();
  const listShared = async () => {
    try {
      return (await readdir(join(storage.jobDir(ctx.jobId), 'shared'))).map((n) => `shared/${n}`).sort();
    } catch {
      return [];
    }
  };
  const shared = async () => {
    await ctx.storage.settled();
    return listShared();
  };
  /** Triggers a checkpoint and writes one shared blob for it, as a task's asynchronous phase does. */
  const checkpointWithBlob = async () => {
    const id = (await coordinator.triggerCheckpoint())!;
    const blob = (await storage.writeState(
      coordinator.location(id)!,
      Uint8Array.of(id),
      'shared',
    )) as FileStateHandle;
    return { id, blob };
  };
  const ack = (id: number, keyed: KeyedStateHandle) => {
    const state: OperatorSubtaskState[] = [{ operatorId: KEYED_OPERATOR, keyed: [keyed], operator: [] }];
    coordinator.receiveAcknowledgeMessage(taskRef(1, 0).key, id, state, testingMetrics());
  };
  return { ctx, coordinator, storage, settings, shared, listShared, checkpointWithBlob, ack };
}

const range = { start: 0, end: 0 };
const base = (blob: FileStateHandle): KeyedStateHandle => ({
  keyGroupRange: range,
  offsets: [0],
  handle: blob,
});
const onTop = (chain: KeyedStateHandle, blob: FileStateHandle): KeyedStateHandle => ({
  ...chain,
  deltas: [...(chain.deltas ?? []), { offsets: [0], handle: blob }],
});

describe('CheckpointCoordinator shared state', () => {
  it('keeps the files a subsumed checkpoint shares with the retained one, deletes the rest', async () => {
    const { ctx, coordinator, shared, checkpointWithBlob, ack } = await setup();
    const c1 = await checkpointWithBlob();
    const chain1 = base(c1.blob);
    ack(c1.id, chain1);
    await ctx.completion(c1.id);
    const c2 = await checkpointWithBlob();
    const chain2 = onTop(chain1, c2.blob);
    ack(c2.id, chain2);
    await ctx.completion(c2.id);
    expect(await shared()).toEqual([c1.blob.path, c2.blob.path].sort());
    // A new base: the old chain is used by nobody once checkpoint 2 is subsumed.
    const c3 = await checkpointWithBlob();
    ack(c3.id, base(c3.blob));
    await ctx.completion(c3.id);
    expect(await shared()).toEqual([c3.blob.path]);
    expect(coordinator.sharedState.registeredFiles().map((f) => f.path)).toEqual([c3.blob.path]);
  });

  it('testSharedStateNotDiscaredOnAbort / IncrementalStateReuseAfterFailure: an abort deletes only what it wrote', async () => {
    const { ctx, coordinator, shared, checkpointWithBlob, ack } = await setup();
    const c1 = await checkpointWithBlob();
    ack(c1.id, base(c1.blob));
    await ctx.completion(c1.id);
    const c2 = await checkpointWithBlob();
    ack(c2.id, onTop(base(c1.blob), c2.blob));
    // Acknowledged by the keyed task, declined elsewhere: checkpoint 2 fails after its upload.
    ctx.ackTasks = [taskRef(1, 0), taskRef(1, 1)];
    const c3 = await checkpointWithBlob();
    ack(c3.id, onTop(base(c1.blob), c3.blob));
    coordinator.receiveDeclineMessage(taskRef(1, 1).key, c3.id, 'CHECKPOINT_DECLINED');
    await ctx.abortion(c3.id);
    // Checkpoint 2 completed (it waited for one task only); 3's new delta is gone, 1's base is not.
    expect(await shared()).toEqual([c1.blob.path, c2.blob.path].sort());
  });

  it('deletes what a late acknowledgement wrote for an aborted checkpoint', async () => {
    const { ctx, coordinator, shared, checkpointWithBlob, ack } = await setup();
    const c1 = await checkpointWithBlob();
    coordinator.abortPendingCheckpoints('JOB_FAILOVER_REGION');
    await ctx.abortion(c1.id);
    ack(c1.id, base(c1.blob));
    expect(await shared()).toEqual([]);
  });

  it('refuses to complete a chain built on a file no retained checkpoint holds', async () => {
    const { ctx, coordinator, shared, checkpointWithBlob, ack } = await setup();
    const c1 = await checkpointWithBlob();
    ack(c1.id, base(c1.blob));
    await ctx.completion(c1.id);
    const c2 = await checkpointWithBlob();
    ack(c2.id, base(c2.blob));
    await ctx.completion(c2.id);
    // The task had not heard of checkpoint 2 yet and builds on 1, whose base went with it.
    const c3 = await checkpointWithBlob();
    ack(c3.id, onTop(base(c1.blob), c3.blob));
    await ctx.abortion(c3.id);
    expect(ctx.completedIds).toEqual([c1.id, c2.id]);
    expect(coordinator.stats.get(c3.id)?.failureMessage).toMatch(/no retained checkpoint holds/u);
    expect(await shared()).toEqual([c2.blob.path]);
  });

  it('a checkpoint being finalized keeps the files it builds on, even when a newer one subsumes their owner', async () => {
    const { ctx, coordinator, shared, listShared, checkpointWithBlob, ack } = await setup();
    const c1 = await checkpointWithBlob();
    ack(c1.id, base(c1.blob));
    await ctx.completion(c1.id);
    const c2 = await checkpointWithBlob();
    const c3 = await checkpointWithBlob();
    const held = ctx.storage.holdNext('finalizeCheckpoint', 'before');
    ack(c2.id, onTop(base(c1.blob), c2.blob));
    await held.reached;
    // While checkpoint 2 writes its _metadata, checkpoint 3 (a new base) completes and subsumes 1.
    ack(c3.id, base(c3.blob));
    await ctx.completion(c3.id);
    await ctx.abortion(c2.id); // subsumed by 3 while finalizing
    // Checkpoint 2's reservation keeps 1's base, which it builds on, until 2 is given up.
    expect(coordinator.sharedState.registeredFiles().map((f) => f.path)).toContain(c1.blob.path);
    expect(await listShared()).toContain(c1.blob.path);
    held.release();
    expect(await shared()).toEqual([c3.blob.path]);
    expect(ctx.completedIds).toEqual([c1.id, c3.id]);
  });

  it('testUnregisterUnusedSavepointState: shared files of a snapshot the job started from (-s) are never deleted', async () => {
    const { ctx, coordinator, shared, checkpointWithBlob, ack } = await setup();
    const c1 = await checkpointWithBlob();
    ack(c1.id, base(c1.blob));
    await ctx.completion(c1.id);
    // The same checkpoint, as restoring it with -s adopts it: the user's, retention treats it as a savepoint.
    const restored = coordinator.completedCheckpoints[0]!;
    const fresh = new CheckpointCoordinator(testingSettings({ numRetained: 1 }), ctx);
    fresh.adoptRestored({ ...restored, kind: 'savepoint' });
    expect(fresh.sharedState.registeredFiles()).toEqual([]);
    fresh.startCheckpointScheduler();
    for (let i = 0; i < 2; i++) {
      const id = (await fresh.triggerCheckpoint())!;
      const blob = (await ctx.storage.writeState(
        fresh.location(id)!,
        Uint8Array.of(id),
        'shared',
      )) as FileStateHandle;
      fresh.receiveAcknowledgeMessage(
        taskRef(1, 0).key,
        id,
        [{ operatorId: KEYED_OPERATOR, keyed: [base(blob)], operator: [] }],
        testingMetrics(),
      );
      await ctx.completion(id);
    }
    expect(await shared()).toContain(c1.blob.path);
  });

  it('testSharedStateRegistrationOnRestore: a new coordinator counts the retained checkpoints again', async () => {
    const { ctx, coordinator, settings, shared, storage } = await setup(2);
    const blobs: FileStateHandle[] = [];
    let chain: KeyedStateHandle | undefined;
    for (let i = 0; i < 3; i++) {
      const id = (await coordinator.triggerCheckpoint())!;
      const blob = (await storage.writeState(
        coordinator.location(id)!,
        Uint8Array.of(id),
        'shared',
      )) as FileStateHandle;
      blobs.push(blob);
      chain = chain === undefined ? base(blob) : onTop(chain, blob);
      coordinator.receiveAcknowledgeMessage(
        taskRef(1, 0).key,
        id,
        [{ operatorId: KEYED_OPERATOR, keyed: [chain], operator: [] }],
        testingMetrics(),
      );
      await ctx.completion(id);
    }
    const retained = coordinator.completedCheckpoints;
    expect(retained.map((c) => c.checkpointId)).toEqual([2, 3]);
    coordinator.stopCheckpointScheduler('CHECKPOINT_COORDINATOR_SHUTDOWN');
    const restored = new CheckpointCoordinator(settings, ctx);
    for (const c of retained) restored.adoptRestored(c);
    expect(
      restored.sharedState
        .registeredFiles()
        .map((f) => f.path)
        .sort(),
    ).toEqual(blobs.map((b) => b.path).sort());
    restored.startCheckpointScheduler();
    // The next checkpoints are new bases: both retained checkpoints go in turn, and every old file with them.
    const fresh: string[] = [];
    for (let i = 0; i < 2; i++) {
      const id = (await restored.triggerCheckpoint())!;
      const blob = (await storage.writeState(
        restored.location(id)!,
        Uint8Array.of(id),
        'shared',
      )) as FileStateHandle;
      restored.receiveAcknowledgeMessage(
        taskRef(1, 0).key,
        id,
        [{ operatorId: KEYED_OPERATOR, keyed: [base(blob)], operator: [] }],
        testingMetrics(),
      );
      await ctx.completion(id);
      fresh.push(blob.path);
      // After the first: checkpoint 3 is still retained, so its whole chain stays.
      if (i === 0) expect(await shared()).toEqual([...blobs.map((b) => b.path), blob.path].sort());
    }
    expect(await shared()).toEqual(fresh.sort());
  });
});
