/** The LMDB keyed state backend (Flink's `rocksdb`): keyed state on disk, read synchronously. */
import { TtlStateFactory } from '../ttl/ttl-states.js';
import { invariant, SluiceError } from '../../core/errors.js';
import { assignToKeyGroup, type KeyGroupRange } from '../../core/key-groups.js';
import { MsgpackSerializer, type TypeSerializer } from '../../core/serializer.js';
import { canonicalBytes } from '../../core/stable-hash.js';
import { ByteReader, ByteWriter, corruptSnapshot } from '../byte-io.js';
import { sliceOptions, type SliceOptions } from '../event-loop-slicer.js';
import {
  restoreArrivingSnapshots,
  restoreCodecFor,
  restoreSnapshots,
  type RestoreContext,
  type StateBlockSink,
} from '../heap/heap-restore.js';
import { defaultValueOf } from '../heap/heap-keyed-state-backend.js';
import { codecFor, isAbsentValue, type StateValueCodec } from '../heap/keyed-snapshot-format.js';
import type { SnapshotBlock } from '../heap/keyed-snapshot-reader.js';
import { ChangedKeys } from '../heap/changed-keys.js';
import { IncrementalSnapshots, type IncrementalOptions } from '../heap/incremental-snapshots.js';
import { SnapshotVersions } from '../heap/snapshot-versions.js';
import type { KeyedTimerQueue } from '../timer-queue.js';
import { LmdbTimerQueue } from './lmdb-timer-queue.js';
import type { KeyedStateBackend, StateFor } from '../keyed-state-backend.js';
import type { KeyedSnapshotRun, KeyedStateSnapshot } from '../keyed-state-snapshot.js';
import { describeSerializers, sameSerializers, type SerializerId } from '../serializer-id.js';
import type { State } from '../state.js';
import type { StateDescriptor, StateKind } from '../state-descriptor.js';
import {
  checkKeyGroupSetup,
  incompatibleRedeclaration,
  notAStateDescriptor,
  keyGroupOutOfRange,
  noCurrentKey,
  unknownState,
} from '../state-errors.js';
import { LmdbCurrentKey, rangeStart } from './lmdb-key-layout.js';
import { LmdbRestoreLoader } from './lmdb-restore.js';
import type { SnapshotState } from './lmdb-pinned-state.js';
import { LmdbKeyedSnapshotRun } from './lmdb-snapshot-run.js';
import {
  type AbstractLmdbState,
  LmdbAggregatingState,
  LmdbListState,
  LmdbMapState,
  LmdbReducingState,
  LmdbValueState,
  type LmdbStateContext,
} from './lmdb-states.js';
import { defaultLocalDir, LmdbStore } from './lmdb-store.js';

/** What an LmdbKeyedStateBackend needs. */
export interface LmdbKeyedStateBackendOptions<K = unknown> {
  readonly maxParallelism: number;
  readonly keyGroupRange: KeyGroupRange;
  /** The directory under which the backend creates its LMDB environment (`state.backend.local-dir`). */
  readonly localDir?: string;
  /** How keys are written (in LMDB keys and snapshots); MessagePack by default. */
  readonly keySerializer?: TypeSerializer<K>;
  /** As HeapKeyedStateBackendOptions.snapshotSliceMillis. */
  readonly snapshotSliceMillis?: number;
  readonly now?: () => number;
  /** The processing-time clock state TTL is measured with (default `Date.now`); for tests. */
  readonly ttlTimeProvider?: () => number;
  /** The serializer of states (and keys) whose descriptor names none. */
  readonly defaultSerializer?: TypeSerializer<unknown>;
  /** As HeapKeyedStateBackendOptions.incremental (`execution.checkpointing.incremental`). */
  readonly incremental?: IncrementalOptions | undefined;
  /** The operator whose state this is, for messages (e.g. "operator 'count' (uid 'count')"). */
  readonly owner?: string | undefined;
  /**
   * Incremental checkpoints: the most keys of one state tracked between two snapshots (default
   * 2^20, tens of bytes each); a snapshot after more changed writes a new base instead. For tests.
   */
  readonly maxTrackedKeys?: number;
}

