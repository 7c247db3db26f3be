/**
 * Keyed state scoped to a window as well as the key: what Flink keeps under the window namespace
 * (trigger state, ProcessWindowFunction.Context.windowState()). Sluice's keyed state has no
 * namespaces, so each declared state is one keyed MapState from the window's key to its value,
 * and the views here read and write the entry of the window in hand.
 */
import { invalidProgram } from '../../core/errors.js';
import {
  MapStateDescriptor,
  type AggregatingStateDescriptor,
  type ListStateDescriptor,
  type ReducingStateDescriptor,
  type ValueStateDescriptor,
} from '../../state/state-descriptor.js';
import type { AggregatingState, ListState, MapState, ReducingState, ValueState } from '../../state/state.js';
import type { RuntimeContext } from '../runtime-context.js';

/** How the window operator names a window in its keyed maps: a number or a string (see WindowCodec). */
export type WindowKey = number | string;

type Descriptor =
  | ValueStateDescriptor<unknown>
  | ListStateDescriptor<unknown>
  | ReducingStateDescriptor<unknown>
  | AggregatingStateDescriptor<unknown, unknown, unknown>;

/** One declared state's per-window view: reads and writes its map's entry for `scope.current`. */
abstract class ScopedView<S> {
  constructor(
    readonly kind: string,
    protected readonly map: MapState<WindowKey, S>,
    protected readonly scope: WindowScopedStates,
  ) {}
  clear(): void {
    this.map.remove(this.scope.current);
  }
  /** Folds the values of `sources` into `target`'s and removes them (Flink's mergeNamespaces). */
  merge(target: WindowKey, sources: readonly WindowKey[]): void {
    let merged = this.map.get(target);
    for (const source of sources) {
      if (source === target) continue;
      const value = this.map.get(source);
      if (value === undefined) continue;
      merged = merged === undefined ? value : this.combine(merged, value);
      this.map.remove(source);
    }
    if (merged !== undefined) this.map.put(target, merged);
  }
  protected abstract combine(a: S, b: S): S;
}

class ScopedValue<T> extends ScopedView<T> implements ValueState<T> {
  constructor(
    map: MapState<WindowKey, T>,
    scope: WindowScopedStates,
    private readonly defaultValue: T | undefined,
  ) {
    super('value', map, scope);
  }
  value(): T | undefined {
    const v = this.map.get(this.scope.current);
    return v === undefined ? this.defaultValue : v;
  }
  update(value: T | undefined): void {
    if (value === undefined || value === null) this.clear();
    else this.map.put(this.scope.current, value);
  }
  protected combine(): T {
    throw invalidProgram(
      'a ValueState cannot be merged when windows merge; use a ReducingState or a ListState.',
    );
  }
}

class ScopedReducing<T> extends ScopedView<T> implements ReducingState<T> {
  constructor(
    map: MapState<WindowKey, T>,
    scope: WindowScopedStates,
    private readonly fn: ReducingStateDescriptor<T>['reduceFunction'],
  ) {
    super('reducing', map, scope);
  }
  get(): T | undefined {
    return this.map.get(this.scope.current);
  }
  add(value: T): void {
    const current = this.map.get(this.scope.current);
    this.map.put(this.scope.current, current === undefined ? value : this.fn.reduce(current, value));
  }
  protected combine(a: T, b: T): T {
    return this.fn.reduce(a, b);
  }
}

class ScopedAggregating<IN, ACC, OUT> extends ScopedView<ACC> implements AggregatingState<IN, OUT> {
  constructor(
    map: MapState<WindowKey, ACC>,
    scope: WindowScopedStates,
    private readonly fn: AggregatingStateDescriptor<IN, ACC, OUT>['aggregateFunction'],
  ) {
    super('aggregating', map, scope);
  }
  get(): OUT | undefined {
    const acc = this.map.get(this.scope.current);
    return acc === undefined ? undefined : this.fn.getResult(acc);
  }
  add(value: IN): void {
    const acc = this.map.get(this.scope.current);
    this.map.put(
      this.scope.current,
      this.fn.add(value, acc === undefined ? this.fn.createAccumulator() : acc),
    );
  }
  protected combine(a: ACC, b: ACC): ACC {
    return this.fn.merge(a, b);
  }
}

