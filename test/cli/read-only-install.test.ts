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
import { join } from 'node:path';
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

/** Sets the mode of every directory and file under `path` (symbolic links left alone). */
function chmodTree(path: string, dirMode: number, fileMode: number): void {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (!stat) return;
  if (stat.isDirectory()) {
    chmodSync(path, dirMode | 0o200);
    for (const entry of readdirSync(path, { withFileTypes: true }))
      if (!entry.isSymbolicLink()) chmodTree(join(path, entry.name), dirMode, fileMode);
    chmodSync(path, dirMode);
  } else chmodSync(path, fileMode);
}

/** Every path under `dir` (not following links). */
function listTree(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: false }) as string[];
}

describe('a read-only installation', () => {
  it('runs a job on TaskManager processes as a user who cannot write to it', () => {
    // The installation: Sluice's code, its dependencies linked in.
    const install = mkdtempSync(join(tmpdir(), 'sluice-ro-install-'));
    dirs.push(install);
    for (const part of ['bin', 'src', 'package.json'])
      cpSync(join(root, part), join(install, part), { recursive: true });
    symlinkSync(join(root, 'node_modules'), join(install, 'node_modules'), 'junction');
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
