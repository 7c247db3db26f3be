// A two-input head on TaskManager processes: both inputs' records and watermarks cross the TCP
// data plane to a KeyedCoProcessFunction, and the counts come out as inline.
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { expectedCounts } from '../fixtures/event-time-job.js';
import { main } from '../fixtures/two-input-job.js';
import { expectSameMultiset } from '../support/helpers.js';
import { useTestClusters } from '../support/cluster.js';

const TWO_INPUT_JOB = fileURLToPath(new URL('../fixtures/two-input-job.ts', import.meta.url));
const clusters = useTestClusters();

describe('two inputs on a cluster', () => {
  it('a connected keyed job counts per key per event-time bucket at parallelism 2 over 2 TaskManagers', async () => {
    const args = ['2'];
    const running = await clusters.start({ jobFile: TWO_INPUT_JOB, args, taskManagers: 2, slots: 1 });
    await running.waitForTaskManagers(2);
    const records = await main(args);
    expectSameMultiset(records, expectedCounts());
    const [master] = running.executor.jobMasters;
    expect(master!.getJobStatus()).toBe('FINISHED');
  });
});
