// Region failover on a cluster: a job whose subtask indexes are separate pipelined regions, on two
// TaskManagers of one slot each. Killing one TaskManager restarts only the region it ran, on a
// replacement TaskManager, from the latest checkpoint; the other TaskManager's tasks run on. With
// state inline (jobmanager storage) and in files, which the restarted tasks read themselves.
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { main } from '../fixtures/forward-pipeline-job.js';
import { pointerToPath } from '../../src/storage/filesystem/file-paths.js';
import { resolveFileCheckpoint } from '../../src/storage/filesystem/file-system-checkpoint-storage.js';
import { allTasksRunning, firstJobMaster, until, useTestClusters } from '../support/cluster.js';
import { fileUri } from '../support/checkpointing.js';
import { range } from '../support/helpers.js';

const FORWARD_PIPELINE_JOB = fileURLToPath(new URL('../fixtures/forward-pipeline-job.ts', import.meta.url));

const clusters = useTestClusters();

/** The `[i, seen]` lines a subtask's sink wrote, per attempt file. */
async function linesOf(outDir: string, subtask: number): Promise<Map<string, [number, number][]>> {
  const out = new Map<string, [number, number][]>();
  for (const file of (await readdir(outDir)).filter((f) => f.startsWith(`s${subtask}-`)).sort()) {
    const text = await readFile(join(outDir, file), 'utf8');
    out.set(
      file,
      text
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as [number, number]),
    );
  }
  return out;
}

describe('region failover on a cluster', () => {
  it.each([
    ['inline in the JobManager', false],
    ['in state files the restarted tasks read', true],
  ])(
    'a SIGKILLed TaskManager restarts only its region; the other runs on untouched (state %s)',
    async (_what, files) => {
      const dir = await mkdtemp(join(tmpdir(), 'sluice-region-'));
      clusters.defer(() => rm(dir, { recursive: true, force: true }));
      const checkpoints = await mkdtemp(join(tmpdir(), 'sluice-region-chk-'));
      clusters.defer(() => rm(checkpoints, { recursive: true, force: true }));
      const records = 8_000;
      const args = [dir, String(records), '2', '100', '2000', ...(files ? [fileUri(checkpoints)] : [])];
      const running = await clusters.start({
        jobFile: FORWARD_PIPELINE_JOB,
        args,
        taskManagers: 2,
        slots: 1,
      });
      await running.waitForTaskManagers(2);
      const result = main(args);
      const master = await firstJobMaster(running);
      await allTasksRunning(master);
      await until(() => expect(master.getCheckpointStats()?.counts.completed).toBeGreaterThan(0));
      if (files)
        // Operator state goes to files: a restore deploys their handles and the tasks read them.
        // (Polled: the newest checkpoint may be subsumed, and deleted, while it is being read.)
        await until(async () => {
          const latest = master.getCheckpointStats()!.latestCompleted!;
          const { metadata } = await resolveFileCheckpoint(pointerToPath(latest.externalPath!));
          const handles = metadata.operators.flatMap((op) => op.subtasks.flatMap((st) => st.operator));
          expect(handles.length).toBeGreaterThan(0);
          expect(handles.every((h) => h.handle.kind === 'file')).toBe(true);
        });
      const gateway = running.executor.gatewayOf(master)!;
      const victim = gateway.placementOf(0, 0)!;
      const survivor = gateway.placementOf(0, 1)!;
      expect(victim).not.toBe(survivor);
      const victimProcess = running.cluster.taskManagerProcesses.find((p) => p.taskManagerId === victim.id)!;
      victimProcess.child.kill('SIGKILL');

      const outcome = await result;
      expect(outcome.numRestarts).toBe(1);
      expect(master.getJobStatus()).toBe('FINISHED');
      expect(master.getCheckpointStats()?.latestRestored).toBeDefined();
      // Subtask 1 of every vertex (region 1) ran once; subtask 0 (region 0) was restarted elsewhere.
      expect(master.taskAttemptNumbers.map((row) => row[1])).toEqual([0, 0, 0]);
      expect(master.taskAttemptNumbers.every((row) => row[0]! >= 1)).toBe(true);
      expect(gateway.placementOf(0, 1)).toBe(survivor);
      expect(gateway.placementOf(0, 0)).not.toBe(victim);
      expect(running.cluster.registry.taskManagers()).toContain(survivor);

      // Region 1 never replayed: one file, every record once, numbered 1, 2, 3, ... in order.
      const region1 = await linesOf(dir, 1);
      expect([...region1.keys()]).toEqual(['s1-a0.jsonl']);
      const lines1 = region1.get('s1-a0.jsonl')!;
      expect(lines1.map(([, seen]) => seen)).toEqual(range(1, lines1.length));
      // Region 0 replayed what followed its checkpoint (this sink is at-least-once), with the same
      // numbering: the map's state and the source's position were restored together.
      const region0 = await linesOf(dir, 0);
      expect(region0.size).toBeGreaterThanOrEqual(2);
      const seenOf = new Map<number, Set<number>>();
      for (const lines of region0.values())
        for (const [i, seen] of lines) seenOf.set(i, (seenOf.get(i) ?? new Set()).add(seen));
      expect([...seenOf.values()].filter((s) => s.size !== 1)).toEqual([]);
      expect([...seenOf.values()].map((s) => [...s][0]!).sort((a, b) => a - b)).toEqual(
        range(1, seenOf.size),
      );
      // Nothing lost: the two regions together wrote every record.
      const all = new Set([...seenOf.keys(), ...lines1.map(([i]) => i)]);
      expect([...all].sort((a, b) => a - b)).toEqual(range(0, records - 1));
    },
  );
});
