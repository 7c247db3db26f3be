/**
 * Recovery with ~100 MB of keyed state: a job at parallelism 2 on two TaskManager processes, with
 * one redundant TaskManager (`slotmanager.redundant-taskmanager-num: 1`, as a Flink setup for fast
 * failover keeps), checkpointing to a temporary directory every second; once a checkpoint holds
 * the full state, one TaskManager running tasks is SIGKILLed and the time until every task RUNS
 * again is taken apart. The JobManager sends state handles only; each task reads, verifies and
 * restores its own files.
 */
import { cp, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MsgpackSerializer } from '../src/core/serializer.js';
import type { JobMaster } from '../src/coordinator/job-master.js';
import { pointerToPath } from '../src/storage/filesystem/file-paths.js';
import { main } from './jobs/large-state.js';
import { jobMasterOf, startBenchCluster, withExecutor, type BenchCluster } from './cluster-support.js';
import type { ComparisonResult } from './harness.js';

const JOB_FILE = fileURLToPath(new URL('./jobs/large-state.ts', import.meta.url));
const CHECKPOINT_INTERVAL_MS = 1000;
const RECORDS_PER_SECOND = 20_000;
/** TaskManagers running the job, and spares beside them. */
const TASK_MANAGERS = 2;
const REDUNDANT_TASK_MANAGERS = 1;

/** Settings of the recovery benchmark. */
export interface RecoveryOptions {
  /** Keyed state the job holds in total (default 100 MiB). */
  readonly stateBytes?: number;
  /** Bytes of state per key (default 4 KiB). */
  readonly valueBytes?: number;
  /** TaskManager kills, one recovery sample each (default 2; the fastest counts). */
  readonly kills?: number;
  /** The keyed state backend (`state.backend.type`, default `hashmap`). */
  readonly backend?: 'hashmap' | 'lmdb';
}

/** One recovery, in ms from the kill, taken apart. */
interface RecoverySample {
  readonly checkpointId: number;
  readonly checkpointBytes: number;
  /** kill → the JobMaster records the failure. */
  readonly detection: number;
  /** failure → the next attempt starts (the restart delay, 0 ms here). */
  readonly restartDelay: number;
  /** The JobMaster checks the checkpoint's files exist (no bytes read) and plans the restore. */
  readonly readState: number;
  /** Waiting for free slots (none: the redundant TaskManager's are free). */
  readonly slots: number;
  /** The deploy round trip: state handles sent, the job module loaded, tasks created and started. */
  readonly deploy: number;
  /**
   * The deploy acknowledged → the JobMaster knows every task RUNNING (0: RUNNING came first): each
   * task reads and verifies its own state files and restores them, in parallel on the TaskManagers.
   */
  readonly untilRunning: number;
  /** The deploy sent → the last task RUNNING on the TaskManager that survived, and on the spare. */
  readonly survivorRunning: number;
  readonly spareRunning: number;
  /** kill → every task RUNNING. */
  readonly total: number;
  /** Restarts this kill caused (1 unless a redeployment failed too). */
  readonly restarts: number;
}

function waitFor(what: string, timeoutMs: number, condition: () => boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = setInterval(() => {
      if (condition()) {
        clearInterval(poll);
        resolve();
      } else if (Date.now() - started > timeoutMs) {
        clearInterval(poll);
        reject(new Error(`cluster-recovery: ${what} did not happen within ${timeoutMs} ms`));
      }
    }, 5);
  });
}

/** The checkpoint every task's state is in once, complete, newer than `after`. */
function fullCheckpoint(master: JobMaster, minBytes: number, after: number) {
  const latest = master.getCheckpointStats()?.latestCompleted;
  return latest && latest.id > after && latest.stateSize >= minBytes ? latest : undefined;
}

