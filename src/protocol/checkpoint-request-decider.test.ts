/** Trigger decisions: Flink's CheckpointRequestDeciderTest and the coordinator's triggering scenarios. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CheckpointRequestDecider,
  decideCheckpointTrigger,
  initialPeriodicTriggerDelay,
  type CheckpointRequestFacts,
  type CheckpointTriggerRequest,
} from './checkpoint-request-decider.js';

const DAY = 24 * 60 * 60 * 1000;

interface Req extends CheckpointTriggerRequest {
  readonly name: string;
}

let clock = 0;
const req = (name: string, r: Omit<CheckpointTriggerRequest, 'timestamp'>): Req => ({
  name,
  ...r,
  timestamp: clock++,
});
const regularCheckpoint = (name = 'periodic-cp') =>
  req(name, { kind: 'checkpoint', isPeriodic: true, isForce: false });
const manualCheckpoint = (name = 'manual-cp') =>
  req(name, { kind: 'checkpoint', isPeriodic: false, isForce: false });
const regularSavepoint = (name = 'sp') => req(name, { kind: 'savepoint', isPeriodic: false, isForce: true });
const periodicSavepoint = (name = 'periodic-sp') =>
  req(name, { kind: 'savepoint', isPeriodic: true, isForce: true });
const nonForcedSavepoint = (name = 'nf-sp') =>
  req(name, { kind: 'savepoint', isPeriodic: false, isForce: false });
const nonForcedPeriodicSavepoint = (name = 'nf-periodic-sp') =>
  req(name, { kind: 'savepoint', isPeriodic: true, isForce: false });

const facts = (over: Partial<CheckpointRequestFacts> = {}): CheckpointRequestFacts => ({
  now: DAY,
  isTriggering: false,
  numPendingCheckpoints: 0,
  numCleaningCheckpoints: 0,
  lastCheckpointCompletionMs: 0,
  ...over,
});

/** Flink's test helper: decider(maxQueued, maxPending, minPause). */
const decider = (maxQueuedRequests: number, maxConcurrentCheckpoints = 1, minPauseMs = 1) =>
  new CheckpointRequestDecider<Req>({ maxQueuedRequests, maxConcurrentCheckpoints, minPauseMs });

function expectOrder(requests: Req[], expected: Req[]): void {
  const d = decider(10);
  for (const r of requests)
    expect(d.chooseRequestToExecute(r, facts({ isTriggering: true })).execute).toBeUndefined();
  for (const r of expected)
    expect(d.chooseQueuedRequestToExecute(facts({ lastCheckpointCompletionMs: DAY - 123 })).execute).toBe(r);
}

