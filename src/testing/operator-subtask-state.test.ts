/** Merging the snapshots of several subtasks (repackageState) refuses what cannot be one operator's state. */
import { describe, expect, it } from 'vitest';
import { ProcessFunctionTestHarnesses } from './process-function-test-harnesses.js';
import { OperatorSubtaskState, repackageState } from './operator-subtask-state.js';

async function snapshotOf(options: { parallelism: number; subtaskIndex: number; maxParallelism?: number }) {
  const harness = ProcessFunctionTestHarnesses.forMapFunction((x: number) => x, options);
  const state = await harness.snapshot(options.subtaskIndex + 1, 0);
  await harness.close();
  return state;
}

describe('repackageState', () => {
  it('merges the subtasks of one operator, keeping the newest checkpoint id', async () => {
    const merged = repackageState(
      await snapshotOf({ parallelism: 2, subtaskIndex: 0 }),
      await snapshotOf({ parallelism: 2, subtaskIndex: 1 }),
    );
    expect(merged).toBeInstanceOf(OperatorSubtaskState);
    expect(merged.checkpointId).toBe(2);
    expect(merged.parts.map((p) => p.subtaskIndex)).toEqual([0, 1]);
  });

  it('refuses nothing, foreign values, a subtask twice, and subtasks of different settings', async () => {
    const a = await snapshotOf({ parallelism: 2, subtaskIndex: 0 });
    expect(() => repackageState()).toThrow(/pass the snapshots of the subtasks/);
    expect(() => repackageState(a, {} as OperatorSubtaskState)).toThrow(/returned from snapshot\(\)/);
    expect(() => repackageState(a, a)).toThrow(/subtask 0 is given twice/);
    const other = await snapshotOf({ parallelism: 3, subtaskIndex: 1 });
    expect(() => repackageState(a, other)).toThrow(/parallelism 2 and 3/);
    const otherKeyGroups = await snapshotOf({ parallelism: 2, subtaskIndex: 1, maxParallelism: 64 });
    expect(() => repackageState(a, otherKeyGroups)).toThrow(/max parallelism 128 and 64/);
  });
});
