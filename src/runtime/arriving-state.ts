/** A state file being read into a buffer, followed by whoever restores from it as it arrives. */
import type { SnapshotArrival } from '../state/keyed-state-snapshot.js';
import type { StateReadProgress } from '../storage/filesystem/file-system-checkpoint-storage.js';

interface Waiter {
  readonly end: number;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/**
 * What every file being read while a restorer follows it shares: the reader reports `read(upTo)`
 * and settles it (`complete` in a subclass, or `fail`); the restorer waits with `until(end)` and
 * for `verified`.
 */
export abstract class FileArrival {
  readonly verified: Promise<void>;
  protected upTo = 0;
  protected failure: Error | undefined;
  /** Waiting for more bytes, by `end` ascending (restorers ask in file order). */
  private waiters: Waiter[] = [];
  private settle!: { resolve: () => void; reject: (error: Error) => void };

  constructor() {
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

  /** The read failed (or the bytes do not check out): every wait rejects with `error`. */
  fail(error: Error): void {
    this.failure = error;
    for (const w of this.waiters) w.reject(error);
    this.waiters = [];
    this.settle.reject(error);
  }

  /** All `size` bytes are read and verified. */
  protected completed(size: number): void {
    this.read(size);
    this.settle.resolve();
  }
}

/**
 * The reader's side (`read`, `complete`, `fail`: a StateReadProgress) and the restorer's
 * (`until`, `verified`: a SnapshotArrival) of one file: bytes [0, upTo) of `into` are read.
 */
export class ArrivingState extends FileArrival implements StateReadProgress, SnapshotArrival {
  readonly into: Buffer;

  constructor(size: number) {
    super();
    this.into = Buffer.allocUnsafe(size);
  }

  /** All of `into` is read and verified. */
  complete(): void {
    this.completed(this.into.length);
  }
}
