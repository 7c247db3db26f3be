/**
 * Sources over a range of indexes: fromSequence, DataGeneratorSource and collections. A split
 * is a sub-range; a reader's position is the next index of each split, so restoring a split
 * resumes exactly where the snapshot left it.
 */
import type {
  Boundedness,
  InputStatus,
  ReaderOutput,
  Source,
  SourceOutput,
  SourceReader,
  SourceReaderContext,
  SourceSplit,
  SplitEnumerator,
  SplitEnumeratorContext,
} from './source.js';
import { StaticSplitEnumerator } from './static-split-enumerator.js';

/** Indexes `next..end` (inclusive) still to be read. */
export interface RangeSplit extends SourceSplit {
  readonly next: number;
  readonly end: number;
}

/** Splits `[from, to]` into `n` contiguous ranges of near-equal size (Flink's NumberSequenceSource). */
export function splitRange(from: number, to: number, n: number): RangeSplit[] {
  const total = to - from + 1;
  if (total <= 0) return [];
  const count = Math.max(1, Math.min(n, total));
  const splits: RangeSplit[] = [];
  let start = from;
  for (let i = 0; i < count; i++) {
    const size = Math.floor(total / count) + (i < total % count ? 1 : 0);
    splits.push({ splitId: String(i), next: start, end: start + size - 1 });
    start += size;
  }
  return splits;
}

/** Reads range splits, mapping each index through `fn`, optionally rate-limited. */
class RangeSplitReader<T> implements SourceReader<T, RangeSplit> {
  /** Each split with the output its records go to (per split, so watermarks are per split). */
  private readonly splits: { splitId: string; next: number; end: number; output?: SourceOutput<T> }[] = [];
  private noMoreSplits = false;
  private requested = false;
  private waiter: (() => void) | undefined;
  /** Records that may be emitted before the rate limit is consulted again. */
  private permits = Infinity;
  private emitted = 0;
  private startedAt = 0;
  private readonly ratePerMs: number;

  constructor(
    private readonly ctx: SourceReaderContext,
    private readonly fn: (index: number) => T,
    recordsPerSecond: number,
  ) {
    this.ratePerMs = recordsPerSecond / ctx.currentParallelism() / 1000;
    if (this.ratePerMs !== Infinity) this.permits = 0;
  }

  start(): void {
    this.startedAt = this.ctx.clock.now();
    this.request();
  }

  private request(): void {
    if (this.requested || this.noMoreSplits) return;
    this.requested = true;
    this.ctx.sendSplitRequest();
  }

  /** Emits one record (as Flink's SourceReaderBase), so the task can stop at any record. */
  pollNext(output: ReaderOutput<T>): InputStatus {
    const split = this.splits[0];
    if (split === undefined) {
      if (this.noMoreSplits) return 'END_OF_INPUT';
      this.request();
      return 'NOTHING_AVAILABLE';
    }
    if (this.permits <= 0) {
      // The clock is read once per batch of permits, not per record.
      this.permits = Math.floor((this.ctx.clock.now() - this.startedAt) * this.ratePerMs + 1) - this.emitted;
      if (this.permits <= 0) return 'NOTHING_AVAILABLE';
    }
    this.permits--;
    this.emitted++;
    const out = (split.output ??= output.createOutputForSplit?.(split.splitId) ?? output);
    out.collect(this.fn(split.next++));
    if (split.next > split.end) {
      this.splits.shift();
      output.releaseOutputForSplit?.(split.splitId);
      if (this.splits.length === 0) {
        if (this.noMoreSplits) return 'END_OF_INPUT';
        this.request();
        return 'NOTHING_AVAILABLE';
      }
    }
    return this.permits > 0 ? 'MORE_AVAILABLE' : 'NOTHING_AVAILABLE';
  }

  isAvailable(): Promise<void> {
    if (this.splits.length > 0 && this.permits <= 0) {
      const due = this.startedAt + (this.emitted + 1) / this.ratePerMs;
      const wait = Math.max(1, Math.ceil(due - this.ctx.clock.now()));
      return new Promise((resolve) => this.ctx.clock.schedule(wait, resolve));
    }
    if (this.splits.length > 0 || this.noMoreSplits) return Promise.resolve();
    return new Promise((resolve) => (this.waiter = resolve));
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  addSplits(splits: readonly RangeSplit[]): void {
    this.requested = false;
    for (const s of splits)
      if (s.next <= s.end) this.splits.push({ splitId: s.splitId, next: s.next, end: s.end });
    if (this.splits.length === 0) this.request();
    this.wake();
  }

  notifyNoMoreSplits(): void {
    this.noMoreSplits = true;
    this.requested = false;
    this.wake();
  }

  snapshotState(): RangeSplit[] {
    return this.splits.map((s) => ({ splitId: s.splitId, next: s.next, end: s.end }));
  }

  close(): void {
    this.wake();
  }
}

/** Common base of the range sources. */
export abstract class RangeSource<T> implements Source<T, RangeSplit, RangeSplit[]> {
  protected constructor(
    private readonly from: number,
    private readonly to: number,
    private readonly fn: (index: number) => T,
    private readonly recordsPerSecond: number,
  ) {}

  getBoundedness(): Boundedness {
    return Number.isFinite(this.to) ? 'BOUNDED' : 'CONTINUOUS_UNBOUNDED';
  }

  createEnumerator(ctx: SplitEnumeratorContext<RangeSplit>): SplitEnumerator<RangeSplit, RangeSplit[]> {
    const to = Number.isFinite(this.to) ? this.to : Number.MAX_SAFE_INTEGER;
    return new StaticSplitEnumerator(ctx, splitRange(this.from, to, ctx.currentParallelism()));
  }

  restoreEnumerator(
    ctx: SplitEnumeratorContext<RangeSplit>,
    state: RangeSplit[],
  ): SplitEnumerator<RangeSplit, RangeSplit[]> {
    return new StaticSplitEnumerator(ctx, state);
  }

  createReader(ctx: SourceReaderContext): SourceReader<T, RangeSplit> {
    return new RangeSplitReader(ctx, this.fn, this.recordsPerSecond);
  }
}

/** The numbers `from..to` (inclusive), read in parallel (Flink's NumberSequenceSource). */
export class NumberSequenceSource extends RangeSource<number> {
  constructor(from: number, to: number) {
    super(from, to, (i) => i, Infinity);
  }
}

/** Options of DataGeneratorSource. */
export interface DataGeneratorOptions {
  /** Total rate over all parallel readers; unlimited when omitted. */
  readonly recordsPerSecond?: number;
}

/**
 * Generates `count` records, record i being `fn(i)` whatever the parallelism or restarts
 * (Flink's DataGeneratorSource). `count = Infinity` generates forever.
 */
export class DataGeneratorSource<T> extends RangeSource<T> {
  constructor(fn: (index: number) => T, count: number, options: DataGeneratorOptions = {}) {
    if (!(count >= 0)) throw new RangeError(`DataGeneratorSource: count must be >= 0, got ${count}.`);
    const rate = options.recordsPerSecond ?? Infinity;
    if (!(rate > 0))
      throw new RangeError(
        `DataGeneratorSource: recordsPerSecond must be > 0, got ${String(options.recordsPerSecond)}.`,
      );
    super(0, count === Infinity ? Infinity : count - 1, fn, rate);
  }
}

/** A fixed collection, read by one reader in order (fromElements / fromCollection). */
export class CollectionSource<T> extends RangeSource<T> {
  readonly maxSourceParallelism = 1;

  constructor(elements: readonly T[]) {
    super(0, elements.length - 1, (i) => elements[i]!, Infinity);
  }
}
