/** Cuts a snapshot's asynchronous phase into slices that yield to the event loop (the mailbox). */
import { performance } from 'node:perf_hooks';
import { SluiceError } from '../core/errors.js';

/** How the asynchronous phase of a snapshot shares the event loop. */
export interface SliceOptions {
  /** How long a slice may run before yielding to the event loop, in milliseconds. */
  readonly sliceMillis: number;
  /** A monotonic clock in milliseconds. */
  readonly now: () => number;
  /**
   * The share of the event loop the snapshot takes while other work (records, I/O) is waiting,
   * in (0, 1]: Flink writes snapshots on another thread, so its tasks barely slow down during the
   * asynchronous phase; on one event loop that has to be a budget. With nothing else to do the
   * snapshot takes the whole loop.
   */
  readonly busyShare: number;
  /**
   * The event loop's active time so far, in `now`'s milliseconds: what ran on the loop while the
   * snapshot yielded is the growth of this, not of `now` (a yield also waits for the OS to give
   * the process the CPU back, or for nothing at all, and that is no reason to slow down).
   */
  readonly activeMillis: () => number;
}

/** A few milliseconds, as DESIGN.md asks of the asynchronous phase. */
export const DEFAULT_SLICE_MILLIS = 5;

/**
 * 3%: the checkpoint-overhead benchmark's goal is a job at >= 95% of its speed without
 * checkpoints, and the record path also pays a copy per key it touches while a snapshot is
 * pending (see StateTable). While records keep the loop busy, the snapshot then runs about 30
 * times its own CPU time: a saturated task checkpoints less often rather than more slowly
 * (measured: 1 M keys, 5-10 s per checkpoint; 5% gave 0.93 of the speed, 3% 0.95-0.99).
 */
export const DEFAULT_BUSY_SHARE = 0.03;

/**
 * After this many milliseconds of a snapshot's life the share grows, reaching the whole loop at
 * FULL_SHARE_AFTER_MILLIS, so a large state on a saturated task still finishes well within
 * Flink's default checkpoint timeout (10 minutes) instead of timing out at 3%. Not from the
 * start: a snapshot of a million keys takes 15-30 s at 3%, and a share already growing then
 * cost the job a few percent more than the budget (and much more on a loaded machine, where
 * every snapshot takes longer).
 */
const GROW_SHARE_AFTER_MILLIS = 60_000;
const FULL_SHARE_AFTER_MILLIS = 5 * 60_000;

/**
 * The slice options from optional settings: `DEFAULT_SLICE_MILLIS`, and `performance.now` with the
 * event loop's active time; an injected `now` (tests) counts all its time as active.
 */
export function sliceOptions(sliceMillis: number | undefined, now: (() => number) | undefined): SliceOptions {
  return {
    sliceMillis: sliceMillis ?? DEFAULT_SLICE_MILLIS,
    now: now ?? (() => performance.now()),
    busyShare: DEFAULT_BUSY_SHARE,
    activeMillis: now ?? (() => performance.eventLoopUtilization().active),
  };
}

/** A yield that took longer than this ran other work: the loop is busy. */
const IDLE_YIELD_MILLIS = 0.5;

/** Units of work between two looks at the clock (reading it per entry would cost more). */
const WORK_PER_CLOCK_CHECK = 64;

/**
 * Counts units of work and says when the current slice has run long enough. The writer loop
 * calls `if (slicer.due()) await slicer.yieldNow()`: `due()` is synchronous on purpose, because
 * awaiting anything, even undefined, costs a microtask turn per unit.
 */
export class EventLoopSlicer {
  private work = 0;
  private sliceStart: number;
  /** How long the current slice may run: `sliceMillis`, less while the loop is busy. */
  private sliceLimit: number;
  private readonly started: number;

  constructor(
    private readonly options: SliceOptions,
    /** Why the work must stop (checked after each yield), or undefined to go on. */
    private readonly abortReason: () => SluiceError | undefined,
  ) {
    this.sliceStart = this.started = options.now();
    this.sliceLimit = options.sliceMillis;
  }

  /** Counts one unit of work; true when the slice is over and the caller should yield. */
  due(): boolean {
    if (++this.work < WORK_PER_CLOCK_CHECK) return false;
    this.work = 0;
    return this.options.now() - this.sliceStart >= this.sliceLimit;
  }

  /** Lets the event loop run (setImmediate: after pending I/O), then throws if aborted meanwhile. */
  async yieldNow(): Promise<void> {
    const { now, sliceMillis, busyShare, activeMillis } = this.options;
    const yielded = activeMillis();
    await new Promise<void>((resolve) => setImmediate(resolve));
    const reason = this.abortReason();
    if (reason !== undefined) throw reason;
    this.sliceStart = now();
    // Other work ran for `others` ms: run for the share of it the budget allows.
    const others = activeMillis() - yielded;
    const grown =
      (this.sliceStart - this.started - GROW_SHARE_AFTER_MILLIS) /
      (FULL_SHARE_AFTER_MILLIS - GROW_SHARE_AFTER_MILLIS);
    const share = Math.max(busyShare, grown);
    this.sliceLimit =
      others <= IDLE_YIELD_MILLIS || share >= 1
        ? sliceMillis
        : Math.min(sliceMillis, (others * share) / (1 - share));
  }
}

/** The error a snapshot's `write()` rejects with when `release()` was called before it finished. */
export function snapshotReleased(what: string, checkpointId: number): SluiceError {
  return new SluiceError(
    'SLUICE_CHECKPOINT_STORAGE_FAILED',
    `the ${what} snapshot of checkpoint ${checkpointId} was released before it was written (the ` +
      'checkpoint was aborted); it is not part of any checkpoint.',
  );
}
