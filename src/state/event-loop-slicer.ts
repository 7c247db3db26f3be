/** Cuts a snapshot's asynchronous phase into slices that yield to the event loop (the mailbox). */
import { performance } from 'node:perf_hooks';
import { SluiceError } from '../core/errors.js';

/** How the asynchronous phase of a snapshot shares the event loop. */
export interface SliceOptions {
  /** How long a slice may run before yielding to the event loop, in milliseconds. */
  readonly sliceMillis: number;
  /** A monotonic clock in milliseconds. */
  readonly now: () => number;
}

/** A few milliseconds, as DESIGN.md asks of the asynchronous phase. */
export const DEFAULT_SLICE_MILLIS = 5;

/** The slice options from optional settings: `DEFAULT_SLICE_MILLIS` and `performance.now`. */
export function sliceOptions(sliceMillis: number | undefined, now: (() => number) | undefined): SliceOptions {
  return { sliceMillis: sliceMillis ?? DEFAULT_SLICE_MILLIS, now: now ?? (() => performance.now()) };
}

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

  constructor(
    private readonly options: SliceOptions,
    /** Why the work must stop (checked after each yield), or undefined to go on. */
    private readonly abortReason: () => SluiceError | undefined,
  ) {
    this.sliceStart = options.now();
  }

  /** Counts one unit of work; true when the slice is over and the caller should yield. */
  due(): boolean {
    if (++this.work < WORK_PER_CLOCK_CHECK) return false;
    this.work = 0;
    return this.options.now() - this.sliceStart >= this.options.sliceMillis;
  }

  /** Lets the event loop run (setImmediate: after pending I/O), then throws if aborted meanwhile. */
  async yieldNow(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    const reason = this.abortReason();
    if (reason !== undefined) throw reason;
    this.sliceStart = this.options.now();
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
