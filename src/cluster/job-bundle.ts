/**
 * Job bundles: the job file with all its imports in one ESM module (like Flink's fat jar), so a
 * TaskManager needs nothing of the user's disk. `sluice` itself stays external: the TaskManager
 * resolves it to its own copy, so operators built by the bundle are the runtime's own classes.
 * Bundles are written to a per-user cache directory, never into the installation, so Sluice runs
 * from a read-only install as any user.
 */
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readlinkSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import type { Configuration } from '../core/configuration.js';
import { SluiceError } from '../core/errors.js';
import { getEnvironmentContext, setEnvironmentContext } from '../api/environment-context.js';
import type { PipelineSubmission } from '../api/execution.js';

/** The root of this Sluice installation (the folder with its package.json). */
const INSTALL_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * This user's cache directory for Sluice: `$XDG_CACHE_HOME/sluice`, else a private directory in
 * the temp dir (`sluice-<uid>`). Shared temp dirs are checked: the directory must be the
 * user's own and writable by no one else, since what is in it gets imported.
 */
export function userCacheDirectory(): string {
  const xdg = process.env['XDG_CACHE_HOME'];
  const uid = process.getuid?.();
  const dir = xdg ? join(xdg, 'sluice') : join(tmpdir(), uid === undefined ? 'sluice' : `sluice-${uid}`);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new SluiceError(
      'SLUICE_CONFIG_INVALID_VALUE',
      `cannot create Sluice's cache directory ${dir} (${(e as Error).message}); set XDG_CACHE_HOME to a directory you can write to.`,
      { cause: e },
    );
  }
  const stat = lstatSync(dir);
  if (uid !== undefined && (!stat.isDirectory() || stat.uid !== uid || (stat.mode & 0o022) !== 0))
    throw new SluiceError(
      'SLUICE_CONFIG_INVALID_VALUE',
      `Sluice's cache directory ${dir} is not a directory of your own that only you can write to; ` +
        'remove it, or set XDG_CACHE_HOME to a directory of yours.',
    );
  return dir;
}

/**
 * Where this installation's bundles go: a directory per installation in the user's cache, with a
 * `node_modules/sluice` link to the installation, so a bundle's bare `sluice` import resolves
 * to the very runtime that loads it.
 */
function bundleDirectory(): string {
  const install = realpathSync(INSTALL_ROOT);
  const dir = join(
    userCacheDirectory(),
    `install-${createHash('sha256').update(install).digest('hex').slice(0, 12)}`,
  );
  const link = join(dir, 'node_modules', 'sluice');
  mkdirSync(join(dir, 'jobs'), { recursive: true, mode: 0o700 });
  mkdirSync(join(dir, 'node_modules'), { recursive: true, mode: 0o700 });
  let current: string | undefined;
  try {
    current = readlinkSync(link);
  } catch {
    current = undefined;
  }
  if (current !== install) {
    if (current !== undefined) rmSync(link, { force: true });
    try {
      symlinkSync(install, link, 'junction');
    } catch (e) {
      // Another process of this installation made it meanwhile.
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || readlinkSync(link) !== install) throw e;
    }
  }
  return join(dir, 'jobs');
}

/** Bundles `entry` (TypeScript or JavaScript) with its imports; fails naming the file and the error. */
export async function bundleJob(entry: string): Promise<Uint8Array> {
  try {
    const result = await build({
      entryPoints: [entry],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      write: false,
      external: ['sluice', 'sluice/*'],
      // CommonJS dependencies bundled into the ESM module (pg, nats) require Node's built-ins.
      banner: {
        js: "import { createRequire as __sluiceCreateRequire } from 'node:module'; const require = __sluiceCreateRequire(import.meta.url);",
      },
      sourcemap: 'inline',
      // Stacks from a bundle (loaded from the cache directory) name the job's own files.
      absWorkingDir: process.cwd(),
      sourceRoot: `${pathToFileURL(process.cwd()).href}/`,
      // Registered classes are known by their name in every process and in checkpoints: a
      // bundle must not rename a class whose name another module's class also has.
      keepNames: true,
      logLevel: 'silent',
    });
    return result.outputFiles[0]!.contents;
  } catch (e) {
    const errors = (e as { errors?: { text: string; location?: { file: string; line: number } | null }[] })
      .errors;
    const first = errors?.[0];
    const where = first?.location ? `${first.location.file}:${first.location.line}: ` : '';
    throw new SluiceError(
      'SLUICE_CLI_USAGE',
      `cannot bundle job file ${entry}: ${where}${first?.text ?? (e as Error).message}`,
      { cause: e },
    );
  }
}

/** Bundles this process loaded so far: part of each file name, so two loads never share a file. */
let loads = 0;

/**
 * Loads a job bundle in the TaskManager role and returns the submissions its `execute()` calls
 * build, in order, once the module has submitted `count` jobs (its code after those calls never
 * runs). Each load evaluates the module afresh.
 */
export async function loadJobSubmissions(
  bundle: Uint8Array,
  options: {
    readonly configuration: Configuration;
    readonly argv?: readonly string[];
    readonly count?: number;
    /** `-p` of `sluice run`: the default parallelism the module's environment gets. */
    readonly parallelism?: number | undefined;
  },
): Promise<PipelineSubmission[]> {
  const count = options.count ?? 1;
  const name = `${createHash('sha256').update(bundle).digest('hex').slice(0, 16)}-${process.pid}-${++loads}.mjs`;
  const path = join(bundleDirectory(), name);
  await writeFile(path, bundle, { mode: 0o600 });
  const graphs: PipelineSubmission[] = [];
  const previous = getEnvironmentContext();
  const argv = process.argv;
  let done!: () => void;
  const captured = new Promise<void>((resolve) => (done = resolve));
  setEnvironmentContext({
    configuration: options.configuration,
    parallelism: options.parallelism,
    captureSubmission: (graph) => {
      graphs.push(graph);
      if (graphs.length === count) done();
    },
  });
  process.argv = [argv[0]!, path, ...(options.argv ?? [])];
  try {
    // The import settles when the module ends, or never (it awaits execute()): race the capture.
    await Promise.race([captured, import(pathToFileURL(path).href)]);
    if (graphs.length === 0)
      throw new SluiceError(
        'SLUICE_PROGRAM_INVALID',
        "The program didn't contain a Sluice job: the job module ran to its end without calling execute(), " +
          'executeAsync() or executeAndCollect() on its StreamExecutionEnvironment. Perhaps you forgot to call execute()?',
      );
    if (graphs.length < count)
      throw new SluiceError(
        'SLUICE_PROGRAM_INVALID',
        `the job module submitted ${graphs.length} job(s), expected ${count}: it must call execute() the same way in every process.`,
      );
    return graphs;
  } finally {
    process.argv = argv;
    setEnvironmentContext(previous);
    // The module is evaluated (up to its pending execute()); the file is not read again.
    await rm(path, { force: true });
  }
}
