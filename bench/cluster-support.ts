/** A JobManager in the bench process with TaskManager child processes, for the cluster benchmarks. */
import { Configuration } from '../src/core/configuration.js';
import {
  getDefaultPipelineExecutor,
  setDefaultPipelineExecutor,
  type JobClient,
  type PipelineExecutor,
} from '../src/api/execution.js';
import { ClusterExecutor } from '../src/cluster/cluster-executor.js';
import { bundleJob } from '../src/cluster/job-bundle.js';
import { LocalCluster } from '../src/cluster/local-cluster.js';
import { JobMaster } from '../src/coordinator/job-master.js';

/** A running bench cluster: its jobs run the job module it was started with. */
export interface BenchCluster {
  readonly cluster: LocalCluster;
  readonly executor: ClusterExecutor;
  /** Resolves once `n` TaskManagers are registered (fails after `timeoutMs`). */
  waitForTaskManagers(n: number, timeoutMs?: number): Promise<void>;
  /** Cancels what still runs and stops every TaskManager process and the JobManager endpoint. */
  close(): Promise<void>;
}

/**
 * Bundles `jobFile` and starts a JobManager here with `taskManagers` child processes of `slots`
 * slots each; every job the cluster executor runs is the module's, run with `args`. If start-up
 * fails half-way, what was started is stopped before the error is rethrown.
 */
export async function startBenchCluster(settings: {
  readonly jobFile: string;
  readonly args: readonly string[];
  readonly taskManagers: number;
  readonly slots: number;
  readonly config?: Readonly<Record<string, string>>;
}): Promise<BenchCluster> {
  const configuration = new Configuration().addAll({
    'taskmanager.numberOfTaskSlots': String(settings.slots),
    ...settings.config,
  });
  const bundle = await bundleJob(settings.jobFile);
  const cluster = await LocalCluster.start(configuration);
  const executor = new ClusterExecutor({
    registry: cluster.registry,
    configuration,
    // As in local mode: the cluster keeps the jobs' slots (and any redundant TaskManagers) running.
    onSlotDemand: (slots) => cluster.ensureSlots(slots),
    nextJobSource: () => ({
      bundle,
      // Each job is the first execute() of its own evaluation of the module (the module's entry
      // point runs main() once), unlike a test calling main() repeatedly in one process.
      jobIndex: 0,
      args: settings.args,
      configuration: configuration.toMap({ redactSecrets: false }),
    }),
  });
  cluster.holdReplacementsWhile(() => executor.recovering);
  const waitForTaskManagers = (n: number, timeoutMs = 30_000): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`${n} TaskManager(s) did not register within ${timeoutMs} ms`));
      }, timeoutMs);
      const check = (): void => {
        if (cluster.registry.taskManagers().length < n) return;
        clearTimeout(timer);
        off();
        resolve();
      };
      const off = cluster.registry.onRegistration(check);
      check();
    });
  const close = async (): Promise<void> => {
    for (const master of executor.jobMasters) await master.cancel().catch(() => {});
    await cluster.close();
  };
  try {
    for (let i = 0; i < settings.taskManagers; i++) cluster.spawnTaskManager(settings.slots);
    await waitForTaskManagers(settings.taskManagers);
  } catch (e) {
    await close();
    throw e;
  }
  return { cluster, executor, waitForTaskManagers, close };
}

/** Runs `fn` with `executor` as the one `execute()` uses, then puts the previous one back. */
export async function withExecutor<T>(executor: PipelineExecutor, fn: () => Promise<T>): Promise<T> {
  const previous = getDefaultPipelineExecutor();
  setDefaultPipelineExecutor(executor);
  try {
    return await fn();
  } finally {
    if (previous) setDefaultPipelineExecutor(previous);
  }
}

/** The JobMaster behind a JobClient (both executors hand out their JobMaster as the client). */
export function jobMasterOf(client: JobClient): JobMaster {
  if (!(client instanceof JobMaster)) throw new Error('the executor did not hand out its JobMaster');
  return client;
}
