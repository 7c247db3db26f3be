// `sluice run --jobmanager`: the real CLI, started in another directory, bundles a job file, submits it to a REST server and follows it.
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LocalExecutor } from '../../src/cluster/local-executor.js';
import { isJobTerminal } from '../../src/coordinator/job-master.js';
import { LocalRestBackend } from '../../src/rest/local-rest-backend.js';
import type {
  JarListInfo,
  JobDetailsInfo,
  JobExecutionResultResponseBody,
} from '../../src/rest/rest-schema.js';
import { startRestServer, type RestServer } from '../../src/rest/rest-server.js';
import { bin, root } from '../support/sluice-cli.js';
import { submitBundleTo } from '../support/submit-bundle.js';

const JOB_ID_LINE = /^Job has been submitted with JobID ([0-9a-f]{32})$/mu;

let executor: LocalExecutor;
let servers: RestServer[];
let address: string;
let dir: string;
const children = new Set<ChildProcess>();

beforeEach(async () => {
  executor = new LocalExecutor();
  const server = await startRestServer({
    backend: new LocalRestBackend(executor, submitBundleTo(executor)),
    port: 0,
  });
  servers = [server];
  address = `127.0.0.1:${server.port}`;
  // The job files are copied out of the repository: the CLI bundles them wherever they are.
  dir = mkdtempSync(join(tmpdir(), 'sluice-remote-'));
  for (const job of ['sum-job.ts', 'failing-job.ts', 'unbounded-job.ts'])
    copyFileSync(join(root, 'test/fixtures', job), join(dir, job));
});

afterEach(async () => {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
  await Promise.all(
    executor.jobMasters.filter((m) => !isJobTerminal(m.getJobStatus())).map((m) => m.cancel()),
  );
  await Promise.all(servers.map((s) => s.close()));
  rmSync(dir, { recursive: true, force: true });
});

/** Runs `sluice` in `dir` without blocking this process (which serves the REST API it talks to). */
function sluice(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [bin, ...args], {
    cwd: dir,
    env: { ...process.env, SLUICE_LOG_LEVEL: 'warn' },
  });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      children.delete(child);
      resolve({ code, stdout, stderr });
    });
  });
}

async function getJson<T>(path: string): Promise<T> {
  const response = await fetch(`http://${address}${path}`);
  expect(response.status, path).toBe(200);
  return (await response.json()) as T;
}

/** The single `error: ...` line of a failed command. */
function expectOneErrorLine(r: { code: number | null; stderr: string }, pattern: RegExp): void {
  expect(r.code).toBe(1);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
}