/** A state the backend knows: declared (`state` set), or restored and waiting for its declaration. */
interface StateEntry {
  readonly name: string;
  readonly id: number;
  readonly kind: StateKind;
  /** What its stored values are written with (a restored state's, until its declaration). */
  serializers: readonly SerializerId[];
  state: State | undefined;
  /** The codec of its declaration (undefined until declared). */
  codec: StateValueCodec | undefined;
  /** Incremental checkpoints: the keys its state object wrote or removed since the last snapshot. */
  changes: ChangedKeys | undefined;
}

/** Most states a backend holds (ids are 16 bits in LMDB keys; timer queues take the upper half). */
const MAX_STATES = 0x8000;
/** The LMDB id of the first timer queue; queue i has TIMER_QUEUE_IDS + i. */
const TIMER_QUEUE_IDS = 0x8000;
/**
 * Incremental checkpoints: the most keys of one state tracked between two snapshots by default,
 * so that tracking stays small next to a heap smaller than the state.
 */
const MAX_TRACKED_KEYS = 1 << 20;

/**
 * Keyed state in an LMDB environment of its own (one per operator subtask), so state can be far
 * larger than the JS heap. Every state access is a synchronous LMDB read or write of the current
 * key's whole value in the keyed snapshot format's encoding; values read are fresh objects.
 *
 * Snapshots: the synchronous phase opens an LMDB read transaction (an MVCC view: O(1), nothing
 * copied) and the asynchronous phase streams it in key-group order, in event-loop slices, while
 * records keep writing. The format is the heap backend's, so either backend restores the other's
 * checkpoints and savepoints.
 *
 * Timers live in LMDB too (LmdbTimerQueue: each key group's earliest timers cached in memory), and
 * snapshots read them from the same read transaction as the states.
 *
 * Incremental checkpoints, as the heap backend's and in its delta format: each state object
 * records the keys it wrote or removed (ChangedKeys, one Map.set per write), timer queues the key
 * groups whose timers changed, and a snapshot after a completed checkpoint reads only those keys
 * from its read view (IncrementalSnapshots decides delta or new base).
 */
export class LmdbKeyedStateBackend<K = unknown> implements KeyedStateBackend<K> {
  readonly maxParallelism: number;
  readonly keyGroupRange: KeyGroupRange;
  private readonly store: LmdbStore;
  private readonly current = new LmdbCurrentKey();
  private readonly context: LmdbStateContext;
  private readonly states = new Map<string, StateEntry>();
  private readonly timerQueues = new Map<string, LmdbTimerQueue<K>>();
  private readonly versions = new SnapshotVersions();
  private readonly runs = new Set<LmdbKeyedSnapshotRun>();
  private readonly defaultSerializer: TypeSerializer<unknown>;
  /** States declared with a time-to-live, which wrap states of this backend. */
  private readonly ttlStates: TtlStateFactory;
  private readonly keySerializer: TypeSerializer<unknown>;
  private readonly slices: SliceOptions;
  private lastSnapshotBytes = 0;
  /** The size of the last delta written, the first guess at the next delta's. */
  private lastDeltaBytes = 0;
  /** Incremental checkpoints' bookkeeping; undefined when they are off. */
  private readonly incremental: IncrementalSnapshots | undefined;
  private readonly maxTrackedKeys: number;
  private restoreCalled = false;
  private disposed = false;
  private readonly owner: string | undefined;

