/** The heap keyed state backend (Flink's `hashmap`): state as JS objects, one table per state. */
import { TtlStateFactory } from '../ttl/ttl-states.js';
import { invariant, SluiceError } from '../../core/errors.js';
import { assignToKeyGroup, type KeyGroupRange } from '../../core/key-groups.js';
import { MsgpackSerializer, type TypeSerializer } from '../../core/serializer.js';
import { mapKeyOf } from '../../core/stable-hash.js';
import type { KeyedSnapshotOptions, KeyedStateBackend, StateFor } from '../keyed-state-backend.js';
import { sliceOptions, type SliceOptions } from '../event-loop-slicer.js';
import type { KeyedSnapshotRun, KeyedStateSnapshot } from '../keyed-state-snapshot.js';
import type { State } from '../state.js';
import type { StateDescriptor, ValueStateDescriptor } from '../state-descriptor.js';
import {
  checkKeyGroupSetup,
  incompatibleRedeclaration,
  notAStateDescriptor,
  keyGroupOutOfRange,
  noCurrentKey,
  unknownState,
} from '../state-errors.js';
import { CurrentKeyContext } from './abstract-heap-state.js';
import { HeapAggregatingState } from './heap-aggregating-state.js';
import { HeapListState } from './heap-list-state.js';
import { HeapMapState } from './heap-map-state.js';
import { HeapReducingState } from './heap-reducing-state.js';
import { HeapKeyedSnapshotRun, type PinnedTable } from './heap-snapshot-run.js';
import { HeapValueState } from './heap-value-state.js';
import { codecFor, valueSerializerOf, type StateValueCodec } from './keyed-snapshot-format.js';
import { adoptRestoredState, restoreSnapshots, type RestoreContext } from './heap-restore.js';
import type { RestoredState } from './keyed-snapshot-reader.js';
import { ChangedKeys } from './changed-keys.js';
import { IncrementalSnapshots, type IncrementalOptions } from './incremental-snapshots.js';
import { SnapshotVersions } from './snapshot-versions.js';
import { StateTable } from './state-table.js';
import type { FrozenBytes } from './value-undo-log.js';
import type { HeapTimerQueue } from './timer-queue.js';
import type { KeyedTimerQueue } from '../timer-queue.js';
import { timerQueueNamed } from './timer-queue.js';
import { ByteArena, ByteWriter } from '../byte-io.js';

/** What a HeapKeyedStateBackend needs: the job's key-group count and the groups it owns. */
export interface HeapKeyedStateBackendOptions<K = unknown> {
  readonly maxParallelism: number;
  readonly keyGroupRange: KeyGroupRange;
  /**
   * How keys are written in snapshots; MessagePack by default. It must give back a key with the
   * same stable hash (a restore checks every key's key group).
   */
  readonly keySerializer?: TypeSerializer<K>;
  /**
   * How long one slice of a snapshot's asynchronous phase may run before it yields to the event
   * loop, in milliseconds (default 5): the bound on how long a snapshot delays the mailbox.
   */
  readonly snapshotSliceMillis?: number;
  /** The monotonic clock slices are measured with (default `performance.now`); for tests. */
  readonly now?: () => number;
  /** The processing-time clock state TTL is measured with (default `Date.now`); for tests. */
  readonly ttlTimeProvider?: () => number;
  /** The serializer of states (and keys) whose descriptor names none (default: msgpack without registered classes). */
  readonly defaultSerializer?: TypeSerializer<unknown>;
  /**
   * Incremental checkpoints (`execution.checkpointing.incremental`): snapshots after the first
   * completed one write only what changed since, until the chain is materialized into a new base.
   */
  readonly incremental?: IncrementalOptions | undefined;
  /** The operator whose state this is, for messages (e.g. "operator 'count' (uid 'count')"). */
  readonly owner?: string | undefined;
}

interface RegisteredState {
  readonly table: StateTable<unknown>;
  readonly state: State;
  readonly codec: StateValueCodec;
}

