/**
 * The sink behind executeAndCollect()/collectAsync(): hands records back to the client.
 * Without checkpoints, in batches as they come. With checkpoints, exactly once: records are
 * staged per checkpoint and released only when that checkpoint completes (a two-phase commit
 * whose commit is idempotent: the client ignores a checkpoint's records it already has, so a
 * restored sink can re-commit what its restored checkpoint staged). Only its own job's: what a
 * savepoint or another job's checkpoint staged was that job's output, for that job's client.
 */
import type { Cancellable } from '../../core/clock.js';
import { ListStateDescriptor } from '../../state/state-descriptor.js';
import type { ListState } from '../../state/state.js';
import { AbstractStreamOperator } from '../operators/stream-operator.js';

/** Records per hand-over to the client when not checkpointing. */
const BATCH = 1024;

/** Commit id of what is released at the end of input (after every checkpoint). */
export const FINAL_COMMIT = Number.MAX_SAFE_INTEGER;

/** Staged output of one checkpoint: its id, its records and the job that staged them. */
type Staged = [checkpointId: number, records: unknown[], jobId?: string];

/** Operator that hands records to the job's collect channel `collectId`. */
export class CollectSinkOperator<T> extends AbstractStreamOperator<T, never> {
  private batch: T[] = [];
  // A partial batch is handed over on the next timer turn, so a slow (or unbounded) stream's
  // records reach the client promptly instead of waiting for a full batch or the end of input.
  private flushTimer: Cancellable | undefined;
  private staged: Staged[] = [];
  private stagedState: ListState<Staged> | undefined;

  constructor(private readonly collectId: string) {
    super();
  }

  private get exactlyOnce(): boolean {
    return this.info.checkpointingEnabled;
  }

  override initializeState(restored: boolean): void {
    if (!this.exactlyOnce) return;
    this.stagedState = this.info.operatorStateBackend.getListState(
      new ListStateDescriptor<Staged>('collect-staged'),
    );
    // What the restored checkpoint staged belongs to completed checkpoints: commit it again, if
    // this job staged it (a failover); another job's client had it, or lost it with that job.
    if (restored)
      for (const [id, records, jobId] of this.stagedState.get())
        if (jobId === undefined || jobId === this.info.jobId) this.commit(id, records);
  }

  processElement(record: T): void {
    this.batch.push(record);
    if (this.exactlyOnce) return;
    if (this.batch.length >= BATCH) this.flush();
    else if (this.flushTimer === undefined) {
      const time = this.info.timeService;
      this.flushTimer = time.registerTimer(time.getCurrentProcessingTime(), () => {
        this.flushTimer = undefined;
        this.flush();
      });
    }
  }

  override snapshotState(checkpointId: number): void {
    if (!this.exactlyOnce) return;
    this.staged.push([checkpointId, this.batch, this.info.jobId]);
    this.batch = [];
    this.stagedState!.update(this.staged);
  }

  override notifyCheckpointComplete(checkpointId: number): void {
    if (!this.exactlyOnce) return;
    while (this.staged.length > 0 && this.staged[0]![0] <= checkpointId) {
      const [id, records] = this.staged.shift()!;
      this.commit(id, records);
    }
  }

  override endInput(): void {
    if (!this.exactlyOnce) this.flush();
  }

  /** Only at a normal end (a failed task is closed, not finished): what is left is final output. */
  override finish(): void {
    if (!this.exactlyOnce) return this.flush();
    // The job ended normally: everything left is final output.
    for (const [id, records] of this.staged) this.commit(id, records);
    this.staged = [];
    this.commit(FINAL_COMMIT, this.batch);
    this.batch = [];
  }

  private commit(checkpointId: number, records: readonly unknown[]): void {
    this.info.services.collect(this.collectId, records, { checkpointId, subtask: this.info.subtaskIndex });
  }

  private flush(): void {
    this.flushTimer?.cancel();
    this.flushTimer = undefined;
    if (this.batch.length === 0) return;
    const records = this.batch;
    this.batch = [];
    this.info.services.collect(this.collectId, records, undefined);
  }
}
