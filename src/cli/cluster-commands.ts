/**
 * `sluice taskmanager` and `sluice jobmanager`: the processes of a standalone cluster. Each
 * writes its log to a `.log` file, and a TaskManager what its tasks print to a `.out` file
 * (served over REST as Flink serves them), as well as to the terminal.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { loadConfiguration, type Configuration } from '../core/configuration.js';
import { ClusterOptions, LogOptions, RestSecurityOptions } from '../core/config-options.js';
import { SluiceError } from '../core/errors.js';
import { ClusterExecutor, runBundle } from '../cluster/cluster-executor.js';
import { userCacheDirectory } from '../cluster/job-bundle.js';
import { TaskManager } from '../cluster/task-manager.js';
import { TaskManagerRegistry } from '../cluster/task-manager-registry.js';
import { ClusterRestBackend } from '../rest/cluster-rest-backend.js';
import { isLoopbackHost } from '../rest/rest-security.js';
import { startRestServer, type RestServer } from '../rest/rest-server.js';
import { restIsAuthenticated, restServerSettings } from '../rest/rest-server-settings.js';
import { applyLogOptions } from '../core/apply-log-options.js';
import { wrapWrites } from './wrap-writes.js';

/** Options both commands take. */
export interface ClusterProcessOptions {
  readonly dynamic: readonly string[];
  readonly config?: string | undefined;
}

/** Parses `HOST:PORT`. */
export function parseHostPort(value: string, what: string): { host: string; port: number } {
  const match = /^(.+):(\d{1,5})$/u.exec(value);
  const port = Number(match?.[2]);
  if (!match || port < 1 || port > 65535)
    throw new SluiceError(
      'SLUICE_CLI_USAGE',
      `${what} must be HOST:PORT, e.g. 127.0.0.1:6123; got '${value}'.`,
    );
  return { host: match[1]!, port };
}

/** The secret from SLUICE_CLUSTER_SECRET, else the configuration. */
function secretOf(configured: string | undefined): string | undefined {
  const fromEnv = process.env['SLUICE_CLUSTER_SECRET'];
  return fromEnv !== undefined && fromEnv !== '' ? fromEnv : configured;
}

/** Resolves once the process is asked to stop (SIGINT, SIGTERM, or its local-mode parent going away). */
function untilStopped(): Promise<string> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
    // A local-mode child: its JobManager process is gone, so is its reason to run.
    if (process.send) process.once('disconnect', () => resolve('the parent process went away'));
  });
}

/** Where a standalone process keeps its files: `env.log.dir`, else `log/` in the user's Sluice cache. */
function logDirectory(configuration: Configuration): string {
  return configuration.get(LogOptions.LOG_DIR) ?? join(userCacheDirectory(), 'log');
}

/**
 * From now on, what this process writes to stdout and stderr (tasks' print(), console.log) also
 * goes to `file`, as a Flink TaskManager's `.out`; log lines go to the terminal and the `.log` only.
 */
function teeOutput(file: string): void {
  mkdirSync(dirname(file), { recursive: true });
  const fd = openSync(file, 'a');
  for (const stream of [process.stdout, process.stderr])
    wrapWrites(stream, (args, write) => {
      const chunk = args[0];
      if (typeof chunk === 'string') writeSync(fd, chunk);
      else if (chunk instanceof Uint8Array) writeSync(fd, chunk);
      return write(args);
    });
}

/** Runs a TaskManager until it is stopped or gives up registering. */
export async function runTaskManager(
  jobManager: string,
  options: ClusterProcessOptions & { readonly id?: string | undefined },
  print: (line: string) => void,
): Promise<void> {
  const address = parseHostPort(jobManager, '--jobmanager');
  const configuration = loadConfiguration({ configFile: options.config, dynamic: options.dynamic });
  const secret = secretOf(configuration.get(ClusterOptions.CLUSTER_SECRET));
  const id = options.id ?? randomBytes(16).toString('hex');
  // A local-mode child (tied to its parent by IPC) passes its output to the parent instead,
  // unless a log directory was asked for.
  const standalone = !process.send || configuration.contains(LogOptions.LOG_DIR);
  const dir = standalone ? logDirectory(configuration) : undefined;
  // log.file names one process's file: a local-mode child (one of several) names its own.
  const logFile = process.send ? undefined : configuration.get(LogOptions.FILE);
  const files = dir && {
    log: logFile ?? join(dir, `sluice-taskmanager-${id}.log`),
    stdout: join(dir, `sluice-taskmanager-${id}.out`),
  };
  const stderr = process.stderr.write.bind(process.stderr);
  applyLogOptions(
    configuration,
    files ? { file: files.log, stdoutFile: files.stdout, terminal: (text) => void stderr(text) } : {},
  );
  let gaveUp: ((e: SluiceError) => void) | undefined;
  const failed = new Promise<never>((_, reject) => (gaveUp = reject));
  const tm = new TaskManager({
    configuration,
    jobManager: address,
    ...(secret === undefined ? {} : { secret }),
    taskManagerId: id,
    onGaveUp: (e) => gaveUp?.(e),
    ...(files ? { files } : {}),
  });
  const data = await tm.start();
  // A local-mode child's stdout is its tasks' output, passed on to the terminal of `sluice run`.
  if (standalone)
    print(
      `TaskManager ${tm.taskManagerId}: ${configuration.get(ClusterOptions.NUM_TASK_SLOTS)} slot(s), data port ${data.host}:${data.port}, registering at ${address.host}:${address.port}`,
    );
  if (files) {
    print(`log: ${files.log}, stdout: ${files.stdout}`);
    teeOutput(files.stdout);
  }
  try {
    await Promise.race([untilStopped(), failed]);
  } finally {
    await tm.stop();
  }
}

