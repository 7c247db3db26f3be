/** ListState on the heap: a JS array per key, absent when empty. */
import type { SluiceError } from '../../core/errors.js';
import type { ListState } from '../state.js';
import { undefinedListElement } from '../state-errors.js';
import { AbstractHeapState } from './abstract-heap-state.js';

const EMPTY: readonly never[] = Object.freeze([]);

/** A ListState storing one array per key; the array is never empty (an emptied list is absent). */
export class HeapListState<T> extends AbstractHeapState<T[]> implements ListState<T> {
  get(): readonly T[] {
    return this.read() ?? EMPTY;
  }

  add(value: T): void {
    if (value === undefined) throw this.undefinedElement();
    const offset = this.offset();
    const list = this.table.get(offset, this.ctx.mapKey);
    if (list !== undefined) list.push(value);
    else this.table.put(offset, this.ctx.mapKey, this.ctx.key, [value]);
  }

  addAll(values: readonly T[]): void {
    if (values.length === 0) return;
    this.checkElements(values);
    const offset = this.offset();
    const list = this.table.get(offset, this.ctx.mapKey);
    // A loop rather than push(...values): spreading a long array overflows the call stack.
    if (list !== undefined) for (const value of values) list.push(value);
    else this.table.put(offset, this.ctx.mapKey, this.ctx.key, values.slice());
  }

  update(values: readonly T[]): void {
    if (values.length === 0) {
      this.clear();
      return;
    }
    this.checkElements(values);
    this.table.put(this.offset(), this.ctx.mapKey, this.ctx.key, values.slice());
  }

  private checkElements(values: readonly T[]): void {
    for (const value of values) if (value === undefined) throw this.undefinedElement();
  }

  private undefinedElement(): SluiceError {
    return undefinedListElement(this.table.name);
  }
}
