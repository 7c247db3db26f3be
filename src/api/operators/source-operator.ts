/**
 * Runs a SourceReader at the head of a source task's chain, with its watermark strategy: records
 * get their timestamps and each split its watermark generator (ProgressiveTimestampsAndWatermarks);
 * at the end of input the source emits MAX_WATERMARK, as Flink's source tasks do. In BATCH mode
 * that is its only watermark (Flink: event time jumps to the end when the input is complete).
 */
import { invariant } from '../../core/errors.js';
import type {
  InputStatus,
  ReaderOutput,
  Source,
  SourceReader,
  SourceOutput,
  SourceReaderContext,
  SourceReaderMetricGroup,
  SourceSplit,
} from '../source/source.js';
import { Counter } from '../accumulators.js';
import { PeriodicWatermarkEmitter } from '../eventtime/periodic-watermark-emitter.js';
import { MAX_WATERMARK, type WatermarkStatus } from '../../core/watermark.js';
import type { WatermarkStrategy } from '../watermark-strategy.js';
import {
  ProgressiveTimestampsAndWatermarks,
  type SourceEmitter,
} from '../eventtime/progressive-timestamps-and-watermarks.js';
import type { Clock } from '../../core/clock.js';
import { ListStateDescriptor } from '../../state/state-descriptor.js';
import type { ListState } from '../../state/state.js';
import type { EmitGate, OperatorEvent, SourceHead } from '../../runtime/stream-operator.js';
import { AbstractStreamOperator } from './stream-operator.js';

/** Flink's name of the metric counting records a source skipped as bad. */
const RECORDS_IN_ERRORS = 'numRecordsInErrors';

/** Operator state holding a source reader's splits (Flink's SourceOperator uses the same name). */
const READER_STATE = 'SourceReaderState';

/** Head operator of a source task: the task calls `emitBatch()` while output has room. */
export class SourceOperator<T, Split extends SourceSplit>
  extends AbstractStreamOperator<never, T>
  implements ReaderOutput<T>, SourceReaderContext, SourceHead, SourceEmitter<T>
{
  private reader!: SourceReader<T, Split>;
  private splitsState!: ListState<Split>;
  private restoredSplits: readonly Split[] = [];
  /** Records the reader emitted (the task reports them as the chain's input). */
  recordsEmitted = 0;
  /** The task drives this operator as its input. */
  readonly sourceHead: SourceHead = this;
  /** Per-split timestamps and watermarks; undefined for a strategy that assigns nothing (fast path). */
  private eventTime: ProgressiveTimestampsAndWatermarks<T> | undefined;
  private periodic: PeriodicWatermarkEmitter | undefined;
  /** BATCH: watermarks before the end of input are dropped. */
  private batch = false;

  constructor(
    private readonly source: Source<T, Split>,
    private readonly strategy?: WatermarkStrategy<T>,
    /** `pipeline.auto-watermark-interval` in ms, read when the operator opens. */
    private readonly autoWatermarkIntervalMs: () => number = () => 200,
  ) {
    super();
  }

  override initializeState(restored: boolean): void {
    this.splitsState = this.info.operatorStateBackend.getListState(
      new ListStateDescriptor<Split>(READER_STATE),
    );
    if (restored) this.restoredSplits = [...this.splitsState.get()];
  }

  override open(): void {
    this.batch = this.info.job?.runtimeMode === 'BATCH';
    if (this.strategy && !this.strategy.isPassThrough) {
      this.eventTime = new ProgressiveTimestampsAndWatermarks(
        this.strategy,
        this,
        this.info.elementTimestamp,
        this.info.operatorName,
        this.info.services.clock,
      );
      if (!this.batch) {
        const eventTime = this.eventTime;
        this.periodic = new PeriodicWatermarkEmitter(
          this.info.timeService,
          this.autoWatermarkIntervalMs(),
          () => {
            try {
              eventTime.emitPeriodicWatermark();
            } catch (e) {
              throw this.userError(e, 'the watermark generator');
            }
          },
        );
        this.periodic.start();
      }
    }
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

  /** The reader's main output: records that name no split. */
  override collect(record: T, timestamp?: number): void {
    if (this.eventTime) return this.eventTime.mainOutput.collect(record, timestamp);
    if (timestamp === undefined) this.info.elementTimestamp.clear();
    else this.info.elementTimestamp.set(timestamp);
    this.recordsEmitted++;
    this.output.collect(record);
  }

  createOutputForSplit(splitId: string): SourceOutput<T> {
    return this.eventTime ? this.eventTime.createOutputForSplit(splitId) : this;
  }

  releaseOutputForSplit(splitId: string): void {
    this.eventTime?.releaseOutputForSplit(splitId);
  }

  // --- SourceEmitter: where the split outputs send records, watermarks and status ---
  emitRecord(record: T): void {
    this.recordsEmitted++;
    this.output.collect(record);
  }

  override emitWatermark(watermark: number): void {
    if (this.batch && watermark !== MAX_WATERMARK) return;
    this.info.elementTimestamp.clear();
    this.output.emitWatermark(watermark);
  }

  emitWatermarkStatus(status: WatermarkStatus): void {
    this.info.services.emitWatermarkStatus(status);
  }

  /**
   * End of input: the end of event time, so every event-time timer downstream fires (Flink's
   * MAX_WATERMARK). A stop without drain never calls it (the task skips endInput), so timers stay pending.
   */
  override endInput(): void {
    this.periodic?.stop();
    // An idle output's watermark would be ignored downstream: active first.
    this.info.services.emitWatermarkStatus('ACTIVE');
    this.emitWatermark(MAX_WATERMARK);
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
    this.periodic?.stop();
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
  metricGroup(): SourceReaderMetricGroup {
    const accumulators = this.info.services.accumulators;
    return {
      getNumRecordsInErrorsCounter: () => {
        // An accumulator too, so that the job's result reports the total (metrics are not exported yet).
        const existing = accumulators.get(RECORDS_IN_ERRORS);
        if (existing instanceof Counter) return existing;
        const counter = new Counter();
        accumulators.set(RECORDS_IN_ERRORS, counter);
        return counter;
      },
    };
  }
}
