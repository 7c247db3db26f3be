// The package as a user gets it: `npm pack` (which builds dist/), installed from the tarball into
// a project outside the repository, then used there as a user would — a JavaScript job with plain
// `node`, a TypeScript job with tsx (and Node's own type stripping where Node has it), both on
// TaskManager processes and inline, the `sluice` command, and a strict `tsc` over a consumer.
// Packing and installing take a while, so they happen once for the whole file.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findForgottenExports } from './public-types.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const rootPackage = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  exports: Record<string, string | Record<string, string>>;
};
const typescriptVersion = (
  JSON.parse(readFileSync(join(root, 'node_modules/typescript/package.json'), 'utf8')) as { version: string }
).version;

/**
 * The environment of a user's shell: nothing npm (`npm test` sets npm_* and puts the repository's
 * node_modules/.bin on PATH), vitest or Node options of this process leaks into the project.
 */
function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(npm_|VITEST|NODE_OPTIONS$|NODE_PATH$|SLUICE_|FLINK_)/iu.test(key)) continue;
    env[key] = value;
  }
  env['PATH'] = (process.env['PATH'] ?? '')
    .split(delimiter)
    .filter((dir) => !dir.startsWith(root))
    .join(delimiter);
  return { ...env, SLUICE_LOG_LEVEL: 'info', SLUICE_LOG_FORMAT: 'json', ...extra };
}

function run(
  command: string,
  args: readonly string[],
  cwd: string,
  settings: { readonly timeout?: number; readonly env?: Record<string, string> } = {},
): SpawnSyncReturns<string> {
  const r = spawnSync(command, args, {
    cwd,
    env: userEnv(settings.env),
    encoding: 'utf8',
    timeout: settings.timeout ?? 90_000,
  });
  if (r.error) throw r.error;
  return r;
}

