/** Runs a Sink's writer (and, for a two-phase-commit sink, its committer) in each sink subtask. */
import { supportsCommitter } from '../committer.js';
import {
  isCommittingSinkWriter,
  isStatefulSinkWriter,
  supportsWriterState,
  type InitContext,
  type Sink,
  type SinkWriter,
  type SinkWriterContext,
} from '../sink.js';
import { ListStateDescriptor } from '../../state/state-descriptor.js';
import type { ListState } from '../../state/state.js';
import { SinkCommitter } from './sink-committer.js';
import { UdfOperator } from './udf-operator.js';

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | undefined)?.then === 'function';
}

/** Operator of `sinkTo(sink)`, `print()` and the collect sink. */
export class SinkWriterOperator<T> extends UdfOperator<T, never, Sink<T>> implements SinkWriterContext {
  private writer!: SinkWriter<T>;
  private endOfInput = false;
  private watermark = Number.MIN_SAFE_INTEGER;
  private committer: SinkCommitter | undefined;
  private writerState: ListState<unknown> | undefined;
  /** Every subtask's last checkpoint id (union state), for getRestoredCheckpointId. */
  private checkpointIdState: ListState<number> | undefined;
  private restoredCheckpointId: number | undefined;

  override initializeState(restored: boolean): void {
    super.initializeState(restored);
    const sink = this.userFunction;
    if (!supportsCommitter(sink) && !supportsWriterState(sink)) return;
    const backend = this.info.operatorStateBackend;
    this.checkpointIdState = backend.getUnionListState(new ListStateDescriptor<number>('sink_checkpoint_id'));
    const ids = this.checkpointIdState.get();
    if (restored && ids.length > 0) this.restoredCheckpointId = Math.max(...ids);
    if (supportsWriterState(sink)) {
      const serializer = sink.getWriterStateSerializer?.();
      this.writerState = backend.getListState(
        new ListStateDescriptor<unknown>(
          'writer_raw_states',
          serializer ? { elementSerializer: serializer } : {},
        ),
      );
    }
    if (supportsCommitter(sink)) {
      this.committer = new SinkCommitter(sink, {
        sinkName: this.info.operatorName,
        awaitAsync: (p, what) => this.info.services.awaitAsync(p, what),
        registerTimer: (delay, cb) => {
          const time = this.info.timeService;
          return time.registerTimer(time.getCurrentProcessingTime() + delay, cb);
        },
      });
      this.committer.initializeState((d) => backend.getListState(d));
    }
  }

  override open(): void {
    super.open();
    const info = this.info;
    const ctx: InitContext = {
      getSubtaskId: () => info.subtaskIndex,
      getNumberOfParallelSubtasks: () => info.parallelism,
      getAttemptNumber: () => info.attemptNumber,
      getRestoredCheckpointId: () => this.restoredCheckpointId,
      getJobInfo: () => ({ getJobId: () => info.jobId, getJobName: () => info.job?.jobName ?? '' }),
      getOperatorId: () => info.operatorId,
    };
    const sink = this.userFunction;
    try {
      this.writer =
        this.restoredCheckpointId !== undefined && supportsWriterState(sink)
          ? sink.restoreWriter(ctx, this.writerState!.get())
          : sink.createWriter(ctx);
    } catch (e) {
      throw this.userError(e, this.restoredCheckpointId !== undefined ? 'restoreWriter' : 'createWriter');
    }
    if (this.committer && supportsCommitter(sink)) {
      let committer;
      try {
        committer = sink.createCommitter(ctx);
      } catch (e) {
        throw this.userError(e, 'createCommitter');
      }
      // Commits what the restored checkpoint holds (again: committers are idempotent).
      this.committer.open(committer);
    }
  }

  processElement(record: T): void {
    let pending: void | PromiseLike<void>;
    try {
      pending = this.writer.write(record, this);
    } catch (e) {
      throw this.userError(e, 'write');
    }
    if (isThenable(pending))
      this.info.services.awaitAsync(pending, `write of sink '${this.info.operatorName}'`);
  }

  currentProcessingTime(): number {
    return this.info.timeService.getCurrentProcessingTime();
  }

  timestamp(): number | null {
    return this.info.elementTimestamp.get();
  }

  currentWatermark(): number {
    return this.watermark;
  }

  override processWatermark(watermark: number): void {
    this.watermark = watermark;
  }

  override endInput(): void {
    this.endOfInput = true;
    const flushed = this.call(() => this.writer.flush(true), 'flush');
    this.prepareCommit();
    return void flushed;
  }

  /**
   * Flushes before the barrier (as Flink's SinkWriterOperator), so a checkpoint loses no buffered
   * record, and takes the committables of a two-phase-commit writer; after the end of input,
   * `flush(true)` already wrote and prepared everything.
   */
  override prepareSnapshotPreBarrier(): void | PromiseLike<void> {
    if (this.endOfInput) return;
    const flushed = this.call(() => this.writer.flush(false), 'flush');
    this.prepareCommit();
    return flushed;
  }

  override snapshotState(checkpointId: number): void {
    super.snapshotState(checkpointId);
    this.checkpointIdState?.update([checkpointId]);
    this.committer?.snapshotState(checkpointId);
    const writer = this.writer;
    if (this.writerState && isStatefulSinkWriter(writer)) {
      let states: readonly unknown[];
      try {
        states = writer.snapshotState(checkpointId);
      } catch (e) {
        throw this.userError(e, 'snapshotState');
      }
      this.writerState.update(states);
    }
  }

  override notifyCheckpointComplete(checkpointId: number): void {
    super.notifyCheckpointComplete(checkpointId);
    this.committer?.notifyCheckpointComplete(checkpointId);
  }

  override finish(): void {
    // Called once every task of the job ended normally: what is left is final output.
    this.committer?.commitAll();
    super.finish();
  }

  /** Also runs when the task failed or was cancelled: closes without committing anything. */
  override close(): void {
    if (this.writer) this.call(() => this.writer.close(), 'close');
    if (this.committer) this.call(() => this.committer!.close(), 'close of the committer');
    super.close();
  }

  private prepareCommit(): void {
    if (this.committer === undefined || !isCommittingSinkWriter(this.writer)) return;
    let committables: readonly unknown[];
    try {
      committables = this.writer.prepareCommit();
    } catch (e) {
      throw this.userError(e, 'prepareCommit');
    }
    this.committer.add(committables);
  }

  /** Calls a writer hook; an asynchronous one also pauses the input until it settles. */
  private call(fn: () => void | PromiseLike<void>, hook: string): void | PromiseLike<void> {
    let pending: void | PromiseLike<void>;
    try {
      pending = fn();
    } catch (e) {
      throw this.userError(e, hook);
    }
    if (!isThenable(pending)) return;
    this.info.services.awaitAsync(pending, `${hook} of sink '${this.info.operatorName}'`);
    return pending;
  }
}
