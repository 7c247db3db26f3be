/** Retention and restore choice: Flink's DefaultCompletedCheckpointStoreTest scenarios plus properties. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SluiceError } from '../core/errors.js';
import type { CheckpointId } from '../core/ids.js';
import {
  addCheckpointAndSubsumeOldest,
  chooseCheckpointToRestore,
  subsumeCheckpoints,
  type RetainedCheckpoint,
} from './completed-checkpoint-retention.js';
import { SnapshotKinds, type SnapshotKind } from './snapshot-kind.js';

const entry = (id: number, kind: SnapshotKind = 'checkpoint'): RetainedCheckpoint => ({
  checkpointId: id as CheckpointId,
  kind,
});
const ids = (list: readonly RetainedCheckpoint[]) => list.map((c) => c.checkpointId);

/** Adds each in turn, as the store does on every completion (Flink's testCheckpointRetention). */
function addAll(
  numRetained: number,
  completed: readonly RetainedCheckpoint[],
): readonly RetainedCheckpoint[] {
  let store: readonly RetainedCheckpoint[] = [];
  for (const c of completed) store = addCheckpointAndSubsumeOldest(store, c, numRetained).retained;
  return store;
}

describe('subsumption (DefaultCompletedCheckpointStoreTest)', () => {
  it('keeps the newest checkpoint beside newer savepoints', () => {
    // DefaultCompletedCheckpointStoreTest#testAtLeastOneCheckpointRetained
    const cp1 = entry(1);
    const cp2 = entry(2);
    const sp3 = entry(5, 'savepoint');
    expect(addAll(1, [cp1, cp2, entry(3, 'savepoint'), entry(4, 'savepoint'), sp3])).toEqual([cp2, sp3]);
  });

  it('subsumes an older savepoint', () => {
    // DefaultCompletedCheckpointStoreTest#testOlderSavepointSubsumed
    const cp2 = entry(3);
    expect(addAll(1, [entry(1), entry(2, 'savepoint'), cp2])).toEqual([cp2]);
  });

  it('subsumes everything older once the job stopped with a savepoint', () => {
    // DefaultCompletedCheckpointStoreTest#testSubsumeAfterStoppingWithSavepoint
    const stop = entry(3, 'sync-savepoint');
    expect(addAll(1, [entry(1), entry(2, 'savepoint'), stop])).toEqual([stop]);
  });

  it('subsumes nothing while within the limit', () => {
    // DefaultCompletedCheckpointStoreTest#testNotSubsumedIfNotNeeded
    const all = [entry(1), entry(2), entry(3)];
    expect(addAll(3, all)).toEqual(all);
    expect(addAll(1, [entry(1)])).toEqual([entry(1)]);
  });

  it('keeps the newest num-retained checkpoints', () => {
    // CompletedSnapshotStoreTest#testAtLeastOneSnapshotRetained / #testRetainSnapshots
    const all = [entry(1), entry(2), entry(3)];
    expect(ids(addAll(1, all))).toEqual([3]);
    expect(ids(addAll(2, all))).toEqual([2, 3]);
  });

  it('discards subsumed checkpoints but keeps subsumed savepoints on disk', () => {
    const result = subsumeCheckpoints([entry(1), entry(2, 'savepoint'), entry(3), entry(4)], 1);
    expect(ids(result.retained)).toEqual([4]);
    expect(result.subsumed.map((s) => [s.checkpoint.checkpointId, s.discardState])).toEqual([
      [1, true],
      [2, false],
      [3, true],
    ]);
    expect(result.lastSubsumedCheckpointId).toBe(3);
    expect(result.lowestRetainedCheckpointId).toBe(4);
  });

  it('leaves the store untouched: a failed add keeps the old checkpoints', () => {
    // DefaultCompletedCheckpointStoreTest#testAddCheckpointFailedShouldNotRemoveOldOnes
    const store = [entry(1)];
    const result = addCheckpointAndSubsumeOldest(store, entry(2), 1);
    expect(ids(result.retained)).toEqual([2]);
    // The decision is a value; until the caller has stored checkpoint 2, checkpoint 1 stays.
    expect(ids(store)).toEqual([1]);
  });

  it('keeps completion order, so a late savepoint is the newest entry', () => {
    // CheckpointCoordinatorTest#testSavepointsAreNotSubsumed: sp1 (id 1) completes after cp2
    const cp2 = entry(2);
    const sp1 = entry(1, 'savepoint');
    expect(addAll(1, [cp2, sp1])).toEqual([cp2, sp1]);
  });

  it('rejects num-retained below one', () => {
    expect(() => subsumeCheckpoints([entry(1)], 0)).toThrow(SluiceError);
  });

  it('never removes the newest entry, keeps the newest checkpoint, and stays within num-retained (+1 behind a savepoint)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.constantFrom(...SnapshotKinds, 'checkpoint', 'checkpoint'), {
          minLength: 1,
          maxLength: 30,
        }),
        (numRetained, kinds) => {
          let store: readonly RetainedCheckpoint[] = [];
          kinds.forEach((kind, i) => {
            const completed = entry(i + 1, kind);
            const before = store;
            const result = addCheckpointAndSubsumeOldest(store, completed, numRetained);
            store = result.retained;
            expect(store.at(-1)).toBe(completed);
            expect(result.subsumed.map((s) => s.checkpoint)).not.toContain(completed);
            // Nothing is lost or duplicated.
            expect(
              ids([...result.retained, ...result.subsumed.map((s) => s.checkpoint)]).sort((a, b) => a - b),
            ).toEqual(ids([...before, completed]));
            const latestCheckpoint = [...store, ...result.subsumed.map((s) => s.checkpoint)]
              .filter((c) => c.kind === 'checkpoint')
              .sort((a, b) => b.checkpointId - a.checkpointId)[0];
            if (kind !== 'sync-savepoint' && latestCheckpoint !== undefined)
              expect(store).toContain(latestCheckpoint);
            if (kinds.slice(0, i + 1).every((k) => k === 'checkpoint')) {
              expect(store.length).toBeLessThanOrEqual(numRetained);
            } else {
              expect(store.length).toBeLessThanOrEqual(numRetained + 1);
              if (store.length > numRetained) expect(kind).toBe('savepoint');
            }
            for (const s of result.subsumed) expect(s.discardState).toBe(s.checkpoint.kind === 'checkpoint');
          });
        },
      ),
    );
  });
});

