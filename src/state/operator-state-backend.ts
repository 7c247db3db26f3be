/** Operator (non-keyed) state: named list states of one subtask, snapshotted and rescaled as Flink's. */
import { invariant, SluiceError } from '../core/errors.js';
import { MsgpackSerializer, type TypeSerializer } from '../core/serializer.js';
import { ByteWriter, corruptSnapshot } from './byte-io.js';
import { snapshotReleased } from './event-loop-slicer.js';
import {
  parseListData,
  writeListHeader,
  type OperatorSnapshotRun,
  type OperatorStateEntry,
  type OperatorStateMode,
  type OperatorStateSnapshot,
} from './operator-state-snapshot.js';
import { describeSerializers, serializerIdOf } from './serializer-id.js';
import { describeRestoredState, restoreSerializerFor } from './state-migration.js';
import type { ListState } from './state.js';
import type { ListStateDescriptor, MapStateDescriptor } from './state-descriptor.js';
import { BroadcastMapState } from './broadcast-state.js';

/** Settings of an OperatorStateBackend. */
export interface OperatorStateBackendOptions {
  /** The serializer of states whose descriptor names none (default: msgpack without registered classes). */
  readonly defaultSerializer?: TypeSerializer<unknown>;
  /** The operator whose state this is, for messages (e.g. "operator 'count' (uid 'count')"). */
  readonly owner?: string | undefined;
}

/** A list of elements held by one subtask (not per key). */
class OperatorListState<T> implements ListState<T> {
  elements: T[] = [];

  constructor(private readonly name: string) {}

  get(): readonly T[] {
    return this.elements;
  }

  add(value: T): void {
    if (value === undefined) throw this.undefinedElement();
    this.elements.push(value);
  }

  addAll(values: readonly T[]): void {
    this.check(values);
    for (const value of values) this.elements.push(value);
  }

  update(values: readonly T[]): void {
    this.check(values);
    this.elements = values.slice();
  }

  clear(): void {
    this.elements = [];
  }

  private check(values: readonly T[]): void {
    for (const value of values) if (value === undefined) throw this.undefinedElement();
  }

  private undefinedElement(): SluiceError {
    return new SluiceError(
      'SLUICE_STATE_INVALID_ACCESS',
      `operator list state '${this.name}': undefined cannot be a list element (it cannot be told apart ` +
        'from a missing one in checkpoints); use null or leave the element out.',
    );
  }
}

interface RegisteredListState {
  readonly mode: OperatorStateMode;
  readonly serializer: TypeSerializer<unknown>;
  readonly state: OperatorListState<unknown>;
}

/**
 * What a snapshot's synchronous phase captured of one state: its bytes, or why it could not be
 * serialized (the checkpoint is then declined by the asynchronous phase; records go on).
 */
type CapturedState =
  | { readonly kind: 'entry'; readonly entry: OperatorStateEntry }
  | { readonly kind: 'failed'; readonly error: unknown };

function modeName(mode: OperatorStateMode): string {
  if (mode === 'BROADCAST') return 'broadcast state (getBroadcastState)';
  return mode === 'UNION' ? 'union list state (getUnionListState)' : 'list state (getListState)';
}

/**
 * The operator state of one subtask (Flink's `DefaultOperatorStateBackend`): list states whose
 * elements are split across subtasks on rescale (`getListState`) or given to every subtask
 * (`getUnionListState`); see redistributeOperatorState. Sources keep their split positions here.
 *
 * As with keyed state, `restore()` comes first and states are declared afterwards: restored
 * states wait by name, as bytes, for their declaration, and snapshots taken before it write
 * them back unchanged.
 */
export class OperatorStateBackend {
  private readonly states = new Map<string, RegisteredListState>();
  private readonly broadcastStates = new Map<string, BroadcastMapState<unknown, unknown>>();
  private readonly restored = new Map<string, OperatorStateEntry>();
  private readonly defaultSerializer: TypeSerializer<unknown>;
  private readonly owner: string | undefined;
  private restoreCalled = false;
  private disposed = false;

  constructor(options: OperatorStateBackendOptions = {}) {
    this.defaultSerializer = options.defaultSerializer ?? new MsgpackSerializer<unknown>();
    this.owner = options.owner;
  }

