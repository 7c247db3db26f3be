// `sluice savepoint`, `sluice savepoint --dispose` and `sluice stop` against a job run by another sluice process (TaskManager processes: savepoint barriers cross TCP).
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveFileCheckpoint } from '../../src/storage/filesystem/file-system-checkpoint-storage.js';
import { sluice, withRunningJob } from '../support/sluice-cli.js';

describe('sluice savepoint', () => {
  it('takes a savepoint of a running job and prints its path; --dispose deletes it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-cli-sp-'));
    try {
      await withRunningJob([join(dir, 'chk'), '200'], async ({ address, jobId }) => {
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
      await withRunningJob([join(dir, 'chk'), '200'], async ({ address, jobId, exited }) => {
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
      const r = sluice('run', flag, '-s', '/nonexistent/savepoint-0', 'test/fixtures/sum-job.ts');
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
