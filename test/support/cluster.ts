/** Starts a JobManager in the test process with TaskManager child processes, and always stops them. */
import { fileURLToPath } from 'node:url';
import { Configuration } from '../../src/core/configuration.js';
import { setDefaultPipelineExecutor, getDefaultPipelineExecutor, type PipelineExecutor } from '../../src/api/execution.js';
import { ClusterExecutor } from '../../src/cluster/cluster-executor.js';
import { bundleJob } from '../../src/cluster/job-bundle.js';
import { LocalCluster } from '../../src/cluster/local-cluster.js';
import type { RegisteredTaskManager } from '../../src/cluster/task-manager-registry.js';

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
}): Promise<TestCluster> {
  const configuration = new Configuration().addAll({
    'taskmanager.numberOfTaskSlots': String(settings.slots),
    ...settings.config,
  });
  const bundle = await bundleJob(settings.jobFile);
  const cluster = await LocalCluster.start(configuration);
  const previous: PipelineExecutor | undefined = getDefaultPipelineExecutor();
  let jobIndex = 0;
  const executor = new ClusterExecutor({
    registry: cluster.registry,
    configuration,
    nextJobSource: () => ({
      bundle,
      jobIndex: jobIndex++,
      args: settings.args,
      configuration: configuration.toMap({ redactSecrets: false }),
    }),
  });
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