/**
 * Keyed state held in memory. Each state has a StateTable with one Map per owned key group; the
 * current key's group and map key are computed once per setCurrentKey and shared with every
 * state object through a CurrentKeyContext, so reading and updating a value costs two lookups.
 *
 * Snapshots are multi-versioned per entry (see SnapshotVersions and StateTable): `snapshot()` pins
 * a version in O(states), copying nothing, and its `write()` serializes it while records keep
 * changing the live state — also the objects in it, in place: an entry the snapshot has yet to
 * write is frozen (serialized) before user code gets its object.
 *
 * Restore order, as Flink: `restore()` runs first, before any record, and operators declare their
 * states afterwards, lazily. Restored states are kept as bytes by name until declared (then
 * decoded with the descriptor's serializers, checking kind and serializers match), and snapshots
 * taken before that write them back unchanged. States declared before `restore()` are filled at
 * once. Timer queues need no descriptor and are restored eagerly.
 */
export class HeapKeyedStateBackend<K = unknown> implements KeyedStateBackend<K> {
  readonly maxParallelism: number;
  readonly keyGroupRange: KeyGroupRange;
  private readonly ctx = new CurrentKeyContext();
  private readonly states = new Map<string, RegisteredState>();
  private readonly timerQueues = new Map<string, HeapTimerQueue<K>>();
  private readonly restored = new Map<string, RestoredState>();
  private readonly versions = new SnapshotVersions();
  private readonly defaultSerializer: TypeSerializer<unknown>;
  /** States declared with a time-to-live, which wrap states of this backend. */
  private readonly ttlStates: TtlStateFactory;
  private readonly keySerializer: TypeSerializer<unknown>;
  private readonly slices: SliceOptions;
  /** Where entries are frozen for pinned snapshots (one at a time: the backend is single-threaded). */
  private readonly scratch = new ByteWriter(4096);
  /** Where frozen entries keep their bytes. */
  private readonly arena = new ByteArena();
  /** The size of the last snapshot written, the first guess at the next one's. */
  private lastSnapshotBytes = 0;
  /** The size of the last delta written, the first guess at the next delta's. */
  private lastDeltaBytes = 0;
  /** Incremental checkpoints' bookkeeping; undefined when they are off. */
  private readonly incremental: IncrementalSnapshots | undefined;
  private restoreCalled = false;
  private disposed = false;
  private readonly owner: string | undefined;

  constructor(options: HeapKeyedStateBackendOptions<K>) {
    this.owner = options.owner;
    const { maxParallelism, keyGroupRange } = options;
    checkKeyGroupSetup(maxParallelism, keyGroupRange);
    this.maxParallelism = maxParallelism;
    this.keyGroupRange = { start: keyGroupRange.start, end: keyGroupRange.end };
    this.defaultSerializer = options.defaultSerializer ?? new MsgpackSerializer<unknown>();
    const defaults = this.defaultSerializer;
    this.ttlStates = new TtlStateFactory(
      this,
      'heap',
      options.ttlTimeProvider ?? Date.now,
      defaults,
      (descriptor) => defaultValueOf(descriptor, defaults),
    );
    this.keySerializer =
      (options.keySerializer as TypeSerializer<unknown> | undefined) ?? this.defaultSerializer;
    this.slices = sliceOptions(options.snapshotSliceMillis, options.now);
    this.incremental = options.incremental && new IncrementalSnapshots(options.incremental);
  }

  setCurrentKey(key: K): void {
    invariant(!this.disposed, 'a disposed keyed state backend is not used');
    // Both computations may throw (unhashable key, wrong subtask): the context changes only after.
    const keyGroup = assignToKeyGroup(key, this.maxParallelism);
    const { start, end } = this.keyGroupRange;
    if (keyGroup < start || keyGroup > end)
      throw keyGroupOutOfRange(key, keyGroup, this.keyGroupRange, this.maxParallelism);
    const mapKey = mapKeyOf(key);
    const ctx = this.ctx;
    ctx.key = key;
    ctx.mapKey = mapKey;
    ctx.keyGroup = keyGroup;
    ctx.offset = keyGroup - start;
  }

  getCurrentKey(): K {
    if (this.ctx.offset < 0) throw noCurrentKey('getCurrentKey()');
    return this.ctx.key as K;
  }

  getCurrentKeyGroupIndex(): number {
    if (this.ctx.offset < 0) throw noCurrentKey('getCurrentKeyGroupIndex()');
    return this.ctx.keyGroup;
  }

