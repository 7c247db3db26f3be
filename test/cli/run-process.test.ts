// `sluice run` tells the truth as a process: its exit code, a module without a job, Ctrl-C
// (graceful cancel, the retained checkpoint, a second Ctrl-C), and the output of TaskManagers.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'bin/sluice.js');
const children = new Set<ChildProcess>();
const dirs: string[] = [];

afterEach(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) kill(child);
  children.clear();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function kill(child: ChildProcess): void {
  try {
    process.kill(-child.pid!, 'SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
}

/** Runs `sluice run -D rest.port=0 ...args` to its end. */
function run(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, 'run', '-D', 'rest.port=0', ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, SLUICE_LOG_LEVEL: 'warn' },
    timeout: 60_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Starts `sluice run ...` as a terminal would: the leader of its own process group, so a signal
 * to the group is what Ctrl-C sends.
 */
function start(...args: string[]) {
  const child = spawn(process.execPath, [bin, 'run', '-D', 'rest.port=0', '--no-progress', ...args], {
    cwd: root,
    env: { ...process.env, SLUICE_LOG_LEVEL: 'info' },
    detached: true,
  });
  children.add(child);
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (d: Buffer) => (out.stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out.stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal })),
  );
  return { child, out, exited };
}

/** Ctrl-C in a terminal: SIGINT to every process of the foreground group. */
function ctrlC(child: ChildProcess): void {
  process.kill(-child.pid!, 'SIGINT');
}

/** The TaskManager child processes of `pid`, with their process groups. */
function taskManagers(pid: number): { pid: number; pgid: number }[] {
  const ps = execFileSync('ps', ['-o', 'pid=,pgid=,args=', '--ppid', String(pid)], { encoding: 'utf8' });
  return ps
    .split('\n')
    .filter((line) => line.includes(' taskmanager '))
    .map((line) => {
      const [p, g] = line.trim().split(/\s+/u);
      return { pid: Number(p), pgid: Number(g) };
    });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const until = <T>(check: () => T) => vi.waitFor(check, { timeout: 30_000, interval: 50 });

describe('sluice run as a process', () => {
  it("exits with the job module's process.exitCode", () => {
    const r = run('--no-progress', 'test/fixtures/exit-code-job.ts', '7');
    expect(r.stdout).toContain('collected 10');
    expect(r.stderr).not.toMatch(/error/iu);
    expect(r.code).toBe(7);
  });

  it("fails a module that never calls execute() with Flink's message", () => {
    const r = run('--no-progress', 'test/fixtures/no-execute-job.ts');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      "error: The program didn't contain a Sluice job: test/fixtures/no-execute-job.ts ran to its end without calling execute()",
    );
    expect(r.stderr).toContain('Perhaps you forgot to call execute()? [SLUICE_PROGRAM_INVALID]');
  });

  it('on Ctrl-C cancels the job gracefully, says so, prints the retained checkpoint and exits with 130', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-ctrl-c-'));
    dirs.push(dir);
    const sluice = start('test/fixtures/unbounded-job.ts', dir, '100', 'retain');
    await until(() => expect(sluice.out.stderr).toMatch(/completed checkpoint 2 /u));
    const tms = taskManagers(sluice.child.pid!);
    expect(tms.length).toBeGreaterThan(0);
    // In their own process groups: Ctrl-C reaches the JobManager only, which cancels the job,
    // instead of every TaskManager dying at once under the running job.
    for (const tm of tms) expect(tm.pgid).not.toBe(sluice.child.pid);

    ctrlC(sluice.child);
    const { code } = await sluice.exited;
    const { stderr } = sluice.out;
    expect(stderr).toMatch(
      /\[sluice\] Cancelling job 'forever' \([0-9a-f]{32}\); press Ctrl-C again to exit at once\./u,
    );
    expect(stderr).toMatch(/\[sluice\] Job 'forever' \([0-9a-f]{32}\) was cancelled\./u);
    const kept = /\[sluice\] Its latest checkpoint \((\d+)\) is kept at (\S+)/u.exec(stderr);
    expect(kept, stderr).not.toBeNull();
    expect(kept![2]).toContain(`${dir}/`);
    expect(kept![2]).toMatch(new RegExp(`/chk-${kept![1]}$`, 'u'));
    expect(existsSync(join(kept![2]!, '_metadata'))).toBe(true);
    expect(stderr).toContain(`Resume from it with: sluice run -s ${kept![2]} test/fixtures/unbounded-job.ts`);
    // Cancelled, not failed: no error line, no TaskManager lost or replaced on the way.
    expect(stderr).not.toMatch(/^error:|lost|replacement/mu);
    expect(code).toBe(130);
    await until(() => expect(tms.filter((tm) => isAlive(tm.pid))).toEqual([]));
  });

  it('exits at once on a second Ctrl-C', async () => {
    const sluice = start('test/fixtures/stuck-after-cancel-job.ts');
    await until(() => expect(sluice.out.stderr).toMatch(/TaskManager [0-9a-f]{32} registered/u));
    ctrlC(sluice.child);
    // The module hangs after its job was cancelled: only the second Ctrl-C ends the process.
    await until(() => expect(sluice.out.stdout).toContain('cancelled; hanging on purpose'));
    expect(sluice.child.exitCode).toBeNull();
    ctrlC(sluice.child);
    const { code } = await sluice.exited;
    expect(sluice.out.stderr).toContain('[sluice] Interrupted; exiting at once.');
    expect(code).toBe(130);
  });

  it('passes what TaskManagers print (print, printToErr, console.log in user functions) to its own stdout and stderr', () => {
    // Flink's WordCount at parallelism 2, on TaskManager processes (the default local mode).
    const r = run('--no-progress', 'test/fixtures/word-count-job.ts');
    expect(r.code, r.stderr).toBe(0);
    const printed = r.stdout.split('\n').filter((line) => /^\d> /u.test(line));
    for (const line of printed) expect(line).toMatch(/^[12]> \["[a-z]+",\d+\]$/u);
    // Each word's last running count is its count in the text.
    const counts = new Map<string, number>();
    for (const line of printed) {
      const [word, n] = JSON.parse(line.slice(3)) as [string, number];
      counts.set(word, Math.max(counts.get(word) ?? 0, n));
    }
    expect(counts.get('to')).toBe(4);
    expect(counts.get('the')).toBe(3);
    expect(counts.get('question')).toBe(1);
    expect(printed).toHaveLength(34);
    expect(new Set(printed.map((line) => line[0]))).toEqual(new Set(['1', '2']));
    expect(r.stdout).toContain("console.log from a user function: found 'question'");
    expect(r.stderr).toMatch(/^[12]> stderr: question$/mu);
  });

  it('never lets the lines of TaskManagers printing at once interleave mid-line', () => {
    const r = run(
      '--no-progress',
      '-p',
      '4',
      '-D',
      'cluster.taskmanagers=2',
      'test/fixtures/print-flood-job.ts',
      '20000',
    );
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(20_000);
    const seen = new Set<number>();
    for (const line of lines) {
      const m = /^([1-4])> (\d+):x{300}:(\d+)$/u.exec(line);
      expect(m, line.slice(0, 80)).not.toBeNull();
      expect(m![3]).toBe(m![2]);
      seen.add(Number(m![2]));
    }
    expect(seen.size).toBe(20_000);
  });
});