describe('restore choice', () => {
  it('restores from the newest retained checkpoint', () => {
    const decision = chooseCheckpointToRestore([entry(3), entry(2)], new Map());
    expect(decision).toEqual({ kind: 'restore', checkpoint: entry(3), skipped: [] });
  });

  it('falls back to an older retained checkpoint and says why', () => {
    const unreadable = new Map([[3 as CheckpointId, '_metadata checksum mismatch']]);
    expect(chooseCheckpointToRestore([entry(3), entry(2), entry(1)], unreadable)).toEqual({
      kind: 'restore',
      checkpoint: entry(2),
      skipped: [{ checkpointId: 3, reason: '_metadata checksum mismatch' }],
    });
  });

  it('refuses to start empty when every retained checkpoint is unreadable', () => {
    const unreadable = new Map([
      [2 as CheckpointId, 'file missing'],
      [1 as CheckpointId, 'permission denied'],
    ]);
    expect(chooseCheckpointToRestore([entry(2), entry(1)], unreadable)).toEqual({
      kind: 'unrecoverable',
      skipped: [
        { checkpointId: 2, reason: 'file missing' },
        { checkpointId: 1, reason: 'permission denied' },
      ],
    });
  });

  it('starts fresh when nothing was retained', () => {
    expect(chooseCheckpointToRestore([], new Map())).toEqual({ kind: 'no-checkpoint' });
  });
});
