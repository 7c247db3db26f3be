// Global job parameters travel with the job: TaskManager processes see the parameters the
// JobManager's evaluation of the module set, not their own (which differ where the module reads
// the clock, the environment or, here, its process id).
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { main } from '../fixtures/parameters-job.js';
import { useTestClusters } from '../support/cluster.js';

const PARAMETERS_JOB = fileURLToPath(new URL('../fixtures/parameters-job.ts', import.meta.url));
const clusters = useTestClusters();

describe('global job parameters on a cluster', () => {
  it('reach every subtask on the TaskManagers as the JobManager set them, with the runtime mode', async () => {
    const args = ['--greeting', 'hello', '--records', '6', '--mode', 'BATCH'];
    const running = await clusters.start({ jobFile: PARAMETERS_JOB, args, taskManagers: 2, slots: 1 });
    await running.waitForTaskManagers(2);
    const rows = await main(args);
    expect(rows).toHaveLength(6);
    const taskManagerPids = new Set<string>();
    for (const row of rows) {
      expect(row).toMatch(
        new RegExp(`^value=\\d greeting=hello built-by=${process.pid} mode=BATCH runs-in=\\d+$`, 'u'),
      );
      taskManagerPids.add(row.slice(row.indexOf('runs-in=')));
    }
    // The subtasks ran in the TaskManager processes, whose own evaluation built other parameters.
    expect(taskManagerPids.has(`runs-in=${process.pid}`)).toBe(false);
  });
});
