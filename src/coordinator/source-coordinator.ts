/**
 * Hosts a source's SplitEnumerator on the JobManager side and relays events to its readers. It
 * also remembers which splits went to which reader since each checkpoint (Flink's
 * SplitAssignmentTracker), so that a reader restarted alone (region failover) gets back, through
 * `addSplitsBack`, exactly the splits its restored state does not hold.
 */
import type { OperatorEvent } from '../runtime/stream-operator.js';
import type { Source, SourceSplit, SplitEnumerator, SplitEnumeratorContext } from '../api/source/source.js';

/** Splits handed to each reader, by reader subtask. */
type Assignments<Split> = Map<number, Split[]>;

/** The enumerator's context, backed by an event channel to the reader subtasks. */
export class SourceCoordinator<Split extends SourceSplit> implements SplitEnumeratorContext<Split> {
  private enumerator: SplitEnumerator<Split, unknown> | undefined;
  private readonly readers = new Set<number>();
  /** Assignments made after the enumerator's snapshot for each pending checkpoint, oldest first. */
  private readonly byCheckpoint = new Map<number, Assignments<Split>>();
  /** Assignments made since the newest snapshot. */
  private uncheckpointed: Assignments<Split> = new Map();

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
    for (let i = 0; i < this.parallelism; i++) this.addReader(i);
  }

  /** Reader `subtask` (re)started: the enumerator may assign it splits again. */
  addReader(subtask: number): void {
    this.readers.add(subtask);
    this.enumerator?.addReader(subtask);
  }

  /**
   * Reader `subtask` is being restarted from checkpoint `checkpointId` (undefined: from nothing):
   * the splits it was given after that checkpoint's snapshot go back to the enumerator, and it
   * counts as unregistered until `addReader`.
   */
  subtaskReset(subtask: number, checkpointId: number | undefined): void {
    this.readers.delete(subtask);
    const back: Split[] = [];
    for (const [id, assignments] of this.byCheckpoint)
      if (checkpointId === undefined || id > checkpointId) takeInto(back, assignments, subtask);
    takeInto(back, this.uncheckpointed, subtask);
    if (back.length > 0) this.enumerator?.addSplitsBack(back, subtask);
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
    this.byCheckpoint.set(checkpointId, this.uncheckpointed);
    this.uncheckpointed = new Map();
    return this.enumerator?.snapshotState(checkpointId);
  }

  /** Checkpoint `checkpointId` completed: what it covers can never be handed back. */
  notifyCheckpointComplete(checkpointId: number): void {
    for (const id of this.byCheckpoint.keys()) if (id <= checkpointId) this.byCheckpoint.delete(id);
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
    const list = this.uncheckpointed.get(subtask);
    if (list) list.push(split);
    else this.uncheckpointed.set(subtask, [split]);
    this.sendToReader(subtask, { kind: 'add-splits', splits: [split] });
  }
  signalNoMoreSplits(subtask: number): void {
    this.sendToReader(subtask, { kind: 'no-more-splits' });
  }
  sendEventToSourceReader(subtask: number, event: unknown): void {
    this.sendToReader(subtask, { kind: 'source-event', event });
  }
}

function takeInto<Split>(out: Split[], assignments: Assignments<Split>, subtask: number): void {
  const splits = assignments.get(subtask);
  if (!splits) return;
  out.push(...splits);
  assignments.delete(subtask);
}
