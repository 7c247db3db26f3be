// FileSink across a whole-process crash (issue 16 point 6): `sluice run` (JobManager and its
// TaskManager processes) is SIGKILLed mid-job, resumed with `sluice run -s <latest retained
// checkpoint>`, and the finished part files hold every record exactly once.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'bin/sluice.js');
const JOB = 'test/fixtures/file-sink-job.ts';
const COUNT = 6000;
const dirs: string[] = [];
const pids: number[] = [];

afterEach(() => {
  for (const pid of pids.splice(0)) killQuietly(pid);
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
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

function finishedLines(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => !f.startsWith('.'))
    .flatMap((f) =>
      readFileSync(join(dir, f), 'utf8')
        .split('\n')
        .filter((l) => l.length > 0),
    );
}

describe('FileSink and a crash of the whole sluice run process', () => {
  it('resumed from the latest retained checkpoint, the finished files hold every record exactly once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-file-sink-crash-'));
    dirs.push(dir);
    const out = join(dir, 'out');
    const chk = join(dir, 'chk');
    const child = spawn(
      process.execPath,
      [bin, 'run', '-D', 'rest.port=0', '--no-progress', JOB, out, chk, String(COUNT)],
      {
        cwd: root,
        env: { ...process.env, SLUICE_LOG_LEVEL: 'info' },
        detached: true,
      },
    );
    pids.push(child.pid!);
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.resume();
    const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
    // Mid-job: some checkpoints completed (some files finished), most records still to come.
    await vi.waitFor(
      () => {
        expect(stderr).toMatch(/completed checkpoint 5 /u);
        expect(existsSync(out) && finishedLines(out).length > 0).toBe(true);
      },
      { timeout: 60_000, interval: 50 },
    );
    const taskManagers = childrenOf(child.pid!);
    pids.push(...taskManagers);
    // The crash: the JobManager process and every TaskManager process die at once.
    process.kill(-child.pid!, 'SIGKILL');
    for (const pid of taskManagers) killQuietly(pid);
    await exited;
    const before = finishedLines(out).length;
    expect(before).toBeLessThan(COUNT);

    const checkpoint = latestCheckpoint(chk);
    expect(checkpoint).toBeDefined();
    const resumed = spawnSync(
      process.execPath,
      [bin, 'run', '-D', 'rest.port=0', '--no-progress', '-s', checkpoint!, JOB, out, chk, String(COUNT)],
      { cwd: root, encoding: 'utf8', env: { ...process.env, SLUICE_LOG_LEVEL: 'warn' }, timeout: 120_000 },
    );
    expect(resumed.status, resumed.stderr).toBe(0);

    const lines = finishedLines(out);
    const values = lines.map((l) => Number(l.split(':')[2])).sort((a, b) => a - b);
    expect(values).toEqual(Array.from({ length: COUNT }, (_, i) => i));
    // The keyed counts were restored with the files: per key 1..k, each once.
    const counts = new Map<string, number[]>();
    for (const l of lines) {
      const [key, c] = l.split(':');
      counts.set(key!, [...(counts.get(key!) ?? []), Number(c)]);
    }
    for (const cs of counts.values()) expect(cs.sort((a, b) => a - b)).toEqual(cs.map((_, i) => i + 1));
    // Nothing uncommitted is left behind: the killed run's unfinished files were cleaned up.
    expect(readdirSync(out).filter((f) => f.startsWith('.'))).toEqual([]);
  });
});
