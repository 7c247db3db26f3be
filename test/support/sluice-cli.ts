// Runs the `sluice` command as a user runs it, and the endless fixture job in a `sluice run`
// process, for the CLI tests.
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../..', import.meta.url));
/** The `sluice` command, as `node <bin> …` runs it. */
export const bin = join(root, 'bin/sluice.js');

/** Runs `sluice` to its end; `run` gets `-D rest.port=0` so parallel runs never compete for port 8081. */
export function sluice(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const argv = args[0] === 'run' ? ['run', '-D', 'rest.port=0', ...args.slice(1)] : args;
  const r = spawnSync(process.execPath, [bin, ...argv], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, SLUICE_LOG_LEVEL: 'warn' },
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * The id of the job named `name` once the JobManager at `address` reports it and every one of its
 * tasks RUNNING: a checkpoint or savepoint of a job whose tasks are still deploying fails, as in
 * Flink. This is the request `sluice list` makes, from this process: a `sluice` process per poll
 * would cost a second or more of start-up each.
 */
async function runningJob(address: string, name: string): Promise<string | undefined> {
  const response = await fetch(`http://${address}/jobs/overview`);
  const { jobs } = (await response.json()) as {
    jobs: { jid: string; name: string; state: string; tasks: { total: number; running: number } }[];
  };
  return jobs.find(
    (job) =>
      job.name === name &&
      job.state === 'RUNNING' &&
      job.tasks.total > 0 &&
      job.tasks.running === job.tasks.total,
  )?.jid;
}

export interface RunningJob {
  /** host:port of the REST API the `sluice run` process printed. */
  readonly address: string;
  readonly jobId: string;
  /** Settles with the exit code of the `sluice run` process. */
  readonly exited: Promise<number | null>;
  /** What the `sluice run` process printed on stderr so far. */
  readonly stderr: () => string;
}

/**
 * Runs `test/fixtures/unbounded-job.ts` (job 'forever') with `jobArgs` in a `sluice run` process,
 * gives it to `fn` once all its tasks run, and kills the process afterwards, also on failure.
 */
export async function withRunningJob(
  jobArgs: string[],
  fn: (job: RunningJob) => Promise<void>,
): Promise<void> {
  const child = spawn(
    process.execPath,
    [bin, 'run', '--no-progress', '-D', 'rest.port=0', 'test/fixtures/unbounded-job.ts', ...jobArgs],
    { cwd: root, env: { ...process.env, SLUICE_LOG_LEVEL: 'warn' } },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  try {
    const deadline = Date.now() + 30_000;
    let address: string | undefined;
    while (!(address = /REST API at http:\/\/(127\.0\.0\.1:\d+)/u.exec(stderr)?.[1])) {
      if (Date.now() > deadline) throw new Error(`no REST address printed: ${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    let jobId: string | undefined;
    while (!(jobId = await runningJob(address, 'forever'))) {
      if (Date.now() > deadline) throw new Error(`the job did not start running: ${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await fn({ address, jobId, exited, stderr: () => stderr });
  } finally {
    child.kill('SIGKILL');
  }
}
