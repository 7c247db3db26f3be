// slotmanager.redundant-taskmanager-num in local mode: TaskManagers kept beyond what the jobs
// need, so that after a TaskManager loss the job moves to a spare's slots at once, while a
// replacement starts in the background and becomes the next spare.
import { describe, expect, it } from 'vitest';
import { main } from '../fixtures/keyed-count-job.js';
import {
  KEYED_COUNT_JOB,
  allTasksRunning,
  expectedRunningCounts,
  firstJobMaster,
  sortedRows,
  until,
  useTestClusters,
} from '../support/cluster.js';

const clusters = useTestClusters();

/** A cluster starting 1-slot TaskManagers as its jobs need them, as local mode does. */
function startOnDemand(args: readonly string[], config: Readonly<Record<string, string>> = {}) {
  return clusters.start({
    jobFile: KEYED_COUNT_JOB,
    args,
    taskManagers: 0,
    slots: 1,
    startOnDemand: true,
    config,
  });
}

describe('redundant TaskManagers (slotmanager.redundant-taskmanager-num)', () => {
  it('starts no spare by default: a p2 job on 1-slot TaskManagers gets two processes', async () => {
    const args = ['2000', '2', '0', '0', '16'];
    const running = await startOnDemand(args);
    const rows = await main(args);
    expect(sortedRows(rows)).toEqual(sortedRows(expectedRunningCounts(2000, 16)));
    expect(running.cluster.taskManagerProcesses).toHaveLength(2);
  });

  it('with 1, a killed TaskManager’s tasks move to the spare that was already registered, and a new spare is started', async () => {
    // 4,000 records/s for 6 s, checkpointing every 200 ms: still running when the kill comes.
    const records = 24_000;
    const args = [String(records), '2', '200', '4000', '16'];
    const running = await startOnDemand(args, { 'slotmanager.redundant-taskmanager-num': '1' });
    const { registry } = running.cluster;
    const result = main(args);
    const master = await firstJobMaster(running);
    await allTasksRunning(master);
    // Two TaskManagers for the job's two slots, and one more.
    expect(running.cluster.taskManagerProcesses).toHaveLength(3);
    await running.waitForTaskManagers(3);
    const gateway = running.executor.gatewayOf(master)!;
    const used = gateway.taskManagers.map((tm) => tm.id);
    expect(used).toHaveLength(2);
    const spare = registry.taskManagers().find((tm) => !used.includes(tm.id))!;
    expect(spare.freeSlots).toBe(1);
    await until(() => expect(master.getCheckpointStats()?.counts.completed ?? 0).toBeGreaterThanOrEqual(1));

    const before = new Set(registry.taskManagers().map((tm) => tm.id));
    const pids = new Set(running.cluster.taskManagerProcesses.map((p) => p.child.pid));
    const [victimId, survivorId] = used;
    const victim = running.cluster.taskManagerProcesses.find((p) => p.taskManagerId === victimId)!;
    const attempt = master.currentAttemptNumber;
    victim.child.kill('SIGKILL');
    await allTasksRunning(master, attempt + 1);

    // Redeployed on the survivor and the spare: TaskManagers registered before the kill, so no
    // new process was waited for.
    const now = gateway.taskManagers.map((tm) => tm.id).sort();
    expect(now).toEqual([survivorId, spare.id].sort());
    for (const id of now) expect(before.has(id)).toBe(true);
    // The replacement started in the background registers and is the new spare.
    const replacement = await until(() => {
      const fresh = registry.taskManagers().find((tm) => !before.has(tm.id));
      expect(fresh).toBeDefined();
      return fresh!;
    });
    const started = running.cluster.taskManagerProcesses.find((p) => !pids.has(p.child.pid))!;
    expect(started.taskManagerId).toBe(replacement.id);
    // Not beside the restore, whose CPU it would take: once every task ran again.
    expect(started.startedAt).toBeGreaterThanOrEqual(master.lastAttemptTimings!.allRunningAt!);
    expect(registry.taskManagers()).toHaveLength(3);
    // A spare: the job runs (or, on a slow machine, finished) without it.
    expect(gateway.taskManagers.map((tm) => tm.id)).not.toContain(replacement.id);

    const rows = await result;
    expect(sortedRows(rows)).toEqual(sortedRows(expectedRunningCounts(records, 16)));
    expect(master.getNumRestarts()).toBe(1);
  }, 60_000);

  it('with 1, losing both TaskManagers of the job at once starts replacements without holding them: the job waits for slots', async () => {
    const records = 24_000;
    const args = [String(records), '2', '200', '4000', '16'];
    const running = await startOnDemand(args, { 'slotmanager.redundant-taskmanager-num': '1' });
    const result = main(args);
    const master = await firstJobMaster(running);
    await allTasksRunning(master);
    await running.waitForTaskManagers(3);
    const gateway = running.executor.gatewayOf(master)!;
    const used = new Set(gateway.taskManagers.map((tm) => tm.id));
    const pids = new Set(running.cluster.taskManagerProcesses.map((p) => p.child.pid));
    const attempt = master.currentAttemptNumber;
    const killedAt = Date.now();
    for (const p of running.cluster.taskManagerProcesses)
      if (used.has(p.taskManagerId)) p.child.kill('SIGKILL');

    // One spare cannot hold the job's two slots: a replacement must start while it waits.
    await allTasksRunning(master, attempt + 1);
    const fresh = running.cluster.taskManagerProcesses.filter((p) => !pids.has(p.child.pid));
    expect(fresh.length).toBeGreaterThanOrEqual(1);
    // Started long before a held replacement would be (10 s after the loss).
    expect(Math.min(...fresh.map((p) => p.startedAt)) - killedAt).toBeLessThan(5_000);
    const rows = await result;
    expect(sortedRows(rows)).toEqual(sortedRows(expectedRunningCounts(records, 16)));
  }, 60_000);
});
