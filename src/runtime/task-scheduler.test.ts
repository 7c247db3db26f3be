/** TaskScheduler: runs scheduled tasks on later event-loop turns, once per scheduling, round-robin, yielding after a time budget. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TaskScheduler, type Schedulable } from './task-scheduler.js';

/** A fake task that logs its slices and can reschedule itself a number of times. */
class FakeTask implements Schedulable {
  scheduled = false;
  slices = 0;
  constructor(
    readonly name: string,
    private readonly log: string[],
    private readonly scheduler: TaskScheduler,
    private moreSlices = 0,
  ) {}
  runSlice(): void {
    this.slices++;
    this.log.push(this.name);
    if (this.moreSlices > 0) {
      this.moreSlices--;
      this.scheduler.schedule(this);
    }
  }
}

describe('TaskScheduler', () => {
  let now = 0;
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setImmediate'] });
    now = 0;
    // Time advances only when a test says so (performance.now drives the turn budget).
    vi.spyOn(performance, 'now').mockImplementation(() => now);
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it('runs a scheduled task on a later turn, not synchronously', () => {
    const s = new TaskScheduler();
    const log: string[] = [];
    const t = new FakeTask('t', log, s);
    s.schedule(t);
    expect(t.scheduled).toBe(true);
    expect(log).toEqual([]);
    vi.runOnlyPendingTimers();
    expect(log).toEqual(['t']);
    expect(t.scheduled).toBe(false);
  });

  it('runs a task scheduled twice before its turn once, and again once per later scheduling', () => {
    const s = new TaskScheduler();
    const log: string[] = [];
    const t = new FakeTask('t', log, s);
    s.schedule(t);
    s.schedule(t);
    vi.runAllTimers();
    expect(t.slices).toBe(1);
    s.schedule(t);
    vi.runAllTimers();
    expect(t.slices).toBe(2);
    vi.runAllTimers();
    expect(t.slices).toBe(2);
  });

  it('round-robins over tasks that keep rescheduling themselves', () => {
    const s = new TaskScheduler();
    const log: string[] = [];
    const a = new FakeTask('a', log, s, 2);
    const b = new FakeTask('b', log, s, 1);
    const c = new FakeTask('c', log, s, 0);
    s.schedule(a);
    s.schedule(b);
    s.schedule(c);
    vi.runAllTimers();
    expect(log).toEqual(['a', 'b', 'c', 'a', 'b', 'a']);
  });

  it('costs nothing when idle: no turn is pending without scheduled tasks', () => {
    const s = new TaskScheduler();
    expect(vi.getTimerCount()).toBe(0);
    s.schedule(new FakeTask('t', [], s));
    s.schedule(new FakeTask('u', [], s));
    expect(vi.getTimerCount()).toBe(1);
    vi.runAllTimers();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('yields after its time budget and continues on the next turn', () => {
    const s = new TaskScheduler();
    const log: string[] = [];
    const slow = (name: string): Schedulable => ({
      scheduled: false,
      runSlice() {
        log.push(name);
        now += 5; // each slice takes 5 ms of an 8 ms turn
      },
    });
    for (const n of ['1', '2', '3', '4', '5']) s.schedule(slow(n));
    vi.runOnlyPendingTimers();
    expect(log).toEqual(['1', '2']);
    vi.runOnlyPendingTimers();
    expect(log).toEqual(['1', '2', '3', '4']);
    vi.runOnlyPendingTimers();
    expect(log).toEqual(['1', '2', '3', '4', '5']);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('keeps one turn pending when a busy task reschedules itself past the budget (regression)', () => {
    // A task that rescheduled itself during a turn that then ran out of time used to leave two
    // turns pending (one from schedule(), one from the end of the turn); every such turn added
    // one more, so busy tasks piled up ever more turns per event-loop iteration.
    const s = new TaskScheduler();
    const log: string[] = [];
    const busy: Schedulable = {
      scheduled: false,
      runSlice() {
        log.push('busy');
        now += 3;
        s.schedule(busy);
      },
    };
    s.schedule(busy);
    for (let turn = 1; turn <= 5; turn++) {
      vi.runOnlyPendingTimers();
      expect(vi.getTimerCount()).toBe(1);
      expect(log.length).toBe(3 * turn); // 3 slices of 3 ms per 8 ms turn
    }
  });
});
