/** The `sluice` command line. */
import { createRequire } from 'node:module';
import { Command, InvalidArgumentError } from 'commander';
import { loadConfiguration } from '../core/configuration.js';
import { SluiceError } from '../core/errors.js';
import { logLevel } from '../core/log.js';
import { cancelJob, listJobs, triggerCheckpoint } from './job-commands.js';
import { disposeSavepoint, stopWithSavepoint, triggerSavepoint } from './savepoint-commands.js';
import { configureRestClient, isRestClientKey, restBaseUrl, restClientSettings } from './rest-client.js';
import { formatFailure, say } from './report.js';

/**
 * The engine, for the commands that run jobs or read their state (run, jobmanager, taskmanager,
 * inspect): loaded when one of them runs, as the whole package (so a job file importing `sluice`
 * gets this same copy). The REST client commands (list, cancel, checkpoint, savepoint, stop) and
 * --help start without it, in a fraction of the time: a `sluice` process is started per command.
 */
async function engine(): Promise<void> {
  await import('../index.js');
}

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer.');
  return n;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/**
 * Reports the error a command ended with and returns the exit code: a cancelled job is no error
 * to print as one (Flink's client still exits with 1); anything else is one line with its causes.
 */
function report(error: unknown): number {
  if (error instanceof SluiceError && error.code === 'SLUICE_JOB_CANCELLED') {
    say(error.message.charAt(0).toUpperCase() + error.message.slice(1));
    return 1;
  }
  const level = logLevel();
  process.stderr.write(
    formatFailure(error, { debug: level === 'debug' || level === 'trace', cwd: process.cwd() }),
  );
  return 1;
}

const print = (line: string) => void process.stdout.write(`${line}\n`);

/** What the command's action decided; commands that end normally exit with 0. */
let exitCode = 0;

const configOption = [
  '-c, --config <path>',
  'configuration file, or a directory holding one (default: the first of sluice.yaml, config.yaml, flink-conf.yaml in $SLUICE_CONF_DIR, else $FLINK_CONF_DIR, else the working directory)',
] as const;

const tokenOption = [
  '--token <token>',
  'the JobManager’s REST token (rest.authentication.token); default: SLUICE_REST_TOKEN',
] as const;

/** Sets up the REST client from `--token` and the configuration (`security.ssl.rest.*`, rest.authentication.*). */
function useRestClient(opts: {
  token?: string | undefined;
  config?: string | undefined;
  define?: readonly string[];
}): void {
  const configuration = loadConfiguration({ configFile: opts.config, dynamic: opts.define ?? [] });
  configureRestClient(restClientSettings(configuration, opts.token));
}

const program = new Command()
  .name('sluice')
  .description(
    'Exactly-once stateful stream processing for TypeScript, on Apache Flink’s checkpointing model.',
  )
  .version(version)
  .showHelpAfterError()
  .enablePositionalOptions();

