/** The heap keyed state backend (Flink's `hashmap`): state as JS objects, one table per state. */
import { invariant, SluiceError } from '../../core/errors.js';
import { assignToKeyGroup, type KeyGroupRange } from '../../core/key-groups.js';
import { mapKeyOf } from '../../core/stable-hash.js';
import type { KeyedStateBackend, StateFor } from '../keyed-state-backend.js';
import type { State } from '../state.js';
import type { StateDescriptor } from '../state-descriptor.js';
import {
  incompatibleRedeclaration,
  keyGroupOutOfRange,
  noCurrentKey,
  unknownState,
} from '../state-errors.js';
import { CurrentKeyContext } from './abstract-heap-state.js';
import { HeapAggregatingState } from './heap-aggregating-state.js';
import { HeapListState } from './heap-list-state.js';
import { HeapMapState } from './heap-map-state.js';
import { HeapReducingState } from './heap-reducing-state.js';
import { HeapValueState } from './heap-value-state.js';
import { StateTable } from './state-table.js';

/** What a HeapKeyedStateBackend needs: the job's key-group count and the groups it owns. */
export interface HeapKeyedStateBackendOptions {
  readonly maxParallelism: number;
  readonly keyGroupRange: KeyGroupRange;
}

interface RegisteredState {
  readonly table: StateTable<unknown>;
  readonly state: State;
}

/**
 * Keyed state held in memory. Each state has a StateTable with one Map per owned key group; the
 * current key's group and map key are computed once per setCurrentKey and shared with every
 * state object through a CurrentKeyContext, so reading and updating a value costs two lookups.
 */
export class HeapKeyedStateBackend<K = unknown> implements KeyedStateBackend<K> {
  readonly maxParallelism: number;
  readonly keyGroupRange: KeyGroupRange;
  private readonly ctx = new CurrentKeyContext();
  private readonly states = new Map<string, RegisteredState>();
  private disposed = false;

  constructor(options: HeapKeyedStateBackendOptions) {
    const { maxParallelism, keyGroupRange } = options;
    invariant(
      Number.isInteger(maxParallelism) && maxParallelism >= 1,
      `max parallelism is a positive integer (got ${maxParallelism})`,
    );
    invariant(
      Number.isInteger(keyGroupRange.start) &&
        Number.isInteger(keyGroupRange.end) &&
        keyGroupRange.start >= 0 &&
        keyGroupRange.end < maxParallelism,
      `key-group range [${keyGroupRange.start}, ${keyGroupRange.end}] lies within [0, ${maxParallelism - 1}]`,
    );
    this.maxParallelism = maxParallelism;
    this.keyGroupRange = { start: keyGroupRange.start, end: keyGroupRange.end };
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
    const existing = this.states.get(descriptor.name);
    if (existing !== undefined) {
      const kind = existing.table.descriptor.kind;
      if (kind !== descriptor.kind) throw incompatibleRedeclaration(descriptor.name, kind, descriptor.kind);
      return existing.state as StateFor<D>;
    }
    const table = new StateTable<unknown>(descriptor, this.keyGroupRange);
    const state = this.createState(descriptor, table);
    this.states.set(descriptor.name, { table, state });
    return state as StateFor<D>;
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
    for (const { table } of this.states.values()) table.clear();
    this.states.clear();
    this.ctx.key = undefined;
    this.ctx.mapKey = undefined;
    this.ctx.keyGroup = -1;
    this.ctx.offset = -1;
    this.disposed = true;
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
        return new HeapValueState(ctx, table, descriptor.defaultValue);
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
        throw new SluiceError(
          'SLUICE_STATE_INVALID_ACCESS',
          `state '${String((descriptor as { name?: unknown }).name)}': not a state descriptor; ` +
            'declare state with ValueStateDescriptor, ListStateDescriptor, MapStateDescriptor, ' +
            'ReducingStateDescriptor or AggregatingStateDescriptor.',
        );
    }
  }
}
