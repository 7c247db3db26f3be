/** Operator (non-keyed) state: named list states of one subtask, snapshotted and rescaled as Flink's. */
import { invariant, SluiceError } from '../core/errors.js';
import { MsgpackSerializer, type TypeSerializer } from '../core/serializer.js';
import { ByteWriter, corruptSnapshot } from './byte-io.js';
import { EventLoopSlicer, sliceOptions, snapshotReleased, type SliceOptions } from './event-loop-slicer.js';
import {
  parseListData,
  writeListHeader,
  type OperatorSnapshotRun,
  type OperatorStateEntry,
  type OperatorStateMode,
  type OperatorStateSnapshot,
} from './operator-state-snapshot.js';
import { describeSerializers, sameSerializers, serializerIdOf } from './serializer-id.js';
import type { ListState } from './state.js';
import type { ListStateDescriptor } from './state-descriptor.js';

/** Settings of an OperatorStateBackend. */
export interface OperatorStateBackendOptions {
  /** Longest slice of a snapshot's asynchronous phase before it yields, in ms (default 5). */
  readonly snapshotSliceMillis?: number;
  /** The monotonic clock slices are measured with (default `performance.now`); for tests. */
  readonly now?: () => number;
  /** The serializer of states whose descriptor names none (default: msgpack without registered classes). */
  readonly defaultSerializer?: TypeSerializer<unknown>;
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

/** What a snapshot's synchronous phase captured of one state. */
type CapturedState =
  | {
      readonly kind: 'live';
      readonly name: string;
      readonly mode: OperatorStateMode;
      readonly serializer: TypeSerializer<unknown>;
      readonly elements: readonly unknown[];
    }
  | { readonly kind: 'restored'; readonly entry: OperatorStateEntry };

function modeName(mode: OperatorStateMode): string {
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
  private readonly restored = new Map<string, OperatorStateEntry>();
  private readonly defaultSerializer: TypeSerializer<unknown>;
  private readonly slices: SliceOptions;
  private restoreCalled = false;
  private disposed = false;

  constructor(options: OperatorStateBackendOptions = {}) {
    this.defaultSerializer = options.defaultSerializer ?? new MsgpackSerializer<unknown>();
    this.slices = sliceOptions(options.snapshotSliceMillis, options.now);
  }

  /** A list state split evenly across the new subtasks on rescale (Flink's SPLIT_DISTRIBUTE). */
  getListState<T>(descriptor: ListStateDescriptor<T>): ListState<T> {
    return this.register(descriptor, 'SPLIT_DISTRIBUTE');
  }

  /** A list state of which every subtask gets all elements of all subtasks on restore (UNION). */
  getUnionListState<T>(descriptor: ListStateDescriptor<T>): ListState<T> {
    return this.register(descriptor, 'UNION');
  }

  /** The names of the registered states, in registration order. */
  stateNames(): IterableIterator<string> {
    return this.states.keys();
  }

  /**
   * The synchronous phase of a snapshot: copies the lists (operator state is small) so the
   * returned run writes them as they are now, whatever happens to them afterwards.
   */
  snapshot(checkpointId: number): OperatorSnapshotRun {
    invariant(!this.disposed, 'a disposed operator state backend is not snapshotted');
    const captured: CapturedState[] = [];
    for (const [name, { mode, serializer, state }] of this.states)
      captured.push({ kind: 'live', name, mode, serializer, elements: state.elements.slice() });
    for (const entry of this.restored.values()) captured.push({ kind: 'restored', entry });
    return new OperatorStateSnapshotRun(checkpointId, captured, this.slices);
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
    this.restored.clear();
    this.disposed = true;
  }

  private register<T>(descriptor: ListStateDescriptor<T>, mode: OperatorStateMode): ListState<T> {
    invariant(!this.disposed, 'a disposed operator state backend is not used');
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
    const id = serializerIdOf(registered.serializer);
    if (!sameSerializers([parsed.serializer], [id]))
      throw new SluiceError(
        'SLUICE_STATE_INVALID_ACCESS',
        `${what} was written to the checkpoint with ${describeSerializers([parsed.serializer])} but is ` +
          `declared with ${describeSerializers([id])}; declare it with the serializer it was written with.`,
      );
    const elements = registered.state.elements;
    for (const bytes of parsed.elements) {
      let element: unknown;
      try {
        element = registered.serializer.deserialize(bytes, 0, bytes.length);
      } catch (e) {
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

/** The asynchronous phase of an operator state snapshot. */
class OperatorStateSnapshotRun implements OperatorSnapshotRun {
  private captured: readonly CapturedState[] | undefined;
  private started = false;

  constructor(
    readonly checkpointId: number,
    captured: readonly CapturedState[],
    private readonly slices: SliceOptions,
  ) {
    this.captured = captured;
  }

  release(): void {
    this.captured = undefined;
  }

  async write(): Promise<OperatorStateSnapshot> {
    const captured = this.captured;
    invariant(
      !this.started && captured !== undefined,
      `write() of the operator state snapshot of checkpoint ${this.checkpointId} is called once, before release()`,
    );
    this.started = true;
    try {
      const slicer = new EventLoopSlicer(this.slices, () =>
        this.captured === undefined ? snapshotReleased('operator state', this.checkpointId) : undefined,
      );
      const states: OperatorStateEntry[] = [];
      for (const state of captured) {
        if (state.kind === 'restored') {
          states.push(state.entry);
          continue;
        }
        const w = new ByteWriter(1024);
        writeListHeader(w, serializerIdOf(state.serializer));
        w.u32(state.elements.length);
        for (const element of state.elements) {
          w.value(state.serializer, element);
          if (slicer.due()) await slicer.yieldNow();
        }
        states.push({ name: state.name, mode: state.mode, data: w.toBytes() });
      }
      return { states };
    } finally {
      this.release();
    }
  }
}
