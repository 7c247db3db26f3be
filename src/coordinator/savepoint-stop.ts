/**
 * Stop-with-savepoint of one job (Flink's `stopWithSavepoint`): the job ends FINISHED only once
 * its synchronous savepoint completed and every task was notified (sinks committed); if the
 * savepoint fails, the job runs on and the caller gets the cause.
 */
import type { CheckpointCoordinator, SavepointOutcome } from './checkpoint-coordinator.js';
import { savepointFailed } from './checkpoint-coordinator.js';
import type { SavepointFormatType } from '../protocol/snapshot-kind.js';

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
  /** Settles the wait for the job's end: the job failed over, so the stop will not end it. */
  private interrupted: (() => void) | undefined;
  private readonly failover = new Promise<'failed-over'>((resolve) => {
    this.interrupted = () => resolve('failed-over');
  });

  constructor(
    private readonly ctx: StopWithSavepointContext,
    private readonly targetDirectory: string,
    private readonly drain: boolean,
    private readonly formatType: SavepointFormatType = 'CANONICAL',
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

  /**
   * The job failed over: restarted sources would not end their input, so a stop waiting for the
   * job to end gives up (the job runs on from its latest checkpoint, or this savepoint).
   */
  failedOver(): void {
    this.interrupted?.();
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
    // The savepoint completed either way; a failover meanwhile only means the job runs on.
    await Promise.race([this.ctx.terminated, this.failover]);
    return outcome;
  }

  private async terminate(): Promise<SavepointOutcome> {
    const ended = new Promise<'ended' | 'terminated' | 'failed-over'>((resolve) => {
      this.allEnded = () => resolve('ended');
      void this.ctx.terminated.then(() => resolve('terminated'));
      void this.failover.then(resolve);
    });
    this.ctx.endSourceInput();
    const how = await ended;
    this.allEnded = undefined;
    if (how === 'terminated')
      return savepointFailed(undefined, 'the job ended before its sources had drained their input');
    if (how === 'failed-over')
      return savepointFailed(
        undefined,
        'the job failed over while its sources drained their input; it runs on from its latest checkpoint',
      );
    const outcome = await this.savepoint();
    this.ctx.finishAllEnded();
    await this.ctx.terminated.catch(() => {});
    return outcome;
  }

  private savepoint(): Promise<SavepointOutcome> {
    return this.ctx.coordinator.triggerSavepoint(
      'sync-savepoint',
      this.targetDirectory,
      () => this.ctx.refused(),
      this.formatType,
    );
  }
}
