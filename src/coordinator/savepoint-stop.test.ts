/** StopWithSavepoint's sequence against a fake JobMaster: what it asks for, in which order, and how it ends. */
import { describe, expect, it } from 'vitest';
import type { CheckpointCoordinator, SavepointOutcome } from './checkpoint-coordinator.js';
import { savepointFailed } from './checkpoint-coordinator.js';
import { StopWithSavepoint } from './savepoint-stop.js';

/** A JobMaster that records calls; the savepoint answers `outcome`; `terminate()` ends the job. */
function fakeJob(outcome: SavepointOutcome) {
  const calls: string[] = [];
  let terminate!: () => void;
  const terminated = new Promise<void>((resolve) => (terminate = resolve));
  const coordinator = {
    triggerSavepoint: (kind: string, target: string) => {
      calls.push(`savepoint ${kind} ${target}`);
      return Promise.resolve(outcome);
    },
  } as unknown as CheckpointCoordinator;
  return {
    calls,
    terminate: () => terminate(),
    ctx: {
      coordinator,
      endSourceInput: () => calls.push('end source input'),
      finishAllEnded: () => calls.push('finish all ended'),
      refused: () => 'not running',
      terminated,
    },
  };
}

const COMPLETED: SavepointOutcome = {
  kind: 'completed',
  checkpointId: 3,
  location: '/sp/savepoint-abcdef-0123',
};
const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('StopWithSavepoint', () => {
  it('suspend: savepoint first, then the sources end; resolves once the job ended', async () => {
    const job = fakeJob(COMPLETED);
    const stop = new StopWithSavepoint(job.ctx, '/sp', false);
    let done: SavepointOutcome | undefined;
    void stop.run().then((o) => (done = o));
    await flush();
    expect(job.calls).toEqual(['savepoint sync-savepoint /sp', 'end source input']);
    expect(done).toBeUndefined();
    job.terminate();
    await flush();
    expect(done).toEqual(COMPLETED);
  });

  it('suspend: a failed savepoint ends nothing', async () => {
    const failed = savepointFailed(3, 'declined');
    const job = fakeJob(failed);
    expect(await new StopWithSavepoint(job.ctx, '/sp', false).run()).toBe(failed);
    expect(job.calls).toEqual(['savepoint sync-savepoint /sp']);
  });

  it('drain: the sources end first; the savepoint is taken once every task ended, then the tasks finish', async () => {
    const job = fakeJob(COMPLETED);
    const stop = new StopWithSavepoint(job.ctx, '/sp', true);
    let done: SavepointOutcome | undefined;
    void stop.run().then((o) => (done = o));
    await flush();
    expect(job.calls).toEqual(['end source input']);
    expect(stop.drained).toBe(false);
    expect(stop.takeAllEnded()).toBe(true);
    expect(stop.drained).toBe(true);
    await flush();
    expect(job.calls).toEqual(['end source input', 'savepoint sync-savepoint /sp', 'finish all ended']);
    job.terminate();
    await flush();
    expect(done).toEqual(COMPLETED);
    // Only the first all-ended belongs to the stop.
    expect(stop.takeAllEnded()).toBe(false);
  });

  it('drain: a failover while draining gives up with a cause, taking no savepoint', async () => {
    const job = fakeJob(COMPLETED);
    const stop = new StopWithSavepoint(job.ctx, '/sp', true);
    const run = stop.run();
    await flush();
    stop.failedOver();
    const outcome = await run;
    expect(outcome.kind).toBe('failed');
    expect(outcome.kind === 'failed' && outcome.error.message).toMatch(
      /failed over while its sources drained/u,
    );
    expect(job.calls).toEqual(['end source input']);
    expect(stop.takeAllEnded()).toBe(false);
  });
});
