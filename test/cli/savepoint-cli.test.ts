// `sluice savepoint`, `sluice savepoint --dispose` and `sluice stop` against a job run by another sluice process (TaskManager processes: savepoint barriers cross TCP).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { resolveFileCheckpoint } from '../../src/storage/filesystem/file-system-checkpoint-storage.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

function sluice(...args: string[]) {
  const r = spawnSync(process.execPath, ['bin/sluice.js', ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, SLUICE_LOG_LEVEL: 'warn' },
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * The id of the job named 'forever' once the JobManager at `address` reports it and every one of
 * its tasks RUNNING (a savepoint of a job whose tasks are still deploying fails, as in Flink).
 */
async function runningJob(address: string): Promise<string | undefined> {
  const response = await fetch(`http://${address}/jobs/overview`);
  const { jobs } = (await response.json()) as {
    jobs: { jid: string; name: string; state: string; tasks: { total: number; running: number } }[];
  };
  return jobs.find(
    (job) =>
      job.name === 'forever' &&
      job.state === 'RUNNING' &&
      job.tasks.total > 0 &&
      job.tasks.running === job.tasks.total,
  )?.jid;
}

/** Runs the endless fixture job in a `sluice run` process; gives its REST address and job id to `fn`, kills it afterwards. */
async function withRunningJob(
  dir: string,
  fn: (address: string, jobId: string, exited: Promise<number | null>) => Promise<void>,
): Promise<void> {
  const child = spawn(
    process.execPath,
    [
      'bin/sluice.js',
      'run',
      '--no-progress',
      '-D',
      'rest.port=0',
      'test/fixtures/unbounded-job.ts',
      join(dir, 'chk'),
      '200',
    ],
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
    // The request `sluice list` makes, from this process: a `sluice` process per poll would cost a
    // second or more of start-up each (tests of `list` itself are in cli.test.ts).
    let jobId: string | undefined;
    while (!(jobId = await runningJob(address))) {
      if (Date.now() > deadline) throw new Error('the job did not start running');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await fn(address, jobId, exited);
  } finally {
    child.kill('SIGKILL');
  }
}

describe('sluice savepoint', () => {
  it('takes a savepoint of a running job and prints its path; --dispose deletes it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-cli-sp-'));
    try {
      await withRunningJob(dir, async (address, jobId) => {
        const target = join(dir, 'savepoints');
        const r = sluice('savepoint', '-m', address, jobId, target);
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        const path = /^Savepoint completed\. Path: (.+)$/mu.exec(r.stdout)?.[1];
        expect(path, r.stdout).toMatch(
          new RegExp(`^${target}/savepoint-${jobId.slice(0, 6)}-[0-9a-f]{12}$`, 'u'),
        );
        const { metadata } = await resolveFileCheckpoint(path!);
        expect(metadata.isSavepoint).toBe(true);
        // Every operator of both vertices (TaskManager processes) wrote its part.
        expect(metadata.operators.some((op) => op.subtasks.some((st) => st.keyed.length > 0))).toBe(true);

        // Without a target and no savepoint-dir configured: Flink's message, exit code 1.
        const none = sluice('savepoint', '-m', address, jobId);
        expect(none.code).toBe(1);
        expect(none.stderr).toContain('Config key [execution.checkpointing.savepoint-dir] is not set');

        const dispose = sluice('savepoint', '--dispose', path!);
        expect(dispose.stderr).toBe('');
        expect(dispose.stdout).toContain(`Savepoint '${path}' disposed.`);
        expect(existsSync(path!)).toBe(false);
        const again = sluice('savepoint', '--dispose', path!);
        expect(again.code).toBe(1);
        expect(again.stderr).toContain('SLUICE_CHECKPOINT_NOT_FOUND');
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('sluice stop', () => {
  it('stops a running job with a savepoint: the job ends FINISHED and `sluice run` exits 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-cli-stop-'));
    try {
      await withRunningJob(dir, async (address, jobId, exited) => {
        const target = join(dir, 'savepoints');
        const bad = sluice('stop', '-m', address, jobId, '--savepoint-path', target, '--type', 'binary');
        expect(bad.code).toBe(1);
        expect(bad.stderr).toContain('--type must be canonical or native');
        const r = sluice('stop', '-m', address, jobId, '--savepoint-path', target, '--type', 'native');
        expect(r.stderr).toBe('');
        expect(r.stdout).toContain(`Suspending job "${jobId}" with a NATIVE savepoint.`);
        const path = /^Savepoint completed\. Path: (.+)$/mu.exec(r.stdout)?.[1];
        expect((await resolveFileCheckpoint(path!)).metadata.isSavepoint).toBe(true);
        // FINISHED: Flink's client exits 0 only for a job that finished.
        expect(await exited).toBe(0);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('sluice run -s', () => {
  it('takes --allow-non-restored-state as -n', () => {
    for (const flag of ['-n', '--allowNonRestoredState', '--allow-non-restored-state']) {
      const r = sluice(
        'run',
        '-D',
        'rest.port=0',
        flag,
        '-s',
        '/nonexistent/savepoint-0',
        'test/fixtures/sum-job.ts',
      );
      expect(r.code).toBe(1);
      // Parsed: the run went as far as looking for the savepoint.
      expect(r.stderr).toContain('[SLUICE_CHECKPOINT_NOT_FOUND]');
    }
  });
});

describe('sluice inspect', () => {
  it('says a damaged or truncated _metadata is corrupt, without a stack trace', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-cli-inspect-'));
    try {
      for (const bytes of [Buffer.from('SLCK\0\0\0\x02\0\0\0\x09abc'), Buffer.from('not a checkpoint')]) {
        writeFileSync(join(dir, '_metadata'), bytes);
        const r = sluice('inspect', dir);
        expect(r.code).toBe(1);
        expect(r.stdout).toBe('');
        expect(r.stderr).toMatch(
          /^error: checkpoint metadata .+_metadata is corrupt: .+\[SLUICE_CHECKPOINT_CORRUPT\]\n/u,
        );
        expect(r.stderr).not.toMatch(/^\s+at /mu);
      }
      const usage = sluice('inspect', dir, '--operator', 'x');
      expect(usage.stderr).toContain('--operator and --state go together');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