  constructor(options: LmdbKeyedStateBackendOptions<K>) {
    this.owner = options.owner;
    const { maxParallelism, keyGroupRange } = options;
    checkKeyGroupSetup(maxParallelism, keyGroupRange);
    // Key groups are 16 bits in LMDB keys; Flink's (and Sluice's config's) limit is 32768 anyway.
    invariant(maxParallelism <= 32768, `max parallelism is at most 32768 (got ${maxParallelism})`);
    this.maxParallelism = maxParallelism;
    this.keyGroupRange = { start: keyGroupRange.start, end: keyGroupRange.end };
    this.defaultSerializer = options.defaultSerializer ?? new MsgpackSerializer<unknown>();
    const defaults = this.defaultSerializer;
    this.ttlStates = new TtlStateFactory(
      this,
      'lmdb',
      options.ttlTimeProvider ?? Date.now,
      defaults,
      (descriptor) => defaultValueOf(descriptor, defaults),
    );
    this.keySerializer =
      (options.keySerializer as TypeSerializer<unknown> | undefined) ?? this.defaultSerializer;
    this.slices = sliceOptions(options.snapshotSliceMillis, options.now);
    this.incremental = options.incremental && new IncrementalSnapshots(options.incremental);
    this.maxTrackedKeys = options.maxTrackedKeys ?? MAX_TRACKED_KEYS;
    this.store = new LmdbStore(options.localDir ?? defaultLocalDir());
    this.context = {
      store: this.store,
      current: this.current,
      scratch: new ByteWriter(4096),
      keyGroupStart: keyGroupRange.start,
    };
  }

  /** The directory of this backend's LMDB environment (deleted by dispose()). */
  get path(): string {
    return this.store.path;
  }

  setCurrentKey(key: K): void {
    invariant(!this.disposed, 'a disposed keyed state backend is not used');
    const keyGroup = assignToKeyGroup(key, this.maxParallelism);
    const { start, end } = this.keyGroupRange;
    if (keyGroup < start || keyGroup > end)
      throw keyGroupOutOfRange(key, keyGroup, this.keyGroupRange, this.maxParallelism);
    this.current.set(key, keyGroup, canonicalBytes(key), this.keySerializer.serialize(key));
  }

  getCurrentKey(): K {
    if (this.current.keyGroup < 0) throw noCurrentKey('getCurrentKey()');
    return this.current.key as K;
  }

  getCurrentKeyGroupIndex(): number {
    if (this.current.keyGroup < 0) throw noCurrentKey('getCurrentKeyGroupIndex()');
    return this.current.keyGroup;
  }

  getOrCreateKeyedState<D extends StateDescriptor>(descriptor: D): StateFor<D> {
    invariant(!this.disposed, 'a disposed keyed state backend is not used');
    if (descriptor.ttlConfig !== undefined) return this.ttlStates.getOrCreate(descriptor);
    const existing = this.states.get(descriptor.name);
    if (existing?.state !== undefined) {
      if (existing.kind !== descriptor.kind)
        throw incompatibleRedeclaration(descriptor.name, existing.kind, descriptor.kind);
      return existing.state as StateFor<D>;
    }
    const codec = codecFor(descriptor, this.defaultSerializer);
    let entry = existing;
    if (entry !== undefined) {
      const reading = restoreCodecFor(entry, descriptor.name, descriptor.kind, codec, this.owner);
      this.adoptStored(entry, reading, codec);
    } else entry = this.register(descriptor.name, descriptor.kind, codec.serializers);
    const state = this.createState(descriptor, entry.id, codec);
    if (this.incremental !== undefined)
      entry.changes = state.changes = new ChangedKeys(this.numKeyGroups(), this.maxTrackedKeys);
    entry.state = state;
    entry.codec = codec;
    return state as unknown as StateFor<D>;
  }

  getOrCreateTimerQueue(name: string): KeyedTimerQueue<K> {
    invariant(!this.disposed, 'a disposed keyed state backend is not used');
    let queue = this.timerQueues.get(name);
    if (queue === undefined) {
      if (this.timerQueues.size >= 0x10000 - TIMER_QUEUE_IDS)
        throw new SluiceError(
          'SLUICE_STATE_INVALID_ACCESS',
          `timer queue '${name}': an operator of the lmdb state backend holds at most ${0x10000 - TIMER_QUEUE_IDS} timer queues.`,
        );
      queue = new LmdbTimerQueue<K>({
        store: this.store,
        id: TIMER_QUEUE_IDS + this.timerQueues.size,
        maxParallelism: this.maxParallelism,
        keyGroupRange: this.keyGroupRange,
        keySerializer: this.keySerializer,
      });
      if (this.incremental !== undefined) queue.changedGroups = new Uint8Array(this.numKeyGroups());
      this.timerQueues.set(name, queue);
    }
    return queue;
  }

