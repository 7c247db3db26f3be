// Backpressure across processes: a slow sink on one TaskManager holds back the source on the
// other, through credits carried over TCP; buffers stay within their per-channel bounds.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { VertexMetrics } from '../../src/api/execution.js';
import { main } from '../fixtures/backpressure-job.js';
import { until, useTestClusters } from '../support/cluster.js';

const JOB = fileURLToPath(new URL('../fixtures/backpressure-job.ts', import.meta.url));
const SEGMENT = 4096;
const CREDITS = 2;
const FLOATING = 3;
const MAX_QUEUED = 4;

const clusters = useTestClusters();

describe('backpressure between TaskManager processes', () => {
  it('stalls an unlimited source behind a slow sink in another process, with bounded channel buffers', async () => {
    const args = [String(SEGMENT), String(CREDITS), String(MAX_QUEUED), String(FLOATING)];
    const running = await clusters.start({ jobFile: JOB, args, taskManagers: 2, slots: 1 });
    await running.waitForTaskManagers(2);
    const client = await main(args);
    const metrics = () => client.getMetrics() as [VertexMetrics, VertexMetrics];
    await until(() => expect(metrics()[1].recordsIn).toBeGreaterThanOrEqual(30_000), 30_000);
    const [source, sink] = metrics();
    // Each subtask of each vertex runs in a different process than its rebalance partner.
    const placement = running.executor.gatewayOf(running.executor.jobMasters[0]!)!;
    expect(placement.placementOf(0, 0)?.id).not.toBe(placement.placementOf(0, 1)?.id);
    // Credits bound what a consumer holds: a channel's exclusive buffers plus, while its producer
    // has a backlog, the gate's floating ones; max-buffers-per-channel bounds what a producer queues.
    expect(sink.maxInputChannelBytes).toBeGreaterThan(CREDITS * SEGMENT);
    expect(sink.maxInputChannelBytes).toBeLessThanOrEqual((CREDITS + FLOATING) * SEGMENT);
    expect(source.maxOutputChannelBytes).toBeGreaterThan(0);
    expect(source.maxOutputChannelBytes).toBeLessThanOrEqual(MAX_QUEUED * SEGMENT);
    // The source is held back to the sink's pace (~40k records/s for both sinks): an unthrottled
    // generator makes millions a second. Each TaskManager pushes its counters once a second, so
    // the two figures may be up to a second apart: allow that, not more.
    expect(source.recordsOut - sink.recordsIn).toBeLessThanOrEqual(100_000);
    expect(source.recordsOut).toBeLessThan(10 * Math.max(sink.recordsIn, 30_000));
    await client.cancel();
  }, 60_000);
});