  /** A list state split evenly across the new subtasks on rescale (Flink's SPLIT_DISTRIBUTE). */
  getListState<T>(descriptor: ListStateDescriptor<T>): ListState<T> {
    return this.register(descriptor, 'SPLIT_DISTRIBUTE');
  }

  /** A list state of which every subtask gets all elements of all subtasks on restore (UNION). */
  getUnionListState<T>(descriptor: ListStateDescriptor<T>): ListState<T> {
    return this.register(descriptor, 'UNION');
  }

  /**
   * A broadcast state (Flink's `getBroadcastState(MapStateDescriptor)`): a map every subtask keeps
   * equal, snapshotted by each and restored from one copy at any parallelism.
   */
  getBroadcastState<K, V>(descriptor: MapStateDescriptor<K, V>): BroadcastMapState<K, V> {
    invariant(!this.disposed, 'a disposed operator state backend is not used');
    const name = descriptor.name;
    const existing = this.broadcastStates.get(name);
    if (existing !== undefined) return existing as BroadcastMapState<K, V>;
    if (this.states.has(name))
      throw incompatibleMode(name, this.states.get(name)!.mode, 'BROADCAST', 'registered');
    const state = new BroadcastMapState<K, V>(
      name,
      descriptor.keySerializer ?? (this.defaultSerializer as TypeSerializer<K>),
      descriptor.valueSerializer ?? (this.defaultSerializer as TypeSerializer<V>),
    );
    const restored = this.restored.get(name);
    if (restored !== undefined) {
      const what = `broadcast state '${name}'`;
      if (restored.mode !== 'BROADCAST') throw incompatibleMode(name, restored.mode, 'BROADCAST', 'restored');
      const parsed = parseListData(restored.data, what);
      const reader = state.valueReaderFor(parsed.serializer, describeRestoredState(name, this.owner, false));
      if (reader === undefined)
        throw new SluiceError(
          'SLUICE_STATE_MIGRATION_FAILED',
          `${what} was written to the checkpoint with ${describeSerializers([parsed.serializer])} but is ` +
            `declared with ${describeSerializers([state.serializerId])}; declare it with the serializers it was written with.`,
        );
      state.restore(parsed.elements, reader);
      this.restored.delete(name);
    }
    this.broadcastStates.set(name, state);
    return state;
  }

  /** The names of the registered states, in registration order. */
  stateNames(): IterableIterator<string> {
    return this.states.keys();
  }

  /**
   * The synchronous phase of a snapshot: serializes the lists (operator state is small; Flink
   * deep-copies it here) so the returned run writes them as they are now, whatever user code
   * does afterwards to the lists or to the objects in them.
   */
  snapshot(checkpointId: number): OperatorSnapshotRun {
    invariant(!this.disposed, 'a disposed operator state backend is not snapshotted');
    const captured: CapturedState[] = [];
    for (const [name, { mode, serializer, state }] of this.states) {
      try {
        const w = new ByteWriter(256);
        writeListHeader(w, serializerIdOf(serializer));
        w.u32(state.elements.length);
        for (const element of state.elements) w.value(serializer, element);
        captured.push({ kind: 'entry', entry: { name, mode, data: w.toBytes() } });
      } catch (error) {
        captured.push({ kind: 'failed', error });
      }
    }
    for (const [name, state] of this.broadcastStates) {
      try {
        captured.push({ kind: 'entry', entry: { name, mode: 'BROADCAST', data: state.serialize() } });
      } catch (error) {
        captured.push({ kind: 'failed', error });
      }
    }
    for (const entry of this.restored.values()) captured.push({ kind: 'entry', entry });
    return new OperatorStateSnapshotRun(checkpointId, captured);
  }

  /**
   * Restores this subtask's share of a checkpoint's operator state: the snapshot
   * redistributeOperatorState assigned to it. Call once, before the operator runs.
   */
  restore(snapshot: OperatorStateSnapshot): void {
    invariant(!this.disposed, 'a disposed operator state backend is not restored');
    invariant(!this.restoreCalled, 'restore() is called at most once, before the operator runs');
    this.restoreCalled = true;
    for (const entry of snapshot.states) {
      if (this.restored.has(entry.name))
        throw corruptSnapshot(`operator state '${entry.name}'`, 'the snapshot holds the state twice');
      const registered = this.states.get(entry.name);
      if (registered === undefined) this.restored.set(entry.name, entry);
      else this.adopt(entry, registered);
    }
  }

