/** PendingCheckpoint accounting: Flink's PendingCheckpointTest scenarios and acknowledgement outcomes. */
import { describe, expect, it } from 'vitest';
import { SluiceError } from '../core/errors.js';
import type { CheckpointId } from '../core/ids.js';
import { PendingCheckpoint, type PendingCheckpointInit } from './pending-checkpoint.js';

const cp = (n: number) => n as CheckpointId;

interface Handle {
  readonly path: string;
}

const pending = (init: Partial<PendingCheckpointInit> = {}) =>
  new PendingCheckpoint<Handle>({
    checkpointId: cp(1),
    triggerTimestamp: 1000,
    tasksToAcknowledge: ['a:0', 'a:1', 'b:0'],
    ...init,
  });

describe('PendingCheckpoint', () => {
  it('lets checkpoints be subsumed but never savepoints', () => {
    // PendingCheckpointTest#testCanBeSubsumed
    const savepoint = pending({ kind: 'savepoint' });
    expect(savepoint.canBeSubsumed()).toBe(false);
    expect(() => savepoint.abort('CHECKPOINT_SUBSUMED')).toThrow(SluiceError);
    const checkpoint = pending();
    expect(checkpoint.canBeSubsumed()).toBe(true);
    checkpoint.abort('CHECKPOINT_SUBSUMED');
    expect(checkpoint.failureReason).toBe('CHECKPOINT_SUBSUMED');
  });

  it('never subsumes a synchronous savepoint', () => {
    // PendingCheckpointTest#testSyncSavepointCannotBeSubsumed
    const stop = pending({ kind: 'sync-savepoint' });
    expect(stop.canBeSubsumed()).toBe(false);
    expect(() => stop.abort('CHECKPOINT_SUBSUMED')).toThrow(/cannot be subsumed/);
    expect(stop.isDisposed).toBe(false);
  });

  it('hands back all acknowledged state for discarding when aborted', () => {
    // PendingCheckpointTest#testAbortDiscardsState
    const p = pending();
    expect(p.acknowledgeTask('a:0', { path: 'x' }, 1010)).toBe('SUCCESS');
    expect(p.acknowledgeTask('b:0', { path: 'y' }, 1020)).toBe('SUCCESS');
    const { discardedPayloads } = p.abort('CHECKPOINT_EXPIRED');
    expect(discardedPayloads).toEqual([{ path: 'x' }, { path: 'y' }]);
    expect(p.isDisposed).toBe(true);
    expect(p.failureReason).toBe('CHECKPOINT_EXPIRED');
    // A second abort has nothing left to discard.
    expect(p.abort('CHECKPOINT_DECLINED').discardedPayloads).toEqual([]);
    expect(p.failureReason).toBe('CHECKPOINT_EXPIRED');
  });

  it('completes when fully acknowledged and refuses to finalize otherwise', () => {
    // PendingCheckpointTest#testCompletionFuture (no futures here: completion is a returned value)
    const p = pending();
    p.acknowledgeTask('a:0', { path: 'x' }, 1010);
    expect(p.isFullyAcknowledged()).toBe(false);
    expect(() => p.finalizeCheckpoint(2000)).toThrow(SluiceError);
    p.acknowledgeTask('a:1', { path: 'y' }, 1030);
    p.acknowledgeTask('b:0', { path: 'z' }, 1020);
    expect(p.isFullyAcknowledged()).toBe(true);
    const completed = p.finalizeCheckpoint(2000);
    expect(completed.checkpointId).toBe(1);
    expect(completed.completionTimestamp).toBe(2000);
    expect([...completed.taskStates.keys()]).toEqual(['a:0', 'a:1', 'b:0']);
    // Finalized: state moved to the completed checkpoint, so an abort discards nothing.
    expect(p.isDisposed).toBe(true);
    expect(p.isFullyAcknowledged()).toBe(false);
    expect(p.abort('CHECKPOINT_EXPIRED').discardedPayloads).toEqual([]);
    // An aborted checkpoint cannot be finalized either.
    const aborted = pending({ tasksToAcknowledge: ['a:0'] });
    aborted.acknowledgeTask('a:0', { path: 'x' }, 1001);
    aborted.abort('CHECKPOINT_DECLINED');
    expect(() => aborted.finalizeCheckpoint(2000)).toThrow(SluiceError);
  });

  it('treats an acknowledgement without state as a stateless task', () => {
    // PendingCheckpointTest#testNullSubtaskStateLeadsToStatelessTask
    const p = pending({ tasksToAcknowledge: ['a:0'] });
    expect(p.acknowledgeTask('a:0', undefined, 1005)).toBe('SUCCESS');
    const completed = p.finalizeCheckpoint(1100);
    expect(completed.taskStates.size).toBe(0);
    expect(completed.acknowledgements.get('a:0')).toEqual({
      ackTimestamp: 1005,
      endToEndDurationMs: 5,
      hasState: false,
    });
  });

  it('reports duplicate, unknown and late acknowledgements as values', () => {
    // CheckpointCoordinatorTest#testStateCleanupForLateOrUnknownMessages (the accounting part)
    const p = pending();
    expect(p.acknowledgeTask('a:0', { path: 'x' }, 1010)).toBe('SUCCESS');
    expect(p.acknowledgeTask('a:0', { path: 'x2' }, 1011)).toBe('DUPLICATE');
    expect(p.acknowledgeTask('zz:9', { path: 'u' }, 1012)).toBe('UNKNOWN');
    expect(p.numberOfAcknowledgedTasks).toBe(1);
    p.abort('CHECKPOINT_DECLINED');
    expect(p.acknowledgeTask('a:1', { path: 'late' }, 1013)).toBe('DISCARDED');
  });

  it('does not wait for tasks that had finished and records them', () => {
    // CheckpointCoordinatorTest#testCheckpointTriggeredAfterSomeTasksFinishedIfAllowed (the accounting part)
    const p = pending({ tasksToAcknowledge: ['b:0'], finishedTasks: ['a:0', 'a:1'] });
    expect(p.numberOfTasks).toBe(1);
    expect(p.acknowledgeTask('a:0', undefined, 1001)).toBe('UNKNOWN');
    p.acknowledgeTask('b:0', { path: 'y' }, 1002);
    expect([...p.finalizeCheckpoint(1003).finishedTasks]).toEqual(['a:0', 'a:1']);
    expect(() => pending({ tasksToAcknowledge: ['a:0'], finishedTasks: ['a:0'] })).toThrow(SluiceError);
  });

  it('keeps per-task acknowledgement times for statistics', () => {
    const p = pending();
    expect(p.latestAckTimestamp).toBeUndefined();
    p.acknowledgeTask('b:0', { path: 'y' }, 1040);
    p.acknowledgeTask('a:0', { path: 'x' }, 1030);
    expect(p.latestAckTimestamp).toBe(1040);
    expect(p.acknowledgements.get('b:0')?.endToEndDurationMs).toBe(40);
    expect(p.notYetAcknowledgedTasks()).toEqual(['a:1']);
  });
});
