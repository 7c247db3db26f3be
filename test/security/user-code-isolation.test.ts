// Issue 11, point 2: a job module uploaded over REST is evaluated in a disposable user-code
// process, never in the JobManager. A module that loops, leaks or throws at load time costs that
// process only: the JobManager (this test process) answers on, with a clear REST error.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { call, submit, useJobManagers } from './support/jobmanager.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const jobManagers = useJobManagers();
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** The JobManager still answers, and runs no job. */
async function stillServing(base: string): Promise<void> {
  const overview = await call(base, 'GET', '/overview');
  expect(overview.status).toBe(200);
  const jobs = await call(base, 'GET', '/jobs/overview');
  expect(jobs.body['jobs']).toEqual([]);
}

describe('a job module submitted over REST', () => {
  it('that loops forever at load time is stopped after client.timeout with a 400 naming it', async () => {
    const jm = await jobManagers.start({ 'client.timeout': '2s' });
    const started = Date.now();
    const run = await submit(jm.server.url, fixture('loop-job.ts'));
    expect(run.status).toBe(400);
    expect(run.body.errors?.[0]).toMatch(
      /^Could not execute application: the process evaluating the job module was stopped: the job module did not call execute\(\) within 2 s \(client\.timeout\).*\[SLUICE_SUBMISSION_FAILED\]$/u,
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
    await stillServing(jm.server.url);
  });

  it('that fills its heap is stopped at web.submit.user-code.heap-size, and the JobManager does not grow', async () => {
    const jm = await jobManagers.start({ 'web.submit.user-code.heap-size': '64mb' });
    const before = process.memoryUsage().rss;
    const run = await submit(jm.server.url, fixture('heap-leak-job.ts'));
    expect(run.status).toBe(400);
    expect(run.body.errors?.[0]).toMatch(
      /the process evaluating the job module was stopped: it ran out of memory \(web\.submit\.user-code\.heap-size: 64 MiB\).*\[SLUICE_SUBMISSION_FAILED\]$/u,
    );
    expect(process.memoryUsage().rss - before).toBeLessThan(50 * 1024 * 1024);
    await stillServing(jm.server.url);
  });

  it('that allocates memory outside its heap is stopped once the process uses 256 MiB more than the heap limit', async () => {
    const jm = await jobManagers.start({ 'web.submit.user-code.heap-size': '64mb' });
    const run = await submit(jm.server.url, fixture('buffer-leak-job.ts'));
    expect(run.status).toBe(400);
    expect(run.body.errors?.[0]).toMatch(
      /the process evaluating the job module was stopped: it used \d+ MiB of memory, more than the 320 MiB allowed/u,
    );
    await stillServing(jm.server.url);
  });

  it("that throws at load time answers 400 with the module's error; one that exits ends only its own process", async () => {
    const jm = await jobManagers.start();
    const thrown = await submit(jm.server.url, fixture('throw-job.ts'));
    expect(thrown.status).toBe(400);
    expect(thrown.body.errors).toEqual(['Could not execute application: boom while loading']);
    const exited = await submit(jm.server.url, fixture('exit-job.ts'));
    expect(exited.status).toBe(400);
    expect(exited.body.errors?.[0]).toMatch(
      /the process evaluating the job module was stopped: it exited \(exit code 3\)/u,
    );
    await stillServing(jm.server.url);
  });

  it("runs in another process that sees neither the cluster secret nor the REST token nor the JobManager's TLS keys", async () => {
    const jm = await jobManagers.start({
      'security.cluster.secret': 'a-cluster-secret-for-the-test',
      'rest.authentication.token': 'a-rest-token-for-the-test-0123456789',
    });
    const probe = await submit(jm.server.url, fixture('probe-job.ts'), [], {
      Authorization: 'Bearer a-rest-token-for-the-test-0123456789',
    });
    expect(probe.status).toBe(400);
    const seen = JSON.parse(/seen (\{.*\})/u.exec(probe.body.errors?.[0] ?? '')![1]!) as {
      env: string[];
      config: string[];
      pid: number;
      ppid: number;
    };
    expect(seen).toEqual({ env: [], config: [], pid: seen.pid, ppid: process.pid });
    expect(seen.pid).not.toBe(process.pid);
  });

  it('runs to the end with checkpoints and a failover, its split enumerator in the user-code process: every record counted once', async () => {
    const jm = await jobManagers.start();
    await jobManagers.taskManagers(jm, 2);
    const out = mkdtempSync(join(tmpdir(), 'sluice-chunked-'));
    dirs.push(out);
    const records = 40_000;
    const keys = 8;
    const run = await submit(jm.server.url, fixture('chunked-count-job.ts'), [
      out,
      String(records),
      String(keys),
      '2',
    ]);
    expect(run.status, JSON.stringify(run.body)).toBe(200);
    const master = jm.executor.jobMasters.find((m) => m.jobId === run.body['jobid'])!;
    const result = await master.getJobExecutionResult();
    expect(result.checkpoints.completed).toBeGreaterThan(0);
    expect(result.checkpoints.restored).toBe(1);
    expect(master.getNumRestarts()).toBe(1);
    const max = new Map<number, number>();
    for (const file of readdirSync(out).filter((f) => f.startsWith('max-')))
      for (const [key, n] of JSON.parse(readFileSync(join(out, file), 'utf8')) as [number, number][])
        max.set(key, Math.max(max.get(key) ?? 0, n));
    expect([...max].sort((a, b) => a[0] - b[0])).toEqual(
      Array.from({ length: keys }, (_, k) => [k, records / keys]),
    );
  });
});
