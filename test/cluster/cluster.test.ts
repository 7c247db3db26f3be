// A real cluster: the JobManager in this process, TaskManagers as child processes, records and
// barriers crossing between them over the TCP data plane.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobMaster } from '../../src/coordinator/job-master.js';
import { ClusterRestBackend } from '../../src/rest/cluster-rest-backend.js';
import { startRestServer, type RestServer } from '../../src/rest/rest-server.js';
import { main } from '../fixtures/keyed-count-job.js';
import type { JobDetailsInfo } from '../../src/rest/rest-schema.js';
import { eventually, expectEndedAs, getJson } from '../rest/support/rest-fixture.js';
import {
  KEYED_COUNT_JOB,
  allTasksRunning,
  expectedRunningCounts,
  firstJobMaster,
  sortedRows,
  startTestCluster,
  useTestClusters,
  type TestCluster,
} from '../support/cluster.js';

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

// One job on two TaskManager processes serves both tests below: its metrics are read while it
// runs, then it is cancelled (so the cancellation test runs last).
describe('a running job on a cluster of TaskManager processes, over REST', () => {
  let running: TestCluster | undefined;
  let master: JobMaster | undefined;
  let rest: RestServer | undefined;
  const shared = () => ({ rest: rest!, master: master! });
  beforeAll(async () => {
    // Unbounded in effect (1000 records/s of 10 million), checkpointing every 100 ms.
    const args = ['10000000', '2', '100', '1000', '16'];
    running = await startTestCluster({ jobFile: KEYED_COUNT_JOB, args, taskManagers: 2, slots: 1 });
    await running.waitForTaskManagers(2);
    main(args).catch(() => {});
    master = await firstJobMaster(running);
    await allTasksRunning(master);
    rest = await startRestServer({
      backend: new ClusterRestBackend(running.executor, running.cluster.registry),
      port: 0,
    });
  }, 60_000);
  afterAll(async () => {
    await rest?.close();
    await running?.close();
  });

  it("serves each TaskManager process's own figures and each remote subtask's metrics over REST", async () => {
    const { rest, master } = shared();
    const { taskmanagers } = await getJson<{ taskmanagers: { id: string }[] }>(rest.url, '/taskmanagers');
    expect(taskmanagers).toHaveLength(2);
    const heaps = await Promise.all(
      taskmanagers.map((tm) =>
        eventually(
          async () => {
            const [heap] = await getJson<{ id: string; value: string }[]>(
              rest.url,
              `/taskmanagers/${tm.id}/metrics?get=Status.JVM.Memory.Heap.Used`,
            );
            return heap === undefined ? undefined : Number(heap.value);
          },
          `TaskManager ${tm.id}'s process metrics`,
          30_000,
        ),
      ),
    );
    for (const heap of heaps) expect(heap).toBeGreaterThan(0);
    const details = await getJson<JobDetailsInfo>(rest.url, `/jobs/${master.jobId}`);
    const counting = details.vertices.find((v) => v.name.includes('running count'))!;
    // Both subtasks, on different processes, report their own records.
    const counts = await eventually(
      async () => {
        const body = await getJson<{ id: string; value: string }[]>(
          rest.url,
          `/jobs/${master.jobId}/vertices/${counting.id}/metrics?get=0.numRecordsIn,1.numRecordsIn`,
        );
        return body.length === 2 && body.every((m) => Number(m.value) > 0) ? body : undefined;
      },
      'records counted by both remote subtasks',
      30_000,
    );
    expect(counts.map((m) => m.id)).toEqual(['0.numRecordsIn', '1.numRecordsIn']);
    const text = await (await fetch(`${rest.url}/metrics`)).text();
    for (const tm of taskmanagers)
      expect(text).toContain(`sluice_taskmanager_Status_JVM_Memory_Heap_Used{tm_id="${tm.id}"}`);
  }, 60_000);

  it('a cancelled job shows every vertex and subtask CANCELED over REST, though its TaskManagers were released', async () => {
    const { rest, master } = shared();
    await master.cancel();
    await expectEndedAs(rest.url, master.jobId, 'CANCELED');
  }, 60_000);
});
