/** CheckpointStatsTracker: counts, bounded history (newest first), per-subtask metrics, latest completed/failed/restored (Flink's DefaultCheckpointStatsTrackerTest). */
import { describe, expect, it } from 'vitest';
import { CheckpointStatsTracker } from './checkpoint-stats-tracker.js';
import { testingMetrics } from '../../test/support/checkpoint-coordinator-context.js';

describe('CheckpointStatsTracker', () => {
  // DefaultCheckpointStatsTrackerTest#testCheckpointTracking
  it('counts in-progress, completed and failed checkpoints', () => {
    const tracker = new CheckpointStatsTracker(10);
    tracker.reportPending(1, 1_000, 2);
    tracker.reportPending(2, 2_000, 2);
    tracker.reportPending(3, 3_000, 2);
    tracker.reportCompleted(1, 1_500, 100, '/chk-1');
    tracker.reportFailed(2, 2_700, 'The checkpoint timed out before every task acknowledged it.');

    const snapshot = tracker.snapshot();
    expect(snapshot.counts).toEqual({ restored: 0, total: 3, inProgress: 1, completed: 1, failed: 1 });
    expect(snapshot.history.map((c) => [c.id, c.status])).toEqual([
      [3, 'IN_PROGRESS'],
      [2, 'FAILED'],
      [1, 'COMPLETED'],
    ]);
  });

  it('records a completion with its duration, size and path, and keeps it as the latest completed', () => {
    const tracker = new CheckpointStatsTracker(10);
    tracker.reportPending(4, 1_000, 1);
    tracker.reportCompleted(4, 1_250, 4_096, '/data/chk-4');

    expect(tracker.get(4)).toMatchObject({
      status: 'COMPLETED',
      endToEndDurationMs: 250,
      stateSize: 4_096,
      externalPath: '/data/chk-4',
      isSavepoint: false,
    });
    expect(tracker.snapshot().latestCompleted?.id).toBe(4);
  });

  // CheckpointCoordinatorTest#testCheckpointStatsUpdatedAfterFailure
  it('keeps the latest savepoint apart from the latest completed checkpoint, counting both as completed', () => {
    const tracker = new CheckpointStatsTracker(10);
    tracker.reportPending(1, 0, 1);
    tracker.reportCompleted(1, 10, 5, '/chk/chk-1');
    tracker.reportPending(2, 20, 1, true);
    tracker.reportCompleted(2, 30, 5, '/sp/savepoint-abcdef-0123456789ab');
    const snapshot = tracker.snapshot();
    expect(snapshot.latestCompleted?.id).toBe(1);
    expect(snapshot.latestSavepoint).toMatchObject({ id: 2, isSavepoint: true });
    expect(snapshot.counts.completed).toBe(2);
  });

  it('records a failure with its message and time, and keeps it as the latest failed', () => {
    const tracker = new CheckpointStatsTracker(10);
    tracker.reportPending(1, 1_000, 1);
    tracker.reportPending(2, 2_000, 1);
    tracker.reportFailed(1, 1_900, 'A task declined the checkpoint.');
    tracker.reportFailed(2, 2_400, 'A newer checkpoint completed first.');

    expect(tracker.get(1)).toMatchObject({
      status: 'FAILED',
      failureTimestamp: 1_900,
      failureMessage: 'A task declined the checkpoint.',
      endToEndDurationMs: 900,
    });
    expect(tracker.snapshot().latestFailed?.id).toBe(2);
    expect(tracker.snapshot().latestCompleted).toBeUndefined();
  });

  it('reports a failure only once and never fails a completed checkpoint', () => {
    const tracker = new CheckpointStatsTracker(10);
    tracker.reportPending(1, 1_000, 1);
    tracker.reportPending(2, 1_000, 1);
    tracker.reportFailed(1, 1_100, 'first');
    tracker.reportFailed(1, 1_200, 'second');
    tracker.reportCompleted(2, 1_300, 0, '/chk-2');
    tracker.reportFailed(2, 1_400, 'too late');

    expect(tracker.get(1)).toMatchObject({ failureMessage: 'first', failureTimestamp: 1_100 });
    expect(tracker.get(2)!.status).toBe('COMPLETED');
    expect(tracker.snapshot().counts).toMatchObject({ failed: 1, completed: 1, total: 2 });
  });

  it('records per-subtask metrics and sums the checkpointed size', () => {
    const tracker = new CheckpointStatsTracker(10);
    tracker.reportPending(1, 1_000, 2);
    tracker.reportAck(1, '0:0', 1_040, testingMetrics({ checkpointedSize: 10, syncDurationMs: 7 }));
    tracker.reportAck(1, '1:1', 1_090, testingMetrics({ checkpointedSize: 32, alignmentDurationMs: 12 }));

    const stats = tracker.get(1)!;
    expect(stats.latestAckTimestamp).toBe(1_090);
    expect(stats.checkpointedSize).toBe(42);
    expect(stats.subtasks).toEqual([
      {
        taskKey: '0:0',
        ackTimestamp: 1_040,
        endToEndDurationMs: 40,
        syncDurationMs: 7,
        asyncDurationMs: 2,
        alignmentDurationMs: 3,
        startDelayMs: 4,
        bytesProcessedDuringAlignment: 5,
        checkpointedSize: 10,
      },
      {
        taskKey: '1:1',
        ackTimestamp: 1_090,
        endToEndDurationMs: 90,
        syncDurationMs: 1,
        asyncDurationMs: 2,
        alignmentDurationMs: 12,
        startDelayMs: 4,
        bytesProcessedDuringAlignment: 5,
        checkpointedSize: 32,
      },
    ]);
  });

  it('ignores acknowledgements of unknown, completed or failed checkpoints', () => {
    const tracker = new CheckpointStatsTracker(10);
    tracker.reportPending(1, 1_000, 1);
    tracker.reportPending(2, 1_000, 1);
    tracker.reportCompleted(1, 1_100, 0, '/chk-1');
    tracker.reportFailed(2, 1_100, 'expired');
    tracker.reportAck(1, '0:0', 1_200, testingMetrics({ checkpointedSize: 5 }));
    tracker.reportAck(2, '0:0', 1_200, testingMetrics({ checkpointedSize: 5 }));
    tracker.reportAck(3, '0:0', 1_200, testingMetrics({ checkpointedSize: 5 }));

    expect(tracker.get(1)!.subtasks).toEqual([]);
    expect(tracker.get(2)!.subtasks).toEqual([]);
    expect(tracker.get(3)).toBeUndefined();
  });

  it('keeps at most historySize checkpoints, newest first', () => {
    const tracker = new CheckpointStatsTracker(3);
    for (let id = 1; id <= 5; id++) {
      tracker.reportPending(id, id * 1_000, 1);
      tracker.reportCompleted(id, id * 1_000 + 10, id, `/chk-${id}`);
    }
    const snapshot = tracker.snapshot();
    expect(snapshot.history.map((c) => c.id)).toEqual([5, 4, 3]);
    expect(tracker.get(2)).toBeUndefined();
    expect(tracker.get(3)?.id).toBe(3);
    expect(snapshot.counts).toMatchObject({ completed: 5, total: 5, inProgress: 0 });
  });

  it('still counts a checkpoint that completes after it fell out of the history', () => {
    const tracker = new CheckpointStatsTracker(2);
    tracker.reportPending(1, 1_000, 1);
    tracker.reportPending(2, 2_000, 1);
    tracker.reportPending(3, 3_000, 1); // pushes 1 out of the history while it is in progress
    expect(tracker.snapshot().history.map((c) => c.id)).toEqual([3, 2]);

    tracker.reportCompleted(1, 9_000, 64, '/chk-1');

    const snapshot = tracker.snapshot();
    expect(snapshot.counts).toMatchObject({ completed: 1, inProgress: 2, total: 3 });
    expect(snapshot.latestCompleted).toMatchObject({ id: 1, endToEndDurationMs: 8_000 });
    expect(tracker.get(1)).toBeUndefined();
  });

  it('records restores and keeps the latest', () => {
    const tracker = new CheckpointStatsTracker(10);
    tracker.reportRestored({ id: 3, restoreTimestamp: 5_000, isSavepoint: false, externalPath: '/chk-3' });
    tracker.reportRestored({ id: 7, restoreTimestamp: 9_000, isSavepoint: true, externalPath: '/sp-7' });

    const snapshot = tracker.snapshot();
    expect(snapshot.counts.restored).toBe(2);
    expect(snapshot.latestRestored).toEqual({
      id: 7,
      restoreTimestamp: 9_000,
      isSavepoint: true,
      externalPath: '/sp-7',
    });
    expect(snapshot.counts.total).toBe(0);
  });

  it('hands out snapshots that later reports do not change', () => {
    const tracker = new CheckpointStatsTracker(10);
    tracker.reportPending(1, 1_000, 2);
    tracker.reportAck(1, '0:0', 1_010, testingMetrics());
    const before = tracker.snapshot();

    tracker.reportAck(1, '0:1', 1_020, testingMetrics());
    tracker.reportCompleted(1, 1_020, 0, '/chk-1');

    expect(before.history[0]).toMatchObject({ status: 'IN_PROGRESS' });
    expect(before.history[0]!.subtasks).toHaveLength(1);
    expect(before.counts).toMatchObject({ inProgress: 1, completed: 0 });
  });

  it('marks savepoints', () => {
    const tracker = new CheckpointStatsTracker(10);
    tracker.reportPending(1, 1_000, 1, true);
    expect(tracker.get(1)).toMatchObject({ isSavepoint: true, status: 'IN_PROGRESS', numSubtasks: 1 });
    // With the format it was taken in (Flink's savepointFormat): CANONICAL unless asked otherwise.
    expect(tracker.get(1)!.savepointFormat).toBe('CANONICAL');
    tracker.reportPending(2, 2_000, 1, true, false, 'NATIVE');
    expect(tracker.get(2)!.savepointFormat).toBe('NATIVE');
    tracker.reportPending(3, 3_000, 1);
    expect(tracker.get(3)!.savepointFormat).toBeUndefined();
  });
});