program
  .command('run')
  .description(
    'run a job file (TypeScript or JavaScript): on a local in-process cluster, or with --jobmanager on a running JobManager',
  )
  .argument('[job]', 'the job file, e.g. examples/click-counts.ts (or give it with -j)')
  .argument('[args...]', 'arguments passed to the job (process.argv.slice(2))')
  .option(
    '-j, --jarfile <file>',
    'the job file (Flink’s name); every argument after the options then goes to the job',
  )
  .option('-p, --parallelism <n>', 'default parallelism of the job (parallelism.default)', positiveInt)
  .option(
    '-D, --define <key=value>',
    'set a configuration option, e.g. -D parallelism.default=2 (repeatable)',
    collect,
    [],
  )
  .option(...configOption)
  .option(
    '-s, --fromSavepoint <path>',
    'restore from a retained checkpoint or savepoint: its chk-<n> directory or _metadata file (execution.state-recovery.path)',
  )
  .option(
    '--claimMode <mode>',
    'with -s: CLAIM lets the job delete the snapshot once subsumed; NO_CLAIM (default) never touches it (execution.state-recovery.claim-mode)',
  )
  .option('--restoreMode <mode>', "Flink 1.x's name of --claimMode (LEGACY means NO_CLAIM)")
  .option(
    '-n, --allowNonRestoredState',
    'drop snapshot state of operators the job no longer has (execution.state-recovery.ignore-unclaimed-state)',
  )
  .option('--allow-non-restored-state', 'the same as --allowNonRestoredState')
  .option('--no-progress', 'do not show the progress line while the job runs')
  .option(
    '-m, --jobmanager <host:port>',
    'submit the job to the JobManager with this REST address instead of running it in this process',
  )
  .option('-d, --detached', 'with --jobmanager: exit once the job is submitted, printing its id')
  .option(...tokenOption)
  .passThroughOptions()
  .action(
    async (
      jobArgument: string | undefined,
      rest: string[],
      opts: {
        jarfile?: string;
        parallelism?: number;
        define: string[];
        config?: string;
        progress: boolean;
        fromSavepoint?: string;
        claimMode?: string;
        restoreMode?: string;
        allowNonRestoredState?: boolean;
        jobmanager?: string;
        detached?: boolean;
        token?: string;
      },
    ) => {
      const job = opts.jarfile ?? jobArgument;
      const claimMode = claimModeOf(opts.claimMode ?? opts.restoreMode);
      if (job === undefined)
        throw new SluiceError(
          'SLUICE_CLI_USAGE',
          'no job file given: sluice run [options] <job> [args...], or sluice run -j <job> [options] [args...].',
        );
      const args = opts.jarfile === undefined || jobArgument === undefined ? rest : [jobArgument, ...rest];
      if (opts.jobmanager !== undefined) {
        if (opts.config !== undefined)
          throw new SluiceError(
            'SLUICE_CLI_USAGE',
            "--config applies to jobs run in this process; with --jobmanager, pass the job's options as -D key=value.",
          );
        // -D values of the REST client (TLS, token) configure this process; the others are the job's.
        useRestClient({
          token: opts.token,
          define: opts.define.filter((d) => isRestClientKey(d.split('=')[0]!)),
        });
        await engine();
        const { runRemote } = await import('./remote-run.js');
        await runRemote(job, args, {
          base: restBaseUrl(opts.jobmanager),
          parallelism: opts.parallelism,
          define: opts.define.filter((d) => !isRestClientKey(d.split('=')[0]!)),
          savepointPath: opts.fromSavepoint,
          claimMode,
          allowNonRestoredState: opts.allowNonRestoredState ?? false,
          detached: opts.detached ?? false,
          progress: opts.progress,
          print,
        });
        return;
      }
      if (opts.detached)
        throw new SluiceError(
          'SLUICE_CLI_USAGE',
          '--detached needs --jobmanager HOST:PORT: without it the job runs inside this sluice process, which must stay until the job ends.',
        );
      const dynamic = [...opts.define];
      if (opts.fromSavepoint !== undefined)
        dynamic.push(`execution.state-recovery.path=${opts.fromSavepoint}`);
      if (opts.allowNonRestoredState) dynamic.push('execution.state-recovery.ignore-unclaimed-state=true');
      if (claimMode !== undefined) dynamic.push(`execution.state-recovery.claim-mode=${claimMode}`);
      await engine();
      const { runJob } = await import('./run-command.js');
      exitCode = await runJob(job, args, {
        parallelism: opts.parallelism,
        dynamic,
        config: opts.config,
        progress: opts.progress,
      });
    },
  );

const jobmanagerOption = [
  '-m, --jobmanager <host:port>',
  'the JobManager REST address (https://host:port for TLS)',
  '127.0.0.1:8081',
] as const;

/** The options of commands that only talk to a JobManager: where, and how to authenticate. */
interface RestCommandOptions {
  jobmanager: string;
  token?: string;
  config?: string;
  define: string[];
}

