// Local recovery on a cluster of TaskManager processes: with execution.state-recovery.from-local a
// job that fails in user code restarts on the same TaskManagers and its tasks read their state
// from the copies they kept on local disk, with exactly-once results; a corrupted copy is read from
// checkpoint storage instead; with the option off nothing is written locally.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { JobMaster } from '../../src/coordinator/job-master.js';
import type { RemoteTaskManagers } from '../../src/cluster/remote-task-managers.js';
import { main, TRIGGER_FILE } from '../fixtures/local-recovery-job.js';
import { fileUri, listFiles } from '../support/checkpointing.js';
import {
  allTasksRunning,
  expectedRunningCounts,
  firstJobMaster,
  sortedRows,
  until,
  useTestClusters,
} from '../support/cluster.js';

const LOCAL_RECOVERY_JOB = fileURLToPath(new URL('../fixtures/local-recovery-job.ts', import.meta.url));
const RECORDS = 12_000;
const KEYS = 16;
/**
 * Incremental: with many keys a checkpoint changes a fraction of them, so chains grow (a base
 * and several deltas, linked into each checkpoint's local directory) before a new base.
 */
const INCREMENTAL_KEYS = 1000;

const clusters = useTestClusters();

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  clusters.defer(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Starts the job on 2 TaskManagers of 1 slot each and waits until it completed 2 checkpoints. */
async function startJob(
  localRecovery: 'on' | 'off',
  restartDelayMs: number,
  incremental: 'on' | 'off' = 'off',
  keys = KEYS,
) {
  const control = await tempDir('sluice-localrec-control-');
  const checkpoints = await tempDir('sluice-localrec-chk-');
  const localRoot = await tempDir('sluice-localrec-local-');
  const args = [
    control,
    fileUri(checkpoints),
    localRecovery,
    String(restartDelayMs),
    String(RECORDS),
    String(keys),
    incremental,
  ];
  const running = await clusters.start({
    jobFile: LOCAL_RECOVERY_JOB,
    args,
    taskManagers: 2,
    slots: 1,
    config: { 'execution.checkpointing.local-backup.dirs': localRoot },
  });
  await running.waitForTaskManagers(2);
  const rows = main(args);
  rows.catch(() => {});
  const master = await firstJobMaster(running);
  await allTasksRunning(master);
  await until(() => expect(master.getCheckpointStats()?.counts.completed).toBeGreaterThanOrEqual(2));
  const gateway = running.executor.gatewayOf(master)!;
  return { control, localRoot, rows, master, gateway };
}

/** Fails one subtask in user code (the job restarts as a whole: keyBy makes it one region). */
async function failOnce(control: string): Promise<void> {
  await writeFile(join(control, TRIGGER_FILE), '');
}

/**
 * Waits until every subtask of the current attempt reported where its restore read its state
 * files, and checks that all of them came from `from` (some at least).
 */
function restoredFrom(
  master: JobMaster,
  gateway: RemoteTaskManagers,
  from: 'local' | 'remote',
): Promise<void> {
  const other = from === 'local' ? 'remote' : 'local';
  return until(() => {
    const sources = master.jobGraph.vertices.flatMap((v) =>
      Array.from({ length: v.parallelism }, (_, s) => {
        const counters = gateway.countersOf(v.index, s);
        return { local: counters?.['restoredFilesLocal'], remote: counters?.['restoredFilesRemote'] };
      }),
    );
    expect(sources.every((s) => s[other] === 0 && s[from] !== undefined)).toBe(true);
    expect(sources.reduce((n, s) => n + s[from]!, 0)).toBeGreaterThan(0);
  });
}

const placement = (master: JobMaster, gateway: RemoteTaskManagers) =>
  master.jobGraph.vertices.map((v) =>
    Array.from({ length: v.parallelism }, (_, s) => gateway.placementOf(v.index, s)?.id),
  );

describe('local recovery (execution.state-recovery.from-local)', () => {
  it.each([
    ['full', 'off', KEYS],
    ['incremental', 'on', INCREMENTAL_KEYS],
  ] as const)(
    'a job failing in user code restarts on the same TaskManagers and restores from local copies, exactly once (%s checkpoints)',
    async (_kind, incremental, keys) => {
      const { control, localRoot, rows, master, gateway } = await startJob('on', 100, incremental, keys);
      const jobDir = new RegExp(
        `^tm_\\d+_[0-9a-f]+/jid_${master.jobId}/vtx_[0-9a-f]+_sti_[01]/chk_\\d+/`,
        'u',
      );
      await until(async () => expect((await listFiles(localRoot)).some((f) => jobDir.test(f))).toBe(true));
      const before = placement(master, gateway);

      await failOnce(control);
      await allTasksRunning(master, 1);
      await restoredFrom(master, gateway, 'local');
      expect(placement(master, gateway)).toEqual(before);

      expect(sortedRows(await rows)).toEqual(sortedRows(expectedRunningCounts(RECORDS, keys)));
      expect(master.getJobStatus()).toBe('FINISHED');
      expect(master.getNumRestarts()).toBe(1);
      // The job ended: its TaskManagers deleted its local state.
      await until(async () => expect((await listFiles(localRoot)).filter((f) => jobDir.test(f))).toEqual([]));
    },
    90_000,
  );

  it('a corrupted local copy is not used: the restore reads checkpoint storage, with the same results', async () => {
    const { control, localRoot, rows, master, gateway } = await startJob('on', 1500);
    await failOnce(control);
    await until(() => expect(master.getJobStatus()).toBe('RESTARTING'));
    // Every local copy keeps its size but not its bytes. Copies of aborted checkpoints may vanish
    // meanwhile (then this looks again), so the damage must not undo itself when a file is damaged
    // twice (as flipping bits would), and a vanished file must not be written anew.
    await until(async () => {
      const files = await listFiles(localRoot);
      expect(files.length).toBeGreaterThan(0);
      for (const file of files) {
        const path = join(localRoot, file);
        const data = await readFile(path).catch(() => undefined);
        if (data) await writeFile(path, data.fill(0xa5), { flag: 'r+' }).catch(() => undefined);
      }
    });
    await allTasksRunning(master, 1);
    await restoredFrom(master, gateway, 'remote');
    expect(sortedRows(await rows)).toEqual(sortedRows(expectedRunningCounts(RECORDS, KEYS)));
    expect(master.getNumRestarts()).toBe(1);
  }, 90_000);

  it('with the option off, nothing is written locally and the restore reads checkpoint storage', async () => {
    const { control, localRoot, rows, master, gateway } = await startJob('off', 100);
    expect(await listFiles(localRoot)).toEqual([]);
    await failOnce(control);
    await allTasksRunning(master, 1);
    await restoredFrom(master, gateway, 'remote');
    expect(sortedRows(await rows)).toEqual(sortedRows(expectedRunningCounts(RECORDS, KEYS)));
    expect(await listFiles(localRoot)).toEqual([]);
  }, 90_000);
});
