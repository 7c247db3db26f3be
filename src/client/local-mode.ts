/**
 * Local mode: the JobManager in this process, TaskManager child processes, and the REST API on
 * `rest.port`. What `sluice run` uses, and `env.execute()` in a plain `node job.js` run.
 */
import type { Configuration } from '../core/configuration.js';
import type { PipelineExecutor } from '../api/execution.js';
import { ClusterExecutor, moduleJobSources } from '../cluster/cluster-executor.js';
import { LocalCluster } from '../cluster/local-cluster.js';
import { LocalExecutor } from '../cluster/local-executor.js';
import { ClusterRestBackend } from '../rest/cluster-rest-backend.js';
import { LocalRestBackend } from '../rest/local-rest-backend.js';
import type { RestBackend } from '../rest/rest-backend.js';
import { startRestServer, type RestServer } from '../rest/rest-server.js';
import { restServerSettings } from '../rest/rest-server-settings.js';

/** A started local mode. */
export interface LocalMode {
  readonly executor: PipelineExecutor;
  readonly server: RestServer;
  /** The TaskManager processes' cluster; undefined inline (`execution.target: inline`). */
  readonly cluster: LocalCluster | undefined;
  close(): Promise<void>;
}

/**
 * Starts the JobManager side for the job module `bundle` (undefined: run inline) and the REST
 * API. A taken `rest.port` is SLUICE_REST_PORT_IN_USE and leaves nothing running.
 */
export async function startLocalMode(settings: {
  readonly configuration: Configuration;
  readonly bundle: Uint8Array | undefined;
  readonly args: readonly string[];
  readonly parallelism?: number | undefined;
}): Promise<LocalMode> {
  const { configuration, bundle } = settings;
  // Bad REST settings (a missing certificate) fail before anything starts.
  const rest = restServerSettings(configuration);
  const cluster = bundle ? await LocalCluster.start(configuration) : undefined;
  let executor: PipelineExecutor;
  let backend: RestBackend;
  if (cluster && bundle) {
    const clusterExecutor = new ClusterExecutor({
      registry: cluster.registry,
      configuration,
      nextJobSource: moduleJobSources({ ...settings, bundle }),
      onSlotDemand: (slots) => cluster.ensureSlots(slots),
    });
    cluster.holdReplacementsWhile(() => clusterExecutor.recovering);
    executor = clusterExecutor;
    backend = new ClusterRestBackend(clusterExecutor, cluster.registry);
  } else {
    const local = new LocalExecutor();
    executor = local;
    backend = new LocalRestBackend(local);
  }
  // Local mode runs the jobs of its own command line: it takes none over REST (web.submit.enable).
  const server = await startRestServer({ backend, ...rest }).catch(async (e: unknown) => {
    await cluster?.close();
    throw e;
  });
  return {
    executor,
    server,
    cluster,
    close: async () => {
      await server.close();
      await cluster?.close();
    },
  };
}
