/** `sluice run`: loads a job file (TypeScript or JavaScript) and runs it with the given settings. */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadConfiguration } from '../core/configuration.js';
import { SluiceError } from '../core/errors.js';
import { setEnvironmentContext } from '../api/environment-context.js';
import type { JobClient } from '../api/execution.js';
import { ClusterOptions } from '../core/config-options.js';
import { setDefaultPipelineExecutor } from '../api/execution.js';
import { bundleJob } from '../cluster/job-bundle.js';
import { startLocalMode } from './local-mode.js';
import { showProgress } from './progress.js';

/** Options of `sluice run`. */
export interface RunOptions {
  readonly parallelism?: number | undefined;
  readonly dynamic: readonly string[];
  readonly config?: string | undefined;
  readonly progress: boolean;
}

/** Runs `jobFile` with `args` as its process arguments; resolves when all its jobs have ended. */
export async function runJob(jobFile: string, args: readonly string[], options: RunOptions): Promise<void> {
  const path = resolve(jobFile);
  if (!existsSync(path) || !statSync(path).isFile())
    throw new SluiceError('SLUICE_CLI_USAGE', `job file not found: ${jobFile} (looked at ${path}).`);
  const configuration = loadConfiguration({ configFile: options.config, dynamic: options.dynamic });
  // This process is the JobManager of its jobs: it runs them and serves the REST API meanwhile,
  // so `sluice list/cancel/checkpoint` and Flink tooling can watch and control them.
  const inline = configuration.get(ClusterOptions.EXECUTION_TARGET) === 'inline';
  // Bundled first: a syntax error is reported before anything starts.
  const bundle = inline ? undefined : await bundleJob(path);
  const mode = await startLocalMode({ configuration, bundle, args, parallelism: options.parallelism });
  const server = mode.server;
  setDefaultPipelineExecutor(mode.executor);
  process.stderr.write(
    `[sluice] REST API at ${server.url} (try: curl ${server.url}/jobs/overview, sluice list -m ${server.url.replace(/^http:\/\//u, '')})\n`,
  );
  const jobs: Promise<void>[] = [];
  const failures: unknown[] = [];
  setEnvironmentContext({
    configuration,
    parallelism: options.parallelism,
    onJobSubmitted: (client: JobClient) => {
      if (options.progress) jobs.push(showProgress(client));
      jobs.push(
        client.getJobExecutionResult().then(
          () => undefined,
          (e: unknown) => void failures.push(e),
        ),
      );
    },
  });
  process.argv = [process.argv[0]!, path, ...args];
  try {
    await import(pathToFileURL(path).href);
  } finally {
    await Promise.all(jobs);
    await mode.close();
  }
  // A job the module started but did not await failed: report it as the module's failure.
  if (failures.length > 0) throw failures[0] instanceof Error ? failures[0] : new Error(String(failures[0]));
}
