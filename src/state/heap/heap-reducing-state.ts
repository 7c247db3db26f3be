/** ReducingState on the heap. */
import type { ReduceFunction } from '../functions.js';
import type { ReducingState } from '../state.js';
import { functionReturnedUndefined } from '../state-errors.js';
import { AbstractHeapState, type CurrentKeyContext } from './abstract-heap-state.js';
import type { StateTable } from './state-table.js';

/** A ReducingState storing the reduced value per key. */
export class HeapReducingState<T> extends AbstractHeapState<T> implements ReducingState<T> {
  constructor(
    ctx: CurrentKeyContext,
    table: StateTable<T>,
    private readonly reduceFunction: ReduceFunction<T>,
  ) {
    super(ctx, table);
  }

  get(): T | undefined {
    return this.read();
  }

  add(value: T): void {
    if (value === undefined) {
      this.clear();
      return;
    }
    const offset = this.offset();
    const stored = this.table.get(offset, this.ctx.mapKey);
    const next = stored === undefined ? value : this.reduceFunction.reduce(stored, value);
    if (next === undefined)
      throw functionReturnedUndefined(this.table.name, 'ReduceFunction.reduce', 'result');
    this.table.put(offset, this.ctx.mapKey, this.ctx.key, next);
  }
}
