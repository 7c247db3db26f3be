// The exactly-once sinks across a whole-process crash (issue 16 point 6): `sluice run` (JobManager
// and its TaskManager processes) is SIGKILLed mid-job while it writes to a FileSink, a
// JdbcSink.exactlyOnceSink and an EXACTLY_ONCE JetStreamSink, then resumed with `sluice run -s
// <latest retained checkpoint>`: the finished part files, the table and the stream each hold every
// record exactly once, and nothing uncommitted is left (hidden part files, prepared transactions).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Counted } from '../fixtures/connector-sinks-job.js';
import { bin, root } from '../support/sluice-cli.js';
import { requireServer } from '../support/external-servers.js';
import {
  createSinkTargets,
  expectExactlyOnce,
  finishedLines,
  finishedRecords,
  streamMessages,
} from '../support/sink-targets.js';

const JOB = 'test/fixtures/connector-sinks-job.ts';
const RECORDS = 6000;
const available = (await requireServer('postgres')) && (await requireServer('nats'));
const dirs: string[] = [];
const pids: number[] = [];
const cleanups: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const pid of pids.splice(0)) killQuietly(pid);
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/** Child processes of `pid` (the TaskManagers `sluice run` starts). */
function childrenOf(pid: number): number[] {
  const ps = spawnSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' });
  return ps.stdout
    .split('\n')
    .map((l) => Number(l.trim()))
    .filter((n) => n > 0);
}

/** The newest checkpoint directory (with a _metadata file) under `dir/<job-id>/`. */
function latestCheckpoint(dir: string): string | undefined {
  let best: { id: number; path: string } | undefined;
  for (const job of readdirSync(dir))
    for (const chk of readdirSync(join(dir, job))) {
      const m = /^chk-(\d+)$/.exec(chk);
      if (m && existsSync(join(dir, job, chk, '_metadata')) && (!best || Number(m[1]) > best.id))
        best = { id: Number(m[1]), path: join(dir, job, chk) };
    }
  return best?.path;
}

describe.runIf(available)('exactly-once sinks and a crash of the whole sluice run process', () => {
  it('resumed from the latest retained checkpoint, files, rows and messages hold every record exactly once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-sinks-crash-'));
    dirs.push(dir);
    const out = join(dir, 'out');
    const chk = join(dir, 'chk');
    const { pg, table, nc, jsm, stream, prefix } = await createSinkTargets('crashed', (c) =>
      cleanups.push(c),
    );
    const args = [out, table, stream, prefix, String(RECORDS), chk];
    const rows = async (): Promise<number> =>
      Number((await pg.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0]!.n);

    const child = spawn(process.execPath, [bin, 'run', '-D', 'rest.port=0', '--no-progress', JOB, ...args], {
      cwd: root,
      env: { ...process.env, SLUICE_LOG_LEVEL: 'info' },
      detached: true,
    });
    pids.push(child.pid!);
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.resume();
    const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
    // Mid-job: some checkpoints completed (files finished, rows committed), most records to come.
    await vi.waitFor(
      async () => {
        expect(stderr).toMatch(/completed checkpoint 5 /u);
        expect(existsSync(out) && finishedLines(out).length > 0).toBe(true);
        expect(await rows()).toBeGreaterThan(0);
      },
      { timeout: 60_000, interval: 50 },
    );
    const taskManagers = childrenOf(child.pid!);
    pids.push(...taskManagers);
    // The crash: the JobManager process and every TaskManager process die at once.
    process.kill(-child.pid!, 'SIGKILL');
    for (const pid of taskManagers) killQuietly(pid);
    await exited;
    expect(finishedLines(out).length).toBeLessThan(RECORDS);
    expect(await rows()).toBeLessThan(RECORDS);

    const checkpoint = latestCheckpoint(chk);
    expect(checkpoint).toBeDefined();
    const resumed = spawnSync(
      process.execPath,
      [bin, 'run', '-D', 'rest.port=0', '--no-progress', '-s', checkpoint!, JOB, ...args],
      { cwd: root, encoding: 'utf8', env: { ...process.env, SLUICE_LOG_LEVEL: 'warn' }, timeout: 120_000 },
    );
    expect(resumed.status, resumed.stderr).toBe(0);

    expectExactlyOnce(finishedRecords(out), RECORDS, 'FileSink');
    // Nothing uncommitted is left behind: the killed run's unfinished files were cleaned up.
    expect(readdirSync(out).filter((f) => f.startsWith('.'))).toEqual([]);
    const { rows: stored } = await pg.query<Counted>(`SELECT k, c, n FROM ${table}`);
    expectExactlyOnce(stored, RECORDS, 'JdbcSink.exactlyOnceSink');
    // What the killed run had prepared was committed (if its checkpoint completed) or rolled back.
    const { rows: prepared } = await pg.query(`SELECT gid FROM pg_prepared_xacts WHERE gid LIKE $1`, [
      `${prefix}:%`,
    ]);
    expect(prepared).toEqual([]);
    expectExactlyOnce(await streamMessages<Counted>(nc, jsm, stream), RECORDS, 'JetStreamSink');
  }, 120_000);
});
