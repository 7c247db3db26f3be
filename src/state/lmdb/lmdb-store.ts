/**
 * One LMDB environment in a directory of its own, owned by one keyed state backend: the only
 * module that talks to the `lmdb` package. The directory is deleted when the store is closed.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
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
  /** The value under `key` as of the view, or undefined. */
  get(key: Buffer): Buffer | undefined;
  done(): void;
}

const APPEND = { append: true } as const;

/** Puts and removes buffered before they are written in one transaction (a RocksDB memtable's job). */
const FLUSH_AT_ENTRIES = 4096;
/** ... or once they hold this many bytes, so the buffer stays small next to a small heap. */
const FLUSH_AT_BYTES = 4 * 2 ** 20;

/**
 * State is rebuilt from checkpoints after a crash, never from this directory, so the environment
 * trades durability for speed: no fsync, and writes buffered in memory (reads see them) and
 * written a few thousand at a time in one LMDB write transaction, because a transaction per put
 * costs tens of microseconds. Anything that reads LMDB directly (ranges, read views) flushes first.
 */
export class LmdbStore {
  readonly path: string;
  private readonly db: RootDatabase<Buffer, Buffer>;
  /** Buffered writes by key (as latin1 text); undefined = removed. */
  private readonly pending = new Map<string, Buffer | undefined>();
  private pendingBytes = 0;
  private closed = false;

  constructor(localDir: string) {
    try {
      mkdirSync(localDir, { recursive: true });
      removeEnvironmentsOfDeadProcesses(localDir);
      this.path = mkdtempSync(join(localDir, `env-${process.pid}-`));
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

  /** The stored bytes, or undefined. Never changed afterwards: the caller may keep them. */
  get(key: Buffer): Buffer | undefined {
    if (this.pending.size > 0) {
      const text = key.toString('latin1');
      if (this.pending.has(text)) return this.pending.get(text);
    }
    return this.db.getBinary(key);
  }

  has(key: Buffer): boolean {
    if (this.pending.size > 0) {
      const text = key.toString('latin1');
      if (this.pending.has(text)) return this.pending.get(text) !== undefined;
    }
    return this.db.doesExist(key);
  }

  /** Stores a copy of `value` under `key` (both may be reused by the caller). */
  put(key: Buffer, value: Uint8Array): void {
    this.buffer(key, Buffer.from(value));
  }

  remove(key: Buffer): void {
    this.buffer(key, undefined);
  }

  /**
   * A bulk load (restore): `write` calls `put` for each entry, all in one LMDB write transaction,
   * the values written straight from the caller's bytes (no copy, no buffering). A key past every
   * key stored is appended (MDB_APPEND: no search, and pages left full when they split), so a
   * snapshot's entries, which come in key order, load at the speed of a sequential write.
   */
  load(write: (put: (key: Buffer, value: Uint8Array) => void) => void): void {
    this.flush();
    const db = this.db;
    let last: Buffer | undefined;
    for (const key of db.getKeys({ reverse: true, limit: 1 })) last = key;
    db.transactionSync(() =>
      write((key, bytes) => {
        // lmdb-js writes any Uint8Array's bytes; its typings ask for a Buffer.
        const value = bytes as Buffer;
        if (last === undefined || Buffer.compare(key, last) > 0) {
          last = key;
          // lmdb-js returns false when the append is refused (a key not past the last one),
          // though its typings say void; a plain put is then always right.
          if ((db.putSync(key, value, APPEND) as unknown) !== false) return;
        }
        db.putSync(key, value);
      }),
    );
  }

  /**
   * A bulk load that lmdb-js's write thread carries out while the caller goes on (restore: the
   * next bytes are read and parsed meanwhile). `write` calls `put` for each entry; the write
   * thread copies each value from the caller's bytes, which must stay unchanged until the promise
   * resolves, once every entry is written and committed. Plain puts, not appends: a synchronous
   * write (a restored timer) may land between queued ones, and puts commute where appends do not.
   */
  loadAsync(write: (put: (key: Buffer, value: Uint8Array) => void) => void): Promise<void> {
    this.flush();
    const db = this.db;
    let written: Promise<boolean> | undefined;
    try {
      // lmdb-js writes any Uint8Array's bytes; its typings ask for a Buffer.
      write((key, bytes) => {
        written = db.put(key, bytes as Buffer);
      });
    } catch (e) {
      // What was queued is written all the same; only the caller's error is reported.
      written?.catch(() => undefined);
      throw e;
    }
    return written === undefined ? Promise.resolve() : written.then(() => undefined);
  }

  /** Every key in `[start, end)`, as of now. */
  keys(start: Buffer, end: Buffer): Iterable<Buffer> {
    this.flush();
    return this.db.getKeys({ start, end });
  }

  /** Every value in `[start, end)`, as of now. */
  values(start: Buffer, end: Buffer): Iterable<Buffer> {
    this.flush();
    return this.db.getRange({ start, end }).map(({ value }) => value);
  }

  /** Every entry in `[start, end)` (the first `limit`, if given), as of now. Write nothing while iterating. */
  entries(
    start: Buffer,
    end: Buffer,
    limit?: number,
  ): Iterable<{ readonly key: Buffer; readonly value: Buffer }> {
    this.flush();
    return this.db.getRange(limit === undefined ? { start, end } : { start, end, limit });
  }

  /** Opens a read view of every write so far: later ones do not change what it reads (MVCC). */
  readView(): LmdbReadView {
    this.flush();
    const db = this.db;
    const transaction: Transaction = db.useReadTransaction();
    let open = true;
    return {
      range: (start, end) => db.getRange({ start, end, transaction }),
      get: (key) => db.get(key, { transaction }),
      done: () => {
        if (!open) return;
        open = false;
        transaction.done();
      },
    };
  }

  /** Writes the buffered puts and removes in one LMDB write transaction. */
  flush(): void {
    if (this.pending.size === 0) return;
    const { db, pending } = this;
    db.transactionSync(() => {
      for (const [text, value] of pending) {
        const key = Buffer.from(text, 'latin1');
        if (value === undefined) db.removeSync(key);
        else db.putSync(key, value);
      }
    });
    pending.clear();
    this.pendingBytes = 0;
  }

  private buffer(key: Buffer, value: Buffer | undefined): void {
    this.pending.set(key.toString('latin1'), value);
    this.pendingBytes += key.length + (value?.length ?? 0);
    if (this.pending.size >= FLUSH_AT_ENTRIES || this.pendingBytes >= FLUSH_AT_BYTES) this.flush();
  }

  /** Closes the environment and deletes its directory (idempotent); buffered writes are dropped. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pending.clear();
    // The native close is synchronous; the promise only reports it. Removing the files of a
    // closed environment is safe.
    this.db.close().catch(() => undefined);
    rmSync(this.path, { recursive: true, force: true });
  }
}

/**
 * Deletes the environments under `localDir` whose process is gone: a TaskManager that was
 * SIGKILLed never closed its stores. An environment's directory is named `env-<pid>-…` after the
 * process that opened it; one whose process still runs (or whose pid was reused) is left alone.
 */
function removeEnvironmentsOfDeadProcesses(localDir: string): void {
  for (const name of readdirSync(localDir)) {
    const pid = /^env-(\d+)-/.exec(name)?.[1];
    if (pid === undefined || Number(pid) === process.pid || isAlive(Number(pid))) continue;
    rmSync(join(localDir, name), { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it runs, as another user.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
