/**
 * One LMDB environment in a directory of its own, owned by one keyed state backend: the only
 * module that talks to the `lmdb` package. The directory is deleted when the store is closed.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open, type RootDatabase, type Transaction } from 'lmdb';
import { SluiceError } from '../../core/errors.js';

/** Where LMDB environments go when `state.backend.local-dir` is not set. */
export function defaultLocalDir(): string {
  return join(tmpdir(), 'sluice-lmdb');
}

/** A consistent read view of the store (an LMDB read transaction), held until `done()`. */
export interface LmdbReadView {
  /** Every `[key, value]` in `[start, end)` as of the view. */
  range(start: Buffer, end: Buffer): Iterable<{ key: Buffer; value: Buffer }>;
  done(): void;
}

/**
 * State is rebuilt from checkpoints after a crash, never from this directory, so the environment
 * trades durability for speed: no fsync, a writable memory map, one small write transaction per
 * put (about 3 µs), reads that see every put before them.
 */
export class LmdbStore {
  readonly path: string;
  private readonly db: RootDatabase<Buffer, Buffer>;
  private closed = false;

  constructor(localDir: string) {
    try {
      mkdirSync(localDir, { recursive: true });
      this.path = mkdtempSync(join(localDir, 'env-'));
      this.db = open<Buffer, Buffer>({
        path: this.path,
        keyEncoding: 'binary',
        encoding: 'binary',
        compression: false,
        cache: false,
        noSync: true,
        overlappingSync: false,
        mapSize: 1024 ** 3,
      });
    } catch (e) {
      throw new SluiceError(
        'SLUICE_STATE_INVALID_ACCESS',
        `the lmdb state backend cannot open an environment under '${localDir}' (${(e as Error).message}); ` +
          'set state.backend.local-dir to a writable local directory.',
        { cause: e },
      );
    }
  }

  /** The stored bytes (a copy the caller owns), or undefined. */
  get(key: Buffer): Buffer | undefined {
    return this.db.getBinary(key);
  }

  has(key: Buffer): boolean {
    return this.db.doesExist(key);
  }

  put(key: Buffer, value: Uint8Array): void {
    this.db.putSync(key, value as Buffer);
  }

  remove(key: Buffer): void {
    this.db.removeSync(key);
  }

  /** Runs `writes` as one write transaction (bulk loads: restore). */
  batch(writes: () => void): void {
    this.db.transactionSync(writes);
  }

  /** Every key in `[start, end)`, as of now. */
  keys(start: Buffer, end: Buffer): Iterable<Buffer> {
    return this.db.getKeys({ start, end });
  }

  /** Every value in `[start, end)`, as of now. */
  values(start: Buffer, end: Buffer): Iterable<Buffer> {
    return this.db.getRange({ start, end }).map(({ value }) => value);
  }

  /** Opens a read view: later puts do not change what it reads (MVCC). */
  readView(): LmdbReadView {
    const db = this.db;
    const transaction: Transaction = db.useReadTransaction();
    let open = true;
    return {
      range: (start, end) => db.getRange({ start, end, transaction }),
      done: () => {
        if (!open) return;
        open = false;
        transaction.done();
      },
    };
  }

  /** Closes the environment and deletes its directory (idempotent). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    // The native close is synchronous; the promise only reports it. Removing the files of a
    // closed environment is safe.
    this.db.close().catch(() => undefined);
    rmSync(this.path, { recursive: true, force: true });
  }
}