class ScopedList<T> extends ScopedView<T[]> implements ListState<T> {
  constructor(map: MapState<WindowKey, T[]>, scope: WindowScopedStates) {
    super('list', map, scope);
  }
  get(): readonly T[] {
    return this.map.get(this.scope.current) ?? [];
  }
  add(value: T): void {
    this.addAll([value]);
  }
  addAll(values: readonly T[]): void {
    if (values.length === 0) return;
    const list = this.map.get(this.scope.current);
    this.map.put(this.scope.current, list === undefined ? [...values] : [...list, ...values]);
  }
  update(values: readonly T[]): void {
    if (values.length === 0) this.clear();
    else this.map.put(this.scope.current, [...values]);
  }
  protected combine(a: T[], b: T[]): T[] {
    return [...a, ...b];
  }
}

/** The window-scoped states of one window operator; `current` is the window in hand. */
export class WindowScopedStates {
  /** The key of the window the views read and write. */
  current: WindowKey = 0;
  private readonly views = new Map<string, ScopedView<unknown>>();

  constructor(private readonly ctx: RuntimeContext) {}

  getState<T>(descriptor: ValueStateDescriptor<T>): ValueState<T> {
    return this.view(descriptor) as unknown as ValueState<T>;
  }
  getListState<T>(descriptor: ListStateDescriptor<T>): ListState<T> {
    return this.view(descriptor) as unknown as ListState<T>;
  }
  getReducingState<T>(descriptor: ReducingStateDescriptor<T>): ReducingState<T> {
    return this.view(descriptor) as unknown as ReducingState<T>;
  }
  getAggregatingState<IN, ACC, OUT>(
    descriptor: AggregatingStateDescriptor<IN, ACC, OUT>,
  ): AggregatingState<IN, OUT> {
    return this.view(descriptor) as unknown as AggregatingState<IN, OUT>;
  }
  /** Flink's TriggerContext.getPartitionedState: any of the above by the descriptor's kind. */
  getPartitionedState(descriptor: Descriptor): unknown {
    return this.view(descriptor);
  }

  /** Merges `descriptor`'s values of the windows `sources` into window `target`'s. */
  merge(descriptor: Descriptor, target: WindowKey, sources: readonly WindowKey[]): void {
    this.view(descriptor).merge(target, sources);
  }

  private view(descriptor: Descriptor): ScopedView<unknown> {
    const kind = (descriptor as Partial<Descriptor> | null)?.kind;
    if (kind !== 'value' && kind !== 'list' && kind !== 'reducing' && kind !== 'aggregating')
      throw invalidProgram(
        'window-scoped state takes a ValueStateDescriptor, ListStateDescriptor, ReducingStateDescriptor or AggregatingStateDescriptor.',
      );
    const existing = this.views.get(descriptor.name);
    if (existing !== undefined) {
      if (existing.kind !== kind)
        throw invalidProgram(
          `window state '${descriptor.name}' was declared as ${existing.kind} state and now as ${kind} state; give each state its own name.`,
        );
      return existing;
    }
    const view = this.create(descriptor);
    this.views.set(descriptor.name, view);
    return view;
  }

  private create(d: Descriptor): ScopedView<unknown> {
    switch (d.kind) {
      case 'value':
        return new ScopedValue(this.map(d.name, d.serializer), this, d.defaultValue);
      case 'reducing':
        return new ScopedReducing(this.map(d.name, d.serializer), this, d.reduceFunction);
      case 'aggregating':
        return new ScopedAggregating(this.map(d.name, d.accumulatorSerializer), this, d.aggregateFunction);
      case 'list':
        return new ScopedList(this.map<unknown[]>(d.name, undefined), this);
    }
  }

  private map<S>(
    name: string,
    valueSerializer: MapStateDescriptor<WindowKey, S>['valueSerializer'],
  ): MapState<WindowKey, S> {
    return this.ctx.getMapState(
      new MapStateDescriptor<WindowKey, S>(name, valueSerializer ? { valueSerializer } : {}),
    );
  }
}
