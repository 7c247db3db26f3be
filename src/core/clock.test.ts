/** ManualClock: time moves only on advance(), callbacks fire in time order, ties in scheduling order, cancel works. */
import { describe, expect, it } from 'vitest';
import { ManualClock, SystemClock } from './clock.js';

describe('ManualClock', () => {
  it('starts at the given time and moves only when advanced', () => {
    const clock = new ManualClock(1000);
    expect(clock.now()).toBe(1000);
    expect(clock.now()).toBe(1000);
    clock.advance(250);
    expect(clock.now()).toBe(1250);
    expect(new ManualClock().now()).toBe(0);
  });

  it('fires due callbacks in time order, not scheduling order, each at its own time', () => {
    const clock = new ManualClock(0);
    const fired: [string, number][] = [];
    clock.schedule(30, () => fired.push(['c', clock.now()]));
    clock.schedule(10, () => fired.push(['a', clock.now()]));
    clock.schedule(20, () => fired.push(['b', clock.now()]));
    clock.schedule(50, () => fired.push(['late', clock.now()]));
    clock.advance(40);
    expect(fired).toEqual([
      ['a', 10],
      ['b', 20],
      ['c', 30],
    ]);
    expect(clock.now()).toBe(40);
    clock.advance(10);
    expect(fired.at(-1)).toEqual(['late', 50]);
  });

  it('fires callbacks due at the same time in scheduling order', () => {
    const clock = new ManualClock(0);
    const fired: number[] = [];
    for (const i of [0, 1, 2, 3, 4]) clock.schedule(5, () => fired.push(i));
    clock.schedule(0, () => fired.push(-1));
    clock.advance(5);
    expect(fired).toEqual([-1, 0, 1, 2, 3, 4]);
  });

  it('does not fire a callback before its time', () => {
    const clock = new ManualClock(0);
    let fired = 0;
    clock.schedule(100, () => fired++);
    clock.advance(99);
    expect(fired).toBe(0);
    clock.advance(1);
    expect(fired).toBe(1);
    clock.advance(1000);
    expect(fired).toBe(1); // once only
  });

  it('treats negative delays as 0', () => {
    const clock = new ManualClock(10);
    let firedAt = -1;
    clock.schedule(-50, () => (firedAt = clock.now()));
    clock.advance(0);
    expect(firedAt).toBe(10);
  });

  it('never fires a cancelled callback, and cancelling twice or after firing is harmless', () => {
    const clock = new ManualClock(0);
    const fired: string[] = [];
    const a = clock.schedule(10, () => fired.push('a'));
    const b = clock.schedule(10, () => fired.push('b'));
    a.cancel();
    a.cancel();
    clock.advance(20);
    expect(fired).toEqual(['b']);
    b.cancel();
    clock.advance(20);
    expect(fired).toEqual(['b']);
  });

  it('lets a callback cancel a later one that is due in the same advance', () => {
    const clock = new ManualClock(0);
    const fired: string[] = [];
    const handles: { cancel(): void }[] = [];
    clock.schedule(1, () => {
      fired.push('first');
      handles[0]!.cancel();
    });
    handles.push(clock.schedule(2, () => fired.push('second')));
    clock.advance(5);
    expect(fired).toEqual(['first']);
  });

  it('runs callbacks scheduled by callbacks when they fall due within the same advance', () => {
    const clock = new ManualClock(0);
    const fired: [string, number][] = [];
    clock.schedule(10, () => {
      fired.push(['outer', clock.now()]);
      clock.schedule(5, () => fired.push(['inner', clock.now()]));
      clock.schedule(100, () => fired.push(['too late', clock.now()]));
    });
    clock.schedule(12, () => fired.push(['other', clock.now()]));
    clock.advance(20);
    expect(fired).toEqual([
      ['outer', 10],
      ['other', 12],
      ['inner', 15],
    ]);
    expect(clock.now()).toBe(20);
  });

  it('supports a periodic timer that reschedules itself', () => {
    const clock = new ManualClock(0);
    const ticks: number[] = [];
    const tick = (): void => {
      ticks.push(clock.now());
      clock.schedule(10, tick);
    };
    clock.schedule(10, tick);
    clock.advance(35);
    expect(ticks).toEqual([10, 20, 30]);
  });
});

describe('SystemClock', () => {
  it('reports wall-clock time', () => {
    const before = Date.now();
    const t = SystemClock.now();
    expect(t).toBeGreaterThanOrEqual(before);
    expect(t).toBeLessThanOrEqual(Date.now());
  });

  it('does not run a cancelled callback', async () => {
    let fired = false;
    SystemClock.schedule(0, () => (fired = true)).cancel();
    const done = new Promise<void>((resolve) => SystemClock.schedule(0, resolve));
    await done;
    expect(fired).toBe(false);
  });
});
