/** `sluice run --jobmanager HOST:PORT`: bundles a job file, submits it over the REST API (Flink's jar endpoints) and follows it. */
import { existsSync, statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { bundleJob } from '../cluster/job-bundle.js';
import { Configuration, parseDynamicProperties } from '../core/configuration.js';
import { SluiceError } from '../core/errors.js';
import type { JarRunResponseBody, JarUploadResponseBody } from '../rest/rest-schema.js';
import { interruptExitCode } from './job-session.js';
import { showProgress } from './progress.js';
import { errorDetail, restCall, type RestAnswer } from './rest-client.js';
import { RestJobClient } from './rest-job-client.js';

/** Options of a run against a JobManager. */
export interface RemoteRunOptions {
  /** The JobManager's REST base URL (see `restBaseUrl`). */
  readonly base: string;
  readonly parallelism?: number | undefined;
  /** `-D key=value` arguments, sent as the job's configuration (Flink's `flinkConfiguration`). */
  readonly define: readonly string[];
  readonly savepointPath?: string | undefined;
  /** `--claimMode`: sent as the run request's `claimMode`. */
  readonly claimMode?: 'CLAIM' | 'NO_CLAIM' | undefined;
  readonly allowNonRestoredState: boolean;
  /** Return once the job is submitted instead of following it to its end. */
  readonly detached: boolean;
  readonly progress: boolean;
  /** Where the CLI's own lines go (stdout). */
  readonly print: (line: string) => void;
  /** How often the REST API is polled while following the job, ms. */
  readonly pollIntervalMs?: number;
}

/**
 * Submits `jobFile` with `args` to the JobManager and, unless detached, follows it: resolves when
 * it FINISHED, rejects with SLUICE_JOB_FAILED (its root exception) or SLUICE_JOB_CANCELLED.
 */
export async function runRemote(
  jobFile: string,
  args: readonly string[],
  options: RemoteRunOptions,
): Promise<void> {
  const path = resolve(jobFile);
  if (!existsSync(path) || !statSync(path).isFile())
    throw new SluiceError('SLUICE_CLI_USAGE', `job file not found: ${jobFile} (looked at ${path}).`);
  // Bad -D values fail here, before anything is uploaded; the JobManager checks them again.
  const configuration = parseDynamicProperties(options.define);
  new Configuration().addAll(configuration, '-D');
  const bundle = await bundleJob(path);

  const form = new FormData();
  const name = `${basename(path).replace(/\.[^.]*$/u, '')}.mjs`;
  form.append('jarfile', new Blob([bundle], { type: 'text/javascript' }), name);
  const upload = await restCall(options.base, 'POST', '/jars/upload', { form });
  if (upload.status !== 200)
    throw new SluiceError(
      'SLUICE_CLI_USAGE',
      `the JobManager at ${options.base} did not take the job bundle (${upload.status}): ${errorDetail(upload)}`,
    );
  const jarId = (upload.json as JarUploadResponseBody).filename;
  const jarPath = `/jars/${encodeURIComponent(jarId)}`;
  let run: RestAnswer;
  try {
    run = await restCall(options.base, 'POST', `${jarPath}/run`, {
      json: {
        programArgsList: args,
        ...(options.parallelism === undefined ? {} : { parallelism: options.parallelism }),
        ...(options.savepointPath === undefined ? {} : { savepointPath: options.savepointPath }),
        ...(options.claimMode === undefined ? {} : { claimMode: options.claimMode }),
        allowNonRestoredState: options.allowNonRestoredState,
        flinkConfiguration: configuration,
      },
    });
  } finally {
    // The JobManager keeps what it needs of a submitted bundle; the upload is not needed again.
    await restCall(options.base, 'DELETE', jarPath).catch(() => undefined);
  }
  if (run.status !== 200)
    throw new SluiceError(
      'SLUICE_CLI_USAGE',
      `the JobManager at ${options.base} could not start ${jobFile} (${run.status}): ${errorDetail(run)}`,
    );
  const jobId = (run.json as JarRunResponseBody).jobid;
  if (options.detached) {
    options.print(`Job has been submitted with JobID ${jobId}`);
    return;
  }

  // Ctrl-C stops following, not the job: it runs on the JobManager (Flink's default,
  // execution.shutdown-on-attached-exit: false).
  const detach = (signal: NodeJS.Signals) => {
    process.stderr.write(
      `[sluice] Stopped following job ${jobId}; it keeps running on the JobManager. Cancel it with: sluice cancel ${jobId} -m ${options.base.replace(/^https?:\/\//u, '')}\n`,
    );
    process.exit(interruptExitCode(signal === 'SIGTERM' ? 'SIGTERM' : 'SIGINT'));
  };
  process.once('SIGINT', detach);
  process.once('SIGTERM', detach);
  // Printed only once Ctrl-C is handled: whoever reads this line may interrupt at once, and a
  // SIGINT with no listener yet would kill the process with the default action instead.
  options.print(`Job has been submitted with JobID ${jobId}`);
  const client = await RestJobClient.connect(
    options.base,
    jobId,
    options.pollIntervalMs === undefined ? {} : { pollIntervalMs: options.pollIntervalMs },
  );
  try {
    if (options.progress) await showProgress(client);
    const result = await client.getJobExecutionResult();
    options.print('Program execution finished');
    options.print(`Job with JobID ${jobId} has finished.`);
    options.print(`Job Runtime: ${result.getNetRuntime()} ms`);
  } finally {
    process.off('SIGINT', detach);
    process.off('SIGTERM', detach);
    client.close();
  }
}
