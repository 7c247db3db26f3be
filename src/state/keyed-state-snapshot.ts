/** What a keyed state backend's snapshot is, and the handle of one in progress (both phases). */
import type { KeyGroupRange } from '../core/key-groups.js';

/**
 * The keyed state of one subtask at one checkpoint, for the key groups in `keyGroupRange`: one
 * blob with a section per key group, so that a restore at another parallelism reads only the
 * sections of the key groups it owns (Flink's `KeyGroupsStateHandle`). The bytes are the
 * backend's persisted format (the heap backend's is documented in heap/keyed-snapshot-format.ts).
 */
export interface KeyedStateSnapshot {
  /** The key groups the snapshot covers (the snapshotting subtask's range). */
  readonly keyGroupRange: KeyGroupRange;
  /**
   * The byte offset in `data` of each key group's section, index = keyGroup − range.start; one
   * per key group of the range. A section ends where the next begins (the last, at data.length).
   */
  readonly offsets: readonly number[];
  /** The serialized state: a small header (format version first), then the sections. */
  readonly data: Uint8Array;
  /** The names of the states and timer queues the snapshot holds (informational). */
  readonly stateNames: readonly string[];
  /**
   * On restore from an incremental checkpoint: the deltas to apply after `data` (the base),
   * oldest first, each over the same key-group range (heap delta format, keyed-snapshot-format.ts).
   */
  readonly deltas?: readonly KeyedSnapshotDelta[];
  /**
   * Set while `data` (the base) is still being read from checkpoint storage: a backend that can
   * load key groups as they arrive uses it (`restoreArriving`); any other restore waits for
   * `verified` first. Unset: `data` is complete and verified.
   */
  readonly arriving?: SnapshotArrival;
}

/** The progress of reading a snapshot's `data`. */
export interface SnapshotArrival {
  /** Resolves once `data[0, end)` is read (not yet verified); rejects if the read fails. */
  until(end: number): Promise<void>;
  /** Settles once all of `data` is read: resolves if its size and CRC32C check out. */
  readonly verified: Promise<void>;
  /**
   * Set when the file is read through a window of bounded size instead of into `data` (which is
   * then empty): only a backend that loads as the data arrives (`restoreArriving`) restores it.
   */
  readonly windowed?: ArrivalWindow;
}

/**
 * A snapshot's data read through a window: the restorer takes sections in file order and releases
 * what it no longer holds, so the reader can reuse the window's memory for the rest of the file.
 */
export interface ArrivalWindow {
  /** The file's size: `data.length` had it been read whole. */
  readonly size: number;
  /**
   * Bytes a restorer may gather before it loads them and, once loaded, releases them; it may hold
   * two such batches (one loading while it gathers the next) and the section it is at.
   */
  readonly releaseEvery: number;
  /** Bytes [start, end), once read (not yet verified); valid until released. */
  section(start: number, end: number): Promise<Uint8Array>;
  /** The restorer no longer holds any byte before `upTo`. */
  release(upTo: number): void;
}

/** One delta of an incremental chain: what changed per key group, sections at `offsets`. */
export interface KeyedSnapshotDelta {
  readonly offsets: readonly number[];
  readonly data: Uint8Array;
}

/**
 * A snapshot whose synchronous phase is done: the backend's state as of `snapshot()` is pinned
 * (copy-on-write) while records keep changing the live state. `write()` is the asynchronous
 * phase; the pinned version is held until `write()` settles or `release()` is called.
 */
export interface KeyedSnapshotRun {
  /** The checkpoint the snapshot belongs to. */
  readonly checkpointId: number;
  /**
   * Incremental snapshots: the completed checkpoint this one builds on. `write()` then returns a
   * delta (only what changed since that checkpoint's synchronous phase), to be appended to that
   * checkpoint's chain. Undefined: `write()` returns a full snapshot (a new base).
   */
  readonly baseCheckpointId?: number | undefined;
  /**
   * Whether the snapshot belongs to an incremental chain: then what `write()` returns (a delta, or
   * a new base) is shared state, which later checkpoints may refer to.
   */
  readonly incremental?: boolean;
  /**
   * Serializes the pinned state, in slices that yield to the event loop so the task's mailbox
   * keeps running, then releases it. Call at most once. Rejects with SLUICE_CHECKPOINT_STORAGE_FAILED
   * if `release()` is called before it finishes (the checkpoint was aborted).
   */
  write(): Promise<KeyedStateSnapshot>;
  /**
   * Drops the pinned version (idempotent): the backend stops copying on write for it and the
   * memory it held can be collected. Call it when a checkpoint is aborted before `write()` ran.
   */
  release(): void;
}
