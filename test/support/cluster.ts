/** Starts a JobManager in the test process with TaskManager child processes, and always stops them. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterEach, expect, vi } from 'vitest';
import { rootLogger } from '../../src/core/log.js';
import type { JobMaster } from '../../src/coordinator/job-master.js';
import type { TcpAddress } from '../../src/network/tcp-transport.js';
import { Configuration } from '../../src/core/configuration.js';
import {
  setDefaultPipelineExecutor,
  getDefaultPipelineExecutor,
  type PipelineExecutor,
} from '../../src/api/execution.js';
import { ClusterExecutor, moduleJobSources } from '../../src/cluster/cluster-executor.js';
import { bundleJob } from '../../src/cluster/job-bundle.js';
import { LocalCluster } from '../../src/cluster/local-cluster.js';
import type { RegisteredTaskManager, TaskManagerRegistry } from '../../src/cluster/task-manager-registry.js';

export const KEYED_COUNT_JOB = fileURLToPath(new URL('../fixtures/keyed-count-job.ts', import.meta.url));

/** A running test cluster. */
export interface TestCluster {
  readonly cluster: LocalCluster;
  readonly executor: ClusterExecutor;
  readonly configuration: Configuration;
  /** Resolves once `n` TaskManagers are registered. */
  waitForTaskManagers(n: number): Promise<readonly RegisteredTaskManager[]>;
  close(): Promise<void>;
}

/**
 * A cluster with `taskManagers` child processes of `slots` slots each, running the job module
 * `jobFile` (with `args`) as its executor's jobs: call the module's `main(args)` in the test.
 */
export async function startTestCluster(settings: {
  readonly jobFile: string;
  readonly args: readonly string[];
  readonly taskManagers: number;
  readonly slots: number;
  readonly config?: Readonly<Record<string, string>>;
  /** Start TaskManagers as jobs need slots, as local mode does (`LocalCluster.ensureSlots`). */
  readonly startOnDemand?: boolean;
}): Promise<TestCluster> {
  const configuration = new Configuration().addAll({
    'taskmanager.numberOfTaskSlots': String(settings.slots),
    ...settings.config,
  });
  const bundle = await bundleJob(settings.jobFile);
  const cluster = await LocalCluster.start(configuration);
  const previous: PipelineExecutor | undefined = getDefaultPipelineExecutor();
  const executor = new ClusterExecutor({
    registry: cluster.registry,
    configuration,
    nextJobSource: moduleJobSources({ bundle, args: settings.args, configuration }),
    ...(settings.startOnDemand ? { onSlotDemand: (slots: number) => cluster.ensureSlots(slots) } : {}),
  });
  if (settings.startOnDemand) cluster.holdReplacementsWhile(() => executor.recovering);
  setDefaultPipelineExecutor(executor);
  for (let i = 0; i < settings.taskManagers; i++) cluster.spawnTaskManager(settings.slots);
  const waitForTaskManagers = (n: number) =>
    new Promise<readonly RegisteredTaskManager[]>((resolve) => {
      const check = () => {
        const tms = cluster.registry.taskManagers();
        if (tms.length < n) return false;
        off();
        resolve(tms);
        return true;
      };
      const off = cluster.registry.onRegistration(() => void check());
      check();
    });
  return {
    cluster,
    executor,
    configuration,
    waitForTaskManagers,
    close: async () => {
      for (const master of executor.jobMasters) await master.cancel().catch(() => {});
      if (previous) setDefaultPipelineExecutor(previous);
      await cluster.close();
    },
  };
}

/**
 * For a test file: `start` a cluster as `startTestCluster` does and `defer` other clean-ups. After
 * each test the deferred clean-ups run, newest first, then the cluster stops, even on failure.
 */
export function useTestClusters(): {
  start(settings: Parameters<typeof startTestCluster>[0]): Promise<TestCluster>;
  defer(cleanup: () => unknown): void;
} {
  let running: TestCluster | undefined;
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await Promise.resolve(cleanup()).catch(() => {});
    await running?.close();
    running = undefined;
  });
  return {
    start: async (settings) => (running = await startTestCluster(settings)),
    defer: (cleanup) => void cleanups.push(cleanup),
  };
}

/** The rows a failure-free run of the keyed-count job yields: for each key k, counts 1..n_k. */
export function expectedRunningCounts(records: number, keys: number): [number, number][] {
  const counts = new Array<number>(keys).fill(0);
  const rows: [number, number][] = [];
  for (let i = 0; i < records; i++) rows.push([i % keys, ++counts[i % keys]!]);
  return rows;
}

/** Rows sorted, for comparing multisets. */
export function sortedRows(rows: readonly [number, number][]): [number, number][] {
  return [...rows].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
}

// ---- processes, logs and conditions for the cluster security and failure-detection tests ----

export const SLUICE_BIN = fileURLToPath(new URL('../../bin/sluice.js', import.meta.url));

/** Polls `check` until it passes or `timeoutMs` passed: a condition with a deadline, never a sleep. */
export function until<T>(check: () => T | Promise<T>, timeoutMs = 20_000): Promise<T> {
  return vi.waitFor(check, { timeout: timeoutMs, interval: 20 });
}

