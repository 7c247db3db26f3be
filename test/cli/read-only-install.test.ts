// Sluice runs from a read-only installation as a user who owns nothing of it: job bundles go to
// the user's cache directory, never into the installation.
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dirs: string[] = [];

afterEach(() => {
  for (const dir of dirs.splice(0)) {
    chmodTree(dir, 0o755, 0o644);
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * Sets the mode of every directory under `path` to `dirMode`, and of every file to `fileMode` plus
 * the execute bits it had (esbuild's binary must stay executable); symbolic links left alone.
 */
function chmodTree(path: string, dirMode: number, fileMode: number): void {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (!stat) return;
  if (stat.isDirectory()) {
    chmodSync(path, dirMode | 0o200);
    for (const entry of readdirSync(path, { withFileTypes: true }))
      if (!entry.isSymbolicLink()) chmodTree(join(path, entry.name), dirMode, fileMode);
    chmodSync(path, dirMode);
  } else chmodSync(path, fileMode | (stat.mode & 0o111));
}

/** Every path under `dir` (not following links). */
function listTree(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: false }) as string[];
}

/** The folders of Sluice's production dependencies, relative to the checkout, outermost first. */
function productionDependencies(): string[] {
  const ls = spawnSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: root, encoding: 'utf8' });
  const dirs = ls.stdout
    .split('\n')
    .map((line) => relative(root, line.trim()))
    .filter((dir) => dir.startsWith('node_modules'))
    .sort();
  expect(dirs.length, ls.stderr).toBeGreaterThan(5);
  // A nested folder comes with its parent's copy.
  return dirs.filter((dir, i) => !dirs.slice(0, i).some((parent) => dir.startsWith(`${parent}/`)));
}

describe('a read-only installation', () => {
  it('runs a job on TaskManager processes as a user who cannot write to it', () => {
    // The installation: Sluice's code and a copy of its production dependencies (a link to the
    // checkout's would need every folder above the checkout to be open to the other user).
    const install = mkdtempSync(join(tmpdir(), 'sluice-ro-install-'));
    dirs.push(install);
    for (const part of ['bin', 'src', 'package.json'])
      cpSync(join(root, part), join(install, part), { recursive: true });
    for (const dir of productionDependencies())
      cpSync(join(root, dir), join(install, dir), { recursive: true });
    // A user's project that depends on it.
    const project = mkdtempSync(join(tmpdir(), 'sluice-ro-project-'));
    dirs.push(project);
    mkdirSync(join(project, 'node_modules'));
    symlinkSync(install, join(project, 'node_modules', 'sluice'), 'junction');
    writeFileSync(join(project, 'package.json'), '{ "type": "module" }\n');
    writeFileSync(
      join(project, 'job.ts'),
      `import { StreamExecutionEnvironment } from 'sluice';
       const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(2);
       const rows = await env.fromSequence(1, 100).keyBy((x) => x % 2).reduce((a, b) => a + b).executeAndCollect('read-only');
       console.log(\`largest sum \${Math.max(...rows)}\`);
      `,
    );
    const before = listTree(install).sort();
    chmodTree(install, 0o555, 0o444);
    chmodTree(project, 0o755, 0o644);

    // Root may write anywhere: it runs the job as `nobody` instead. Anyone else is held off by the modes.
    const asNobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    const env: NodeJS.ProcessEnv = { ...process.env, SLUICE_LOG_LEVEL: 'info', HOME: project };
    delete env['XDG_CACHE_HOME'];
    const r = spawnSync(
      process.execPath,
      [join(install, 'bin/sluice.js'), 'run', '--no-progress', '-D', 'rest.port=0', 'job.ts'],
      { cwd: project, env, encoding: 'utf8', timeout: 60_000, ...asNobody },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('largest sum 2550');
    expect(r.stderr).toMatch(/TaskManager [0-9a-f]{32} registered/u);
    expect(listTree(install).sort()).toEqual(before);
  });
});
