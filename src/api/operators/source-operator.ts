/** Runs a SourceReader at the head of a source task's chain. */
import { invariant } from '../../core/errors.js';
import type {
  InputStatus,
  ReaderOutput,
  Source,
  SourceReader,
  SourceReaderContext,
  SourceSplit,
} from '../source/source.js';
import type { Clock } from '../../core/clock.js';
import { ListStateDescriptor } from '../../state/state-descriptor.js';
import type { ListState } from '../../state/state.js';
import type { EmitGate, OperatorEvent, SourceHead } from '../../runtime/stream-operator.js';
import { AbstractStreamOperator } from './stream-operator.js';

/** Operator state holding a source reader's splits (Flink's SourceOperator uses the same name). */
const READER_STATE = 'SourceReaderState';

/** Head operator of a source task: the task calls `emitBatch()` while output has room. */
export class SourceOperator<T, Split extends SourceSplit>
  extends AbstractStreamOperator<never, T>
  implements ReaderOutput<T>, SourceReaderContext, SourceHead
{
  private reader!: SourceReader<T, Split>;
  private splitsState!: ListState<Split>;
  private restoredSplits: readonly Split[] = [];
  /** Records the reader emitted (the task reports them as the chain's input). */
  recordsEmitted = 0;
  /** The task drives this operator as its input. */
  readonly sourceHead: SourceHead = this;

  constructor(private readonly source: Source<T, Split>) {
    super();
  }

  override initializeState(restored: boolean): void {
    this.splitsState = this.info.operatorStateBackend.getListState(
      new ListStateDescriptor<Split>(READER_STATE),
    );
    if (restored) this.restoredSplits = [...this.splitsState.get()];
  }

  override open(): void {
    try {
      this.reader = this.source.createReader(this);
      this.reader.start();
      // A restored reader resumes its own splits at their checkpointed positions.
      if (this.restoredSplits.length > 0) this.reader.addSplits(this.restoredSplits);
      this.restoredSplits = [];
    } catch (e) {
      throw this.userError(e, 'the source reader start');
    }
  }

  /** The reader's position is its splits as they are now: it goes into operator state. */
  override snapshotState(checkpointId: number): void {
    let splits: Split[];
    try {
      splits = this.reader.snapshotState(checkpointId);
    } catch (e) {
      throw this.userError(e, 'the source reader snapshotState');
    }
    this.splitsState.update(splits);
  }

  override notifyCheckpointComplete(checkpointId: number): void {
    try {
      this.reader.notifyCheckpointComplete?.(checkpointId);
    } catch (e) {
      throw this.userError(e, 'the source reader notifyCheckpointComplete');
    }
  }

  /**
   * Emits records until the reader has no more ready, `max` records were emitted, or
   * `gate.mayEmit()` says stop (output full, async write pending) — checked before every record,
   * so a full output channel stops the source at once. One try for the whole batch keeps the
   * per-record path to the reader call itself.
   */
  emitBatch(max: number, gate: EmitGate): InputStatus {
    const reader = this.reader;
    let status: InputStatus = 'MORE_AVAILABLE';
    try {
      for (let n = 0; n < max && status === 'MORE_AVAILABLE' && gate.mayEmit(); n++)
        status = reader.pollNext(this);
    } catch (e) {
      throw this.userError(e, 'the source reader');
    }
    return status;
  }

  /** Resolves when the reader has data again. */
  isAvailable(): Promise<void> {
    return this.reader.isAvailable();
  }

  /** The reader's position (its splits with offsets), for checkpoints. */
  snapshotReaderState(checkpointId: number): Split[] {
    return this.reader.snapshotState(checkpointId);
  }

  override collect(record: T): void {
    this.recordsEmitted++;
    this.output.collect(record);
  }

  processElement(): void {
    invariant(false, 'a source operator receives no records from a predecessor');
  }

  override handleOperatorEvent(event: OperatorEvent): void {
    try {
      switch (event.kind) {
        case 'add-splits':
          this.reader.addSplits(event.splits as Split[]);
          return;
        case 'no-more-splits':
          this.reader.notifyNoMoreSplits();
          return;
        case 'source-event':
          this.reader.handleSourceEvent?.(event.event);
          return;
        case 'request-split':
          invariant(false, 'a split request goes to the enumerator, not to a reader');
      }
    } catch (e) {
      throw this.userError(e, 'the source reader');
    }
  }

  override close(): void {
    try {
      this.reader?.close();
    } catch (e) {
      throw this.userError(e, 'the source reader close');
    }
  }

  // --- SourceReaderContext ---
  getIndexOfSubtask(): number {
    return this.info.subtaskIndex;
  }
  currentParallelism(): number {
    return this.info.parallelism;
  }
  sendSplitRequest(): void {
    this.info.services.sendOperatorEvent(this.info.operatorId, { kind: 'request-split' });
  }
  sendSourceEventToCoordinator(event: unknown): void {
    this.info.services.sendOperatorEvent(this.info.operatorId, { kind: 'source-event', event });
  }
  get clock(): Clock {
    return this.info.services.clock;
  }
}
