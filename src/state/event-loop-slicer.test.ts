import { describe, expect, it } from 'vitest';
import { EventLoopSlicer } from './event-loop-slicer.js';

/** A slicer on a hand-driven clock; `step` ms pass per unit of work. */
function slicerOnClock(busyShare: number) {
  const clock = { t: 0 };
  const now = (): number => clock.t;
  const slicer = new EventLoopSlicer({ sliceMillis: 5, now, busyShare, activeMillis: now }, () => undefined);
  /** Does units of work until the slicer says yield; returns how long that slice ran. */
  const sliceLength = (): number => {
    const from = clock.t;
    for (let i = 0; i < 1_000_000; i++) {
      clock.t += 0.001;
      if (slicer.due()) return clock.t - from;
    }
    throw new Error('the slicer never asked to yield');
  };
  /** Yields while other work (records) runs for `othersMs` on the event loop. */
  const yieldWhileOthersRun = async (othersMs: number): Promise<void> => {
    if (othersMs > 0) setImmediate(() => (clock.t += othersMs));
    await slicer.yieldNow();
  };
  return { clock, sliceLength, yieldWhileOthersRun };
}

describe('EventLoopSlicer', () => {
  it('takes whole slices while nothing else waits for the event loop', async () => {
    const s = slicerOnClock(0.05);
    expect(s.sliceLength()).toBeCloseTo(5, 0);
    await s.yieldWhileOthersRun(0);
    expect(s.sliceLength()).toBeCloseTo(5, 0);
  });

  it('takes only its share of the loop while records wait, and whole slices again once they stop', async () => {
    const s = slicerOnClock(0.05);
    s.sliceLength();
    await s.yieldWhileOthersRun(19);
    // 5% of the loop: 1 ms of snapshot per 19 ms of records.
    const busy = s.sliceLength();
    expect(busy).toBeGreaterThan(0.9);
    expect(busy).toBeLessThan(1.2);
    await s.yieldWhileOthersRun(0);
    expect(s.sliceLength()).toBeCloseTo(5, 0);
  });

  it('takes whole slices after a yield that only waited (for the CPU, or for nothing): no work ran meanwhile', async () => {
    const clock = { t: 0, active: 0 };
    const slicer = new EventLoopSlicer(
      { sliceMillis: 5, now: () => clock.t, busyShare: 0.05, activeMillis: () => clock.active },
      () => undefined,
    );
    const sliceLength = (): number => {
      const from = clock.t;
      while (!slicer.due()) {
        clock.t += 0.001;
        clock.active += 0.001;
      }
      return clock.t - from;
    };
    sliceLength();
    // 20 ms pass while yielding, but the loop was idle all along.
    setImmediate(() => (clock.t += 20));
    await slicer.yieldNow();
    expect(sliceLength()).toBeCloseTo(5, 0);
    // 20 ms of records ran: its 5% share.
    setImmediate(() => {
      clock.t += 20;
      clock.active += 20;
    });
    await slicer.yieldNow();
    expect(sliceLength()).toBeLessThan(1.2);
  });

  it('grows its share with the snapshot’s age, so a long snapshot still finishes before the timeout', async () => {
    const s = slicerOnClock(0.05);
    s.clock.t += 55_000; // within the first minute the share stays as it is
    await s.yieldWhileOthersRun(19);
    expect(s.sliceLength()).toBeLessThan(1.2);
    // Halfway between one minute and the five after which the snapshot takes the whole loop.
    s.clock.t += 125_000;
    await s.yieldWhileOthersRun(2);
    // share 0.5: as long as the records ran
    expect(s.sliceLength()).toBeCloseTo(2, 0);
    s.clock.t += 120_000;
    await s.yieldWhileOthersRun(2);
    expect(s.sliceLength()).toBeCloseTo(5, 0);
  });
});
