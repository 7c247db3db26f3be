/**
 * The executor of a plain `node job.js` run, which the package root installs: local mode or
 * inline, as `execution.target` and the main module decide.
 */
import { existsSync } from 'node:fs';
import { resolve, sep } from 'node:path';
import type { Configuration } from '../core/configuration.js';
import { loadConfiguration } from '../core/configuration.js';
import { ClusterOptions } from '../core/config-options.js';
import { applyLogOptions } from '../core/apply-log-options.js';
import type { JobClient, PipelineExecutor, PipelineSubmission } from '../api/execution.js';
import { bundleJob } from '../cluster/job-bundle.js';
import { LocalExecutor } from '../cluster/local-executor.js';
import { isJobTerminal } from '../coordinator/job-master.js';
import { startLocalMode, type LocalMode } from './local-mode.js';

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
