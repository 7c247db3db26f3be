/**
 * Issue 12 point 9: after any sequence of checkpoint / acknowledge / complete / abort / subsume /
 * restore, the shared files on disk are exactly those the retained checkpoints refer to — none
 * deleted early, none orphaned. The real CheckpointCoordinator and file-system storage run against
 * a temp directory; tasks are simulated as the heap backend behaves: at its synchronous phase a
 * task builds on the last checkpoint it was told completed, writes one new shared blob (a delta,
 * or a new base when its chain is long), and acknowledges the chain.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CheckpointCoordinator } from '../../src/coordinator/checkpoint-coordinator.js';
import { FileSystemCheckpointStorage } from '../../src/storage/filesystem/file-system-checkpoint-storage.js';
import { sharedFilesOfMetadata } from '../../src/storage/shared-state-registry.js';
import type { KeyedStateHandle } from '../../src/storage/state-handle.js';
import {
  KEYED_OPERATOR,
  TestingCheckpointContext,
  taskRef,
  testingMetrics,
  testingSettings,
} from '../support/checkpoint-coordinator-context.js';

const MAX_CHAIN = 3;

type Command =
  | { readonly kind: 'trigger' }
  | { readonly kind: 'ack'; readonly task: number; readonly pick: number }
  | { readonly kind: 'ack-oldest' }
  | { readonly kind: 'decline'; readonly pick: number }
  | { readonly kind: 'notify'; readonly task: number }
  | { readonly kind: 'failover' }
  | { readonly kind: 'new-coordinator' };

const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ kind: 'trigger' as const }) },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('ack' as const), task: fc.nat(1), pick: fc.nat() }) },
  { weight: 4, arbitrary: fc.constant({ kind: 'ack-oldest' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('decline' as const), pick: fc.nat() }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('notify' as const), task: fc.nat(1) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'failover' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'new-coordinator' as const }) },
);

/** One simulated keyed subtask. */
class SimulatedTask {
  /** The completed checkpoint it builds on and that checkpoint's chain, as it last learnt. */
  base: { readonly id: number; readonly handle: KeyedStateHandle } | undefined;
  /** Completions it has been told of so far (an index into the context's completed ids). */
  notified = 0;
  /** Checkpoints synced here and not yet written: the base each builds on. */
  readonly synced = new Map<number, SimulatedTask['base']>();
  /** What it acknowledged, by checkpoint. */
  readonly acked = new Map<number, KeyedStateHandle>();

  constructor(readonly index: number) {}
}

let dirs: string[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  dirs = [];
});

async function sharedFilesOnDisk(jobDir: string): Promise<string[]> {
  try {
    return (await readdir(join(jobDir, 'shared'))).map((n) => `shared/${n}`).sort();
  } catch {
    return [];
  }
}

