/**
 * Local mode: the JobManager in this process, TaskManager child processes, and the REST API on
 * `rest.port`. What `sluice run` uses, and `env.execute()` in a plain `node job.js` run.
 */
import { existsSync } from 'node:fs';
import { resolve, sep } from 'node:path';
import type { Configuration } from '../core/configuration.js';
import { loadConfiguration } from '../core/configuration.js';
import { ClusterOptions } from '../core/config-options.js';
import type { JobClient, PipelineExecutor, PipelineSubmission } from '../api/execution.js';
import { ClusterExecutor, moduleJobSources } from '../cluster/cluster-executor.js';
import { bundleJob } from '../cluster/job-bundle.js';
import { LocalCluster } from '../cluster/local-cluster.js';
import { LocalExecutor } from '../cluster/local-executor.js';
import { isJobTerminal } from '../coordinator/job-master.js';
import { ClusterRestBackend } from '../rest/cluster-rest-backend.js';
import { LocalRestBackend } from '../rest/local-rest-backend.js';
import type { RestBackend } from '../rest/rest-backend.js';
import { startRestServer, type RestServer } from '../rest/rest-server.js';
import { restServerSettings } from '../rest/rest-server-settings.js';
import { applyLogOptions } from './logging.js';

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

/** Whether `file` is a user's job module (not a tool's entry point inside node_modules, such as a test runner). */
function isUserModule(file: string | undefined): file is string {
  if (file === undefined || !existsSync(file)) return false;
  return !resolve(file).split(sep).includes('node_modules');
}

/**
 * The executor of a plain `node job.js` run: local mode for the main module, started at the first
 * `execute()` and stopped once no job runs (so the process can exit). Runs inline when the main
 * module is no user file (a test runner, a REPL) or `execution.target` is `inline`.
 */
export class AutoExecutor implements PipelineExecutor {
  private mode: Promise<LocalMode> | undefined;
  private readonly running = new Set<JobClient>();
  private inline: LocalExecutor | undefined;
  private bundle: Promise<Uint8Array> | undefined;

  execute(submission: PipelineSubmission): Promise<JobClient> {
    const main = process.argv[1];
    const configuration = loadConfiguration();
    if (configuration.get(ClusterOptions.EXECUTION_TARGET) === 'inline' || !isUserModule(main))
      return (this.inline ??= new LocalExecutor()).execute(submission);
    return this.executeLocal(submission, main, configuration);
  }

  private async executeLocal(
    submission: PipelineSubmission,
    main: string,
    configuration: Configuration,
  ): Promise<JobClient> {
    this.bundle ??= bundleJob(main);
    const bundle = await this.bundle;
    applyLogOptions(configuration);
    this.mode ??= startLocalMode({ configuration, bundle, args: process.argv.slice(2) }).then((mode) => {
      process.stderr.write(`[sluice] local cluster: REST API at ${mode.server.url}\n`);
      return mode;
    });
    const mode = await this.mode;
    const client = await mode.executor.execute(submission);
    this.running.add(client);
    const ended = () => {
      this.running.delete(client);
      if (this.running.size > 0 || !isJobTerminal(client.getJobStatus())) return;
      // Nothing runs: stop the cluster so the process can exit; the next execute() starts it again.
      const stopping = this.mode;
      this.mode = undefined;
      void stopping?.then((m) => m.close());
    };
    client.getJobExecutionResult().then(ended, ended);
    return client;
  }
}
