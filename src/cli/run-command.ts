/**
 * `sluice run`: loads a job file (TypeScript or JavaScript) and runs its jobs here, this process
 * being their JobManager; ends with the exit code Flink's CLI would give (or the module's own).
 */
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { inspect } from 'node:util';
import { pathToFileURL } from 'node:url';
import { loadConfiguration } from '../core/configuration.js';
import { SluiceError } from '../core/errors.js';
import { configureLogging } from '../core/log.js';
import { setEnvironmentContext } from '../api/environment-context.js';
import type { JobClient } from '../api/execution.js';
import { ClusterOptions, LogOptions } from '../core/config-options.js';
import { setDefaultPipelineExecutor } from '../api/execution.js';
import { ClusterExecutor } from '../cluster/cluster-executor.js';
import { bundleJob } from '../cluster/job-bundle.js';
import { isJobTerminal } from '../coordinator/job-master.js';
import { startLocalMode } from '../client/local-mode.js';
import { applyLogOptions } from '../core/apply-log-options.js';
import { showProgress } from './progress.js';
import { JobSession, interruptExitCode, onInterrupt } from './job-session.js';
import { say } from './report.js';

/** Options of `sluice run`. */
export interface RunOptions {
  readonly parallelism?: number | undefined;
  readonly dynamic: readonly string[];
  readonly config?: string | undefined;
  readonly progress: boolean;
}

/**
 * Runs `jobFile` with `args` as its process arguments until all its jobs have ended; resolves
 * with the process's exit code: the module's `process.exitCode` if it set one, else 0; 1 when a
 * job was cancelled (as Flink's client); 128 + the signal's number after Ctrl-C. A module that
 * fails, or submits no job, rejects.
 */
export async function runJob(jobFile: string, args: readonly string[], options: RunOptions): Promise<number> {
  const path = resolve(jobFile);
  if (!existsSync(path) || !statSync(path).isFile())
    throw new SluiceError('SLUICE_CLI_USAGE', `job file not found: ${jobFile} (looked at ${path}).`);
  const configuration = loadConfiguration({ configFile: options.config, dynamic: options.dynamic });
  // Asked for, this process (the JobManager of its jobs) keeps its log in a file too.
  const logDir = configuration.get(LogOptions.LOG_DIR);
  const logFile =
    configuration.get(LogOptions.FILE) ??
    (logDir === undefined ? undefined : join(logDir, `sluice-jobmanager-${process.pid}.log`));
  applyLogOptions(configuration, logFile === undefined ? {} : { file: logFile });
  // This process is the JobManager of its jobs: it runs them and serves the REST API meanwhile,
  // so `sluice list/cancel/checkpoint` and Flink tooling can watch and control them.
  const inline = configuration.get(ClusterOptions.EXECUTION_TARGET) === 'inline';
  // Bundled first: a syntax error is reported before anything starts.
  const bundle = inline ? undefined : await bundleJob(path);
  const mode = await startLocalMode({ configuration, bundle, args, parallelism: options.parallelism });
  const server = mode.server;
  setDefaultPipelineExecutor(mode.executor);
  say(
    `REST API at ${server.url} (try: curl ${server.url}/jobs/overview, sluice list -m ${server.url.replace(/^http:\/\//u, '')})`,
  );
  const session = new JobSession();
  const stopInterrupts = onInterrupt(session, say);
  // This command reports how its jobs failed (one line, the cause once); the JobManager's own
  // line about a final failure would say it again.
  configureLogging({
    terminalFilter: (record) =>
      !(record.component === 'job-master' && record.level >= 50 && session.has(record['jobId'])),
  });
  setEnvironmentContext({
    configuration,
    parallelism: options.parallelism,
    onJobSubmitted: (client: JobClient) => {
      session.add(client);
      const executor = mode.executor;
      const totals =
        executor instanceof ClusterExecutor
          ? () => executor.recordsInAcrossAttempts(client.jobId)
          : undefined;
      if (options.progress) session.track(showProgress(client, { totals }));
    },
  });
  process.argv = [process.argv[0]!, path, ...args];
  let moduleError: { error: unknown } | undefined;
  try {
    await import(pathToFileURL(path).href);
  } catch (error) {
    moduleError = { error };
    // The module gave up on the jobs it started: nothing would ever end them.
    for (const client of session.running()) void client.cancel().catch(() => undefined);
  } finally {
    await session.settled();
    stopInterrupts();
    await mode.close();
  }
  return outcome(session, moduleError, jobFile);
}

/** What the run comes to once every job ended: an exit code, or the error to report. */
function outcome(session: JobSession, moduleError: { error: unknown } | undefined, jobFile: string): number {
  const cancelled = session.clients.filter((c) => c.getJobStatus() === 'CANCELED');
  for (const client of cancelled) reportCancelled(client, jobFile);
  if (session.interrupted) return interruptExitCode(session.interrupted);
  if (moduleError) {
    if (isCancellation(moduleError.error) && cancelled.length > 0) return 1;
    throw moduleError.error;
  }
  if (session.clients.length === 0)
    throw new SluiceError(
      'SLUICE_PROGRAM_INVALID',
      `The program didn't contain a Sluice job: ${jobFile} ran to its end without calling execute(), executeAsync() ` +
        'or executeAndCollect() on its StreamExecutionEnvironment. Perhaps you forgot to call execute()?',
    );
  // A job the module started but did not await failed: that is the module's failure.
  const failure = session.failures.find((e) => !isCancellation(e));
  if (failure !== undefined) throw failure instanceof Error ? failure : new Error(inspect(failure));
  if (cancelled.length > 0) return 1;
  return exitCodeOf(process.exitCode);
}

/** The module's `process.exitCode`, as a number (0 when it set none). */
function exitCodeOf(code: string | number | null | undefined): number {
  const n = Number(code ?? 0);
  return Number.isInteger(n) && n >= 0 && n <= 255 ? n : 1;
}

function isCancellation(error: unknown): boolean {
  return error instanceof SluiceError && error.code === 'SLUICE_JOB_CANCELLED';
}

/** Says a job was cancelled, and where its checkpoint is kept when one is. */
function reportCancelled(client: JobClient, jobFile: string): void {
  say(`Job '${client.jobName}' (${client.jobId}) was cancelled.`);
  const latest = client.getCheckpointStats()?.latestCompleted;
  if (!latest || !isJobTerminal(client.getJobStatus())) return;
  const path = latest.externalPath === undefined ? undefined : localPath(latest.externalPath);
  // Only a checkpoint on this machine's file system can be looked at.
  if (path === undefined) return;
  if (existsSync(resolve(path, '_metadata'))) {
    say(`Its latest checkpoint (${latest.id}) is kept at ${path}`);
    say(`Resume from it with: sluice run -s ${path} ${jobFile}`);
  } else {
    say(
      'Its checkpoints were deleted with it; set execution.checkpointing.externalized-checkpoint-retention: RETAIN_ON_CANCELLATION to keep the latest.',
    );
  }
}

/** The file system path of a checkpoint location; undefined for other schemes (s3://, memory). */
function localPath(location: string): string | undefined {
  if (location.startsWith('file://')) return new URL(location).pathname;
  return location.includes('://') ? undefined : location;
}
