/** A state file being read into a buffer, followed by whoever restores from it as it arrives. */
import type { SnapshotArrival } from '../state/keyed-state-snapshot.js';
import type { StateReadProgress } from '../storage/filesystem/file-system-checkpoint-storage.js';

interface Waiter {
  readonly end: number;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/**
 * The reader's side (`read`, `complete`, `fail`: a StateReadProgress) and the restorer's
 * (`until`, `verified`: a SnapshotArrival) of one file: bytes [0, upTo) of `into` are read.
 */
export class ArrivingState implements StateReadProgress, SnapshotArrival {
  readonly into: Buffer;
  readonly verified: Promise<void>;
  private upTo = 0;
  private failure: Error | undefined;
  /** Waiting for more bytes, by `end` ascending (restorers ask in file order). */
  private waiters: Waiter[] = [];
  private settle!: { resolve: () => void; reject: (error: Error) => void };

  constructor(size: number) {
    this.into = Buffer.allocUnsafe(size);
    this.verified = new Promise<void>((resolve, reject) => (this.settle = { resolve, reject }));
    // Awaited by the restorer; a failure nobody waits for is not an unhandled one.
    this.verified.catch(() => undefined);
  }

  until(end: number): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (end <= this.upTo) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiters = this.waiters;
      let i = waiters.length;
      while (i > 0 && waiters[i - 1]!.end > end) i--;
      waiters.splice(i, 0, { end, resolve, reject });
    });
  }

  read(upTo: number): void {
    this.upTo = upTo;
    const waiters = this.waiters;
    let n = 0;
    while (n < waiters.length && waiters[n]!.end <= upTo) waiters[n++]!.resolve();
    if (n > 0) waiters.splice(0, n);
  }

  /** All of `into` is read and verified. */
  complete(): void {
    this.read(this.into.length);
    this.settle.resolve();
  }

  /** The read failed (or the bytes do not check out): every wait rejects with `error`. */
  fail(error: Error): void {
    this.failure = error;
    for (const w of this.waiters) w.reject(error);
    this.waiters = [];
    this.settle.reject(error);
  }
}
