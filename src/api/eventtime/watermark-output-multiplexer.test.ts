import { describe, expect, it } from 'vitest';
import { MIN_WATERMARK, type WatermarkStatus } from '../../core/watermark.js';
import { WatermarkOutputMultiplexer } from './watermark-output-multiplexer.js';

function multiplexer(): { m: WatermarkOutputMultiplexer; out: (number | WatermarkStatus)[] } {
  const out: (number | WatermarkStatus)[] = [];
  const m = new WatermarkOutputMultiplexer({
    emitWatermark: (w) => out.push(w),
    emitWatermarkStatus: (s) => out.push(s),
  });
  return { m, out };
}

describe('WatermarkOutputMultiplexer', () => {
  it('emits the minimum over its outputs, only when it advances', () => {
    const { m, out } = multiplexer();
    const a = m.getImmediateOutput('a');
    const b = m.getImmediateOutput('b');
    a.emitWatermark(10); // b still at MIN: nothing
    b.emitWatermark(5);
    b.emitWatermark(20);
    a.emitWatermark(8); // a goes back: ignored
    a.emitWatermark(30);
    expect(out).toEqual([5, 10, 20]);
  });

  it('deferred outputs take effect at onPeriodicEmit, once per round', () => {
    const { m, out } = multiplexer();
    const a = m.getDeferredOutput('a');
    const b = m.getDeferredOutput('b');
    a.emitWatermark(10);
    b.emitWatermark(12);
    expect(out).toEqual([]);
    m.onPeriodicEmit();
    expect(out).toEqual([10]);
  });

  it('leaves idle outputs out of the minimum and is idle only when all are', () => {
    const { m, out } = multiplexer();
    const a = m.getImmediateOutput('a');
    const b = m.getImmediateOutput('b');
    a.emitWatermark(100);
    b.markIdle(); // b (at MIN) no longer holds a back
    expect(out).toEqual([100]);
    a.markIdle();
    expect(out).toEqual([100, 'IDLE']);
    b.emitWatermark(50); // active again, but below what was emitted: no watermark
    a.emitWatermark(150);
    expect(out).toEqual([100, 'IDLE', 'ACTIVE']);
    b.emitWatermark(200);
    expect(out).toEqual([100, 'IDLE', 'ACTIVE', 150]);
  });

  it('an unregistered (finished) split stops holding the minimum back; a new one starts at MIN', () => {
    const { m, out } = multiplexer();
    m.registerNewOutput('b');
    m.getImmediateOutput('a').emitWatermark(10);
    m.getImmediateOutput('a').emitWatermark(40);
    expect(out).toEqual([]);
    m.unregisterOutput('b');
    expect(out).toEqual([40]);
    m.registerNewOutput('c'); // at MIN_WATERMARK: holds the next advance, never takes one back
    m.getImmediateOutput('a').emitWatermark(60);
    expect(out).toEqual([40]);
    expect(MIN_WATERMARK).toBeLessThan(0);
  });
});
