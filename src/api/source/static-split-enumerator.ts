/** An enumerator for a fixed set of splits: hands them out on request, then says no more. */
import type { SourceSplit, SplitEnumerator, SplitEnumeratorContext } from './source.js';

/** Flink's IteratorSourceEnumerator: pending splits go to whichever reader asks first. */
export class StaticSplitEnumerator<Split extends SourceSplit> implements SplitEnumerator<Split, Split[]> {
  private readonly pending: Split[];

  constructor(
    private readonly ctx: SplitEnumeratorContext<Split>,
    splits: readonly Split[],
  ) {
    this.pending = [...splits];
  }

  start(): void {}

  handleSplitRequest(subtask: number): void {
    const split = this.pending.shift();
    if (split) this.ctx.assignSplit(split, subtask);
    else this.ctx.signalNoMoreSplits(subtask);
  }

  addSplitsBack(splits: readonly Split[]): void {
    this.pending.unshift(...splits);
  }

  addReader(): void {}

  snapshotState(): Split[] {
    return [...this.pending];
  }

  close(): void {}
}