/** Adds the REST client options to `command`. */
function restCommand(command: Command): Command {
  return command
    .option(...jobmanagerOption)
    .option(...tokenOption)
    .option(
      '-D, --define <key=value>',
      'set a client option, e.g. -D security.ssl.rest.truststore-path=ca.pem (repeatable)',
      collect,
      [],
    )
    .option(...configOption);
}

/** The JobManager's base URL, once the REST client is set up from `opts`. */
function jobManagerOf(opts: RestCommandOptions): string {
  useRestClient(opts);
  return restBaseUrl(opts.jobmanager);
}

restCommand(program.command('list').description('list running and finished jobs')).action(
  async (opts: RestCommandOptions) => listJobs(jobManagerOf(opts), print),
);

restCommand(
  program
    .command('cancel')
    .description('cancel a job')
    .argument('<jobId>', 'the job id (32 hex characters, see `sluice list`)'),
).action(async (jobId: string, opts: RestCommandOptions) => cancelJob(jobManagerOf(opts), jobId, print));

restCommand(
  program
    .command('checkpoint')
    .description('trigger a checkpoint of a job now and print where it was written')
    .argument('<jobId>', 'the job id (32 hex characters, see `sluice list`)'),
).action(async (jobId: string, opts: RestCommandOptions) =>
  triggerCheckpoint(jobManagerOf(opts), jobId, print),
);

restCommand(
  program
    .command('savepoint')
    .description('take a savepoint of a running job and print its path, or with --dispose delete a savepoint')
    .argument('[jobId]', 'the job id (32 hex characters, see `sluice list`)')
    .argument(
      '[targetDirectory]',
      'where the savepoint goes (default: execution.checkpointing.savepoint-dir)',
    )
    .option('-d, --dispose <path>', 'delete the savepoint at this path (after checking it is one)')
    .option(
      '-t, --type <type>',
      'savepoint format: canonical (default, restores into any state backend) or native (only into the same one)',
    ),
).action(
  async (
    jobId: string | undefined,
    targetDirectory: string | undefined,
    opts: RestCommandOptions & { dispose?: string; type?: string },
  ) => {
    if (opts.dispose !== undefined) {
      if (jobId !== undefined)
        throw new SluiceError('SLUICE_CLI_USAGE', 'sluice savepoint --dispose PATH takes no job id.');
      return disposeSavepoint(opts.dispose, print);
    }
    if (jobId === undefined)
      throw new SluiceError(
        'SLUICE_CLI_USAGE',
        'no job id given: sluice savepoint [-m HOST:PORT] JOBID [DIR], or sluice savepoint --dispose PATH.',
      );
    return triggerSavepoint(jobManagerOf(opts), jobId, targetDirectory, print, formatTypeOption(opts.type));
  },
);

restCommand(
  program
    .command('stop')
    .description(
      'stop a job with a savepoint (it ends FINISHED once the savepoint completed) and print its path',
    )
    .argument('<jobId>', 'the job id (32 hex characters, see `sluice list`)')
    .option(
      '-p, --savepointPath <dir>',
      'where the savepoint goes (default: execution.checkpointing.savepoint-dir)',
    )
    .option('--savepoint-path <dir>', 'the same as --savepointPath')
    .option('-d, --drain', 'first end the sources’ input, so every operator sees its end (timers, buffers)')
    .option(
      '-t, --type <type>',
      'savepoint format: canonical (default, restores into any state backend) or native (only into the same one)',
    ),
).action(
  async (
    jobId: string,
    opts: RestCommandOptions & { savepointPath?: string; drain?: boolean; type?: string },
  ) => {
    const type = formatTypeOption(opts.type);
    return stopWithSavepoint(
      jobManagerOf(opts),
      jobId,
      {
        ...(opts.savepointPath === undefined ? {} : { savepointPath: opts.savepointPath }),
        drain: opts.drain === true,
        formatType: type,
      },
      print,
    );
  },
);

