/**
 * The split-based Source contract (Flink's FLIP-27): a SplitEnumerator on the JobManager side
 * hands out splits; a SourceReader in each source subtask reads them. A reader's position is
 * its splits as they are now (`snapshotState`), which checkpoints store.
 */
import type { OutputTag } from '../output-tag.js';
import type { Clock } from '../../core/clock.js';
import type { Counter } from '../accumulators.js';
import type { InputStatus } from '../../core/input-status.js';

/** Whether a source ends by itself: `Boundedness.BOUNDED` as in Flink, or the string. */
export const Boundedness = {
  BOUNDED: 'BOUNDED',
  CONTINUOUS_UNBOUNDED: 'CONTINUOUS_UNBOUNDED',
} as const;
/** One of the Boundedness values. */
export type Boundedness = (typeof Boundedness)[keyof typeof Boundedness];

export type { InputStatus } from '../../core/input-status.js';

/** A part of a source's input, read by one reader at a time. Must be plain data (it is snapshotted). */
export interface SourceSplit {
  readonly splitId: string;
}

/** Where a reader emits the records of one split (Flink's SourceOutput). */
export interface SourceOutput<T> {
  /** Emits a record, with the event timestamp the source knows for it (e.g. a Kafka record's), if any. */
  collect(record: T, timestamp?: number): void;
}

/**
 * Where a reader emits records (Flink's ReaderOutput). A reader that reads several splits
 * should emit each split's records through `createOutputForSplit(splitId)`: the watermark
 * strategy then runs one generator per split and the source's watermark is the minimum over
 * its splits, so a split that lags does not make another split's records late.
 */
export interface ReaderOutput<T> extends SourceOutput<T> {
  /** The output of split `splitId` (the same object for the same split until released). */
  createOutputForSplit?(splitId: string): SourceOutput<T>;
  /** Split `splitId` is finished: its watermark stops holding the source's back. */
  releaseOutputForSplit?(splitId: string): void;
}

/** What a reader knows of its subtask. */
export interface SourceReaderContext {
  getIndexOfSubtask(): number;
  currentParallelism(): number;
  /** Asks the enumerator for a split; it answers with `addSplits` or `notifyNoMoreSplits`. */
  sendSplitRequest(): void;
  /** Sends a custom event to the enumerator (`handleSourceEvent`). */
  sendSourceEventToCoordinator(event: unknown): void;
  /** Time, injected so that rate limits and polling are testable. */
  readonly clock: Clock;
  /** The reader's metrics (Flink's `SourceReaderMetricGroup`); optional for hand-made contexts. */
  metricGroup?(): SourceReaderMetricGroup;
  /**
   * Emits `value` to the side output `outputTag` of the source's stream (read it with
   * `getSideOutput(outputTag)`), e.g. records the reader could not decode; dropped when no stream
   * reads the tag. Optional for hand-made contexts.
   */
  emitSideOutput?<X>(outputTag: OutputTag<X>, value: X): void;
}

/** A source reader's metrics (Flink's `SourceReaderMetricGroup`). */
export interface SourceReaderMetricGroup {
  /**
   * Counts records the reader skipped as bad (Flink's `numRecordsInErrors`); its total over all
   * subtasks is also the job result's accumulator `numRecordsInErrors`.
   */
  getNumRecordsInErrorsCounter(): Counter;
}

/** Reads splits in a source subtask. Called only from the task's mailbox, one call at a time. */
export interface SourceReader<T, Split extends SourceSplit> {
  start(): void;
  /** Emits at most a few records; says whether more are ready now. Never blocks. */
  pollNext(output: ReaderOutput<T>): InputStatus;
  /** Resolves when `pollNext` may have something again (after NOTHING_AVAILABLE). */
  isAvailable(): Promise<void>;
  addSplits(splits: readonly Split[]): void;
  notifyNoMoreSplits(): void;
  /** The reader's position: its unfinished splits with their current offsets. */
  snapshotState(checkpointId: number): Split[];
  handleSourceEvent?(event: unknown): void;
  notifyCheckpointComplete?(checkpointId: number): void;
  close(): void;
}

/** The enumerator's view of the running source. */
export interface SplitEnumeratorContext<Split extends SourceSplit> {
  currentParallelism(): number;
  registeredReaders(): readonly number[];
  assignSplit(split: Split, subtask: number): void;
  signalNoMoreSplits(subtask: number): void;
  sendEventToSourceReader(subtask: number, event: unknown): void;
}

/** Discovers splits and assigns them to readers; runs on the JobManager side. */
export interface SplitEnumerator<Split extends SourceSplit, EnumState> {
  start(): void;
  handleSplitRequest(subtask: number): void;
  /** Splits of a failed reader come back for reassignment. */
  addSplitsBack(splits: readonly Split[], subtask: number): void;
  addReader(subtask: number): void;
  snapshotState(checkpointId: number): EnumState;
  handleSourceEvent?(subtask: number, event: unknown): void;
  close(): void;
}

/** A source: a factory for its enumerator and readers. */
export interface Source<T, Split extends SourceSplit = SourceSplit, EnumState = unknown> {
  getBoundedness(): Boundedness;
  createEnumerator(ctx: SplitEnumeratorContext<Split>): SplitEnumerator<Split, EnumState>;
  restoreEnumerator(ctx: SplitEnumeratorContext<Split>, state: EnumState): SplitEnumerator<Split, EnumState>;
  createReader(ctx: SourceReaderContext): SourceReader<T, Split>;
  /** Fixed parallelism for sources that cannot be split (collections); undefined = any. */
  readonly maxSourceParallelism?: number;
}