/** Kills one TaskManager and measures the recovery of `master`'s job from it. */
async function killAndRecover(
  bench: BenchCluster,
  master: JobMaster,
  victim: number,
): Promise<Omit<RecoverySample, 'checkpointId' | 'checkpointBytes'>> {
  const attempt = master.currentAttemptNumber;
  const restartsBefore = master.getNumRestarts();
  const gateway = bench.executor.gatewayOf(master);
  const previousDeployment = gateway?.lastTimings;
  // One of the TaskManagers running tasks, not the spare.
  const running = gateway?.taskManagers ?? [];
  const victimId = running[victim % running.length]?.id;
  const process = bench.cluster.taskManagerProcesses.find((p) => p.taskManagerId === victimId);
  if (!process) throw new Error('cluster-recovery: no TaskManager process runs the job');
  const killedAt = Date.now();
  process.child.kill('SIGKILL');
  // Tasks report RUNNING before their TaskManager acknowledges the deployment: wait for both.
  await waitFor('the job running again', 60_000, () => {
    const t = master.lastAttemptTimings;
    return (
      master.currentAttemptNumber > attempt &&
      t?.allRunningAt !== undefined &&
      gateway?.lastTimings !== previousDeployment
    );
  });
  const failure = master.exceptionHistory.find((f) => f.timestamp >= killedAt);
  const t = master.lastAttemptTimings!;
  const deployment = gateway?.lastTimings;
  if (!failure || t.deployingAt === undefined || t.allRunningAt === undefined || !deployment)
    throw new Error('cluster-recovery: the failure or the redeployment left no timings');
  const deployAcked = t.deployingAt + deployment.slotsMs + deployment.deployMs;
  // When the last task on each TaskManager ran, from the deploy (the survivor ran tasks before).
  const lastRunning = new Map<string, number>();
  master.taskStateTimestamps.forEach((subtasks, v) =>
    subtasks.forEach((at, s) => {
      const id = gateway?.placementOf(v, s)?.id ?? '';
      lastRunning.set(id, Math.max(lastRunning.get(id) ?? 0, at - t.deployingAt!));
    }),
  );
  const survivorId = running.find((tm) => tm.id !== victimId)?.id ?? '';
  const spareId = [...lastRunning.keys()].find((id) => id !== survivorId) ?? '';
  return {
    survivorRunning: lastRunning.get(survivorId) ?? NaN,
    spareRunning: lastRunning.get(spareId) ?? NaN,
    detection: failure.timestamp - killedAt,
    restartDelay: t.startedAt - failure.timestamp,
    readState: t.deployingAt - t.startedAt,
    slots: deployment.slotsMs,
    deploy: deployment.deployMs,
    untilRunning: Math.max(0, t.allRunningAt - deployAcked),
    total: t.allRunningAt - killedAt,
    restarts: master.getNumRestarts() - restartsBefore,
  };
}

/** The restore's floor: read the checkpoint's files in `dir` here and decode as many values of the same size. */
async function restoreFloorMs(dir: string, keys: number, valueBytes: number): Promise<number> {
  const serializer = new MsgpackSerializer<Uint8Array>();
  const encoded = serializer.serialize(new Uint8Array(valueBytes)).slice();
  const started = performance.now();
  let bytes = 0;
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true }))
    if (entry.isFile()) bytes += (await readFile(join(entry.parentPath, entry.name))).length;
  let decoded = 0;
  for (let i = 0; i < keys; i++) decoded += serializer.deserialize(encoded, 0, encoded.length).length;
  const ms = performance.now() - started;
  if (bytes === 0 || decoded !== keys * valueBytes)
    throw new Error(`cluster-recovery: nothing read in ${dir}`);
  return ms;
}

function lines(samples: readonly RecoverySample[]): string[] {
  const row = (label: string, pick: (s: RecoverySample) => number, note: string) =>
    `    ${label.padEnd(13)}${samples.map((s) => String(Math.round(pick(s))).padStart(7)).join('')} ms   ${note}`;
  return [
    `  recovery samples (kill → all tasks RUNNING), each from a checkpoint of ${samples.map((s) => `${(s.checkpointBytes / 2 ** 20).toFixed(1)} MiB`).join(', ')}:`,
    row('detection', (s) => s.detection, 'kill → the JobManager records the failure'),
    row(
      'redeploy',
      (s) => s.restartDelay + s.slots,
      'restart delay (0 ms configured) + taking the redundant TaskManager’s slot',
    ),
    row('  delay', (s) => s.restartDelay, 'failure → the new attempt starts'),
    row(
      '  slots',
      (s) => s.slots,
      'slots allocated (a spare is registered: no process start; its replacement starts in the background)',
    ),
    row(
      'restore',
      (s) => s.readState + s.deploy + s.untilRunning,
      'files checked by the JobManager + deploy round trip + until RUNNING',
    ),
    row(
      '  check',
      (s) => s.readState,
      'the JobManager stats the checkpoint’s files and plans handles (before the slot wait)',
    ),
    row('  deploy', (s) => s.deploy, 'handles sent over RPC, tasks created and started'),
    row(
      '  running',
      (s) => s.untilRunning,
      'deploy acknowledged → the last RUNNING heard: tasks read, verify and restore their own files',
    ),
    row(
      '  survivor',
      (s) => s.survivorRunning,
      'deploy sent → its last task RUNNING, on the TaskManager that survived',
    ),
    row(
      '  spare',
      (s) => s.spareRunning,
      'the same on the spare (a fresh process: its first deployment and restore)',
    ),
    row('total', (s) => s.total, `restarts per kill: ${samples.map((s) => s.restarts).join(', ')}`),
  ];
}

