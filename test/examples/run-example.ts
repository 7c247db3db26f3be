/** Runs an example job file with `sluice run`, as its users do, and reads what it printed. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** What a `sluice run` printed and how it exited. */
export interface ExampleRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The records print() wrote, parsed, with the `N> ` subtask prefix taken off. */
  readonly printed: unknown[];
}

/**
 * `sluice run --no-progress -D rest.port=0 <options> <job> <args>`, at INFO level (the lines an
 * example prints are what the tests look at); `inline` runs every task in the sluice process.
 */
export function runExample(
  job: string,
  settings: {
    readonly options?: readonly string[];
    readonly args?: readonly string[];
    readonly inline?: boolean;
  } = {},
): Promise<ExampleRun> {
  const argv = [
    'bin/sluice.js',
    'run',
    '--no-progress',
    '-D',
    'rest.port=0',
    ...(settings.inline ? ['-D', 'execution.target=inline'] : []),
    ...(settings.options ?? []),
    job,
    ...(settings.args ?? []),
  ];
  const child = spawn(process.execPath, argv, {
    cwd: root,
    env: { ...process.env, SLUICE_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      const printed = stdout
        .split('\n')
        .map((line) => line.replace(/^\d+> /u, ''))
        .filter((line) => line.startsWith('['))
        .map((line) => JSON.parse(line) as unknown);
      resolve({ code, stdout, stderr, printed });
    });
  });
}
