// `node job.ts` with no launcher: execute() starts a local cluster (TaskManager processes, REST
// API), runs the job on it and stops it again, so the process exits by itself.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
// tsx's loader by path: the run's working directory is outside the repository.
const tsx = pathToFileURL(join(root, 'node_modules/tsx/dist/loader.mjs')).href;
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function runPlain(file: string, args: string[], yaml: string) {
  // The working directory's sluice.yaml configures a plain run (no -D without a launcher).
  const cwd = mkdtempSync(join(tmpdir(), 'sluice-plain-'));
  dirs.push(cwd);
  writeFileSync(join(cwd, 'sluice.yaml'), yaml);
  // `sluice` resolves to the sources, as in `sluice run` from the repository (bin/sluice.js).
  return spawnSync(
    process.execPath,
    ['--conditions=sluice-source', '--import', tsx, join(root, file), ...args],
    {
      cwd,
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, SLUICE_LOG_LEVEL: 'info', SLUICE_LOG_FORMAT: 'json' },
    },
  );
}

describe('a plain node run', () => {
  it('runs the job on TaskManager processes of a local cluster, then exits', () => {
    const r = runPlain('test/fixtures/sum-job.ts', ['1000'], 'rest.port: 0\nparallelism.default: 2\n');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('parallelism=2 even=250500 odd=250000');
    expect(r.stderr).toMatch(/local cluster: REST API at http:\/\/127\.0\.0\.1:\d+/u);
    // The tasks ran in TaskManager processes that registered over the control plane.
    expect(r.stderr).toMatch(/TaskManager [0-9a-f]{32} registered/u);
  });

  it('runs every task in the one process with execution.target: inline', () => {
    const r = runPlain('test/fixtures/sum-job.ts', ['1000'], 'rest.port: 0\nexecution.target: inline\n');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('even=250500 odd=250000');
    expect(r.stderr).not.toMatch(/TaskManager [0-9a-f]{32} registered/u);
  });
});
