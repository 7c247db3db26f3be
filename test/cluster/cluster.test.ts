// A real cluster: the JobManager in this process, TaskManagers as child processes, records and
// barriers crossing between them over the TCP data plane.
import { describe, expect, it } from 'vitest';
import { main } from '../fixtures/keyed-count-job.js';
import { KEYED_COUNT_JOB, expectedRunningCounts, sortedRows, useTestClusters } from '../support/cluster.js';

const clusters = useTestClusters();

describe('a cluster of TaskManager processes', () => {
  it('runs a keyed job at parallelism 4 over 2 TaskManagers, exchanging records over TCP', async () => {
    const args = ['20000', '4', '100', '0', '16'];
    const running = await clusters.start({ jobFile: KEYED_COUNT_JOB, args, taskManagers: 2, slots: 2 });
    await running.waitForTaskManagers(2);
    const rows = await main(args);
    expect(sortedRows(rows)).toEqual(sortedRows(expectedRunningCounts(20000, 16)));
    const [master] = running.executor.jobMasters;
    expect(master!.getJobStatus()).toBe('FINISHED');
    // Both processes ran subtasks: the records crossed process boundaries.
    const placement = running.executor.gatewayOf(master!)!;
    const where = new Set([0, 1, 2, 3].map((s) => placement.placementOf(0, s)?.id));
    expect(where.size).toBe(2);
    const metrics = master!.getMetrics();
    expect(metrics.find((m) => m.name.includes('running count'))!.recordsIn).toBe(20000);
  });
});
