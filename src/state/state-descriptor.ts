/** Descriptors of keyed state: what user code declares (name, kind, functions, serializers). */
import type { TypeSerializer } from '../core/serializer.js';
import type { AggregateFunction, ReduceFunction } from './functions.js';
import { invalidStateFunction, invalidStateName } from './state-errors.js';
import { StateTtlConfig } from './ttl/state-ttl-config.js';
import { SluiceError } from '../core/errors.js';

/** The kinds of keyed state, the discriminant of every descriptor. */
export type StateKind = 'value' | 'list' | 'map' | 'reducing' | 'aggregating';

function checkName(what: string, name: unknown): string {
  if (typeof name !== 'string' || name.length === 0) throw invalidStateName(what, name);
  return name;
}

/** What every descriptor has besides its kind: the time-to-live of its values (Flink's `StateDescriptor`). */
abstract class TtlCapable {
  /** The state's time-to-live, when `enableTimeToLive` was called with an enabled config. */
  ttlConfig: StateTtlConfig | undefined = undefined;

  /**
   * Makes the state's values expire (Flink's `enableTimeToLive`): call before the state is
   * declared. A state with TTL stores each value with its last access time, so adding or removing
   * TTL on an existing state is not compatible with its checkpoints (as in Flink).
   */
  enableTimeToLive(ttlConfig: StateTtlConfig): void {
    if (!(ttlConfig instanceof StateTtlConfig))
      throw new SluiceError(
        'SLUICE_PROGRAM_INVALID',
        'enableTimeToLive() needs a StateTtlConfig, e.g. StateTtlConfig.newBuilder(Duration.ofMinutes(5)).build().',
      );
    this.ttlConfig = ttlConfig.isEnabled() ? ttlConfig : undefined;
  }

  /** The TTL config, or `StateTtlConfig.DISABLED`. */
  getTtlConfig(): StateTtlConfig {
    return this.ttlConfig ?? StateTtlConfig.DISABLED;
  }
}

/** Options of a ValueStateDescriptor. */
export interface ValueStateOptions<T> {
  /**
   * What `value()` returns while the key has no value. An object default is copied (with the
   * state's serializer) for every key that reads it, so changing it in place is safe.
   */
  defaultValue?: T;
  /** How the value is written in checkpoints; the backend's default serializer when absent. */
  serializer?: TypeSerializer<T>;
}

/** Declares a ValueState<T>: one value per key. */
export class ValueStateDescriptor<T> extends TtlCapable {
  readonly kind = 'value';
  readonly name: string;
  readonly defaultValue: T | undefined;
  readonly serializer: TypeSerializer<T> | undefined;

  constructor(name: string, options: ValueStateOptions<T> = {}) {
    super();
    this.name = checkName('ValueStateDescriptor', name);
    this.defaultValue = options.defaultValue;
    this.serializer = options.serializer;
  }
}

/** Options of a ListStateDescriptor. */
export interface ListStateOptions<T> {
  /** How each element is written in checkpoints; the backend's default serializer when absent. */
  elementSerializer?: TypeSerializer<T>;
}

/** Declares a ListState<T>: a list of elements per key. */
export class ListStateDescriptor<T> extends TtlCapable {
  readonly kind = 'list';
  readonly name: string;
  readonly elementSerializer: TypeSerializer<T> | undefined;

  constructor(name: string, options: ListStateOptions<T> = {}) {
    super();
    this.name = checkName('ListStateDescriptor', name);
    this.elementSerializer = options.elementSerializer;
  }
}

/** Options of a MapStateDescriptor. */
export interface MapStateOptions<K, V> {
  /** How user keys are written in checkpoints; the backend's default serializer when absent. */
  keySerializer?: TypeSerializer<K>;
  /** How values are written in checkpoints; the backend's default serializer when absent. */
  valueSerializer?: TypeSerializer<V>;
}

