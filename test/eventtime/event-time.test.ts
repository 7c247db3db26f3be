// Event time end to end: per-split bounded-out-of-orderness watermarks over more splits than
// readers, event-time timers counting per key per bucket, timestamps across the network, with and
// without an injected failure (exactly-once: the same counts), on both state backends.
import { afterEach, describe, expect, it } from 'vitest';
import { EmbeddedLmdbStateBackend, RestartStrategies } from 'sluice';
import {
  HoldingReader,
  InjectedFailure,
  completedCount,
  fileUri,
  runToEnd,
  withTempDir,
} from '../support/checkpointing.js';
import { envAt, expectSameMultiset } from '../support/helpers.js';
import {
  BucketCounter,
  EVENTS,
  bucketCountJob,
  eventSource,
  expectedCounts,
} from '../fixtures/event-time-job.js';

let emitted = 0;
afterEach(() => {
  emitted = 0;
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
        if (backend === 'lmdb') env.setStateBackend(new EmbeddedLmdbStateBackend());
        env.enableCheckpointing(30);
        env.getCheckpointConfig().setCheckpointStorage(fileUri(dir));
        env.setRestartStrategy(RestartStrategies.fixedDelay(3, 10));
        env.getConfig().setAutoWatermarkInterval(20);
        let fired: { completed: number } | undefined;
        // Fails once, on the first record after two checkpoints completed past the middle of the input.
        const counter = new BucketCounter((e, attempt) => {
          if (fired === undefined && attempt === 0 && e.i >= EVENTS / 2 && completedCount() >= 2) {
            fired = { completed: completedCount() };
            throw new InjectedFailure('in the bucket counter');
          }
        });
        // The second half of the input waits for two completed checkpoints, however loaded the machine.
        const held = () => emitted >= EVENTS / 2 && completedCount() < 2;
        const { records, result } = await runToEnd(
          env,
          bucketCountJob(
            env,
            eventSource(3000, {
              onEmit: () => emitted++,
              wrapReader: (reader) => new HoldingReader(reader, () => !held()),
            }),
            counter,
          ),
          40_000,
        );
        expect(fired).toBeDefined();
        // Periodic watermarks reached the counter while records flowed, not only at the end.
        expect(BucketCounter.highestWatermarkSeen).toBeGreaterThan(0);
        expect(result.checkpoints.lastRestoredCheckpointId).toBeGreaterThan(0);
        expectSameMultiset(records, expectedCounts());
      }));
  });
});
