// Issue 11, point 5: a restore path given over REST is read only if it is a checkpoint, errors
// never quote the file's bytes, and with rest.allowed-paths paths outside the allowed directories
// are refused before anything is read.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { bundleJob } from '../../src/cluster/job-bundle.js';
import { until } from '../support/cluster.js';
import { call, type Answer, useJobManagers } from './support/jobmanager.js';

const SUM_JOB = fileURLToPath(new URL('../fixtures/sum-job.ts', import.meta.url));
const DIR_JOB = fileURLToPath(new URL('./fixtures/checkpoint-dir-job.ts', import.meta.url));
const jobManagers = useJobManagers();
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-paths-'));
  dirs.push(dir);
  return dir;
}

/** Uploads `jobFile` and runs it with the JarRunRequestBody `body`. */
async function run(base: string, jobFile: string, body: Record<string, unknown>): Promise<Answer> {
  const form = new FormData();
  form.append('jarfile', new Blob([await bundleJob(jobFile)]), 'job.mjs');
  const upload = await call(base, 'POST', '/jars/upload', { body: form });
  return call(base, 'POST', `/jars/${String(upload.body['filename'])}/run`, {
    body: JSON.stringify(body),
    headers: { 'Content-Type': 'application/json' },
  });
}

/** The root exception of a job that failed. */
async function rootException(base: string, jobId: string): Promise<string> {
  return until(async () => {
    const exceptions = await call(base, 'GET', `/jobs/${jobId}/exceptions`);
    const history = exceptions.body['exceptionHistory'] as { entries: { stacktrace: string }[] };
    const root = history.entries[0]?.stacktrace;
    if (root === undefined) throw new Error('not failed yet');
    return root;
  });
}

describe('a restore path given over REST', () => {
  it('that is no checkpoint fails the job saying so, without quoting the file (/etc/passwd, /dev/zero, a pipe)', async () => {
    const jm = await jobManagers.start();
    const fifo = join(tempDir(), 'pipe');
    execFileSync('mkfifo', [fifo]);
    const cases: [string, RegExp][] = [
      ['/etc/passwd', /does not start with "SLCK": not a Sluice checkpoint metadata file/u],
      ['/dev/zero', /'\/dev\/zero' is not a checkpoint or savepoint: not a regular file/u],
      [fifo, /is not a checkpoint or savepoint: not a regular file/u],
    ];
    for (const [savepointPath, message] of cases) {
      const answer = await run(jm.server.url, SUM_JOB, { savepointPath });
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      const root = await rootException(jm.server.url, String(answer.body['jobid']));
      expect(root).toMatch(message);
      expect(root).not.toMatch(/root:|daemon|\\u0000/u);
    }
  });
});

describe('rest.allowed-paths', () => {
  it('refuses (403) restore paths and checkpoint directories outside the allowed directories, links resolved', async () => {
    const allowed = tempDir();
    const outside = tempDir();
    mkdirSync(join(allowed, 'job', 'chk-1'), { recursive: true });
    symlinkSync('/etc', join(allowed, 'etc-link'));
    const jm = await jobManagers.start({ 'rest.allowed-paths': allowed });
    const refused = async (jobFile: string, body: Record<string, unknown>, what: string, path: string) => {
      const answer = await run(jm.server.url, jobFile, body);
      expect(answer.status, JSON.stringify(answer.body)).toBe(403);
      expect(answer.body.errors).toEqual([
        expect.stringMatching(
          new RegExp(
            `^Could not execute application: ${what} ${path.replace(/[.*+?^${}()|[\]\\/]/gu, '\\$&')} is outside the directories this JobManager allows \\(rest\\.allowed-paths: .*\\).*\\[SLUICE_REST_PATH_NOT_ALLOWED\\]$`,
            'u',
          ),
        ),
      ]);
    };
    await refused(SUM_JOB, { savepointPath: '/etc/passwd' }, 'the restore path', '/etc/passwd');
    await refused(
      SUM_JOB,
      { savepointPath: join(allowed, 'etc-link/passwd') },
      'the restore path',
      join(allowed, 'etc-link/passwd'),
    );
    await refused(SUM_JOB, { savepointPath: allowed }, 'the restore path', allowed);
    await refused(
      SUM_JOB,
      { flinkConfiguration: { 'execution.state-recovery.path': `file://${outside}` } },
      'the restore path',
      `file://${outside}`,
    );
    await refused(
      SUM_JOB,
      {
        flinkConfiguration: {
          'execution.checkpointing.interval': '1s',
          'execution.checkpointing.dir': outside,
        },
      },
      'the checkpoint directory',
      outside,
    );
    await refused(
      DIR_JOB,
      { programArgsList: [`file://${outside}`] },
      'the checkpoint directory',
      `file://${outside}`,
    );
    expect(jm.executor.jobMasters).toEqual([]);
    // Inside, the job is taken.
    const inside = await run(jm.server.url, DIR_JOB, {
      programArgsList: [`file://${join(allowed, 'checkpoints')}`],
    });
    expect(inside.status, JSON.stringify(inside.body)).toBe(200);
    const restore = await run(jm.server.url, SUM_JOB, { savepointPath: join(allowed, 'job', 'chk-1') });
    expect(restore.status, JSON.stringify(restore.body)).toBe(200);
  });
});
