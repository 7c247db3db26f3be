/** What the heap state objects share: the backend's current key and the state's table. */
import type { State } from '../state.js';
import { noCurrentKey } from '../state-errors.js';
import type { StateTable } from './state-table.js';

/**
 * The backend's current key, computed once per setCurrentKey and read by every state object of
 * the backend, so a state access does no hashing or encoding of its own.
 */
export class CurrentKeyContext {
  /** The key as the user's key selector returned it. */
  key: unknown = undefined;
  /** `mapKeyOf(key)`: the key's identity in the state tables' Maps. */
  mapKey: unknown = undefined;
  /** The key's key group. */
  keyGroup = -1;
  /** `keyGroup − range.start`, the index of the key group's Map; −1 while no key is set. */
  offset = -1;
}

/** Base of the heap state objects (Flink's `AbstractHeapState`). */
export abstract class AbstractHeapState<V> implements State {
  constructor(
    protected readonly ctx: CurrentKeyContext,
    protected readonly table: StateTable<V>,
  ) {}

  clear(): void {
    this.table.remove(this.offset(), this.ctx.mapKey);
  }

  /** The current key's key-group offset; throws when no key is set. */
  protected offset(): number {
    const offset = this.ctx.offset;
    if (offset < 0) throw noCurrentKey(`state '${this.table.name}'`);
    return offset;
  }

  /**
   * The current key's stored value, which the caller may hand to user code or change in place
   * (the table freezes it first for a snapshot that still needs it).
   */
  protected read(): V | undefined {
    return this.table.get(this.offset(), this.ctx.mapKey);
  }
}
