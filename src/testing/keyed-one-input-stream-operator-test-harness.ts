/** Test harness of an operator on a keyed stream (Flink's KeyedOneInputStreamOperatorTestHarness). */
import { EVENT_TIMERS, PROCESSING_TIMERS } from '../api/operators/keyed-process-operator.js';
import { OneInputStreamOperatorTestHarness } from './one-input-stream-operator-test-harness.js';
import { harnessMisuse } from './harness-misuse.js';

/**
 * A one-input harness whose operator has keyed state (the heap backend a job uses, for the key
 * groups of this subtask) and timers of both domains. Create it with
 * `ProcessFunctionTestHarnesses.forKeyedProcessFunction`.
 */
export class KeyedOneInputStreamOperatorTestHarness<K, IN, OUT> extends OneInputStreamOperatorTestHarness<
  IN,
  OUT
> {
  /** Entries of keyed state: one per key per declared state that has a value for it (timers not counted). */
  numKeyedStateEntries(): number {
    const backend = this.backend('numKeyedStateEntries()');
    let entries = 0;
    for (const name of backend.stateNames()) entries += backend.numKeys(name);
    return entries;
  }

  /** Processing-time timers registered and not yet fired or deleted, over all keys. */
  numProcessingTimeTimers(): number {
    return this.backend('numProcessingTimeTimers()').getOrCreateTimerQueue(PROCESSING_TIMERS).size;
  }

  /** Event-time timers registered and not yet fired (by `processWatermark`) or deleted, over all keys. */
  numEventTimeTimers(): number {
    return this.backend('numEventTimeTimers()').getOrCreateTimerQueue(EVENT_TIMERS).size;
  }

  /**
   * The key of the record or timer processed last (what `ctx.getCurrentKey()` returned); throws
   * SLUICE_STATE_INVALID_ACCESS before the first one.
   */
  getCurrentKey(): K {
    return this.backend('getCurrentKey()').getCurrentKey() as K;
  }

  private backend(call: string) {
    const backend = this.keyedStateBackend;
    if (backend === undefined || this.isClosed())
      throw harnessMisuse(`${call} after close(): the state is released; call it before close().`);
    return backend;
  }
}
