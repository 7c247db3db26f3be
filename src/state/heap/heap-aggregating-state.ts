/** AggregatingState on the heap. */
import type { AggregateFunction } from '../functions.js';
import type { AggregatingState } from '../state.js';
import { functionReturnedUndefined } from '../state-errors.js';
import { AbstractHeapState, type CurrentKeyContext } from './abstract-heap-state.js';
import type { StateTable } from './state-table.js';

/** An AggregatingState storing the accumulator per key; `get()` applies getResult on read. */
export class HeapAggregatingState<IN, ACC, OUT>
  extends AbstractHeapState<ACC>
  implements AggregatingState<IN, OUT>
{
  constructor(
    ctx: CurrentKeyContext,
    table: StateTable<ACC>,
    private readonly aggregateFunction: AggregateFunction<IN, ACC, OUT>,
  ) {
    super(ctx, table);
  }

  get(): OUT | undefined {
    const accumulator = this.read();
    return accumulator === undefined ? undefined : this.aggregateFunction.getResult(accumulator);
  }

  add(value: IN): void {
    if (value === undefined) {
      this.clear();
      return;
    }
    const offset = this.offset();
    const fn = this.aggregateFunction;
    const stored = this.table.get(offset, this.ctx.mapKey);
    const next = fn.add(value, stored === undefined ? fn.createAccumulator() : stored);
    if (next === undefined)
      throw functionReturnedUndefined(this.table.name, 'AggregateFunction.add', 'accumulator');
    this.table.put(offset, this.ctx.mapKey, this.ctx.key, next);
  }
}
