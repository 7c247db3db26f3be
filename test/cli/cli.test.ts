// The `sluice` command, run as a user runs it: help, running TypeScript job files, options, errors.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { root, sluice, withRunningJob } from '../support/sluice-cli.js';

describe('sluice CLI', () => {
  it('prints help', () => {
    const r = sluice('--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: sluice');
    expect(r.stdout).toContain('run [options] [job] [args...]');
    const run = sluice('run', '--help');
    expect(run.stdout).toContain('-j, --jarfile <file>');
  });

  it('runs a TypeScript job file with arguments, -p and progress', () => {
    const r = sluice('run', '-p', '3', 'test/fixtures/sum-job.ts', '200');
    expect(r.stderr).not.toContain('error');
    expect(r.code).toBe(0);
    // 2+4+…+200 and 1+3+…+199
    expect(r.stdout).toContain('parallelism=3 even=10100 odd=10000');
    expect(r.stderr).toMatch(/\[sluice\] sum-job FINISHED/);
  });

  it('applies -D configuration options', () => {
    const r = sluice('run', '--no-progress', '-D', 'parallelism.default=2', 'test/fixtures/sum-job.ts', '10');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('parallelism=2 even=30 odd=25');
    expect(r.stderr).not.toMatch(/unknown config key|deprecated|error/iu);
  });

  it('rejects a bad -D value naming the key', () => {
    const r = sluice('run', '-D', 'parallelism.default=zero', 'test/fixtures/sum-job.ts');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('parallelism.default');
    expect(r.stderr).toContain('SLUICE_CONFIG_INVALID_VALUE');
  });

  it('says clearly when the job file does not exist', () => {
    const r = sluice('run', 'no/such/job.ts');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: job file not found: no\/such\/job.ts/);
  });

  it('reports a failing user function on one line that says the cause once, and the line of the job where it threw', () => {
    const r = sluice('run', '--no-progress', 'test/fixtures/failing-job.ts');
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n').filter((line) => line.startsWith('error: '))).toEqual([
      "error: operator 'cursed map' (subtask 1/1) threw in map: record seven is cursed [SLUICE_USER_FUNCTION_FAILED]",
    ]);
    // The cause once: not again in a log line of the JobManager, nor in a stack.
    expect(r.stderr.match(/record seven is cursed/gu)).toHaveLength(1);
    expect(r.stderr).toMatch(/^ {4}at .*\(test\/fixtures\/failing-job\.ts:\d+:\d+\)$/mu);
    expect(r.stderr).not.toMatch(/Caused by|stream-operator|simple-operators/u);
  });

  it('prints the stack of a failure, once, at debug level', () => {
    const r = sluice('run', '--no-progress', '-D', 'log.level=debug', 'test/fixtures/failing-job.ts');
    expect(r.code).toBe(1);
    const report = r.stderr.slice(r.stderr.indexOf('error: '));
    expect(report).toMatch(
      /^error: operator 'cursed map' .* \[SLUICE_USER_FUNCTION_FAILED\]\n {4}SluiceError: /u,
    );
    expect(report.match(/Caused by: Error: record seven is cursed/gu)).toHaveLength(1);
    expect(report).toMatch(/at .*\/test\/fixtures\/failing-job\.ts:\d+:\d+/u);
  });

  it('says clearly when the checkpoint to restore from (-s) does not exist', () => {
    const r = sluice('run', '--no-progress', '-s', '/nonexistent/chk-3', 'test/fixtures/sum-job.ts', '10');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      "error: Cannot find checkpoint or savepoint file/directory '/nonexistent/chk-3'",
    );
    expect(r.stderr).toContain('[SLUICE_CHECKPOINT_NOT_FOUND]');
  });

  it('lists, checkpoints and cancels a running job from another sluice process, over REST', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-cli-'));
    try {
      await withRunningJob([dir], async ({ address, jobId, exited, stderr }) => {
        const list = sluice('list', '-m', address);
        expect(list.code).toBe(0);
        expect(list.stdout).toContain(`: ${jobId} : forever (RUNNING)`);

        const checkpoint = sluice('checkpoint', jobId, '-m', address);
        expect(checkpoint.stderr).toBe('');
        const path = /Checkpoint (\d+) completed: (.+)$/mu.exec(checkpoint.stdout)?.[2];
        expect(path, checkpoint.stdout).toContain(join(dir, jobId));
        expect(existsSync(join(path!, '_metadata'))).toBe(true);

        const unknown = sluice('cancel', 'f'.repeat(32), '-m', address);
        expect(unknown.code).toBe(1);
        expect(unknown.stderr).toContain('404');

        const cancel = sluice('cancel', jobId, '-m', address);
        expect(cancel.stdout).toContain(`Cancelled job ${jobId}`);
        // Flink's client exits with 1 for a cancelled job; it says so plainly, not as an error.
        expect(await exited).toBe(1);
        expect(stderr()).toContain(`[sluice] Job 'forever' (${jobId}) was cancelled.`);
        expect(stderr()).not.toMatch(/^error:/mu);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs the README demo with npm start, passing options through: a failure half-way, a restore, exactly-once counts', () => {
    // `npm start -- -D rest.port=0`: options after `--` reach sluice, not the job.
    const r = spawnSync('npm', ['start', '--silent', '--', '-D', 'rest.port=0'], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, SLUICE_LOG_LEVEL: 'warn' },
      timeout: 90_000,
    });
    expect(r.stderr).not.toMatch(/^error:/mu);
    expect(r.status).toBe(0);
    const port = Number(/REST API at http:\/\/127\.0\.0\.1:(\d+)/u.exec(r.stderr)?.[1]);
    expect(port).toBeGreaterThan(0);
    expect(port).not.toBe(8081);
    expect(r.stdout).toMatch(/restarts: 1, restored from checkpoint: \d+/u);
    expect(r.stdout).toContain('check: 300000 clicks, every page counted exactly 6000 times, no duplicates');
    expect(r.stdout).toContain(': OK');
    // The last progress line: full vertex names, and records over both attempts (the restarted
    // attempt replays what came after its checkpoint, so more than the 300,000 clicks).
    const last = r.stderr.split('\n').findLast((line) => line.startsWith('[sluice] click-counts FINISHED'));
    expect(last, r.stderr).toBeDefined();
    const enrich = /\| clicks -> enrich ([\d.]+)k → running count [\d.]+k → Collect Sink [\d.]+k \|/u.exec(
      last!,
    );
    expect(enrich, last).not.toBeNull();
    expect(Number(enrich![1])).toBeGreaterThan(300);
    expect(last).toContain('restarts 1 (counts include replayed records)');
  });
});