/** The first job the cluster's executor runs, once submitted. */
export function firstJobMaster(running: TestCluster): Promise<JobMaster> {
  return until(() => {
    const master = running.executor.jobMasters[0];
    if (!master) throw new Error('no job submitted yet');
    return master;
  });
}

/** Resolves once every task of `master`'s attempt `attempt` or later is RUNNING; throws if the job ended otherwise. */
export function allTasksRunning(master: JobMaster, attempt = 0): Promise<void> {
  return until(() => {
    const status = master.getJobStatus();
    if (status === 'FAILED' || status === 'CANCELED' || status === 'FINISHED')
      throw new Error(`job ${status} before all its tasks ran`);
    const states = master.taskExecutionStates.flat();
    expect(master.currentAttemptNumber).toBeGreaterThanOrEqual(attempt);
    expect(status).toBe('RUNNING');
    expect(states.length).toBeGreaterThan(0);
    expect(states.every((s) => s === 'RUNNING')).toBe(true);
  });
}

/** A `sluice taskmanager` process a test started itself (not one of the LocalCluster's). */
export interface TaskManagerProcess {
  readonly child: ChildProcess;
  /** What it wrote to stderr so far. */
  stderr(): string;
  /** Resolves when it exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `sluice taskmanager --jobmanager HOST:PORT` with `secret` in SLUICE_CLUSTER_SECRET. */
export function spawnTaskManagerProcess(settings: {
  readonly jobManager: TcpAddress;
  readonly secret: string;
  readonly id?: string;
  readonly defines?: Readonly<Record<string, string>>;
  readonly logLevel?: string;
  /** Node options of the TaskManager process, e.g. `--max-old-space-size=64`. */
  readonly nodeOptions?: readonly string[];
}): TaskManagerProcess {
  const defines = Object.entries(settings.defines ?? {}).flatMap(([k, v]) => ['-D', `${k}=${v}`]);
  const child = spawn(
    process.execPath,
    [
      ...(settings.nodeOptions ?? []),
      SLUICE_BIN,
      'taskmanager',
      '--jobmanager',
      `${settings.jobManager.host}:${settings.jobManager.port}`,
      ...(settings.id === undefined ? [] : ['--id', settings.id]),
      ...defines,
    ],
    {
      env: {
        ...process.env,
        SLUICE_CLUSTER_SECRET: settings.secret,
        SLUICE_LOG_LEVEL: settings.logLevel ?? 'warn',
        SLUICE_LOG_FORMAT: 'json',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => void (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null)
      resolve({ code: child.exitCode, signal: child.signalCode });
    // 'close': the exit, and stderr read to its end.
    child.once('close', (code, signal) => resolve({ code, signal }));
    child.once('error', () => resolve({ code: child.exitCode, signal: child.signalCode }));
  });
  return { child, stderr: () => stderr, exited };
}

/** Ends a child process for good, stopped (SIGSTOP) or not, and waits until it is gone. */
export async function killProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await gone;
}

/** A log line as pino writes it. */
export interface LogLine {
  readonly level: number;
  readonly component?: string;
  readonly msg: string;
  readonly err?: { readonly message: string; readonly code?: string };
}

/**
 * Captures the lines of this process's loggers for `components` (created from now on), whatever
 * SLUICE_LOG_LEVEL says; `restore` stops capturing.
 */
export function captureLogs(components: readonly string[]): { lines: LogLine[]; restore: () => void } {
  const root = rootLogger();
  const original = root.child.bind(root);
  const lines: LogLine[] = [];
  const sink = pino(
    { level: 'debug' },
    { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) },
  );
  const spy = vi
    .spyOn(root, 'child')
    .mockImplementation((bindings, options) =>
      typeof bindings['component'] === 'string' && components.includes(bindings['component'])
        ? sink.child(bindings)
        : original(bindings, options),
    );
  return { lines, restore: () => spy.mockRestore() };
}

/**
 * Makes a ClusterExecutor on `registry` (another JobManager's, say) the default executor, running
 * the job module `jobFile` with `args`; `restore` puts the previous default back and cancels its jobs.
 */
export async function useClusterExecutor(
  registry: TaskManagerRegistry,
  settings: {
    readonly jobFile: string;
    readonly args: readonly string[];
    readonly configuration: Configuration;
  },
): Promise<{ readonly executor: ClusterExecutor; restore(): Promise<void> }> {
  const bundle = await bundleJob(settings.jobFile);
  const executor = new ClusterExecutor({
    registry,
    configuration: settings.configuration,
    nextJobSource: moduleJobSources({ bundle, args: settings.args, configuration: settings.configuration }),
  });
  const previous = getDefaultPipelineExecutor();
  setDefaultPipelineExecutor(executor);
  return {
    executor,
    restore: async () => {
      for (const master of executor.jobMasters) await master.cancel().catch(() => {});
      if (previous) setDefaultPipelineExecutor(previous);
    },
  };
}
