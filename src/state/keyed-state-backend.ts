/** The keyed state backend contract: per-key state for the key groups one subtask owns. */
import type { KeyGroupRange } from '../core/key-groups.js';
import type { KeyedTimerQueue } from './timer-queue.js';
import type { KeyedSnapshotRun, KeyedStateSnapshot } from './keyed-state-snapshot.js';
import type { AggregatingState, ListState, MapState, ReducingState, ValueState } from './state.js';
import type {
  AggregatingStateDescriptor,
  ListStateDescriptor,
  MapStateDescriptor,
  ReducingStateDescriptor,
  StateDescriptor,
  ValueStateDescriptor,
} from './state-descriptor.js';

/** The state object a descriptor declares, e.g. `ValueState<number>` for a `ValueStateDescriptor<number>`. */
export type StateFor<D extends StateDescriptor> =
  D extends ValueStateDescriptor<infer T>
    ? ValueState<T>
    : D extends ListStateDescriptor<infer T>
      ? ListState<T>
      : D extends MapStateDescriptor<infer K, infer V>
        ? MapState<K, V>
        : D extends ReducingStateDescriptor<infer T>
          ? ReducingState<T>
          : D extends AggregatingStateDescriptor<infer IN, infer _ACC, infer OUT>
            ? AggregatingState<IN, OUT>
            : never;

/** How a snapshot is taken. */
export interface KeyedSnapshotOptions {
  /**
   * Write every key group in full, outside any incremental chain (a savepoint: self-contained,
   * so it never refers to the job's shared/ files). The chain goes on as if it had not happened.
   */
  readonly full?: boolean;
}

/** The options of a savepoint's keyed snapshot. */
export const FULL_SNAPSHOT: KeyedSnapshotOptions = Object.freeze({ full: true });

/**
 * Holds the keyed state of one operator subtask, for the key groups in `keyGroupRange`.
 * The runtime sets the current key before each record or timer; every state object then reads
 * and writes the value of that key. Single-threaded: one task's mailbox drives it.
 */
export interface KeyedStateBackend<K = unknown> {
  /** The number of key groups of the job (fixed for the life of the state). */
  readonly maxParallelism: number;
  /** The key groups this backend owns; keys outside it are rejected. */
  readonly keyGroupRange: KeyGroupRange;

  /**
   * Makes `key` the key that state access applies to. Throws SLUICE_STATE_INVALID_ACCESS if the
   * key's group is outside `keyGroupRange` (a partitioning bug or a non-deterministic key
   * selector), and SLUICE_KEY_NOT_HASHABLE if the key has no stable hash.
   */
  setCurrentKey(key: K): void;
  /** The current key; throws SLUICE_STATE_INVALID_ACCESS if none was set. */
  getCurrentKey(): K;
  /** The current key's key group; throws SLUICE_STATE_INVALID_ACCESS if no key was set. */
  getCurrentKeyGroupIndex(): number;

  /**
   * The state a descriptor declares, created on first use. The same name always returns the same
   * state object (the first descriptor's functions and defaults win); declaring a name again with
   * another kind throws SLUICE_STATE_INVALID_ACCESS.
   */
  getOrCreateKeyedState<D extends StateDescriptor>(descriptor: D): StateFor<D>;

  /**
   * Every key that has a value in the named state (for tests and debugging). Do not write to the
   * state while iterating. Throws SLUICE_STATE_INVALID_ACCESS for an undeclared name.
   */
  getKeys(stateName: string): Iterable<K>;
  /** How many keys have a value in the named state. */
  numKeys(stateName: string): number;

  /**
   * The timer queue of this name (e.g. 'processing-timers' of an operator), created on first use.
   * Its timers are keyed state: snapshotted and restored (and rescaled) per key group with it.
   */
  getOrCreateTimerQueue(name: string): KeyedTimerQueue<K>;

  /**
   * The synchronous phase of a snapshot for checkpoint `checkpointId`: short and bounded, it
   * captures a consistent version of all state and timers. Records may change state as soon as it
   * returns; the returned run's `write()` (the asynchronous phase) still writes the captured
   * version. Several runs may be pending at once.
   */
  snapshot(checkpointId: number, options?: KeyedSnapshotOptions): KeyedSnapshotRun;

  /**
   * Restores the key groups of `keyGroupRange` from the snapshots of a checkpoint: every
   * snapshot whose range overlaps ours (several when rescaling). Called once, before the first
   * record; states may be declared before or after (restored states wait, by name, for their
   * declaration).
   */
  restore(snapshots: readonly KeyedStateSnapshot[]): void;

  /**
   * As `restore`, for snapshots whose data may still be arriving (`KeyedStateSnapshot.arriving`):
   * loads each key group as soon as it is read, and resolves once all are loaded and every
   * snapshot is verified (rejects with the file's error if one is not). Optional: a backend
   * without it gets `restore` once everything is verified (`restoreKeyedState`).
   */
  restoreArriving?(snapshots: readonly KeyedStateSnapshot[]): Promise<void>;

  /**
   * Checkpoint `checkpointId` completed (after this backend's snapshot of it was acknowledged).
   * Incremental backends build their next deltas on it; others need not implement this.
   */
  notifyCheckpointComplete?(checkpointId: number): void;

  /** Drops all state and releases resources; the backend cannot be used afterwards. */
  dispose(): void;
}
