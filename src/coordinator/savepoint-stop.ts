/**
 * Stop-with-savepoint of one job (Flink's `stopWithSavepoint`): the job ends FINISHED only once
 * its synchronous savepoint completed and every task was notified (sinks committed); if the
 * savepoint fails, the job runs on and the caller gets the cause.
 */
import type { CheckpointCoordinator, SavepointOutcome } from './checkpoint-coordinator.js';
import { savepointFailed } from './checkpoint-coordinator.js';

/** What a stop needs of its JobMaster. */
export interface StopWithSavepointContext {
  readonly coordinator: CheckpointCoordinator;
  /** Every source task ends its input now. */
  endSourceInput(): void;
  /** Every task ended: stop checkpointing and let them finish (the JobMaster's usual end). */
  finishAllEnded(): void;
  /** Why no savepoint can start now (the job is not running every task). */
  refused(): string;
  /** Settles when the job reached a terminal status. */
  readonly terminated: Promise<unknown>;
}

/**
 * One stop-with-savepoint. Without drain (Flink's SUSPEND): a `sync-savepoint` barrier leaves the
 * sources, which emit nothing after it; once it completed and was notified, the sources end their
 * input and the job ends as a bounded one does. With drain (TERMINATE): the sources first end their
 * input, so every operator sees its end of input (timers and buffers flush) before the savepoint
 * is taken of the ended tasks; the job then finishes whether or not the savepoint completed, since
 * its input is gone.
 */
export class StopWithSavepoint {
  /** Every task ended by draining: the savepoint is taken of ended tasks, which get no barrier. */
  drained = false;
  private allEnded: (() => void) | undefined;

  constructor(
    private readonly ctx: StopWithSavepointContext,
    private readonly targetDirectory: string,
    private readonly drain: boolean,
  ) {}

  /** The JobMaster found every task ended: true when this stop finishes the job itself. */
  takeAllEnded(): boolean {
    const resume = this.allEnded;
    if (!resume) return false;
    this.allEnded = undefined;
    this.drained = true;
    resume();
    return true;
  }

  /** Runs the stop; resolves with the savepoint's outcome, never rejects. */
  async run(): Promise<SavepointOutcome> {
    return this.drain ? this.terminate() : this.suspend();
  }

  private async suspend(): Promise<SavepointOutcome> {
    const outcome = await this.savepoint();
    // Failed: the tasks were told it aborted, and the sources resumed.
    if (outcome.kind === 'failed') return outcome;
    this.ctx.endSourceInput();
    await this.ctx.terminated;
    return outcome;
  }

  private async terminate(): Promise<SavepointOutcome> {
    const ended = new Promise<boolean>((resolve) => {
      this.allEnded = () => resolve(true);
      void this.ctx.terminated.then(
        () => resolve(false),
        () => resolve(false),
      );
    });
    this.ctx.endSourceInput();
    if (!(await ended))
      return savepointFailed(undefined, 'the job ended before its sources had drained their input');
    const outcome = await this.savepoint();
    this.ctx.finishAllEnded();
    await this.ctx.terminated.catch(() => {});
    return outcome;
  }

  private savepoint(): Promise<SavepointOutcome> {
    return this.ctx.coordinator.triggerSavepoint('sync-savepoint', this.targetDirectory, () =>
      this.ctx.refused(),
    );
  }
}
