// Event time end to end: per-split bounded-out-of-orderness watermarks over more splits than
// readers, event-time timers counting per key per bucket, timestamps across the network, with and
// without an injected failure (exactly-once: the same counts), on both state backends.
import { afterEach, describe, expect, it } from 'vitest';
import { runToEnd, withTempDir } from '../support/checkpointing.js';
import { failureMidInput } from '../support/event-time-failure.js';
import { envAt, expectSameMultiset } from '../support/helpers.js';
import { BucketCounter, bucketCountJob, eventSource, expectedCounts } from '../fixtures/event-time-job.js';

afterEach(() => {
  BucketCounter.highestWatermarkSeen = Number.MIN_SAFE_INTEGER;
});

describe('event time end to end', () => {
  it('counts per key per event-time bucket at parallelism 2, each count once at its bucket end', async () => {
    const env = envAt(2);
    const { records } = await runToEnd(env, bucketCountJob(env, eventSource(Infinity)));
    expectSameMultiset(records, expectedCounts());
  });

  it('over a union of a fast and a slow source, the slow one holds the watermark back: none of its records is late', async () => {
    const env = envAt(2);
    env.getConfig().setAutoWatermarkInterval(10);
    const fast = eventSource(Infinity, { part: [0, 2] });
    const slow = eventSource(4000, { part: [1, 2] });
    const { records } = await runToEnd(env, bucketCountJob(env, [fast, slow]));
    expectSameMultiset(records, expectedCounts());
    expect(BucketCounter.highestWatermarkSeen).toBeGreaterThan(0);
  });

  it('in BATCH mode, no watermark comes before the end, whose MAX_WATERMARK fires every bucket', async () => {
    const env = envAt(2).setRuntimeMode('BATCH');
    env.getConfig().setAutoWatermarkInterval(5);
    const { records } = await runToEnd(env, bucketCountJob(env, eventSource(20_000)));
    expectSameMultiset(records, expectedCounts());
    expect(BucketCounter.highestWatermarkSeen).toBe(Number.MIN_SAFE_INTEGER);
  });

  describe.each(['hashmap', 'lmdb'] as const)('with checkpoints and a failure (%s)', (backend) => {
    it('gives the same counts exactly once', () =>
      withTempDir(async (dir) => {
        const env = envAt(2);
        const scenario = failureMidInput(env, backend, dir, 'in the bucket counter');
        const counter = new BucketCounter(scenario.check);
        const { records, result } = await runToEnd(
          env,
          bucketCountJob(env, scenario.source, counter),
          40_000,
        );
        expect(scenario.fired()).toBe(true);
        // Periodic watermarks reached the counter while records flowed, not only at the end.
        expect(BucketCounter.highestWatermarkSeen).toBeGreaterThan(0);
        expect(result.checkpoints.lastRestoredCheckpointId).toBeGreaterThan(0);
        expectSameMultiset(records, expectedCounts());
      }));
  });
});
