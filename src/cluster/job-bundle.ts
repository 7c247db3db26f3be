/**
 * Job bundles: the job file with all its imports in one ESM module (like Flink's fat jar), so a
 * TaskManager needs nothing of the user's disk. `sluice` itself stays external: the TaskManager
 * resolves it to its own copy, so operators built by the bundle are the runtime's own classes.
 */
import { createHash } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import type { Configuration } from '../core/configuration.js';
import { SluiceError } from '../core/errors.js';
import { getEnvironmentContext, setEnvironmentContext } from '../api/environment-context.js';
import type { PipelineSubmission } from '../api/execution.js';

/** Where bundles are written: inside this package, so their bare `sluice` import resolves to it. */
const BUNDLE_DIR = fileURLToPath(new URL('../../.cache/jobs/', import.meta.url));

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
      sourcemap: 'inline',
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
  await mkdir(BUNDLE_DIR, { recursive: true });
  const name = `${createHash('sha256').update(bundle).digest('hex').slice(0, 16)}-${process.pid}-${Date.now()}.mjs`;
  const path = `${BUNDLE_DIR}${name}`;
  await writeFile(path, bundle);
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