  /**
   * The synchronous phase: opens an LMDB read view (of states and timers), nothing is copied; with
   * incremental checkpoints, also cuts the changes tracked since the last snapshot.
   */
  snapshot(checkpointId: number): KeyedSnapshotRun {
    invariant(!this.disposed, 'a disposed keyed state backend is not snapshotted');
    const incremental = this.incremental;
    const tracked = [...this.states.values()].filter((e) => e.changes !== undefined);
    const queues = [...this.timerQueues.values()];
    const delta = incremental?.beginSnapshot(checkpointId, tracked, queues);
    const run: LmdbKeyedSnapshotRun = new LmdbKeyedSnapshotRun(
      {
        checkpointId,
        maxParallelism: this.maxParallelism,
        keyGroupRange: this.keyGroupRange,
        keySerializer: this.keySerializer,
        view: this.store.readView(),
        states: [...this.states.values()].map(snapshotStateOf),
        versions: this.versions,
        pinned: this.versions.pin(),
        timers: [...this.timerQueues].map(([name, queue]) => ({ name, id: queue.id })),
        sizeHint: delta === undefined ? this.lastSnapshotBytes : this.lastDeltaBytes,
        onWritten: (bytes, isDelta) => {
          if (isDelta) this.lastDeltaBytes = bytes;
          else this.lastSnapshotBytes = bytes;
          incremental?.recordWritten(checkpointId, bytes);
        },
        onReleased: () => this.runs.delete(run),
        delta,
        tracked: tracked.map(snapshotStateOf),
        incremental: incremental !== undefined,
      },
      this.slices,
    );
    this.runs.add(run);
    return run;
  }

  /**
   * Loads the key groups of this backend's range from `snapshots` into LMDB, as bytes, straight
   * from the snapshots' data; a state is checked against its declaration when declared. Call
   * once, before the first record.
   */
  restore(snapshots: readonly KeyedStateSnapshot[]): void {
    const { ctx, onStateBlock, finish } = this.beginRestore();
    restoreSnapshots(snapshots, ctx, new Map(), (name) => this.getOrCreateTimerQueue(name), onStateBlock);
    finish();
  }

  /**
   * As `restore`, while the snapshots' data is still arriving: each key group is loaded once its
   * section is read, so loading overlaps reading. The environment is fresh and nothing reads it
   * before this resolves, which is only after every snapshot is verified.
   */
  async restoreArriving(snapshots: readonly KeyedStateSnapshot[]): Promise<void> {
    const { ctx, onStateBlock, flush, finish } = this.beginRestore();
    await restoreArrivingSnapshots(snapshots, ctx, {
      onStateBlock,
      timerQueue: (name) => this.getOrCreateTimerQueue(name),
      stopped: () => this.disposed,
      restored: finish,
      flush,
    });
  }

  /**
   * What both restores share: the checks of restore(), a loader fed by the state-block sink,
   * `flush`, which loads what it was fed so far, and `finish`, which completes the load and
   * migrates what declared states need migrated.
   */
  private beginRestore(): {
    ctx: RestoreContext;
    onStateBlock: StateBlockSink;
    flush: () => Promise<void> | undefined;
    finish: () => void;
  } {
    invariant(!this.disposed, 'a disposed keyed state backend is not restored');
    invariant(!this.restoreCalled, 'restore() is called at most once, before any record');
    this.restoreCalled = true;
    const ctx: RestoreContext = {
      maxParallelism: this.maxParallelism,
      keyGroupRange: this.keyGroupRange,
      keySerializer: this.keySerializer,
    };
    const loader = new LmdbRestoreLoader(this.store, ctx);
    /** Each restored state's last key group, to catch one held twice. */
    const lastKeyGroup = new Map<string, number>();
    /** States declared before restore, with the codec that reads what was restored for them. */
    const declared = new Map<StateEntry, StateValueCodec>();
    const onStateBlock: StateBlockSink = (block, keyGroup, what) => {
      const entry = this.restoredEntry(block, what, lastKeyGroup.has(block.name), declared);
      if (lastKeyGroup.get(block.name) === keyGroup)
        throw corruptSnapshot(what, 'the key group holds the state twice');
      lastKeyGroup.set(block.name, keyGroup);
      loader.add(block.payload, what, entry.kind, keyGroup, entry.id);
    };
    const finish = (): void => {
      loader.flush();
      for (const [entry, reading] of declared) this.adoptStored(entry, reading, entry.codec!);
    };
    return { ctx, onStateBlock, flush: () => loader.flushAsync(), finish };
  }