  getOrCreateKeyedState<D extends StateDescriptor>(descriptor: D): StateFor<D> {
    invariant(!this.disposed, 'a disposed keyed state backend is not used');
    if (descriptor.ttlConfig !== undefined) return this.ttlStates.getOrCreate(descriptor);
    const existing = this.states.get(descriptor.name);
    if (existing !== undefined) {
      const kind = existing.table.descriptor.kind;
      if (kind !== descriptor.kind) throw incompatibleRedeclaration(descriptor.name, kind, descriptor.kind);
      return existing.state as StateFor<D>;
    }
    const codec = codecFor(descriptor, this.defaultSerializer);
    const { scratch, arena } = this;
    const freeze = (value: unknown): FrozenBytes => {
      scratch.reset();
      codec.write(scratch, value);
      const bytes = scratch.written();
      return arena.copy(bytes, 0, bytes.length);
    };
    const table = new StateTable<unknown>(descriptor, this.keyGroupRange, this.versions, freeze, codec.copy);
    if (this.incremental !== undefined)
      table.changes = new ChangedKeys(this.keyGroupRange.end - this.keyGroupRange.start + 1);
    const state = this.createState(descriptor, table);
    const restored = this.restored.get(descriptor.name);
    // Adopted before registering, so a state whose checkpoint it cannot read is not declared.
    if (restored !== undefined) {
      if (adoptRestoredState(restored, table, codec, this.restoreContext())) this.incremental?.startNewBase();
      this.restored.delete(descriptor.name);
    }
    this.states.set(descriptor.name, { table, state, codec });
    return state as StateFor<D>;
  }

  /**
   * The timer queue of this name (e.g. 'processing-timers' of an operator), created on first use.
   * Its timers are part of this backend's snapshots, per key group, and restored with them.
   */
  getOrCreateTimerQueue(name: string): KeyedTimerQueue<K> {
    invariant(!this.disposed, 'a disposed keyed state backend is not used');
    const { maxParallelism, keyGroupRange, versions } = this;
    const queue = timerQueueNamed(this.timerQueues, name, { maxParallelism, keyGroupRange, versions });
    if (this.incremental !== undefined && queue.changedGroups === undefined)
      queue.changedGroups = new Uint8Array(keyGroupRange.end - keyGroupRange.start + 1);
    return queue;
  }

  /**
   * The synchronous phase of a snapshot: pins the current version of every state table and timer
   * queue (no entry is copied) and returns the run whose `write()` is the asynchronous phase.
   */
  snapshot(checkpointId: number, options?: KeyedSnapshotOptions): KeyedSnapshotRun {
    invariant(!this.disposed, 'a disposed keyed state backend is not snapshotted');
    const pinned = this.versions.pin();
    const tables = [...this.states.values()].map(({ table, codec }): PinnedTable => ({
      name: table.name,
      kind: table.descriptor.kind,
      codec,
      table,
    }));
    const timers = [...this.timerQueues].map(([name, queue]) => ({ name, queue }));
    // A full snapshot outside the chain cuts no changes: the next delta still covers them.
    const incremental = options?.full === true ? undefined : this.incremental;
    const delta = incremental?.beginSnapshot(
      checkpointId,
      tables.map((t) => t.table),
      timers.map((t) => t.queue as HeapTimerQueue<unknown>),
    );
    return new HeapKeyedSnapshotRun(
      {
        checkpointId,
        maxParallelism: this.maxParallelism,
        keyGroupRange: this.keyGroupRange,
        keySerializer: this.keySerializer,
        versions: this.versions,
        pinned,
        tables,
        restored: [...this.restored.values()],
        timers,
        sizeHint: delta === undefined ? this.lastSnapshotBytes : this.lastDeltaBytes,
        onWritten: (bytes, isDelta) => {
          if (isDelta) this.lastDeltaBytes = bytes;
          else this.lastSnapshotBytes = bytes;
          incremental?.recordWritten(checkpointId, bytes);
        },
        delta,
        incremental: incremental !== undefined,
      },
      this.slices,
    );
  }