  /** Drops all state; the backend cannot be used afterwards. */
  dispose(): void {
    this.states.clear();
    this.broadcastStates.clear();
    this.restored.clear();
    this.disposed = true;
  }

  private register<T>(descriptor: ListStateDescriptor<T>, mode: OperatorStateMode): ListState<T> {
    invariant(!this.disposed, 'a disposed operator state backend is not used');
    if (this.broadcastStates.has(descriptor.name))
      throw incompatibleMode(descriptor.name, 'BROADCAST', mode, 'registered');
    const existing = this.states.get(descriptor.name);
    if (existing !== undefined) {
      if (existing.mode !== mode) throw incompatibleMode(descriptor.name, existing.mode, mode, 'registered');
      return existing.state as ListState<T>;
    }
    const serializer =
      (descriptor.elementSerializer as TypeSerializer<unknown> | undefined) ?? this.defaultSerializer;
    const registered: RegisteredListState = {
      mode,
      serializer,
      state: new OperatorListState(descriptor.name),
    };
    const restored = this.restored.get(descriptor.name);
    if (restored !== undefined) {
      this.adopt(restored, registered);
      this.restored.delete(descriptor.name);
    }
    this.states.set(descriptor.name, registered);
    return registered.state as ListState<T>;
  }

  /** Decodes restored elements into a registered state, after checking it can read them. */
  private adopt(entry: OperatorStateEntry, registered: RegisteredListState): void {
    const what = `operator state '${entry.name}'`;
    if (entry.mode !== registered.mode)
      throw incompatibleMode(entry.name, entry.mode, registered.mode, 'restored');
    const parsed = parseListData(entry.data, what);
    // As keyed state: the declared serializer reads the elements as they are, or migrates them.
    const reader = restoreSerializerFor(
      parsed.serializer,
      registered.serializer,
      describeRestoredState(entry.name, this.owner, false),
    );
    const elements = registered.state.elements;
    for (const bytes of parsed.elements) {
      let element: unknown;
      try {
        element = reader.deserialize(bytes, 0, bytes.length);
      } catch (e) {
        if (e instanceof SluiceError) throw e;
        throw corruptSnapshot(what, `an element cannot be deserialized (${(e as Error).message})`, e);
      }
      elements.push(element);
    }
  }
}

function incompatibleMode(
  name: string,
  existing: OperatorStateMode,
  requested: OperatorStateMode,
  how: 'registered' | 'restored',
): SluiceError {
  return new SluiceError(
    'SLUICE_STATE_INVALID_ACCESS',
    `operator state '${name}' was ${how} as ${modeName(existing)} and cannot be used as ` +
      `${modeName(requested)}; use the same kind of list state for a name, or give the new one another name.`,
  );
}

/** The asynchronous phase of an operator state snapshot: the bytes are ready, nothing is left to slice. */
class OperatorStateSnapshotRun implements OperatorSnapshotRun {
  private captured: readonly CapturedState[] | undefined;
  private started = false;

  constructor(
    readonly checkpointId: number,
    captured: readonly CapturedState[],
  ) {
    this.captured = captured;
  }

  release(): void {
    this.captured = undefined;
  }

  write(): Promise<OperatorStateSnapshot> {
    invariant(
      !this.started,
      `write() of the operator state snapshot of checkpoint ${this.checkpointId} is called once`,
    );
    this.started = true;
    const captured = this.captured;
    if (captured === undefined) return Promise.reject(snapshotReleased('operator state', this.checkpointId));
    this.release();
    const states: OperatorStateEntry[] = [];
    for (const state of captured) {
      if (state.kind === 'failed')
        return Promise.reject(state.error instanceof Error ? state.error : new Error(String(state.error)));
      states.push(state.entry);
    }
    return Promise.resolve({ states });
  }
}
