// Chaos: TaskManager processes are SIGKILLed at random moments while a keyed job checkpoints
// every 200 ms; the collected results must equal those of a run without failures, and the REST
// API must report the restarts and the checkpoint restored from.
import { describe, expect, it } from 'vitest';
import type { JobClient } from '../../src/api/execution.js';
import { ClusterRestBackend } from '../../src/rest/cluster-rest-backend.js';
import { startRestServer } from '../../src/rest/rest-server.js';
import type { JobMaster } from '../../src/coordinator/job-master.js';
import { main } from '../fixtures/keyed-count-job.js';
import { KEYED_COUNT_JOB, expectedRunningCounts, sortedRows, useTestClusters } from '../support/cluster.js';

const clusters = useTestClusters();

/** Resolves once `master` runs attempt `attempt` or later with every task RUNNING. */
function runningAgain(master: JobMaster, attempt: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const poll = setInterval(() => {
      const status = master.getJobStatus();
      if (status === 'FINISHED' || status === 'FAILED' || status === 'CANCELED') {
        clearInterval(poll);
        return status === 'FINISHED' ? resolve() : reject(new Error(`job ${status}`));
      }
      const all = master.taskExecutionStates.flat();
      if (
        master.currentAttemptNumber >= attempt &&
        status === 'RUNNING' &&
        all.every((s) => s === 'RUNNING')
      ) {
        clearInterval(poll);
        resolve();
      }
    }, 20);
  });
}

describe('chaos: TaskManagers killed with SIGKILL', () => {
  it('gives the failure-free results, and the REST API reports the restarts and the restored checkpoint', async () => {
    const records = 60_000;
    const args = [String(records), '4', '200', '8000', '32'];
    const running = await clusters.start({ jobFile: KEYED_COUNT_JOB, args, taskManagers: 2, slots: 2 });
    await running.waitForTaskManagers(2);
    const rest = await startRestServer({
      backend: new ClusterRestBackend(running.executor, running.cluster.registry),
      port: 0,
      bindAddress: '127.0.0.1',
    });
    clusters.defer(() => rest.close());
    let client!: JobClient;
    const result = main(args, (c) => (client = c));
    await new Promise<void>((resolve) => {
      const wait = setInterval(() => client && (clearInterval(wait), resolve()), 10);
    });
    const master = running.executor.jobMasters[0]!;
    const kills = 3;
    const killed: string[] = [];
    for (let k = 0; k < kills; k++) {
      await runningAgain(master, k);
      // Let it make progress (and usually checkpoint) before the next kill, at a random moment.
      await new Promise((r) => setTimeout(r, 300 + Math.random() * 700));
      if (master.getJobStatus() !== 'RUNNING') break;
      const victims = running.cluster.taskManagerProcesses;
      const victim = victims[Math.floor(Math.random() * victims.length)]!;
      victim.child.kill('SIGKILL');
      killed.push(victim.taskManagerId);
    }
    const rows = await result;
    expect(sortedRows(rows)).toEqual(sortedRows(expectedRunningCounts(records, 32)));
    expect(master.getJobStatus()).toBe('FINISHED');
    expect(master.getNumRestarts()).toBeGreaterThanOrEqual(kills);

    const jobId = master.jobId;
    const checkpoints = (await (await fetch(`${rest.url}/jobs/${jobId}/checkpoints`)).json()) as {
      counts: { restored: number; completed: number };
      latest: { restored: { id: number; is_savepoint: boolean } | null };
    };
    expect(checkpoints.counts.restored).toBeGreaterThanOrEqual(1);
    expect(checkpoints.latest.restored?.id).toBeGreaterThanOrEqual(1);
    const exceptions = (await (await fetch(`${rest.url}/jobs/${jobId}/exceptions`)).json()) as {
      exceptionHistory: { entries: { exceptionName: string; stacktrace: string }[] };
    };
    // Each kill is one failure: the JobManager losing the TaskManager, or another TaskManager's
    // channel to it breaking first, whichever it hears of first.
    const entries = exceptions.exceptionHistory.entries;
    expect(entries.length).toBeGreaterThanOrEqual(kills);
    for (const e of entries) expect(e.stacktrace).toMatch(/TaskManager .* was lost|connection|channel/iu);
    // Whichever report came first, the JobManager let every killed TaskManager go.
    const registered = new Set(running.cluster.registry.taskManagers().map((tm) => tm.id));
    expect(killed.filter((id) => registered.has(id))).toEqual([]);
    const metrics = (await (await fetch(`${rest.url}/jobs/${jobId}/metrics?get=numRestarts`)).json()) as {
      id: string;
      value: string;
    }[];
    expect(Number(metrics[0]!.value)).toBe(master.getNumRestarts());
  }, 120_000);
});