  /**
   * Checkpoint `checkpointId` completed: with incremental checkpoints, the next deltas build on it
   * (only if this backend wrote it; an older or unknown id changes nothing).
   */
  notifyCheckpointComplete(checkpointId: number): void {
    this.incremental?.notifyCheckpointComplete(checkpointId);
  }

  getKeys(stateName: string): Iterable<K> {
    const id = this.declared(stateName).id;
    const keys: K[] = [];
    const serializer = this.keySerializer;
    for (let keyGroup = this.keyGroupRange.start; keyGroup <= this.keyGroupRange.end; keyGroup++)
      for (const value of this.store.values(rangeStart(keyGroup, id), rangeStart(keyGroup, id + 1)))
        keys.push(serializer.deserialize(value, 4, 4 + value.readUInt32BE(0)) as K);
    return keys;
  }

  numKeys(stateName: string): number {
    const id = this.declared(stateName).id;
    let n = 0;
    for (let keyGroup = this.keyGroupRange.start; keyGroup <= this.keyGroupRange.end; keyGroup++)
      for (const _ of this.store.keys(rangeStart(keyGroup, id), rangeStart(keyGroup, id + 1))) n++;
    return n;
  }

  /** Releases pending snapshots, closes the environment and deletes its directory. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.versions.dispose();
    // A snapshot still writing closes its cursors when it next resumes: the environment closes after.
    const runs = [...this.runs];
    for (const run of runs) run.release();
    const writing = runs.map((run) => run.writeEnd).filter((w) => w !== undefined);
    if (writing.length === 0) this.store.close();
    else void Promise.all(writing).then(() => this.store.close());
    this.states.clear();
    this.timerQueues.clear();
    this.current.clear();
  }

  /**
   * The entry of a restored state block's state: registered at its first block (checked against
   * its declaration, if declared: `declared` then gets the codec that reads it), and every later
   * block must be the same kind and serializers.
   */
  private restoredEntry(
    block: SnapshotBlock,
    what: string,
    seenBefore: boolean,
    declared: Map<StateEntry, StateValueCodec>,
  ): StateEntry {
    const { name, kind, serializers } = block;
    if (kind === 'timers' || kind === 'removed')
      throw corruptSnapshot(what, `a full snapshot holds a ${kind} block among states`);
    const existing = this.states.get(name);
    if (existing === undefined) return this.register(name, kind, serializers);
    if (!seenBefore && existing.codec !== undefined) {
      declared.set(
        existing,
        restoreCodecFor({ kind, serializers }, name, existing.kind, existing.codec, this.owner),
      );
      // Its blocks are stored as written until every one is loaded, then adopted (adoptStored).
      existing.serializers = serializers;
    } else if (existing.kind !== kind || !sameSerializers(existing.serializers, serializers))
      throw corruptSnapshot(
        what,
        `it is ${kind} state written with ${describeSerializers(serializers)}, while other key groups hold ` +
          `it as ${existing.kind} state written with ${describeSerializers(existing.serializers)}`,
      );
    return existing;
  }

