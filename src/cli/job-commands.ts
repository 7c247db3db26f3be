/** `sluice list`, `sluice cancel`, `sluice checkpoint`: job control through the REST API. */
import { SluiceError } from '../core/errors.js';
import { rest } from './rest-client.js';

interface JobOverview {
  jid: string;
  name: string;
  state: string;
  'start-time': number;
}

const RUNNING = new Set(['RUNNING', 'RESTARTING', 'CREATED', 'INITIALIZING', 'FAILING', 'CANCELLING']);

function line(job: JobOverview): string {
  const start = new Date(job['start-time']).toISOString().replace('T', ' ').slice(0, 19);
  return `${start} : ${job.jid} : ${job.name} (${job.state})`;
}

/** Prints running and finished jobs, as Flink's `flink list -a`. */
export async function listJobs(base: string, out: (s: string) => void): Promise<void> {
  const { jobs } = await rest<{ jobs: JobOverview[] }>(base, 'GET', '/jobs/overview');
  const running = jobs.filter((j) => RUNNING.has(j.state));
  const ended = jobs.filter((j) => !RUNNING.has(j.state));
  out('------------------ Running/Restarting Jobs -------------------');
  out(running.length > 0 ? running.map(line).join('\n') : 'No running jobs.');
  out('--------------------------------------------------------------');
  if (ended.length > 0) {
    out('---------------------- Terminated Jobs -----------------------');
    out(ended.map(line).join('\n'));
    out('--------------------------------------------------------------');
  }
}

function checkJobId(jobId: string): void {
  if (!/^[0-9a-f]{32}$/u.test(jobId))
    throw new SluiceError(
      'SLUICE_CLI_USAGE',
      `"${jobId}" is not a job id: expected 32 hex characters, as \`sluice list\` shows.`,
    );
}

/** Cancels a job. */
export async function cancelJob(base: string, jobId: string, out: (s: string) => void): Promise<void> {
  checkJobId(jobId);
  await rest(base, 'PATCH', `/jobs/${jobId}?mode=cancel`);
  out(`Cancelled job ${jobId}.`);
}

interface TriggerStatus {
  status: { id: 'IN_PROGRESS' | 'COMPLETED' };
  operation?: { checkpointId?: number; failureCause?: { 'stack-trace'?: string; class?: string } };
}

/** Triggers a checkpoint now, waits for it, prints its path (`sluice checkpoint JOBID`). */
export async function triggerCheckpoint(
  base: string,
  jobId: string,
  out: (s: string) => void,
  timeoutMs = 600_000,
): Promise<void> {
  checkJobId(jobId);
  const { 'request-id': triggerId } = await rest<{ 'request-id': string }>(
    base,
    'POST',
    `/jobs/${jobId}/checkpoints`,
    {},
  );
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await rest<TriggerStatus>(base, 'GET', `/jobs/${jobId}/checkpoints/${triggerId}`);
    if (s.status.id === 'COMPLETED') {
      const failure = s.operation?.failureCause;
      if (failure || s.operation?.checkpointId === undefined)
        throw new SluiceError(
          'SLUICE_CHECKPOINT_FAILED',
          `the checkpoint of job ${jobId} failed: ${failure?.['stack-trace']?.split('\n')[0] ?? 'no checkpoint id returned'}`,
        );
      const id = s.operation.checkpointId;
      const details = await rest<{ external_path?: string }>(
        base,
        'GET',
        `/jobs/${jobId}/checkpoints/details/${id}`,
      );
      out(`Checkpoint ${id} completed: ${details.external_path ?? '(path unknown)'}`);
      return;
    }
    if (Date.now() > deadline)
      throw new SluiceError(
        'SLUICE_CHECKPOINT_FAILED',
        `checkpoint of job ${jobId} did not complete in time.`,
      );
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
