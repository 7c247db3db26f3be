// The `sluice` command, run as a user runs it: help, running TypeScript job files, options, errors.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

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

describe('sluice CLI', () => {
  it('prints help', () => {
    const r = sluice('--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: sluice');
    expect(r.stdout).toContain('run [options] <job>');
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
    expect(r.stderr).toBe('');
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

  it('reports a failing user function with operator, subtask and the original stack', () => {
    const r = sluice('run', '--no-progress', 'test/fixtures/failing-job.ts');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      "error: operator 'cursed map' (subtask 1/1) threw in map: record seven is cursed",
    );
    expect(r.stderr).toContain('[SLUICE_USER_FUNCTION_FAILED]');
    expect(r.stderr).toMatch(/caused by: Error: record seven is cursed\n\s+at .*failing-job\.ts/);
  });

  it('says clearly when the checkpoint to restore from (-s) does not exist', () => {
    const r = sluice('run', '--no-progress', '-s', '/nonexistent/chk-3', 'test/fixtures/sum-job.ts', '10');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      "error: Cannot find checkpoint or savepoint file/directory '/nonexistent/chk-3'",
    );
    expect(r.stderr).toContain('[SLUICE_CHECKPOINT_NOT_FOUND]');
  });
});
