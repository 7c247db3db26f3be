// Unaligned checkpoints on TaskManager processes (TCP channels): a TaskManager is killed in the
// middle of the backlog, right after a checkpoint that stored in-flight data completed; the job
// restores that data first on its channels and gives the failure-free results.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { JobClient } from '../../src/api/execution.js';
import { main } from '../fixtures/unaligned-job.js';
import { fileUri } from '../support/checkpointing.js';
import {
  allTasksRunning,
  expectedRunningCounts,
  firstJobMaster,
  sortedRows,
  until,
  useTestClusters,
} from '../support/cluster.js';

const UNALIGNED_JOB = fileURLToPath(new URL('../fixtures/unaligned-job.ts', import.meta.url));
const RECORDS = 8_000;
const KEYS = 16;

const clusters = useTestClusters();

describe('unaligned checkpoints on TaskManagers', () => {
  it('restore the in-flight data after a TaskManager is killed mid-backlog, exactly once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-unaligned-cluster-'));
    clusters.defer(() => rm(dir, { recursive: true, force: true }));
    const args = [String(RECORDS), '2', String(KEYS), '300', fileUri(dir)];
    const running = await clusters.start({ jobFile: UNALIGNED_JOB, args, taskManagers: 2, slots: 1 });
    await running.waitForTaskManagers(2);
    let client: JobClient | undefined;
    const rows = main(args, (c) => (client = c));
    rows.catch(() => {});
    const master = await firstJobMaster(running);
    await allTasksRunning(master);
    // A completed checkpoint that stored in-flight data, while records are still queued.
    const withData = await until(() => {
      const completed = master.getCheckpointStats()!.history.filter((c) => c.status === 'COMPLETED');
      const found = completed.find((c) => c.subtasks.some((s) => (s.persistedData ?? 0) > 0));
      expect(found).toBeDefined();
      return found!;
    });
    expect(client).toBeDefined();
    const victim = running.cluster.taskManagerProcesses[0]!;
    victim.child.kill('SIGKILL');
    // Read while the restored checkpoint is still in the bounded statistics history.
    const restored = await until(() => {
      const stats = master.getCheckpointStats()!;
      expect(stats.latestRestored).toBeDefined();
      return stats.history.find((c) => c.id === stats.latestRestored!.id)!;
    });
    expect(restored.id).toBeGreaterThanOrEqual(withData.id);
    // What was restored held in-flight data too (under this backlog every checkpoint does).
    expect(restored.subtasks.some((s) => (s.persistedData ?? 0) > 0)).toBe(true);
    expect(sortedRows(await rows)).toEqual(sortedRows(expectedRunningCounts(RECORDS, KEYS)));
    expect(master.getJobStatus()).toBe('FINISHED');
    expect(master.getNumRestarts()).toBeGreaterThanOrEqual(1);
  });
});