  /**
   * Restores the key groups of this backend's range from `snapshots` (several when rescaling:
   * every old subtask whose range overlaps ours), reading only the sections of our key groups.
   * Call once, before the first record. Throws SLUICE_CHECKPOINT_CORRUPT for unreadable data and
   * SLUICE_STATE_INVALID_ACCESS for state this job cannot take (another max parallelism or key
   * serializer, a name restored with two kinds).
   */
  restore(snapshots: readonly KeyedStateSnapshot[]): void {
    invariant(!this.disposed, 'a disposed keyed state backend is not restored');
    invariant(!this.restoreCalled, 'restore() is called at most once, before any record');
    this.restoreCalled = true;
    restoreSnapshots(snapshots, this.restoreContext(), this.restored, (name) =>
      this.getOrCreateTimerQueue(name),
    );
    for (const [name, { table, codec }] of this.states) {
      const restored = this.restored.get(name);
      if (restored === undefined) continue;
      if (adoptRestoredState(restored, table, codec, this.restoreContext())) this.incremental?.startNewBase();
      this.restored.delete(name);
    }
  }

  /**
   * Checkpoint `checkpointId` completed: with incremental checkpoints, the next deltas build on it
   * (only if this backend wrote it; an older or unknown id changes nothing).
   */
  notifyCheckpointComplete(checkpointId: number): void {
    this.incremental?.notifyCheckpointComplete(checkpointId);
  }

  getKeys(stateName: string): Iterable<K> {
    return this.tableOf(stateName).keys() as Iterable<K>;
  }

  numKeys(stateName: string): number {
    return this.tableOf(stateName).size();
  }

  /**
   * The table behind a state, for snapshots and restores (heap-backend internals, not part of
   * KeyedStateBackend). Throws SLUICE_STATE_INVALID_ACCESS for an undeclared name.
   */
  getStateTable(stateName: string): StateTable<unknown> {
    return this.tableOf(stateName);
  }

  /** The names of the declared states, in declaration order. */
  stateNames(): IterableIterator<string> {
    return this.states.keys();
  }

  dispose(): void {
    // Pending snapshots read the live tables: they fail at their next slice instead.
    this.versions.dispose();
    for (const { table } of this.states.values()) table.clear();
    this.states.clear();
    this.timerQueues.clear();
    this.restored.clear();
    this.ctx.key = undefined;
    this.ctx.mapKey = undefined;
    this.ctx.keyGroup = -1;
    this.ctx.offset = -1;
    this.disposed = true;
  }

  private restoreContext(): RestoreContext {
    return {
      maxParallelism: this.maxParallelism,
      keyGroupRange: this.keyGroupRange,
      keySerializer: this.keySerializer,
      owner: this.owner,
    };
  }

  private tableOf(stateName: string): StateTable<unknown> {
    const registered = this.states.get(stateName);
    if (registered === undefined) throw unknownState(stateName, this.states.keys());
    return registered.table;
  }

  private createState(descriptor: StateDescriptor, table: StateTable<unknown>): State {
    const ctx = this.ctx;
    switch (descriptor.kind) {
      case 'value':
        return new HeapValueState(ctx, table, defaultValueOf(descriptor, this.defaultSerializer));
      case 'list':
        return new HeapListState(ctx, table as StateTable<unknown[]>);
      case 'map':
        return new HeapMapState(ctx, table as StateTable<Map<unknown, readonly [unknown, unknown]>>);
      case 'reducing':
        return new HeapReducingState(ctx, table, descriptor.reduceFunction);
      case 'aggregating':
        return new HeapAggregatingState(ctx, table, descriptor.aggregateFunction);
      default:
        // Reachable only from untyped callers passing something that is not a descriptor.
        throw notAStateDescriptor(descriptor);
    }
  }
}

/**
 * A ValueState's default value: shared when immutable, else copied through the state's serializer
 * on every use (Flink copies it too), so that changing the default of one key changes no other.
 * Shared with the LMDB backend.
 */
export function defaultValueOf(
  descriptor: ValueStateDescriptor<unknown>,
  fallback: TypeSerializer<unknown>,
): () => unknown {
  const value = descriptor.defaultValue;
  if (typeof value !== 'object' || value === null) return () => value;
  const serializer = valueSerializerOf(descriptor, fallback);
  let bytes: Uint8Array;
  try {
    bytes = serializer.serialize(value).slice();
  } catch (e) {
    throw new SluiceError(
      'SLUICE_STATE_INVALID_ACCESS',
      `value state '${descriptor.name}': its default value cannot be serialized (${(e as Error).message}); ` +
        'give a default the state serializer can write, or none and use value() ?? fallback.',
      { cause: e },
    );
  }
  return () => serializer.deserialize(bytes, 0, bytes.length);
}
