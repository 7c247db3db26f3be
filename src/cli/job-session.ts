/** The jobs one `sluice run` started, and what Ctrl-C does to them: cancel gracefully, then exit at once. */
import { constants } from 'node:os';
import type { JobClient } from '../api/execution.js';
import { isJobTerminal } from '../coordinator/job-master.js';

/** The signals that stop `sluice run`. */
export type InterruptSignal = 'SIGINT' | 'SIGTERM';

/** The jobs a module submitted, their outcomes, and whether the user interrupted the run. */
export class JobSession {
  readonly clients: JobClient[] = [];
  /** How jobs that did not finish failed (a job the module did not await fails the run). */
  readonly failures: unknown[] = [];
  /** The signal that asked the run to stop, if one did. */
  interrupted: InterruptSignal | undefined;
  private readonly pending: Promise<unknown>[] = [];

  /** A job was submitted; once the run is interrupted, new jobs are cancelled at once. */
  add(client: JobClient): void {
    this.clients.push(client);
    this.track(
      client.getJobExecutionResult().then(
        () => undefined,
        (e: unknown) => void this.failures.push(e),
      ),
    );
    if (this.interrupted) void client.cancel().catch(() => undefined);
  }

  /** Waits for `work` (a progress display, say) before the run ends. */
  track(work: Promise<unknown>): void {
    this.pending.push(work);
  }

  /** Whether `jobId` is one of this run's jobs. */
  has(jobId: unknown): boolean {
    return this.clients.some((c) => c.jobId === jobId);
  }

  /** The jobs still running. */
  running(): JobClient[] {
    return this.clients.filter((c) => !isJobTerminal(c.getJobStatus()));
  }

  /** Resolves when every job (and everything tracked) has ended. */
  async settled(): Promise<void> {
    for (let n = 0; n < this.pending.length;) {
      const batch = this.pending.slice(n);
      n = this.pending.length;
      await Promise.allSettled(batch);
    }
  }
}

/** The exit code of a process stopped by `signal`: 128 + its number, as shells and the JVM report it. */
export function interruptExitCode(signal: InterruptSignal): number {
  return 128 + constants.signals[signal];
}

/**
 * Handles Ctrl-C (and SIGTERM) while jobs run: the first cancels the running jobs gracefully and
 * says so; a second, or one while no job runs, exits at once. Returns a function that stops handling.
 */
export function onInterrupt(session: JobSession, say: (line: string) => void): () => void {
  const handler = (signal: InterruptSignal) => {
    const running = session.running();
    if (session.interrupted || running.length === 0) {
      say('Interrupted; exiting at once.');
      process.exit(interruptExitCode(signal));
    }
    session.interrupted = signal;
    for (const client of running) {
      say(`Cancelling job '${client.jobName}' (${client.jobId}); press Ctrl-C again to exit at once.`);
      void client.cancel().catch(() => undefined);
    }
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}
