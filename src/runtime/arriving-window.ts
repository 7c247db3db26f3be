/**
 * A state file read through a ring buffer of bounded size, followed by a restorer that takes its
 * sections in file order and lets go of them once loaded: the reader's side (`window`, `room`,
 * `read`, `complete`, `fail`: a StateReadWindow) and the restorer's (`section`, `release`, `until`,
 * `verified`: a SnapshotArrival with an ArrivalWindow).
 *
 * Why: reading a 1 GB keyed state file into one buffer before (or while) loading it into LMDB made
 * a restore need 1 GB of memory besides LMDB's, and touching that much fresh memory cost as much
 * as reading the file. Through the ring, the file's bytes stay in a few tens of MiB that are reused.
 */
import { invariant } from '../core/errors.js';
import { FileArrival } from './arriving-state.js';
import type { ArrivalWindow, SnapshotArrival } from '../state/keyed-state-snapshot.js';
import {
  STATE_FILE_READ_PIECE_BYTES,
  type StateReadWindow,
} from '../storage/filesystem/file-system-checkpoint-storage.js';

/**
 * About how many bytes a restorer gathers before it hands them to the store to load (an LMDB write
 * transaction's worth); the ring holds three such batches.
 */
const RELEASE_EVERY_BYTES = 16 * 2 ** 20;

/**
 * The ring's size for a file of `size` bytes whose largest section is `largestSection`: room for
 * what the restorer may hold (RELEASE_EVERY_BYTES plus the section it is at) three times over —
 * one batch being written to the store, the next being parsed, and the one after being read; a
 * whole number of read pieces (a piece never wraps); no more than the file needs.
 */
export function windowBytes(size: number, largestSection: number): number {
  const piece = STATE_FILE_READ_PIECE_BYTES;
  const wanted = Math.min(3 * (RELEASE_EVERY_BYTES + largestSection), size);
  return Math.max(1, Math.ceil(wanted / piece)) * piece;
}

export class ArrivingWindow extends FileArrival implements StateReadWindow, SnapshotArrival, ArrivalWindow {
  private readonly ring: Buffer;
  private released = 0;
  /** Set when the reader returned the whole file instead of reading through the ring. */
  private whole: Uint8Array | undefined;
  /** The reader waiting for room (one file, one reader). */
  private roomWaiter: { readonly end: number; readonly resolve: () => void } | undefined;

  /**
   * Bytes the restorer may gather before it loads them: a third of the ring less one section, as
   * it may hold two such batches, one loading and one gathering (ArrivalWindow).
   */
  readonly releaseEvery: number;

  /**
   * `ringBytes` (tests): a whole number of read pieces; the whole file, or room for what the
   * restorer holds (up to two thirds of the ring) beside the piece being read.
   */
  constructor(
    readonly size: number,
    largestSection: number,
    ringBytes = windowBytes(size, largestSection),
  ) {
    super();
    const piece = STATE_FILE_READ_PIECE_BYTES;
    invariant(
      ringBytes % piece === 0 && (ringBytes >= size || ringBytes >= 2 * (largestSection + piece)),
      `a window of ${ringBytes} bytes holds whole read pieces, and the file or twice a piece and the largest section (${largestSection})`,
    );
    this.ring = Buffer.allocUnsafe(ringBytes);
    // A ring that holds the whole file never makes the restorer let go early.
    this.releaseEvery =
      ringBytes >= size ? Infinity : Math.max(0, Math.floor(ringBytes / 3) - largestSection);
  }

  get windowed(): this {
    return this;
  }

  // The reader's side.

  window(at: number, end: number): Uint8Array | undefined {
    if (!this.hasRoom(end)) return undefined;
    const from = at % this.ring.length;
    invariant(from + (end - at) <= this.ring.length, 'a read piece never wraps around the window');
    return this.ring.subarray(from, from + (end - at));
  }

  room(end: number): Promise<void> {
    if (this.hasRoom(end) || this.failure !== undefined) return Promise.resolve();
    return new Promise((resolve) => (this.roomWaiter = { end, resolve }));
  }

  /**
   * Whether bytes up to `end` may be read into the ring: what they overwrite is released by the
   * restorer and already checksummed by the reader (reported read), or pieces read ahead at once
   * would overwrite each other.
   */
  private hasRoom(end: number): boolean {
    return end <= Math.min(this.released, this.upTo) + this.ring.length;
  }

  /**
   * All of the file is read and verified; `bytes`: the whole file, when the reader returned it
   * instead of reading through the window (a task-local copy).
   */
  complete(bytes?: Uint8Array): void {
    if (bytes !== undefined && bytes.length === this.size) this.whole = bytes;
    this.completed(this.size);
  }

  override fail(error: Error): void {
    super.fail(error);
    this.roomWaiter?.resolve();
    this.roomWaiter = undefined;
  }

  // The restorer's side.

  async section(start: number, end: number): Promise<Uint8Array> {
    invariant(
      start >= this.released && end <= this.size && end - this.released <= this.ring.length,
      `a restorer holds at most the window's ${this.ring.length} bytes (asked [${start}, ${end}) with [${this.released}, …) held)`,
    );
    await this.until(end);
    if (this.whole !== undefined) return this.whole.subarray(start, end);
    const ring = this.ring;
    const from = start % ring.length;
    if (from + (end - start) <= ring.length) return ring.subarray(from, from + (end - start));
    // Wraps around: a copy of its own (rare, once per turn of the ring), valid until released too.
    const copy = Buffer.allocUnsafe(end - start);
    const head = ring.length - from;
    ring.copy(copy, 0, from);
    ring.copy(copy, head, 0, end - start - head);
    return copy;
  }

  release(upTo: number): void {
    this.released = Math.max(this.released, Math.min(upTo, this.size));
    const waiter = this.roomWaiter;
    if (waiter !== undefined && this.hasRoom(waiter.end)) {
      this.roomWaiter = undefined;
      waiter.resolve();
    }
  }
}
