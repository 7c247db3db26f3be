/** A subtask's checkpoints with local recovery: every state file it acknowledges has a local copy, an incremental chain's earlier files included. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SystemClock } from '../core/clock.js';
import { newJobId, operatorId, type CheckpointId } from '../core/ids.js';
import type { KeyedStateBackend } from '../state/keyed-state-backend.js';
import type { KeyedSnapshotRun } from '../state/keyed-state-snapshot.js';
import type { OperatorStateBackend } from '../state/operator-state-backend.js';
import { FileSystemCheckpointStorage } from '../storage/filesystem/file-system-checkpoint-storage.js';
import { keyedChain, type FileStateHandle } from '../storage/state-handle.js';
import type { OperatorSubtaskState, TaskCheckpointGateway } from './checkpoint-gateway.js';
import type { ChainedOperator } from './operator-chain.js';
import type { StreamOperator } from './stream-operator.js';
import { SubtaskCheckpointCoordinator } from './subtask-checkpoint-coordinator.js';
import { TaskLocalStateStore } from './task-local-state-store.js';

const JOB = newJobId();
const OP = operatorId('0123456789abcdef0123456789abcdef');

let dir: string;
let storage: FileSystemCheckpointStorage;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-subtask-checkpoint-'));
  // Every piece of state in a file.
  storage = new FileSystemCheckpointStorage({ dir: join(dir, 'checkpoints'), inlineThreshold: 0 });
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const bytes = (size: number, seed: number) =>
  Uint8Array.from({ length: size }, (_, i) => (i * 5 + seed) & 0xff);

/**
 * One operator whose keyed backend snapshots incrementally (checkpoint 1 a base, later ones
 * deltas on the last completed checkpoint) and whose operator state is one list.
 */
function incrementalOperator(): { entry: ChainedOperator; completed: number[] } {
  const completed: number[] = [];
  const keyedRun = (checkpointId: number): KeyedSnapshotRun => ({
    checkpointId,
    incremental: true,
    baseCheckpointId: completed.at(-1),
    write: () =>
      Promise.resolve({
        keyGroupRange: { start: 0, end: 0 },
        offsets: [0],
        data: bytes(completed.length === 0 ? 4000 : 200, checkpointId),
        stateNames: ['count'],
      }),
    release: () => {},
  });
  const keyedStateBackend = {
    snapshot: keyedRun,
    notifyCheckpointComplete: (id: number) => void completed.push(id),
  } as unknown as KeyedStateBackend;
  const operatorStateBackend = {
    snapshot: (checkpointId: number) => ({
      checkpointId,
      write: () =>
        Promise.resolve({
          states: [{ name: 'splits', mode: 'SPLIT_DISTRIBUTE', data: bytes(300, 100 + checkpointId) }],
        }),
      release: () => {},
    }),
  } as unknown as OperatorStateBackend;
  const operator = {
    prepareSnapshotPreBarrier: () => undefined,
    snapshotState: () => {},
    notifyCheckpointComplete: () => {},
    notifyCheckpointAborted: () => {},
  } as unknown as StreamOperator;
  return { entry: { operatorId: OP, operator, keyedStateBackend, operatorStateBackend }, completed };
}

function subtask(local: TaskLocalStateStore | undefined) {
  const acks = new Map<number, readonly OperatorSubtaskState[]>();
  const gateway: TaskCheckpointGateway = {
    mode: 'EXACTLY_ONCE',
    storage,
    location: (id) => storage.locationOf(JOB, id as CheckpointId),
    acknowledgeCheckpoint: (id, states) => void acks.set(id, states),
    declineCheckpoint: (id, reason, error) => {
      throw new Error(`checkpoint ${id} declined: ${reason} ${error?.message ?? ''}`);
    },
  };
  const { entry } = incrementalOperator();
  const coordinator = new SubtaskCheckpointCoordinator(
    'op (1/1)',
    [entry],
    [],
    gateway,
    SystemClock,
    () => true,
    local,
  );
  /** Takes checkpoint `id` and resolves with what the subtask acknowledged. */
  const checkpoint = async (id: number) => {
    await storage.initializeCheckpoint(JOB, id as CheckpointId);
    coordinator.performCheckpoint(id, {
      triggerTimestamp: 0,
      emitBarrier: false,
      alignmentDurationMs: 0,
      startDelayMs: 0,
      bytesProcessedDuringAlignment: 0,
    });
    return vi.waitFor(() => {
      const states = acks.get(id);
      if (!states) throw new Error(`checkpoint ${id} not acknowledged yet`);
      return states[0]!;
    });
  };
  return { coordinator, checkpoint };
}

/** Every file an acknowledged state refers to: its keyed chain's and its operator state's. */
function filesOf(state: OperatorSubtaskState): FileStateHandle[] {
  const handles = [
    ...state.keyed.flatMap((k) => keyedChain(k).map((b) => b.handle)),
    ...state.operator.map((o) => o.handle),
  ];
  return handles.filter((h): h is FileStateHandle => h.kind === 'file');
}

describe('SubtaskCheckpointCoordinator with local recovery', () => {
  it('keeps a verified local copy of every file it acknowledges, a chain’s earlier files included', async () => {
    const local = new TaskLocalStateStore(join(dir, 'local'), { backup: true, recover: true });
    const { coordinator, checkpoint } = subtask(local);
    const first = await checkpoint(1);
    expect(filesOf(first)).toHaveLength(2);
    for (const file of filesOf(first)) expect(await local.retrieveLocalState(1, file)).toBeDefined();

    coordinator.notifyCheckpointComplete(1);
    await local.confirmCheckpoint(1);
    const second = await checkpoint(2);
    // The chain: the base checkpoint 1 wrote, the delta of 2; plus 2's operator state.
    expect(second.keyed[0]!.deltas).toHaveLength(1);
    expect(filesOf(second)).toHaveLength(3);
    await local.confirmCheckpoint(2);
    expect(await local.checkpointIds()).toEqual([2]);
    // Checkpoint 1's copies are gone, yet checkpoint 2 restores wholly from local copies.
    for (const file of filesOf(second)) {
      const copy = await local.retrieveLocalState(2, file);
      expect(copy?.length).toBe(file.size);
    }
  });

  it('with local backup off, keeps no copies and acknowledges the same files', async () => {
    const local = new TaskLocalStateStore(join(dir, 'local'), { backup: false, recover: true });
    const { checkpoint } = subtask(local);
    const first = await checkpoint(1);
    expect(filesOf(first)).toHaveLength(2);
    expect(await local.checkpointIds()).toEqual([]);
  });
});