describe('sluice run --jobmanager', () => {
  it('submits a job file with its arguments, -p and -D, follows it to FINISHED, and exits 0', async () => {
    const r = await sluice(
      'run',
      '--jobmanager',
      address,
      '-p',
      '3',
      '-D',
      'pipeline.max-parallelism=64',
      'sum-job.ts',
      '200',
    );
    expect(r.stderr).not.toMatch(/^error/mu);
    expect(r.code).toBe(0);
    const jobId = JOB_ID_LINE.exec(r.stdout)?.[1];
    expect(jobId, r.stdout).toBeDefined();
    expect(r.stdout).toContain(`Job with JobID ${jobId} has finished.`);
    expect(r.stdout).toMatch(/^Job Runtime: \d+ ms$/mu);
    // The progress line, polled over REST.
    expect(r.stderr).toMatch(/\[sluice\] sum-job FINISHED/u);

    const details = await getJson<JobDetailsInfo>(`/jobs/${jobId}`);
    expect(details).toMatchObject({ name: 'sum-job', state: 'FINISHED' });
    const [source] = details.vertices;
    expect(source).toMatchObject({ name: 'Sequence Source -> Map', parallelism: 3, maxParallelism: 64 });
    // The job's argument 200 reached it: the source counted 1..200.
    expect(source!.metrics['write-records']).toBe(200);
    const result = await getJson<JobExecutionResultResponseBody>(`/jobs/${jobId}/execution-result`);
    expect(result['job-execution-result']).toMatchObject({ 'application-status': 'SUCCEEDED' });
    // The uploaded bundle was removed once the job was submitted.
    expect((await getJson<JarListInfo>('/jars')).files).toEqual([]);
  });

  it('--detached prints the job id and returns while the job runs; `sluice list` shows it', async () => {
    const r = await sluice('run', '-m', address, '--detached', 'unbounded-job.ts', join(dir, 'checkpoints'));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    const jobId = JOB_ID_LINE.exec(r.stdout)?.[1];
    expect(jobId, r.stdout).toBeDefined();
    // An unbounded job: it is still running after the CLI returned.
    expect(await getJson(`/jobs/${jobId}/status`)).toEqual({ status: 'RUNNING' });

    const list = await sluice('list', '-m', address);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(`: ${jobId} : forever (RUNNING)`);
  });

  it("on Ctrl-C stops following the job and leaves it running on the JobManager, as Flink's client", async () => {
    const child = spawn(
      process.execPath,
      [bin, 'run', '-m', address, '--no-progress', 'unbounded-job.ts', join(dir, 'checkpoints')],
      { cwd: dir, env: { ...process.env, SLUICE_LOG_LEVEL: 'warn' } },
    );
    children.add(child);
    const out = { stdout: '', stderr: '' };
    child.stdout.on('data', (d: Buffer) => (out.stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out.stderr += d.toString()));
    const closed = new Promise<number | null>((resolve) => child.once('close', resolve));
    const jobId = await vi.waitFor(
      () => {
        const id = JOB_ID_LINE.exec(out.stdout)?.[1];
        if (id === undefined) throw new Error('not submitted yet');
        return id;
      },
      { timeout: 30_000, interval: 50 },
    );
    child.kill('SIGINT');
    expect(await closed).toBe(130);
    expect(out.stderr).toContain(
      `[sluice] Stopped following job ${jobId}; it keeps running on the JobManager. Cancel it with: sluice cancel ${jobId} -m ${address}`,
    );
    expect(await getJson(`/jobs/${jobId}/status`)).toEqual({ status: 'RUNNING' });
  });

  it('exits 1 with the root exception on one line when the job fails', async () => {
    const r = await sluice('run', '--jobmanager', address, '--no-progress', 'failing-job.ts');
    expect(r.stdout).toMatch(JOB_ID_LINE);
    expectOneErrorLine(
      r,
      /^error: job 'failing-job' \([0-9a-f]{32}\) failed: SluiceError: operator 'cursed map' \(subtask 1\/1\) threw in map: record seven is cursed \[SLUICE_JOB_FAILED\]$/u,
    );
  });

  it('says in one line what is wrong: a missing or broken job file, --detached or --config misused', async () => {
    writeFileSync(
      join(dir, 'broken-job.ts'),
      "import { StreamExecutionEnvironment } from 'sluice';\n\nconst env = StreamExecutionEnvironment.getExecutionEnvironment(;\n",
    );
    const [missing, broken, detachedLocal, config] = await Promise.all([
      sluice('run', '-m', address, 'no/such/job.ts'),
      sluice('run', '-m', address, 'broken-job.ts'),
      sluice('run', '--detached', 'sum-job.ts'),
      sluice('run', '-m', address, '--config', 'sluice.yaml', 'sum-job.ts'),
    ]);
    expectOneErrorLine(
      missing,
      /^error: job file not found: no\/such\/job\.ts \(looked at .*\)\. \[SLUICE_CLI_USAGE\]$/u,
    );
    expectOneErrorLine(broken, /^error: cannot bundle job file .*broken-job\.ts: broken-job\.ts:3: /u);
    expectOneErrorLine(detachedLocal, /^error: --detached needs --jobmanager HOST:PORT: /u);
    expectOneErrorLine(config, /^error: --config applies to jobs run in this process; .*-D key=value/u);
    expect(executor.jobMasters).toEqual([]);
  });

  it('says in one line when the JobManager is unreachable, takes no jobs, cannot start the job, or has no such job', async () => {
    const closed = await startRestServer({ backend: new LocalRestBackend(executor), port: 0 });
    const unreachable = `127.0.0.1:${closed.port}`;
    await closed.close();
    const noSubmissions = await startRestServer({ backend: new LocalRestBackend(executor), port: 0 });
    servers.push(noSubmissions);
    writeFileSync(join(dir, 'throwing-job.ts'), "throw new Error('no input topic configured');\n");

    const [down, refusing, throwing, unknown] = await Promise.all([
      sluice('run', '-m', unreachable, 'sum-job.ts'),
      sluice('run', '-m', `127.0.0.1:${noSubmissions.port}`, 'sum-job.ts'),
      sluice('run', '-m', address, 'throwing-job.ts'),
      sluice('cancel', '-m', address, 'f'.repeat(32)),
    ]);
    expectOneErrorLine(
      down,
      new RegExp(`^error: cannot reach the JobManager at http://${unreachable} \\(.*ECONNREFUSED`, 'u'),
    );
    expectOneErrorLine(
      refusing,
      /^error: the JobManager at http:\/\/127\.0\.0\.1:\d+ did not take the job bundle \(404\): This cluster takes no job submissions/u,
    );
    expectOneErrorLine(
      throwing,
      /^error: the JobManager at .* could not start throwing-job\.ts \(400\): Could not execute application: no input topic configured \[SLUICE_CLI_USAGE\]$/u,
    );
    expectOneErrorLine(
      unknown,
      new RegExp(
        `^error: the JobManager at http://${address} has no job f{32} \\(404\\); \`sluice list -m ${address}\``,
        'u',
      ),
    );
    expect(executor.jobMasters).toEqual([]);
  });
});
