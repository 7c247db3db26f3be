import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MIN_WATERMARK, type WatermarkStatus } from '../core/watermark.js';
import { StatusWatermarkValve } from './status-watermark-valve.js';

function valve(n: number): { v: StatusWatermarkValve; out: (number | WatermarkStatus)[] } {
  const out: (number | WatermarkStatus)[] = [];
  const v = new StatusWatermarkValve(n);
  const sink = {
    emitWatermark: (w: number) => out.push(w),
    emitWatermarkStatus: (s: WatermarkStatus) => out.push(s),
  };
  return {
    v: Object.assign(v, {
      w: (wm: number, ch: number) => v.inputWatermark(wm, ch, sink),
      s: (st: WatermarkStatus, ch: number) => v.inputWatermarkStatus(st, ch, sink),
    }),
    out,
  };
}
type TestValve = StatusWatermarkValve & {
  w(wm: number, ch: number): void;
  s(st: WatermarkStatus, ch: number): void;
};

describe('StatusWatermarkValve', () => {
  it('forwards the minimum over channels, only when it advances', () => {
    const { v, out } = valve(3) as { v: TestValve; out: unknown[] };
    v.w(10, 0);
    v.w(20, 1);
    expect(out).toEqual([]); // channel 2 has none yet
    v.w(5, 2);
    expect(out).toEqual([5]);
    v.w(30, 2);
    expect(out).toEqual([5, 10]);
    v.w(9, 0); // a channel going back is ignored
    v.w(25, 0);
    expect(out).toEqual([5, 10, 20]);
    expect(v.currentWatermark).toBe(20);
  });

  it('leaves idle channels out, forwards IDLE only when all are, and ACTIVE when one returns', () => {
    const { v, out } = valve(2) as { v: TestValve; out: unknown[] };
    v.w(10, 0);
    v.s('IDLE', 1); // channel 1 (at MIN) held the minimum: it advances to channel 0's
    expect(out).toEqual([10]);
    v.w(15, 1); // an idle channel's watermark is ignored
    expect(out).toEqual([10]);
    v.s('IDLE', 0);
    expect(out).toEqual([10, 'IDLE']);
    expect(v.currentStatus).toBe('IDLE');
    v.s('ACTIVE', 1);
    expect(out).toEqual([10, 'IDLE', 'ACTIVE']);
    v.w(40, 1); // channel 0 is idle: channel 1 alone decides
    expect(out).toEqual([10, 'IDLE', 'ACTIVE', 40]);
    v.s('ACTIVE', 0); // back behind the output watermark: it does not count until it catches up
    v.w(45, 1);
    expect(out).toEqual([10, 'IDLE', 'ACTIVE', 40, 45]);
    v.w(50, 0);
    v.w(60, 1);
    expect(out).toEqual([10, 'IDLE', 'ACTIVE', 40, 45, 50]);
  });

  it('when every channel goes idle, forwards the highest watermark reached', () => {
    const { v, out } = valve(2) as { v: TestValve; out: unknown[] };
    v.w(10, 0);
    v.w(30, 1);
    v.s('IDLE', 0);
    v.s('IDLE', 1);
    expect(out).toEqual([10, 30, 'IDLE']);
  });

  it('property: with every channel active, the output is increasing and always the minimum of the channels', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.tuple(fc.nat(4), fc.integer({ min: 0, max: 1000 })), { maxLength: 60 }),
        (n, inputs) => {
          const { v, out } = valve(n) as { v: TestValve; out: number[] };
          const highest = new Array<number>(n).fill(MIN_WATERMARK);
          for (const [c, wm] of inputs) {
            const ch = c % n;
            v.w(wm, ch);
            highest[ch] = Math.max(highest[ch]!, wm);
            const min = Math.min(...highest);
            expect(v.currentWatermark).toBe(min);
          }
          for (let i = 1; i < out.length; i++) expect(out[i]!).toBeGreaterThan(out[i - 1]!);
        },
      ),
    );
  });
});