/** Runs the benchmark: its result (total recovery vs the restore floor) and the breakdown lines. */
export async function clusterRecovery(
  options: RecoveryOptions = {},
): Promise<{ results: ComparisonResult[]; lines: string[] }> {
  const valueBytes = options.valueBytes ?? 4096;
  const stateBytes = options.stateBytes ?? 100 * 2 ** 20;
  const keys = Math.max(2, Math.round(stateBytes / valueBytes));
  const kills = options.kills ?? 2;
  const backend = options.backend ?? 'hashmap';
  const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-recovery-'));
  const args = [
    String(keys),
    String(valueBytes),
    pathToFileURL(join(dir, 'checkpoints')).href,
    String(CHECKPOINT_INTERVAL_MS),
    String(RECORDS_PER_SECOND),
    '2',
    backend,
  ];
  let bench: BenchCluster | undefined;
  try {
    bench = await startBenchCluster({
      jobFile: JOB_FILE,
      args,
      taskManagers: TASK_MANAGERS,
      slots: 1,
      config: { 'slotmanager.redundant-taskmanager-num': String(REDUNDANT_TASK_MANAGERS) },
    });
    const { executor } = bench;
    const master = await withExecutor(
      executor,
      () =>
        new Promise<JobMaster>((resolve, reject) => {
          main(args, (client) => resolve(jobMasterOf(client))).catch(reject);
        }),
    );
    const samples: RecoverySample[] = [];
    let after = 0;
    for (let k = 0; k < kills; k++) {
      // The spare is up (after a kill, the replacement of the last victim), as it would long be in
      // production: registered, and settled for a checkpoint interval (one completes after it).
      await bench.waitForTaskManagers(TASK_MANAGERS + REDUNDANT_TASK_MANAGERS, 60_000);
      after = Math.max(after, master.getCheckpointStats()?.latestCompleted?.id ?? 0);
      // A checkpoint taken after that, holding every key's value.
      await waitFor(
        'a checkpoint with the full state',
        60_000,
        () => fullCheckpoint(master, keys * valueBytes, after) !== undefined,
      );
      const checkpoint = fullCheckpoint(master, keys * valueBytes, after)!;
      const sample = await killAndRecover(bench, master, k);
      const restored = master.getCheckpointStats()?.latestRestored;
      if (restored?.id !== checkpoint.id)
        throw new Error(`cluster-recovery: restored checkpoint ${restored?.id}, expected ${checkpoint.id}`);
      samples.push({ ...sample, checkpointId: checkpoint.id, checkpointBytes: checkpoint.stateSize });
      after = checkpoint.id;
    }
    // The floor is measured on a copy once the cluster stopped (which deletes its checkpoints), so
    // no TaskManager competes with it; the copy's pages are cached, as the checkpoint's were.
    const restored = pointerToPath(master.getCheckpointStats()?.latestRestored?.externalPath ?? '');
    await cp(restored, join(dir, 'floor'), { recursive: true });
    await bench.close();
    bench = undefined;
    const floor = await restoreFloorMs(join(dir, 'floor'), keys, valueBytes);
    const totals = samples.map((s) => s.total);
    const value = Math.min(...totals);
    const result: ComparisonResult = {
      name: backend === 'hashmap' ? 'cluster-recovery-100mb' : `cluster-recovery-100mb-${backend}`,
      description:
        `SIGKILL of 1 of ${TASK_MANAGERS} TaskManagers (and ${REDUNDANT_TASK_MANAGERS} redundant) running a keyed job (p2) with ${((keys * valueBytes) / 2 ** 20).toFixed(0)} MiB of ` +
        `ValueState (${keys} keys × ${valueBytes} B) in the ${backend} backend, filesystem checkpoints every ${CHECKPOINT_INTERVAL_MS} ms, ` +
        'fixed-delay restart of 0 ms: kill → every task RUNNING again',
      baselineDescription:
        'read the restored checkpoint’s files and msgpack-decode as many values, in this process',
      unit: 'ms',
      goal: 2,
      goalOf: 'ratio-at-most',
      value,
      baseline: floor,
      ratio: value / floor,
      subjectSamples: totals,
      baselineSamples: [floor],
    };
    return { results: [result], lines: lines(samples) };
  } finally {
    await bench?.close();
    await rm(dir, { recursive: true, force: true });
  }
}