describe('shared state files (property, file-system storage)', () => {
  it('equal the files the retained checkpoints refer to, after any sequence', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    await fc.assert(
      fc.asyncProperty(
        fc.array(command, { minLength: 10, maxLength: 50, size: 'max' }),
        fc.integer({ min: 1, max: 3 }),
        async (commands, numRetained) => {
          const dir = await mkdtemp(join(tmpdir(), 'sluice-shared-'));
          dirs.push(dir);
          const storage = new FileSystemCheckpointStorage({ dir, inlineThreshold: 0 });
          const ctx = new TestingCheckpointContext(storage);
          ctx.triggerTasks = [taskRef(1, 0), taskRef(1, 1)];
          ctx.ackTasks = [taskRef(1, 0), taskRef(1, 1)];
          ctx.masterStates = () => [];
          const settings = testingSettings({ numRetained, tolerableFailures: 1_000_000 });
          let coordinator = new CheckpointCoordinator(settings, ctx);
          coordinator.startCheckpointScheduler();
          const tasks = [new SimulatedTask(0), new SimulatedTask(1)];
          const jobDir = storage.jobDir(ctx.jobId);
          const settle = async () => {
            await ctx.storage.settled();
          };
          const acknowledge = async (t: SimulatedTask, pick: number) => {
            const ids = [...t.synced.keys()];
            if (ids.length === 0) return;
            const id = ids[pick % ids.length]!;
            const base = t.synced.get(id);
            t.synced.delete(id);
            // An aborted checkpoint's location is gone: the task still writes (it had it), late.
            const location = ctx.storage.locationOf(ctx.jobId, id as never);
            const blob = await storage.writeState(location, Uint8Array.of(t.index, id & 0xff), 'shared');
            if (blob.kind !== 'file') throw new Error('threshold 0 writes files');
            const range = { start: t.index * 64, end: t.index * 64 };
            const chainLength = base === undefined ? 0 : 1 + (base.handle.deltas?.length ?? 0);
            const handle: KeyedStateHandle =
              base === undefined || chainLength >= MAX_CHAIN
                ? { keyGroupRange: range, offsets: [0], handle: blob }
                : {
                    ...base.handle,
                    deltas: [...(base.handle.deltas ?? []), { offsets: [0], handle: blob }],
                  };
            t.acked.set(id, handle);
            coordinator.receiveAcknowledgeMessage(
              taskRef(1, t.index).key,
              id,
              [{ operatorId: KEYED_OPERATOR, keyed: [handle], operator: [] }],
              testingMetrics(),
            );
          };
          const expectNoneDeletedEarly = async () => {
            const onDisk = new Set(await sharedFilesOnDisk(jobDir));
            for (const c of coordinator.completedCheckpoints)
              for (const f of sharedFilesOfMetadata(c.metadata)) expect(onDisk.has(f.path)).toBe(true);
          };

          for (const cmd of commands) {
            switch (cmd.kind) {
              case 'trigger': {
                const id = await coordinator.triggerCheckpoint();
                // The synchronous phase: each task fixes the checkpoint it builds on now.
                if (id !== undefined) for (const t of tasks) t.synced.set(id, t.base);
                break;
              }
              case 'ack-oldest':
              case 'ack': {
                const acks =
                  cmd.kind === 'ack'
                    ? [{ t: tasks[cmd.task]!, pick: cmd.pick }]
                    : tasks.map((t) => ({ t, pick: 0 }));
                for (const { t, pick } of acks) await acknowledge(t, pick);
                break;
              }
              case 'decline': {
                const pending = [...new Set(tasks.flatMap((t) => [...t.synced.keys()]))];
                if (pending.length === 0) break;
                const id = pending[cmd.pick % pending.length]!;
                coordinator.receiveDeclineMessage(taskRef(1, 0).key, id, 'CHECKPOINT_DECLINED');
                break;
              }
              case 'notify': {
                // Notifications reach a task late, in order (they race with barriers in a real job).
                const t = tasks[cmd.task]!;
                const id = ctx.completedIds[t.notified];
                if (id === undefined) break;
                t.notified++;
                const handle = t.acked.get(id);
                if (handle !== undefined && (t.base === undefined || t.base.id < id)) t.base = { id, handle };
                break;
              }
              case 'failover':
              case 'new-coordinator': {
                // Tasks are redeployed: they restore, and their first checkpoint is a new base.
                coordinator.abortPendingCheckpoints('JOB_FAILOVER_REGION');
                await settle();
                const latest = coordinator.completedCheckpoints.at(-1);
                if (cmd.kind === 'new-coordinator') {
                  // A new JobManager: the registry is rebuilt from the retained checkpoints.
                  const retained = coordinator.completedCheckpoints;
                  coordinator.stopCheckpointScheduler('CHECKPOINT_COORDINATOR_SHUTDOWN');
                  coordinator = new CheckpointCoordinator(settings, ctx);
                  for (const c of retained) coordinator.adoptRestored(c);
                  coordinator.startCheckpointScheduler();
                } else if (latest) coordinator.adoptRestored(latest);
                for (const t of tasks) {
                  t.base = undefined;
                  t.synced.clear();
                  t.notified = ctx.completedIds.length;
                }
                break;
              }
            }
            await settle();
            await expectNoneDeletedEarly();
          }
          // Quiesce: what is pending is aborted (and what its tasks still write, discarded late).
          coordinator.abortPendingCheckpoints('JOB_FAILOVER_REGION');
          await settle();
          const referenced = new Set(
            coordinator.completedCheckpoints.flatMap((c) =>
              sharedFilesOfMetadata(c.metadata).map((f) => f.path),
            ),
          );
          expect(await sharedFilesOnDisk(jobDir)).toEqual([...referenced].sort());
          expect(ctx.jobFailures).toEqual([]);
          coordinator.stopCheckpointScheduler('CHECKPOINT_COORDINATOR_SHUTDOWN');
        },
      ),
      { numRuns: 100 },
    );
  });
});
