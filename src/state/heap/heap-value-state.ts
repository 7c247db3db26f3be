/** ValueState on the heap. */
import type { ValueState } from '../state.js';
import { AbstractHeapState, type CurrentKeyContext } from './abstract-heap-state.js';
import type { StateTable } from './state-table.js';

/** A ValueState whose values live in a StateTable; undefined is never stored (it means absent). */
export class HeapValueState<T> extends AbstractHeapState<T> implements ValueState<T> {
  constructor(
    ctx: CurrentKeyContext,
    table: StateTable<T>,
    /**
     * What `value()` returns for a key without a value: a fresh copy each time when the default is
     * an object (user code changes it in place and stores it, as Flink's copy of the default).
     */
    private readonly defaultValue: () => T | undefined,
  ) {
    super(ctx, table);
  }

  value(): T | undefined {
    const value = this.read();
    return value === undefined ? this.defaultValue() : value;
  }

  update(value: T | undefined): void {
    if (value === undefined) this.clear();
    else this.table.put(this.offset(), this.ctx.mapKey, this.ctx.key, value);
  }
}