/** A standalone JobManager: the TaskManager endpoint, its jobs and the REST API. */
export interface StandaloneJobManager {
  readonly registry: TaskManagerRegistry;
  readonly executor: ClusterExecutor;
  readonly server: RestServer;
  readonly secret: string;
  /** The secret was generated here (none was configured). */
  readonly generatedSecret: boolean;
  /** `web.submit.enable`: jobs may be uploaded and run over REST. */
  readonly submissions: boolean;
  /** REST clients must prove who they are (a token or mutual TLS). */
  readonly authenticated: boolean;
  /** Cancels the jobs, stops the REST API and the TaskManager endpoint. */
  close(): Promise<void>;
}

/**
 * Starts a standalone JobManager from `configuration`. Refuses (SLUICE_REST_UNPROTECTED) to take
 * job submissions on a non-loopback REST address without authentication.
 */
export async function startJobManager(configuration: Configuration): Promise<StandaloneJobManager> {
  const configured = secretOf(configuration.get(ClusterOptions.CLUSTER_SECRET));
  const secret = configured ?? randomBytes(32).toString('hex');
  const rest = restServerSettings(configuration);
  const submissions = configuration.get(RestSecurityOptions.SUBMIT_ENABLE) ?? true;
  const authenticated = restIsAuthenticated(rest);
  if (submissions && !authenticated && !isLoopbackHost(rest.bindAddress ?? '127.0.0.1'))
    throw new SluiceError(
      'SLUICE_REST_UNPROTECTED',
      `the REST API would listen on ${rest.bindAddress} and run any job module uploaded to it, without authentication. ` +
        'Set rest.authentication.token (or rest.authentication.token-file, or security.ssl.rest.authentication-enabled), ' +
        'set web.submit.enable: false, or bind it to 127.0.0.1; see docs/security.md.',
    );
  const registry = await TaskManagerRegistry.start({ configuration, secret });
  const executor = new ClusterExecutor({ registry, configuration });
  const backend = new ClusterRestBackend(
    executor,
    registry,
    submissions
      ? (request) => runBundle(executor, configuration, request).then((master) => master.jobId)
      : undefined,
  );
  const server = await startRestServer({ backend, ...rest }).catch(async (e: unknown) => {
    await registry.close();
    throw e;
  });
  return {
    registry,
    executor,
    server,
    secret,
    generatedSecret: configured === undefined,
    submissions,
    authenticated,
    close: async () => {
      for (const master of executor.jobMasters) await master.cancel().catch(() => {});
      await server.close();
      await registry.close();
    },
  };
}

/** Runs a standalone JobManager (TaskManager endpoint and REST API) until it is stopped. */
export async function runJobManager(
  options: ClusterProcessOptions,
  print: (line: string) => void,
): Promise<void> {
  const configuration = loadConfiguration({ configFile: options.config, dynamic: options.dynamic });
  applyLogOptions(configuration);
  const jm = await startJobManager(configuration);
  const rpc = jm.registry.address;
  const dir = logDirectory(configuration);
  const logFile = configuration.get(LogOptions.FILE) ?? join(dir, `sluice-jobmanager-${rpc.port}.log`);
  const stdoutFile = join(dir, `sluice-jobmanager-${rpc.port}.out`);
  const stderr = process.stderr.write.bind(process.stderr);
  applyLogOptions(configuration, { file: logFile, stdoutFile, terminal: (text) => void stderr(text) });
  print(`JobManager: TaskManagers connect to ${rpc.host}:${rpc.port}, REST API at ${jm.server.url}`);
  print(`log: ${logFile}, stdout: ${stdoutFile}`);
  teeOutput(stdoutFile);
  if (jm.generatedSecret)
    print(
      `cluster secret (generated; give it to TaskManagers as SLUICE_CLUSTER_SECRET or -D security.cluster.secret): ${jm.secret}`,
    );
  print(`start TaskManagers with: sluice taskmanager --jobmanager ${rpc.host}:${rpc.port}`);
  print(
    jm.submissions
      ? `job submissions over REST: on${jm.authenticated ? ', for authenticated clients' : ' (no authentication: anyone who can reach the REST port can run code)'}`
      : 'job submissions over REST: off (web.submit.enable: false)',
  );
  try {
    await untilStopped();
  } finally {
    await jm.close();
  }
}