/** Declares a MapState<K, V>: a map per key. User keys follow the rules of stream keys (stableHash). */
export class MapStateDescriptor<K, V> extends TtlCapable {
  readonly kind = 'map';
  readonly name: string;
  readonly keySerializer: TypeSerializer<K> | undefined;
  readonly valueSerializer: TypeSerializer<V> | undefined;

  constructor(name: string, options: MapStateOptions<K, V> = {}) {
    super();
    this.name = checkName('MapStateDescriptor', name);
    this.keySerializer = options.keySerializer;
    this.valueSerializer = options.valueSerializer;
  }
}

/** Options of a ReducingStateDescriptor. */
export interface ReducingStateOptions<T> {
  /** How the reduced value is written in checkpoints; the backend's default serializer when absent. */
  serializer?: TypeSerializer<T>;
}

/** Declares a ReducingState<T>: one value per key, folded with a reduce function on every add. */
export class ReducingStateDescriptor<T> extends TtlCapable {
  readonly kind = 'reducing';
  readonly name: string;
  /** @internal The reduce function as an object (a plain function is wrapped). */
  readonly reduceFunction: ReduceFunction<T>;
  readonly serializer: TypeSerializer<T> | undefined;

  /** `reduce`: a ReduceFunction, `(a, b) => T` or `{ reduce(a, b) }`, called as `reduce(stored, added)`. */
  constructor(
    name: string,
    reduce: ((a: T, b: T) => T) | { reduce(a: T, b: T): T },
    options: ReducingStateOptions<T> = {},
  ) {
    super();
    this.name = checkName('ReducingStateDescriptor', name);
    // Normalised to the interface, so the state has a single way to call it.
    if (typeof reduce === 'function') this.reduceFunction = { reduce };
    else if (typeof (reduce as Partial<ReduceFunction<T>> | null)?.reduce === 'function')
      this.reduceFunction = reduce;
    else
      throw invalidStateFunction(
        'ReducingStateDescriptor',
        this.name,
        'a function (a, b) => T or { reduce(a, b) }',
      );
    this.serializer = options.serializer;
  }
}

/** Options of an AggregatingStateDescriptor. */
export interface AggregatingStateOptions<ACC> {
  /** How the accumulator is written in checkpoints; the backend's default serializer when absent. */
  accumulatorSerializer?: TypeSerializer<ACC>;
}

/** Declares an AggregatingState<IN, OUT>: an accumulator per key, fed by an AggregateFunction. */
export class AggregatingStateDescriptor<IN, ACC, OUT> extends TtlCapable {
  readonly kind = 'aggregating';
  readonly name: string;
  readonly aggregateFunction: AggregateFunction<IN, ACC, OUT>;
  readonly accumulatorSerializer: TypeSerializer<ACC> | undefined;

  constructor(name: string, fn: AggregateFunction<IN, ACC, OUT>, options: AggregatingStateOptions<ACC> = {}) {
    super();
    this.name = checkName('AggregatingStateDescriptor', name);
    const f = fn as Partial<AggregateFunction<IN, ACC, OUT>> | null;
    if (
      typeof f?.createAccumulator !== 'function' ||
      typeof f.add !== 'function' ||
      typeof f.getResult !== 'function' ||
      typeof f.merge !== 'function'
    )
      throw invalidStateFunction(
        'AggregatingStateDescriptor',
        this.name,
        'an object with createAccumulator(), add(value, acc), getResult(acc) and merge(a, b)',
      );
    this.aggregateFunction = fn;
    this.accumulatorSerializer = options.accumulatorSerializer;
  }
}

/** Any keyed-state descriptor; `kind` tells which. */
export type StateDescriptor =
  | ValueStateDescriptor<unknown>
  | ListStateDescriptor<unknown>
  | MapStateDescriptor<unknown, unknown>
  | ReducingStateDescriptor<unknown>
  | AggregatingStateDescriptor<unknown, unknown, unknown>;