  /**
   * A declared state takes over its restored values: stored as they are when `reading` is its own
   * codec, else each rewritten (read and migrated by `reading`, written by `writing`). When the
   * recorded serializers change, the next incremental snapshot is a new base, since the chain
   * before it holds the state under the old ones.
   */
  private adoptStored(entry: StateEntry, reading: StateValueCodec, writing: StateValueCodec): void {
    if (reading !== writing) this.rewriteStored(entry, reading, writing);
    if (!sameSerializers(entry.serializers, writing.serializers)) {
      entry.serializers = writing.serializers;
      this.incremental?.startNewBase();
    }
  }

  /** Rewrites every stored value of `entry` from `reading`'s format into `writing`'s (state migration). */
  private rewriteStored(entry: StateEntry, reading: StateValueCodec, writing: StateValueCodec): void {
    const what = `state '${entry.name}' in the lmdb state backend`;
    const w = new ByteWriter(256);
    for (let keyGroup = this.keyGroupRange.start; keyGroup <= this.keyGroupRange.end; keyGroup++) {
      const rewritten: [Buffer, Uint8Array | undefined][] = [];
      for (const { key, value } of this.store.entries(
        rangeStart(keyGroup, entry.id),
        rangeStart(keyGroup, entry.id + 1),
      )) {
        const r = new ByteReader(value, 0, value.length, what);
        const keyEnd = 4 + r.u32();
        r.pos = keyEnd;
        let migrated: unknown;
        try {
          migrated = reading.read(r);
        } catch (e) {
          if (e instanceof SluiceError) throw e;
          throw corruptSnapshot(what, `a value cannot be deserialized (${(e as Error).message})`, e);
        }
        if (isAbsentValue(entry.kind, migrated)) {
          rewritten.push([key, undefined]);
          continue;
        }
        w.reset();
        w.range(value, 0, keyEnd);
        writing.write(w, migrated);
        rewritten.push([key, w.written().slice()]);
      }
      for (const [key, bytes] of rewritten)
        if (bytes === undefined) this.store.remove(key);
        else this.store.put(key, bytes);
    }
  }

  private register(name: string, kind: StateKind, serializers: readonly SerializerId[]): StateEntry {
    if (this.states.size >= MAX_STATES)
      throw new SluiceError(
        'SLUICE_STATE_INVALID_ACCESS',
        `state '${name}': an operator of the lmdb state backend holds at most ${MAX_STATES} states; ` +
          'use fewer state names (a MapState holds many values under one name).',
      );
    const entry: StateEntry = {
      name,
      id: this.states.size,
      kind,
      serializers,
      state: undefined,
      codec: undefined,
      changes: undefined,
    };
    this.states.set(name, entry);
    return entry;
  }

  private declared(stateName: string): StateEntry {
    const entry = this.states.get(stateName);
    if (entry?.state === undefined)
      throw unknownState(
        stateName,
        [...this.states.values()].filter((e) => e.state !== undefined).map((e) => e.name),
      );
    return entry;
  }

  private numKeyGroups(): number {
    return this.keyGroupRange.end - this.keyGroupRange.start + 1;
  }

  private createState(
    descriptor: StateDescriptor,
    id: number,
    codec: StateValueCodec,
  ): AbstractLmdbState<unknown> & State {
    const c = this.context;
    const name = descriptor.name;
    switch (descriptor.kind) {
      case 'value':
        return new LmdbValueState(c, name, id, codec, defaultValueOf(descriptor, this.defaultSerializer));
      case 'list':
        return new LmdbListState(c, name, id, codec);
      case 'map':
        return new LmdbMapState(c, name, id, codec);
      case 'reducing':
        return new LmdbReducingState(c, name, id, codec, descriptor.reduceFunction);
      case 'aggregating':
        return new LmdbAggregatingState(c, name, id, codec, descriptor.aggregateFunction);
      default:
        throw notAStateDescriptor(descriptor);
    }
  }
}

/** What a snapshot needs of a state entry. */
function snapshotStateOf({ name, id, kind, serializers }: StateEntry): SnapshotState {
  return { name, id, kind, serializers };
}