describe('CheckpointRequestDecider (CheckpointRequestDeciderTest)', () => {
  it('runs a forced request despite too many pending checkpoints and the pause', () => {
    // CheckpointRequestDeciderTest#testForce
    const d = decider(1, 1, Number.MAX_SAFE_INTEGER);
    const request = periodicSavepoint();
    expect(
      d.chooseRequestToExecute(request, facts({ numPendingCheckpoints: 1, lastCheckpointCompletionMs: 123 }))
        .execute,
    ).toBe(request);
  });

  it('queues a request while too many checkpoints are pending and runs it once one finishes', () => {
    // CheckpointRequestDeciderTest#testEnqueueOnTooManyPending
    const d = decider(Number.MAX_SAFE_INTEGER, 1, 1);
    const request = regularCheckpoint();
    expect(d.chooseRequestToExecute(request, facts({ numPendingCheckpoints: 1 })).execute).toBeUndefined();
    expect(d.chooseQueuedRequestToExecute(facts({ numPendingCheckpoints: 0 })).execute).toBe(request);
  });

  it('queues a non-forced savepoint while too many checkpoints are pending', () => {
    // CheckpointRequestDeciderTest#testNonForcedEnqueueOnTooManyPending
    const d = decider(Number.MAX_SAFE_INTEGER, 1, 1);
    const request = nonForcedSavepoint();
    expect(d.chooseRequestToExecute(request, facts({ numPendingCheckpoints: 1 })).execute).toBeUndefined();
    expect(d.chooseQueuedRequestToExecute(facts()).execute).toBe(request);
  });

  it('queues while more checkpoints are being cleaned than may run at once', () => {
    // CheckpointRequestDeciderTest#testEnqueueOnTooManyCleaning
    const d = decider(10, 10, 1);
    const request = regularCheckpoint();
    expect(d.chooseRequestToExecute(request, facts({ numCleaningCheckpoints: 11 })).execute).toBeUndefined();
    expect(d.chooseQueuedRequestToExecute(facts({ numCleaningCheckpoints: 10 })).execute).toBe(request);
  });

  it('puts user requests before periodic ones', () => {
    // CheckpointRequestDeciderTest#testUserSubmittedPrioritized
    const periodic = periodicSavepoint();
    const user = regularSavepoint();
    expectOrder([periodic, user], [user, periodic]);
  });

  it('puts savepoints before checkpoints', () => {
    // CheckpointRequestDeciderTest#testSavepointPrioritized
    const checkpoint = regularCheckpoint();
    const savepoint = regularSavepoint();
    expectOrder([checkpoint, savepoint], [savepoint, checkpoint]);
  });

  it('puts non-forced user savepoints before non-forced periodic ones', () => {
    // CheckpointRequestDeciderTest#testNonForcedUserSubmittedPrioritized
    const periodic = nonForcedPeriodicSavepoint();
    const user = nonForcedSavepoint();
    expectOrder([periodic, user], [user, periodic]);
  });

  it('puts non-forced savepoints before checkpoints', () => {
    // CheckpointRequestDeciderTest#testNonForcedSavepointPrioritized
    const checkpoint = regularCheckpoint();
    const savepoint = nonForcedSavepoint();
    expectOrder([checkpoint, savepoint], [savepoint, checkpoint]);
  });

  it('drops requests beyond the queue bound', () => {
    // CheckpointRequestDeciderTest#testQueueSizeLimit
    const maxQueued = 10;
    const d = decider(maxQueued);
    let dropped = 0;
    for (let added = 1; added <= maxQueued + 1; added++) {
      const outcome = d.chooseRequestToExecute(
        regularCheckpoint(`cp${added}`),
        facts({ isTriggering: true }),
      );
      expect(outcome.execute).toBeUndefined();
      for (const drop of outcome.dropped) expect(drop.reason).toBe('TOO_MANY_CHECKPOINT_REQUESTS');
      dropped += outcome.dropped.length;
      expect(dropped).toBe(Math.max(added - maxQueued, 0));
    }
  });

  it('evicts a queued periodic checkpoint in favour of a savepoint', () => {
    // CheckpointRequestDeciderTest#testQueueSizeLimitPriority
    const d = decider(1);
    const checkpoint = regularCheckpoint();
    const savepoint = regularSavepoint();
    expect(d.chooseRequestToExecute(checkpoint, facts({ isTriggering: true })).dropped).toEqual([]);
    expect(d.chooseRequestToExecute(savepoint, facts({ isTriggering: true })).dropped).toEqual([
      { request: checkpoint, reason: 'TOO_MANY_CHECKPOINT_REQUESTS' },
    ]);
    expect(d.numQueuedRequests).toBe(1);
  });

  it('drops the new request when the queue is full of user requests', () => {
    // CheckpointRequestDecider#chooseRequestToExecute: "only non-periodic requests enqueued"
    const d = decider(1);
    const user = manualCheckpoint();
    d.chooseRequestToExecute(user, facts({ isTriggering: true }));
    const late = regularSavepoint();
    expect(d.chooseRequestToExecute(late, facts({ isTriggering: true })).dropped).toEqual([
      { request: late, reason: 'TOO_MANY_CHECKPOINT_REQUESTS' },
    ]);
  });

  it('lets savepoints ignore the min-pause', () => {
    // CheckpointRequestDeciderTest#testSavepointTiming
    for (const request of [regularSavepoint(), periodicSavepoint(), nonForcedSavepoint()]) {
      const d = new CheckpointRequestDecider<Req>({ maxConcurrentCheckpoints: 1, minPauseMs: 10 });
      expect(
        d.chooseRequestToExecute(request, facts({ now: 500, lastCheckpointCompletionMs: 500 })).execute,
      ).toBe(request);
    }
  });

  it('drops a periodic checkpoint inside the min-pause but runs a manual one', () => {
    // CheckpointRequestDeciderTest#testCheckpointTiming
    const d = new CheckpointRequestDecider<Req>({ maxConcurrentCheckpoints: 1, minPauseMs: 10 });
    const periodic = regularCheckpoint();
    const outcome = d.chooseRequestToExecute(periodic, facts({ now: 500, lastCheckpointCompletionMs: 500 }));
    expect(outcome.execute).toBeUndefined();
    expect(outcome.dropped).toEqual([{ request: periodic, reason: 'MINIMUM_TIME_BETWEEN_CHECKPOINTS' }]);
    expect(outcome.rescheduleAtMs).toBe(510);
    const manual = manualCheckpoint();
    expect(
      d.chooseRequestToExecute(manual, facts({ now: 500, lastCheckpointCompletionMs: 500 })).execute,
    ).toBe(manual);
  });
});

