// Backpressure: a fast source into a deliberately slow sink stays within the per-channel buffer bounds and flat memory.
import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { DataGeneratorSource, loadConfiguration, StreamExecutionEnvironment } from 'sluice';
import type { Sink, VertexMetrics } from 'sluice';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const SEGMENT = 4096;
const CREDITS = 2;
const FLOATING = 3;
const MAX_QUEUED = 4;

let written = 0;
let generated = 0;

/** Slow on purpose: every 20th write waits for a timer (about 1 ms), so the sink drains ~20 records/ms at most. */
class SlowSink implements Sink<{ id: number; payload: string }> {
  createWriter() {
    return {
      write: () => {
        written++;
        if (written % 20 === 0) return new Promise<void>((resolve) => setTimeout(resolve, 1));
      },
      flush: () => {},
      close: () => {},
    };
  }
}

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function heapMb(): number {
  gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

describe('backpressure', () => {
  it('stalls an unlimited source behind a slow sink with bounded channel buffers and flat memory', async () => {
    const config = loadConfiguration({
      dynamic: [
        `taskmanager.memory.segment-size=${SEGMENT}b`,
        `taskmanager.network.memory.buffers-per-channel=${CREDITS}`,
        `taskmanager.network.memory.floating-buffers-per-gate=${FLOATING}`,
        `taskmanager.network.memory.max-buffers-per-channel=${MAX_QUEUED}`,
      ],
    });
    const env = StreamExecutionEnvironment.getExecutionEnvironment(config).setParallelism(2);
    const payload = 'x'.repeat(100);
    env
      .fromSource(
        new DataGeneratorSource((i) => {
          generated++;
          return { id: i, payload };
        }, Infinity),
        'fast source',
      )
      .map((r) => r)
      .rebalance()
      .sinkTo(new SlowSink())
      .name('slow sink');
    const client = await env.executeAsync('backpressure');
    try {
      await until(() => written >= 20_000, 30_000, '20k records written');
      const heapEarly = heapMb();
      await until(() => written >= 80_000, 30_000, '80k records written');
      const heapLate = heapMb();
      const [source, sink] = client.getMetrics() as [VertexMetrics, VertexMetrics];

      // Credits bound what a consumer holds: a channel's exclusive buffers plus, while its producer
      // has a backlog, the gate's floating ones; max-buffers-per-channel bounds what a producer queues.
      expect(sink.maxInputChannelBytes).toBeGreaterThan(CREDITS * SEGMENT);
      expect(sink.maxInputChannelBytes).toBeLessThanOrEqual((CREDITS + FLOATING) * SEGMENT);
      expect(source.maxOutputChannelBytes).toBeGreaterThan(0);
      expect(source.maxOutputChannelBytes).toBeLessThanOrEqual(MAX_QUEUED * SEGMENT);

      // The source runs only as fast as the sink: what is in flight fits in the channels
      // (2 producers × 2 consumers, each channel ≤ (credits + queued + 1 open) segments of ~120-byte
      // records, and each of the 2 gates lends at most FLOATING more).
      const perChannel = ((CREDITS + MAX_QUEUED + 1) * SEGMENT) / 110;
      const floating = (2 * FLOATING * SEGMENT) / 110;
      expect(generated - written).toBeLessThan(4 * perChannel + floating + 100);

      // Memory stays flat while 60k more records (~7 MB of payload) flow through.
      expect(heapLate - heapEarly).toBeLessThan(5);
    } finally {
      await client.cancel();
    }
  });
});
