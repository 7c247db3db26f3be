/** Hosts a source's SplitEnumerator on the JobManager side and relays events to its readers. */
import type { OperatorEvent } from '../api/operators/stream-operator.js';
import type { Source, SourceSplit, SplitEnumerator, SplitEnumeratorContext } from '../api/source/source.js';

/** The enumerator's context, backed by an event channel to the reader subtasks. */
export class SourceCoordinator<Split extends SourceSplit> implements SplitEnumeratorContext<Split> {
  private enumerator: SplitEnumerator<Split, unknown> | undefined;
  private readonly readers = new Set<number>();

  constructor(
    private readonly source: Source<unknown, Split, unknown>,
    private readonly parallelism: number,
    private readonly sendToReader: (subtask: number, event: OperatorEvent) => void,
  ) {}

  /**
   * Creates (or, with `restoredState`, restores) and starts the enumerator, and registers every
   * reader subtask.
   */
  start(restoredState?: unknown): void {
    this.enumerator =
      restoredState === undefined
        ? this.source.createEnumerator(this)
        : this.source.restoreEnumerator(this, restoredState);
    this.enumerator.start();
    for (let i = 0; i < this.parallelism; i++) {
      this.readers.add(i);
      this.enumerator.addReader(i);
    }
  }

  /** An event from reader `subtask`. */
  handleEventFromOperator(subtask: number, event: OperatorEvent): void {
    const enumerator = this.enumerator;
    if (!enumerator) return;
    if (event.kind === 'request-split') enumerator.handleSplitRequest(subtask);
    else if (event.kind === 'source-event') enumerator.handleSourceEvent?.(subtask, event.event);
  }

  /** The enumerator's state for checkpoint `checkpointId` (taken when the checkpoint is triggered). */
  snapshotState(checkpointId: number): unknown {
    return this.enumerator?.snapshotState(checkpointId);
  }

  close(): void {
    this.enumerator?.close();
    this.enumerator = undefined;
  }

  currentParallelism(): number {
    return this.parallelism;
  }
  registeredReaders(): readonly number[] {
    return [...this.readers];
  }
  assignSplit(split: Split, subtask: number): void {
    this.sendToReader(subtask, { kind: 'add-splits', splits: [split] });
  }
  signalNoMoreSplits(subtask: number): void {
    this.sendToReader(subtask, { kind: 'no-more-splits' });
  }
  sendEventToSourceReader(subtask: number, event: unknown): void {
    this.sendToReader(subtask, { kind: 'source-event', event });
  }
}
