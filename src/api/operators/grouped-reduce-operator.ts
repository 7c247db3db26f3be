/**
 * Keyed rolling reduce (reduce, sum, min, max, minBy, maxBy): emits the new aggregate per record;
 * in BATCH mode, only each key's final aggregate at the end of input (Flink's
 * BatchGroupedReduceOperator).
 */
import type { KeySelectorFn } from '../../graph/partitioner.js';
import type { KeyedStateBackend } from '../../state/keyed-state-backend.js';
import { ValueStateDescriptor } from '../../state/state-descriptor.js';
import type { ValueState } from '../../state/state.js';
import { bindMethod, type ReduceFunction } from '../functions.js';
import { UdfOperator } from './udf-operator.js';

/** Name of the operator's value state (Flink's StreamGroupedReduceOperator uses `_op_state`). */
const STATE_NAME = '_op_state';

/** Operator of `keyBy(...).reduce(fn)` and the built-in aggregations. */
export class GroupedReduceOperator<T, K> extends UdfOperator<T, T, ReduceFunction<T> | ((a: T, b: T) => T)> {
  private readonly fn = bindMethod<[T, T], T>(this.userFunction, 'reduce', 'reduce()');
  private backend!: KeyedStateBackend<K>;
  private state!: ValueState<T>;
  private batch = false;

  constructor(
    reduce: ReduceFunction<T> | ((a: T, b: T) => T),
    private readonly keySelector: KeySelectorFn<T, K>,
  ) {
    super(reduce);
  }

  override open(): void {
    super.open();
    this.backend = this.info.keyedStateBackend as KeyedStateBackend<K>;
    this.state = this.backend.getOrCreateKeyedState(new ValueStateDescriptor<T>(STATE_NAME));
    this.batch = this.info.job?.runtimeMode === 'BATCH';
  }

  processElement(record: T): void {
    let key: K;
    try {
      key = this.keySelector(record);
    } catch (e) {
      throw this.userError(e, 'the key selector');
    }
    this.backend.setCurrentKey(key);
    const current = this.state.value();
    let next: T;
    if (current === undefined) next = record;
    else
      try {
        next = this.fn(current, record);
      } catch (e) {
        throw this.userError(e, 'reduce');
      }
    this.state.update(next);
    if (!this.batch) this.output.collect(next);
  }

  override endInput(): void {
    if (!this.batch) return;
    // Keys first: the state must not change while its keys are iterated.
    const keys = [...this.backend.getKeys(STATE_NAME)];
    for (const key of keys) {
      this.backend.setCurrentKey(key);
      const value = this.state.value();
      if (value === undefined) continue;
      this.output.collect(value);
      this.state.clear();
    }
  }
}

/** A field of a record: an index into an array (tuple), a property name, or the record itself. */
export type FieldRef = number | string | undefined;

/** The built-in rolling aggregations. */
export type AggregationKind = 'sum' | 'min' | 'max' | 'minBy' | 'maxBy';

function getField(record: unknown, field: FieldRef): unknown {
  if (field === undefined) return record;
  return (record as Record<string | number, unknown>)[field];
}

function withField<T>(record: T, field: FieldRef, value: unknown): T {
  if (field === undefined) return value as T;
  if (Array.isArray(record)) {
    const copy = record.slice();
    copy[field as number] = value;
    return copy as T;
  }
  return { ...(record as object), [field]: value } as T;
}

function compare(a: unknown, b: unknown): number {
  return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
}

/** The reduce functions of Flink's sum/min/max/minBy/maxBy (SumAggregator, ComparableAggregator). */
export function aggregation<T>(kind: AggregationKind, field: FieldRef): (a: T, b: T) => T {
  switch (kind) {
    case 'sum':
      return (a, b) => withField(a, field, (getField(a, field) as number) + (getField(b, field) as number));
    case 'min':
      return (a, b) =>
        compare(getField(b, field), getField(a, field)) < 0 ? withField(a, field, getField(b, field)) : a;
    case 'max':
      return (a, b) =>
        compare(getField(b, field), getField(a, field)) > 0 ? withField(a, field, getField(b, field)) : a;
    case 'minBy':
      // Ties keep the first record, as Flink's minBy(field, first = true).
      return (a, b) => (compare(getField(b, field), getField(a, field)) < 0 ? b : a);
    case 'maxBy':
      return (a, b) => (compare(getField(b, field), getField(a, field)) > 0 ? b : a);
  }
}