function mustRun(command: string, args: readonly string[], cwd: string, timeout?: number): string {
  const r = run(command, args, cwd, timeout === undefined ? {} : { timeout });
  if (r.status !== 0)
    throw new Error(`${command} ${args.join(' ')} exited with ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** Every file below `dir`, relative to it, with `/` separators. */
function filesBelow(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)).split('\\').join('/'))
    .sort();
}

const JS_JOB = `import { StreamExecutionEnvironment } from 'sluice';

const env = StreamExecutionEnvironment.getExecutionEnvironment();
const words = 'to be or not to be that is the question'.split(' ');
const updates = await env
  .fromElements(...words)
  .map((word) => [word, 1])
  .keyBy((pair) => pair[0])
  .sum(1)
  .executeAndCollect('word count (js)');
// A rolling sum: the last update of each word is its count.
console.log('counts ' + JSON.stringify([...new Map(updates)].sort()));
`;

const TS_JOB = `import { KeyedProcessFunction, StreamExecutionEnvironment, ValueStateDescriptor } from 'sluice';
import type { Collector, KeyedProcessContext, RuntimeContext, ValueState } from 'sluice';

class RunningCount extends KeyedProcessFunction<number, number, [number, number]> {
  private count!: ValueState<number>;

  open(ctx: RuntimeContext): void {
    this.count = ctx.getState(new ValueStateDescriptor<number>('count'));
  }

  processElement(n: number, ctx: KeyedProcessContext<number>, out: Collector<[number, number]>): void {
    const count = (this.count.value() ?? 0) + 1;
    this.count.update(count);
    out.collect([ctx.getCurrentKey(), count]);
  }
}

const env = StreamExecutionEnvironment.getExecutionEnvironment();
const rows: [number, number][] = await env
  .fromSequence(1, 300)
  .keyBy((n) => n % 3)
  .process(new RunningCount())
  .uid('running-count')
  .executeAndCollect('running count (ts)');
const last = new Map<number, number>(rows);
console.log('counts ' + JSON.stringify([...last].sort()));
`;

const HARNESS_TEST = `import { KeyedProcessFunction, ValueStateDescriptor } from 'sluice';
import type { Collector, KeyedProcessContext, RuntimeContext, ValueState } from 'sluice';
import { ProcessFunctionTestHarnesses } from 'sluice/testing';

class RunningCount extends KeyedProcessFunction<string, string, [string, number]> {
  private count!: ValueState<number>;

  open(ctx: RuntimeContext): void {
    this.count = ctx.getState(new ValueStateDescriptor<number>('count'));
  }

  processElement(word: string, ctx: KeyedProcessContext<string>, out: Collector<[string, number]>): void {
    const count = (this.count.value() ?? 0) + 1;
    this.count.update(count);
    out.collect([ctx.getCurrentKey(), count]);
  }
}

const harness = ProcessFunctionTestHarnesses.forKeyedProcessFunction(new RunningCount(), (w: string) => w);
for (const word of ['a', 'b', 'a']) harness.processElement(word);
console.log('harness ' + JSON.stringify(harness.extractOutputValues()));
await harness.close();
`;

const JS_COUNTS =
  'counts [["be",2],["is",1],["not",1],["or",1],["question",1],["that",1],["the",1],["to",2]]';
const TS_COUNTS = 'counts [[0,100],[1,100],[2,100]]';
const REGISTERED = /TaskManager [0-9a-f]{32} registered/u;

let scratch: string;
let project: string;
let installed: string;
/**
 * Working directories whose Flink configuration file picks the mode: TaskManager processes
 * (a Flink 2 config.yaml, nested keys), or inline (a Flink 1 flink-conf.yaml).
 */
let local: string;
let inline: string;

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'sluice-package-'));
  // npm pack runs the prepare script, so the tarball holds a fresh build.
  mustRun('npm', ['pack', '--pack-destination', scratch, '--loglevel=error'], root, 180_000);
  const tarball = readdirSync(scratch).find((name) => name.endsWith('.tgz'));
  if (tarball === undefined) throw new Error(`npm pack wrote no tarball into ${scratch}`);

  project = join(scratch, 'project');
  mkdirSync(project);
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({ name: 'sluice-user', private: true, type: 'module' }, null, 2),
  );
  // Outside the repository: nothing resolves to its node_modules. Dependencies come from npm's
  // cache when it has them (the repository's `npm ci` filled it), else from the registry.
  mustRun(
    'npm',
    [
      'install',
      join(scratch, tarball),
      `typescript@${typescriptVersion}`,
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      '--loglevel=error',
    ],
    project,
    240_000,
  );
  installed = join(project, 'node_modules/sluice');
  writeFileSync(join(project, 'job.mjs'), JS_JOB);
  writeFileSync(join(project, 'job.ts'), TS_JOB);
  writeFileSync(join(project, 'harness.ts'), HARNESS_TEST);
  writeFileSync(
    join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { strict: true, module: 'nodenext', noEmit: true },
      include: ['job.ts', 'harness.ts'],
    }),
  );
  local = join(project, 'local');
  inline = join(project, 'inline');
  mkdirSync(local);
  mkdirSync(inline);
  writeFileSync(join(local, 'config.yaml'), 'rest:\n  port: 0\nparallelism:\n  default: 2\n');
  writeFileSync(
    join(inline, 'flink-conf.yaml'),
    'rest.port: 0\nparallelism.default: 2\nexecution.target: inline\n',
  );
}, 420_000);

afterAll(() => {
  if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
});

/** Node's own TypeScript support: `--experimental-strip-types` from Node 22.6 on. */
function nodeStripsTypes(): boolean {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  return major > 22 || (major === 22 && minor >= 6);
}

describe('the packed package', () => {
  it('ships the build, the command and the docs, and nothing of the repository else', () => {
    const files = filesBelow(installed);
    const outside = files.filter(
      (file) => !/^(dist|bin|docs)\//u.test(file) && !['README.md', 'package.json'].includes(file),
    );
    expect(outside).toEqual([]);
    expect(files.filter((file) => /\.test\.|\.contract\.|\.fixtures\.|\.arbitraries\./u.test(file))).toEqual(
      [],
    );
    expect(files).toContain('dist/index.js');
    expect(files).toContain('dist/index.d.ts');
    expect(files).toContain('dist/cli/main.js');
    // The web dashboard, prebuilt: the JobManager serves it without building anything.
    expect(files).toContain('dist/web/index.html');
    expect(files.some((file) => /^dist\/web\/assets\/index-[\w-]+\.js$/u.test(file))).toBe(true);
  });

  it('ships every entry point whose sources exist, with its declarations', () => {
    for (const [entry, target] of Object.entries(rootPackage.exports)) {
      if (typeof target === 'string') continue;
      const source = target['sluice-source'];
      if (source === undefined || !existsSync(join(root, source))) continue;
      for (const condition of ['types', 'default']) {
        const file = target[condition];
        expect(file, `${entry} has no "${condition}"`).toBeDefined();
        expect(existsSync(join(installed, file!)), `${entry} → ${file}`).toBe(true);
      }
    }
  });

  it('runs a JavaScript job with plain node on TaskManager processes, then inline', () => {
    const onTaskManagers = run(process.execPath, [join(project, 'job.mjs')], local);
    expect(onTaskManagers.status, onTaskManagers.stderr).toBe(0);
    expect(onTaskManagers.stdout).toContain(JS_COUNTS);
    expect(onTaskManagers.stderr).toContain('configuration from config.yaml (working directory)');
    // The job was bundled with `sluice` external and the TaskManagers loaded the installed dist.
    expect(onTaskManagers.stderr).toMatch(REGISTERED);

    const inProcess = run(process.execPath, [join(project, 'job.mjs')], inline);
    expect(inProcess.status, inProcess.stderr).toBe(0);
    expect(inProcess.stdout).toContain(JS_COUNTS);
    expect(inProcess.stderr).toContain('configuration from flink-conf.yaml (working directory)');
    expect(inProcess.stderr).not.toMatch(REGISTERED);
  });

  it('runs a TypeScript job with tsx (and with Node’s type stripping where Node has it)', () => {
    const runners: [string, string[]][] = [
      [join(project, 'node_modules/.bin/tsx'), [join(project, 'job.ts')]],
    ];
    if (nodeStripsTypes())
      runners.push([process.execPath, ['--experimental-strip-types', join(project, 'job.ts')]]);
    for (const [command, args] of runners) {
      const onTaskManagers = run(command, args, local);
      expect(onTaskManagers.status, onTaskManagers.stderr).toBe(0);
      expect(onTaskManagers.stdout).toContain(TS_COUNTS);
      expect(onTaskManagers.stderr).toMatch(REGISTERED);

      const inProcess = run(command, args, inline);
      expect(inProcess.status, inProcess.stderr).toBe(0);
      expect(inProcess.stdout).toContain(TS_COUNTS);
      expect(inProcess.stderr).not.toMatch(REGISTERED);
    }
  });

  it('runs a TypeScript job with the installed sluice command, from the compiled CLI', () => {
    const sluice = join(project, 'node_modules/.bin/sluice');
    // Configured by the directory in $FLINK_CONF_DIR, as a Flink user's cluster would be.
    const r = run(sluice, ['run', '--no-progress', join(project, 'job.ts')], project, {
      env: { FLINK_CONF_DIR: local },
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('configuration from local/config.yaml ($FLINK_CONF_DIR)');
    expect(r.stdout).toContain(TS_COUNTS);
    expect(r.stderr).toMatch(REGISTERED);
    // No sources are installed, so what ran was dist/.
    expect(existsSync(join(installed, 'src'))).toBe(false);
  });

  it('tests a function with sluice/testing', () => {
    const r = run(join(project, 'node_modules/.bin/tsx'), [join(project, 'harness.ts')], project);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('harness [["a",1],["b",1],["a",2]]');
  });

  it('type-checks a strict consumer with nothing reported inside Sluice', () => {
    const r = run(
      process.execPath,
      [join(project, 'node_modules/typescript/bin/tsc'), '-p', project],
      project,
    );
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('exports every type its public declarations mention', () => {
    const entries = Object.values(rootPackage.exports)
      .map((target) => (typeof target === 'string' ? undefined : target['types']))
      .filter((file): file is string => file !== undefined && existsSync(join(installed, file)))
      .map((file) => join(installed, file));
    expect(entries.length).toBeGreaterThan(0);
    expect(findForgottenExports(entries, installed)).toEqual([]);
  });
});