program
  .command('inspect')
  .description(
    'print a checkpoint or savepoint (operators, key groups, states and sizes, files), or one keyed state as JSON lines',
  )
  .argument('<path>', 'the chk-<n> or savepoint directory, or its _metadata file')
  .option('--json', 'print the description as JSON, for tools')
  .option('--operator <uid>', 'with --state: the operator (its uid, or its operator id)')
  .option('--state <name>', 'with --operator: dump this keyed state as JSON lines {"key", "value"}')
  .action(async (path: string, opts: { json?: boolean; operator?: string; state?: string }) => {
    await engine();
    const { inspect } = await import('./inspect-command.js');
    return inspect(
      path,
      {
        json: opts.json === true,
        ...(opts.operator === undefined ? {} : { operator: opts.operator }),
        ...(opts.state === undefined ? {} : { state: opts.state }),
      },
      print,
    );
  });

program
  .command('jobmanager')
  .description(
    'start a standalone JobManager: TaskManagers register with it, jobs are submitted to its REST API',
  )
  .option('-D, --define <key=value>', 'set a configuration option (repeatable)', collect, [])
  .option(...configOption)
  .action(async (opts: { define: string[]; config?: string }) => {
    await engine();
    const { runJobManager } = await import('./cluster-commands.js');
    return runJobManager({ dynamic: opts.define, config: opts.config }, print);
  });

// Started by a JobManager for each job submitted over REST (docs/security.md); not for people.
program
  .command('user-code-process', { hidden: true })
  .description('evaluate a submitted job module for the JobManager that started this process')
  .action(async () => {
    await engine();
    const { serveUserCodeOnPipe } = await import('../cluster/user-code-process.js');
    return serveUserCodeOnPipe();
  });

program
  .command('taskmanager')
  .description('start a TaskManager that registers its slots with a JobManager')
  .requiredOption(
    '--jobmanager <host:port>',
    'the JobManager’s TaskManager endpoint (jobmanager.rpc.address:port)',
  )
  .option('--id <id>', 'the TaskManager’s resource id (default: random)')
  .option('-D, --define <key=value>', 'set a configuration option (repeatable)', collect, [])
  .option(...configOption)
  .action(async (opts: { jobmanager: string; id?: string; define: string[]; config?: string }) => {
    await engine();
    const { runTaskManager } = await import('./cluster-commands.js');
    return runTaskManager(opts.jobmanager, { dynamic: opts.define, config: opts.config, id: opts.id }, print);
  });

/**
 * Waits until what this process wrote to stdout and stderr has left it: a TaskManager's output
 * goes through a pipe to `sluice run`, and process.exit would drop what is still queued.
 */
async function flushOutput(): Promise<void> {
  await Promise.all(
    [process.stdout, process.stderr].map(
      (stream) =>
        new Promise<void>((resolve) =>
          stream.writableLength > 0 ? stream.write('', () => resolve()) : resolve(),
        ),
    ),
  );
}

let code: number;
try {
  await program.parseAsync(process.argv);
  code = exitCode;
} catch (error) {
  code = report(error);
}
await flushOutput();
process.exit(code);

/** The claim mode of `--claimMode` / `--restoreMode`, case-insensitive; LEGACY (Flink 1.x) never deletes: NO_CLAIM. */
function claimModeOf(mode: string | undefined): 'CLAIM' | 'NO_CLAIM' | undefined {
  if (mode === undefined) return undefined;
  const upper = mode.toUpperCase();
  if (upper === 'CLAIM') return 'CLAIM';
  if (upper === 'NO_CLAIM' || upper === 'LEGACY') return 'NO_CLAIM';
  throw new SluiceError('SLUICE_CLI_USAGE', `--claimMode must be CLAIM or NO_CLAIM, got '${mode}'.`);
}

/** `--type` of `sluice savepoint` and `sluice stop` (Flink's `-type`): canonical or native. */
function formatTypeOption(type: string | undefined): 'CANONICAL' | 'NATIVE' {
  const upper = (type ?? 'canonical').toUpperCase();
  if (upper !== 'CANONICAL' && upper !== 'NATIVE')
    throw new SluiceError('SLUICE_CLI_USAGE', `--type must be canonical or native, got '${type}'.`);
  return upper;
}
