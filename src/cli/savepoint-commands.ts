/** `sluice savepoint`, `sluice savepoint --dispose`, `sluice stop`: savepoints through the REST API. */
import { SluiceError } from '../core/errors.js';
import { disposeSavepoint as disposeSavepointDirectory } from '../storage/filesystem/savepoint-storage.js';
import { rest } from './rest-client.js';

interface SavepointStatus {
  status: { id: 'IN_PROGRESS' | 'COMPLETED' };
  operation: { location?: string; 'failure-cause'?: { 'stack-trace'?: string; class?: string } } | null;
}

/** How long a savepoint is waited for before the command gives up (the savepoint itself goes on). */
const DEFAULT_TIMEOUT_MS = 600_000;

/**
 * Starts a savepoint operation (`POST path` with `body`, answered with a trigger id), waits for it
 * at `/jobs/:jobid/savepoints/:triggerid` and returns the savepoint's location. A failed
 * savepoint throws SLUICE_SAVEPOINT_FAILED with its cause.
 */
export async function awaitSavepoint(
  base: string,
  jobId: string,
  path: string,
  body: Record<string, unknown>,
  timeoutMs = DEFAULT_TIMEOUT_MS,
): Promise<string> {
  const { 'request-id': triggerId } = await rest<{ 'request-id': string }>(base, 'POST', path, body);
  const deadline = Date.now() + timeoutMs;
  for (let delay = 20; ; delay = Math.min(delay * 2, 500)) {
    const s = await rest<SavepointStatus>(base, 'GET', `/jobs/${jobId}/savepoints/${triggerId}`);
    if (s.status.id === 'COMPLETED') {
      const location = s.operation?.location;
      if (location !== undefined) return location;
      const cause = s.operation?.['failure-cause']?.['stack-trace']?.split('\n')[0] ?? 'no location returned';
      throw new SluiceError('SLUICE_SAVEPOINT_FAILED', `the savepoint of job ${jobId} failed: ${cause}`);
    }
    if (Date.now() > deadline)
      throw new SluiceError(
        'SLUICE_SAVEPOINT_FAILED',
        `the savepoint of job ${jobId} did not complete within ${timeoutMs / 1000} s (it may still complete; ` +
          `GET /jobs/${jobId}/savepoints/${triggerId} tells).`,
      );
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

function checkJobId(jobId: string): void {
  if (!/^[0-9a-f]{32}$/u.test(jobId))
    throw new SluiceError(
      'SLUICE_CLI_USAGE',
      `"${jobId}" is not a job id: expected 32 hex characters, as \`sluice list\` shows.`,
    );
}

/** `sluice savepoint JOBID [DIR]`: takes a savepoint, prints its path (as `flink savepoint`). */
export async function triggerSavepoint(
  base: string,
  jobId: string,
  targetDirectory: string | undefined,
  out: (s: string) => void,
  formatType: 'CANONICAL' | 'NATIVE' = 'CANONICAL',
): Promise<void> {
  checkJobId(jobId);
  out(`Triggering savepoint for job ${jobId}.`);
  out('Waiting for response...');
  const location = await awaitSavepoint(base, jobId, `/jobs/${jobId}/savepoints`, {
    'cancel-job': false,
    formatType,
    ...(targetDirectory === undefined ? {} : { 'target-directory': targetDirectory }),
  });
  out(`Savepoint completed. Path: ${location}`);
  out('You can resume your program from this savepoint with the run command.');
}

/** Options of `sluice stop`. */
export interface StopOptions {
  readonly savepointPath?: string;
  readonly drain: boolean;
  readonly formatType: 'CANONICAL' | 'NATIVE';
}

/** `sluice stop JOBID`: stop-with-savepoint, prints the savepoint's path (as `flink stop`). */
export async function stopWithSavepoint(
  base: string,
  jobId: string,
  options: StopOptions,
  out: (s: string) => void,
): Promise<void> {
  checkJobId(jobId);
  out(`${options.drain ? 'Draining' : 'Suspending'} job "${jobId}" with a ${options.formatType} savepoint.`);
  const location = await awaitSavepoint(base, jobId, `/jobs/${jobId}/stop`, {
    drain: options.drain,
    formatType: options.formatType,
    ...(options.savepointPath === undefined ? {} : { targetDirectory: options.savepointPath }),
  });
  out(`Savepoint completed. Path: ${location}`);
}

/** `sluice savepoint --dispose PATH`: deletes a savepoint after checking it is one. */
export async function disposeSavepoint(path: string, out: (s: string) => void): Promise<void> {
  out(`Disposing savepoint '${path}'.`);
  const dir = await disposeSavepointDirectory(path);
  out(`Savepoint '${dir}' disposed.`);
}
