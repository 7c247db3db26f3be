/** Tolerable checkpoint failures: Flink's CheckpointFailureManagerTest and the coordinator's threshold scenarios. */
import { describe, expect, it } from 'vitest';
import { SluiceError } from '../core/errors.js';
import type { CheckpointId } from '../core/ids.js';
import {
  CheckpointFailureManager,
  EXCEEDED_CHECKPOINT_TOLERABLE_FAILURE_MESSAGE,
  UNLIMITED_TOLERABLE_FAILURE_NUMBER,
  type CheckpointFailureDecision,
} from './checkpoint-failure-manager.js';
import { CheckpointFailureReasons, type CheckpointFailureReason } from './checkpoint-failure-reason.js';

const cp = (n: number) => n as CheckpointId;

/** Flink's handleJobLevelCheckpointException for a regular checkpoint. */
const jobLevel = (
  m: CheckpointFailureManager,
  reason: CheckpointFailureReason,
  id?: number,
): CheckpointFailureDecision =>
  m.handleCheckpointException({
    reason,
    checkpointId: id === undefined ? undefined : cp(id),
    kind: 'checkpoint',
  });

const failures = (decisions: CheckpointFailureDecision[]) =>
  decisions.filter((d) => d.kind === 'fail-job').length;

describe('CheckpointFailureManager (CheckpointFailureManagerTest)', () => {
  it('fails the job once consecutive counted failures exceed the tolerable number', () => {
    // CheckpointFailureManagerTest#testContinuousFailure
    const m = new CheckpointFailureManager(2);
    const decisions = [
      jobLevel(m, 'CHECKPOINT_DECLINED', 1),
      jobLevel(m, 'CHECKPOINT_DECLINED', 2),
      jobLevel(m, 'JOB_FAILOVER_REGION', 3), // not counted
      jobLevel(m, 'CHECKPOINT_DECLINED', 4),
    ];
    expect(failures(decisions)).toBe(1);
    expect(decisions[3]).toMatchObject({ kind: 'fail-job', reason: 'CHECKPOINT_DECLINED' });
    expect(m.continuousFailureCount).toBe(0);
  });

  it('resets the count when a newer checkpoint succeeds', () => {
    // CheckpointFailureManagerTest#testBreakContinuousFailure
    const m = new CheckpointFailureManager(2);
    const decisions = [
      jobLevel(m, 'IO_EXCEPTION', 1),
      jobLevel(m, 'CHECKPOINT_DECLINED', 2),
      jobLevel(m, 'JOB_FAILOVER_REGION', 3),
    ];
    m.handleCheckpointSuccess(cp(4));
    decisions.push(jobLevel(m, 'CHECKPOINT_EXPIRED', 5));
    expect(failures(decisions)).toBe(0);
    expect(m.continuousFailureCount).toBe(1);
  });

  it('ignores failures of checkpoints not newer than the last success', () => {
    // CheckpointFailureManagerTest#testIgnoresPastCheckpoints
    const m = new CheckpointFailureManager(2);
    const decisions = [jobLevel(m, 'CHECKPOINT_EXPIRED', 1), jobLevel(m, 'CHECKPOINT_EXPIRED', 2)];
    m.handleCheckpointSuccess(cp(2));
    decisions.push(
      jobLevel(m, 'CHECKPOINT_EXPIRED', 1),
      jobLevel(m, 'CHECKPOINT_EXPIRED', 3),
      jobLevel(m, 'CHECKPOINT_EXPIRED', 4),
    );
    expect(failures(decisions)).toBe(0);
    expect(m.continuousFailureCount).toBe(2);
    // An older success does not reset anything.
    m.handleCheckpointSuccess(cp(1));
    expect(m.continuousFailureCount).toBe(2);
  });

  it('counts one checkpoint once however many times it is reported', () => {
    // CheckpointFailureManagerTest#testIgnoreOneCheckpointRepeatedlyCountMultiTimes
    const m = new CheckpointFailureManager(2);
    const decisions = [
      jobLevel(m, 'CHECKPOINT_DECLINED', 1),
      jobLevel(m, 'CHECKPOINT_DECLINED', 2),
      jobLevel(m, 'JOB_FAILOVER_REGION', 3),
      jobLevel(m, 'CHECKPOINT_DECLINED', 2),
    ];
    expect(failures(decisions)).toBe(0);
    expect(m.continuousFailureCount).toBe(2);
  });

  it('counts exactly five reasons', () => {
    // CheckpointFailureManagerTest#testTotalCountValue: tolerable 0, every reason once, unknown id
    const m = new CheckpointFailureManager(0);
    const reasons = Object.keys(CheckpointFailureReasons) as CheckpointFailureReason[];
    const failed = reasons.filter((reason) => jobLevel(m, reason).kind === 'fail-job');
    expect(failed.sort()).toEqual(
      [
        'CHECKPOINT_ASYNC_EXCEPTION',
        'CHECKPOINT_DECLINED',
        'CHECKPOINT_EXPIRED',
        'FINALIZE_CHECKPOINT_FAILURE',
        'IO_EXCEPTION',
      ].sort(),
    );
  });

  it('fails the job on the first expired checkpoint with tolerable 0', () => {
    // CheckpointCoordinatorTest#testExpiredCheckpointExceedsTolerableFailureNumber
    const decision = jobLevel(new CheckpointFailureManager(0), 'CHECKPOINT_EXPIRED', 1);
    expect(decision.kind).toBe('fail-job');
    expect(decision.kind === 'fail-job' && decision.message).toMatch(
      new RegExp(`^${EXCEEDED_CHECKPOINT_TOLERABLE_FAILURE_MESSAGE.replace('.', '\\.')}`),
    );
  });

  it('fails the job on the first storage I/O failure with tolerable 0', () => {
    // CheckpointCoordinatorTest#testIOExceptionCheckpointExceedsTolerableFailureNumber
    expect(jobLevel(new CheckpointFailureManager(0), 'IO_EXCEPTION', 1).kind).toBe('fail-job');
  });

  it('never counts JobManager-side savepoint failures', () => {
    // CheckpointFailureManager#handleJobLevelCheckpointException: savepoints are skipped
    const m = new CheckpointFailureManager(0);
    expect(
      m.handleCheckpointException({ reason: 'CHECKPOINT_EXPIRED', checkpointId: cp(1), kind: 'savepoint' }),
    ).toEqual({
      kind: 'ok',
    });
    expect(m.continuousFailureCount).toBe(0);
  });

  it('fails the job at once when a task fails a synchronous savepoint', () => {
    // CheckpointCoordinatorTest#jobFailsIfInFlightSynchronousSavepointIsDiscarded
    const m = new CheckpointFailureManager(UNLIMITED_TOLERABLE_FAILURE_NUMBER);
    expect(
      m.handleCheckpointException({
        reason: 'TASK_CHECKPOINT_FAILURE',
        checkpointId: cp(3),
        kind: 'sync-savepoint',
        taskKey: 'v:0',
      }),
    ).toMatchObject({ kind: 'fail-job', reason: 'TASK_CHECKPOINT_FAILURE', taskKey: 'v:0' });
    // A pre-flight failure never reached the tasks, so stop-with-savepoint can simply be retried.
    expect(
      m.handleCheckpointException({
        reason: 'NOT_ALL_REQUIRED_TASKS_RUNNING',
        checkpointId: undefined,
        kind: 'sync-savepoint',
        taskKey: 'v:0',
      }),
    ).toEqual({ kind: 'ok' });
  });

  it('counts task-side failures of intermediate savepoints and names the task', () => {
    // CheckpointFailureManager#handleTaskLevelCheckpointException: non-sync savepoints count
    const m = new CheckpointFailureManager(0);
    expect(
      m.handleCheckpointException({
        reason: 'CHECKPOINT_ASYNC_EXCEPTION',
        checkpointId: cp(2),
        kind: 'savepoint',
        taskKey: 'v:1',
      }),
    ).toMatchObject({ kind: 'fail-job', taskKey: 'v:1' });
  });

  it('routes a sync- or async-phase decline from a task to the counter', () => {
    // CheckpointCoordinatorTest#testTriggerAndDeclineSyncCheckpointFailureSimple / #...AsyncCheckpointFailureSimple
    const m = new CheckpointFailureManager(1);
    const task = (reason: CheckpointFailureReason, id: number) =>
      m.handleCheckpointException({ reason, checkpointId: cp(id), kind: 'checkpoint', taskKey: 'v:0' });
    expect(task('TASK_CHECKPOINT_FAILURE', 1)).toEqual({ kind: 'ok' }); // sync phase: the task itself fails over
    expect(task('CHECKPOINT_ASYNC_EXCEPTION', 2)).toEqual({ kind: 'ok' });
    expect(m.continuousFailureCount).toBe(1);
    expect(task('CHECKPOINT_DECLINED', 3).kind).toBe('fail-job');
  });

  it('never fails the job with an unlimited tolerable number', () => {
    const m = new CheckpointFailureManager(UNLIMITED_TOLERABLE_FAILURE_NUMBER);
    for (let i = 1; i <= 100; i++) expect(jobLevel(m, 'CHECKPOINT_EXPIRED', i)).toEqual({ kind: 'ok' });
  });

  it('rejects a negative tolerable number', () => {
    expect(() => new CheckpointFailureManager(-1)).toThrow(SluiceError);
  });
});
