// Event time on TaskManager processes: timestamps in record frames and watermarks as channel
// events cross the TCP data plane, and the event-time bucket counts come out as inline.
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { expectedCounts, main } from '../fixtures/event-time-job.js';
import { expectSameMultiset } from '../support/helpers.js';
import { useTestClusters } from '../support/cluster.js';

const EVENT_TIME_JOB = fileURLToPath(new URL('../fixtures/event-time-job.ts', import.meta.url));
const clusters = useTestClusters();

describe('event time on a cluster', () => {
  it('counts per key per event-time bucket at parallelism 2 over 2 TaskManagers', async () => {
    const args = ['2'];
    const running = await clusters.start({ jobFile: EVENT_TIME_JOB, args, taskManagers: 2, slots: 1 });
    await running.waitForTaskManagers(2);
    const records = await main(args);
    expectSameMultiset(records, expectedCounts());
    const [master] = running.executor.jobMasters;
    expect(master!.getJobStatus()).toBe('FINISHED');
  });
});
