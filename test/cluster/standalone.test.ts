// A standalone cluster from the real commands: `sluice jobmanager`, two `sluice taskmanager`
// processes, and `sluice run --jobmanager` submitting a job file from another directory; what the
// TaskManagers print lands in their `.out` files, served over REST as Flink serves them.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'bin/sluice.js');
const children = new Set<ChildProcess>();
const dirs: string[] = [];

afterEach(() => {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Starts `sluice ...args`, collecting its output. */
function start(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}) {
  const child = spawn(process.execPath, [bin, ...args], {
    cwd: options.cwd ?? root,
    env: { ...process.env, SLUICE_LOG_LEVEL: 'warn', ...options.env },
  });
  children.add(child);
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (d: Buffer) => (out.stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out.stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  /** Resolves with the first match of `pattern` in stdout. */
  const line = (pattern: RegExp) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const check = () => {
        const m = pattern.exec(out.stdout);
        if (m) {
          child.stdout.off('data', check);
          resolve(m);
        }
      };
      child.stdout.on('data', check);
      void exited.then((code) => reject(new Error(`sluice ${args[0]} exited (${code}): ${out.stderr}`)));
      check();
    });
  return { child, out, exited, line };
}

describe('a standalone cluster', () => {
  it('runs a job submitted from another directory on TaskManagers that register with the JobManager', async () => {
    const jmLogDir = mkdtempSync(join(tmpdir(), 'sluice-standalone-jm-logs-'));
    dirs.push(jmLogDir);
    const jm = start([
      'jobmanager',
      ...['-D', 'rest.port=0', '-D', 'jobmanager.rpc.port=0'],
      ...['-D', `env.log.dir=${jmLogDir}`, '-D', 'log.level=info'],
    ]);
    const [, rpc, rest] = await jm.line(/TaskManagers connect to (\S+), REST API at (http:\S+)/u);
    const [, secret] = await jm.line(/cluster secret \(generated[^)]*\): ([0-9a-f]+)/u);
    const logDir = mkdtempSync(join(tmpdir(), 'sluice-standalone-logs-'));
    dirs.push(logDir);
    for (let i = 0; i < 2; i++) {
      const tm = start(
        [
          'taskmanager',
          '--jobmanager',
          rpc!,
          '-D',
          'taskmanager.numberOfTaskSlots=2',
          '-D',
          `env.log.dir=${logDir}`,
        ],
        { env: { SLUICE_CLUSTER_SECRET: secret!, SLUICE_LOG_LEVEL: 'info' } },
      );
      const [, id] = await tm.line(/TaskManager ([0-9a-f]{32}): 2 slot\(s\)/u);
      const [, log, out] = await tm.line(/^log: (\S+), stdout: (\S+)$/mu);
      expect(log).toBe(join(logDir, `sluice-taskmanager-${id}.log`));
      expect(out).toBe(join(logDir, `sluice-taskmanager-${id}.out`));
    }
    // Both TaskManagers registered (the REST API lists them) before the job asks for 4 slots.
    const deadline = Date.now() + 30_000;
    let taskManagers: { id: string; slotsNumber: number }[] = [];
    while (taskManagers.length < 2 && Date.now() < deadline) {
      taskManagers = (
        (await (await fetch(`${rest}/taskmanagers`)).json()) as { taskmanagers: typeof taskManagers }
      ).taskmanagers;
      if (taskManagers.length < 2) await new Promise((r) => setTimeout(r, 50));
    }
    expect(taskManagers.map((t) => t.slotsNumber)).toEqual([2, 2]);

    // The job file lives elsewhere and imports a module of its own: the bundle carries it.
    const dir = mkdtempSync(join(tmpdir(), 'sluice-standalone-'));
    dirs.push(dir);
    writeFileSync(
      join(dir, 'parity.ts'),
      "export const parity = (x: number) => (x % 2 === 0 ? 'even' : 'odd');\n",
    );
    writeFileSync(
      join(dir, 'job.ts'),
      `import { StreamExecutionEnvironment } from 'sluice';
       import { parity } from './parity.js';
       const env = StreamExecutionEnvironment.getExecutionEnvironment();
       env.setParallelism(4);
       await env
         .fromSequence(1, Number(process.argv[2]))
         .map((x): [string, number] => [parity(x), x])
         .keyBy((r) => r[0])
         .sum(1)
         .print();
       await env.execute('standalone-job');
      `,
    );
    const run = start(
      ['run', '--no-progress', '--jobmanager', rest!.replace('http://', ''), 'job.ts', '5000'],
      {
        cwd: dir,
      },
    );
    const [, jobId] = await run.line(/Job has been submitted with JobID ([0-9a-f]{32})/u);
    expect(await run.exited).toBe(0);
    const job = (await (await fetch(`${rest}/jobs/${jobId}`)).json()) as {
      state: string;
      vertices: { id: string; name: string; parallelism: number; metrics: { 'read-records': number } }[];
    };
    expect(job.state).toBe('FINISHED');
    const sum = job.vertices.find((v) => v.name.includes('Keyed Aggregation'))!;
    expect(sum.parallelism).toBe(4);
    expect(sum.metrics['read-records']).toBe(5000);
    // The REST API says where each subtask ran: on both registered TaskManagers.
    const details = (await (await fetch(`${rest}/jobs/${jobId}/vertices/${sum.id}`)).json()) as {
      subtasks: { 'taskmanager-id': string }[];
    };
    expect(new Set(details.subtasks.map((s) => s['taskmanager-id']))).toEqual(
      new Set(taskManagers.map((t) => t.id)),
    );

    // What print() wrote is in each TaskManager's stdout, served as text (Flink's
    // /taskmanagers/:id/stdout), and its log file has its log (/taskmanagers/:id/log).
    const printed: string[] = [];
    for (const { id } of taskManagers) {
      const stdout = await fetch(`${rest}/taskmanagers/${id}/stdout`);
      expect(stdout.status).toBe(200);
      expect(stdout.headers.get('content-type')).toMatch(/^text\/plain/u);
      printed.push(...(await stdout.text()).split('\n').filter((line) => line !== ''));
      const log = await fetch(`${rest}/taskmanagers/${id}/log`);
      expect(log.status).toBe(200);
      // One JSON object a line (pino's), whatever the terminal shows.
      const records = (await log.text())
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as { component?: string; msg: string });
      expect(records).toContainEqual(
        expect.objectContaining({
          component: 'taskmanager',
          msg: expect.stringMatching(/^registered at the JobManager/u),
        }),
      );
    }
    // The JobManager's own: its JSON-lines log, its stdout, and its log directory.
    const jmLog = await fetch(`${rest}/jobmanager/log`);
    expect(jmLog.status).toBe(200);
    expect(jmLog.headers.get('content-type')).toMatch(/^text\/plain/u);
    const jmRecords = (await jmLog.text())
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as { component?: string; msg: string });
    expect(jmRecords.some((r) => /TaskManager [0-9a-f]{32} registered/u.test(r.msg))).toBe(true);
    const jmStdout = await (await fetch(`${rest}/jobmanager/stdout`)).text();
    expect(jmStdout).toMatch(/^start TaskManagers with: sluice taskmanager --jobmanager /mu);
    const port = rpc!.split(':').pop()!;
    const list = (await (await fetch(`${rest}/jobmanager/logs`)).json()) as { logs: { name: string }[] };
    expect(list.logs.map((l) => l.name)).toEqual([
      `sluice-jobmanager-${port}.log`,
      `sluice-jobmanager-${port}.out`,
    ]);
    const byName = await fetch(`${rest}/jobmanager/logs/sluice-jobmanager-${port}.out`);
    expect(await byName.text()).toBe(await (await fetch(`${rest}/jobmanager/stdout`)).text());
    expect((await fetch(`${rest}/jobmanager/logs/..%2F..%2Fetc%2Fpasswd`)).status).toBe(400);
    expect(printed).toHaveLength(5000);
    const totals = new Map<string, number>();
    for (const line of printed) {
      expect(line).toMatch(/^[1-4]> \["(even|odd)",\d+\]$/u);
      const [parity, sum] = JSON.parse(line.slice(3)) as [string, number];
      totals.set(parity, Math.max(totals.get(parity) ?? 0, sum));
    }
    expect(Object.fromEntries(totals)).toEqual({ even: 6_252_500, odd: 6_250_000 });
    const unknown = await fetch(`${rest}/taskmanagers/${'f'.repeat(32)}/stdout`);
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { errors: string[] }).errors[0]).toMatch(/because it was unknown/u);
  }, 90_000);
});