describe('triggering in the coordinator (CheckpointCoordinatorTest, CheckpointCoordinatorTriggeringTest)', () => {
  it('holds the next periodic checkpoint until the min-pause after the last completion', () => {
    // CheckpointCoordinatorTriggeringTest#testMinTimeBetweenCheckpointsInterval: interval 12 ms, pause 50 ms
    const config = { maxConcurrentCheckpoints: 1, minPauseMs: 50 };
    const ack1 = 1000;
    expect(
      decideCheckpointTrigger(
        regularCheckpoint(),
        config,
        facts({ now: ack1 + 12, lastCheckpointCompletionMs: ack1 }),
      ),
    ).toEqual({ kind: 'delay', untilMs: ack1 + 50, reason: 'MINIMUM_TIME_BETWEEN_CHECKPOINTS' });
    expect(
      decideCheckpointTrigger(
        regularCheckpoint(),
        config,
        facts({ now: ack1 + 50, lastCheckpointCompletionMs: ack1 }),
      ),
    ).toEqual({ kind: 'trigger' });
  });

  it('does not trigger within half the pause but does after it', () => {
    // CheckpointCoordinatorTest#testMinCheckpointPause: interval = pause = 1000 ms
    const config = { maxConcurrentCheckpoints: 1, minPauseMs: 1000 };
    const completed = 5000;
    expect(
      decideCheckpointTrigger(
        regularCheckpoint(),
        config,
        facts({ now: completed + 500, lastCheckpointCompletionMs: completed }),
      ).kind,
    ).toBe('delay');
    expect(
      decideCheckpointTrigger(
        regularCheckpoint(),
        config,
        facts({ now: completed + 1000, lastCheckpointCompletionMs: completed }),
      ).kind,
    ).toBe('trigger');
  });

  it.each([1, 2, 5])('keeps at most %i checkpoints pending and runs queued ones as others finish', (max) => {
    // CheckpointCoordinatorTest#testMaxConcurrentAttempts{1,2,5}
    const d = new CheckpointRequestDecider<Req>({ maxConcurrentCheckpoints: max, minPauseMs: 0 });
    let pending = 0;
    const triggered: string[] = [];
    for (let i = 0; i < max + 2; i++) {
      const outcome = d.chooseRequestToExecute(
        regularCheckpoint(`cp${i}`),
        facts({ numPendingCheckpoints: pending }),
      );
      if (outcome.execute) {
        triggered.push(outcome.execute.name);
        pending++;
      }
    }
    expect(triggered).toHaveLength(max);
    expect(d.numQueuedRequests).toBe(2);
    pending--; // one completes
    const next = d.chooseQueuedRequestToExecute(facts({ numPendingCheckpoints: pending }));
    expect(next.execute?.name).toBe(`cp${max}`);
  });

  it('lets forced savepoints run beside a pending checkpoint and ignore the pause', () => {
    // CheckpointCoordinatorTest#testConcurrentSavepoints / #testMinDelayBetweenSavepoints
    const d = new CheckpointRequestDecider<Req>({ maxConcurrentCheckpoints: 1, minPauseMs: 100_000 });
    const f = facts({ now: 10, numPendingCheckpoints: 1, lastCheckpointCompletionMs: 5 });
    const sp1 = regularSavepoint('sp1');
    const sp2 = regularSavepoint('sp2');
    expect(d.chooseRequestToExecute(sp1, f).execute).toBe(sp1);
    expect(d.chooseRequestToExecute(sp2, facts({ ...f, numPendingCheckpoints: 2 })).execute).toBe(sp2);
  });

  it('makes a savepoint wait for the running checkpoint when unaligned checkpoints are on', () => {
    // CheckpointCoordinatorTest#testSavepointScheduledInUnalignedMode (UC on: savepoints are not forced)
    const d = new CheckpointRequestDecider<Req>({ maxConcurrentCheckpoints: 1, minPauseMs: 0 });
    const savepoint = nonForcedSavepoint();
    expect(d.chooseRequestToExecute(savepoint, facts({ numPendingCheckpoints: 1 })).execute).toBeUndefined();
    expect(d.chooseQueuedRequestToExecute(facts({ numPendingCheckpoints: 0 })).execute).toBe(savepoint);
  });

  it('queues a periodic trigger that arrives while the previous one is still triggering', () => {
    // CheckpointCoordinatorTriggeringTest#testTriggerCheckpointBeforePreviousOneCompleted
    const d = new CheckpointRequestDecider<Req>({ maxConcurrentCheckpoints: 10, minPauseMs: 0 });
    const first = regularCheckpoint('first');
    const second = regularCheckpoint('second');
    expect(d.chooseRequestToExecute(first, facts()).execute).toBe(first);
    expect(d.chooseRequestToExecute(second, facts({ isTriggering: true })).execute).toBeUndefined();
    expect(d.numQueuedRequests).toBe(1);
    expect(d.chooseQueuedRequestToExecute(facts({ numPendingCheckpoints: 1 })).execute).toBe(second);
  });

  it('hands every queued request back when the scheduler stops', () => {
    // CheckpointCoordinatorTriggeringTest#testStopPeriodicScheduler (the queue part)
    const d = decider(10);
    const a = regularCheckpoint();
    const b = manualCheckpoint();
    d.chooseRequestToExecute(a, facts({ isTriggering: true }));
    d.chooseRequestToExecute(b, facts({ isTriggering: true }));
    expect(d.abortAll()).toEqual([b, a]);
    expect(d.numQueuedRequests).toBe(0);
  });

  it('starts periodic checkpointing after a random delay in [min-pause, interval]', () => {
    // CheckpointCoordinator#getRandomInitDelay
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100_000 }),
        fc.nat(100_000),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (interval, pause, r) => {
          const delay = initialPeriodicTriggerDelay(interval, pause, r);
          expect(Number.isInteger(delay)).toBe(true);
          expect(delay).toBeGreaterThanOrEqual(Math.min(pause, interval));
          expect(delay).toBeLessThanOrEqual(interval);
        },
      ),
    );
    expect(initialPeriodicTriggerDelay(100, 10, 0)).toBe(10);
    expect(initialPeriodicTriggerDelay(100, 10, 0.999999)).toBe(100);
  });
});
