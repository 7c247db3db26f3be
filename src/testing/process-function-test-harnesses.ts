/** Ready-made harnesses for user functions (Flink's ProcessFunctionTestHarnesses, plus map, flatMap, filter and sinks). */
import {
  keySelectorFn,
  type Collector,
  type FilterFunction,
  type FlatMapFunction,
  type KeySelector,
  type MapFunction,
} from '../api/functions.js';
import { KeyedProcessOperator } from '../api/operators/keyed-process-operator.js';
import { ProcessOperator } from '../api/operators/process-operator.js';
import { FilterOperator, FlatMapOperator, MapOperator } from '../api/operators/simple-operators.js';
import { SinkWriterOperator } from '../api/operators/sink-writer-operator.js';
import type { KeyedProcessFunction, ProcessFunction } from '../api/process-function.js';
import type { Sink } from '../api/sink.js';
import type { TestHarnessOptions } from './test-harness-options.js';
import { harnessMisuse } from './harness-misuse.js';
import { KeyedOneInputStreamOperatorTestHarness } from './keyed-one-input-stream-operator-test-harness.js';
import { OneInputStreamOperatorTestHarness } from './one-input-stream-operator-test-harness.js';

function checkHasMethod(what: string, fn: unknown, method: string): void {
  const ok =
    (typeof fn === 'object' || typeof fn === 'function') &&
    fn !== null &&
    typeof (fn as Record<string, unknown>)[method] === 'function';
  if (!ok) throw harnessMisuse(`${what}: expected an object with a ${method}() method, got ${String(fn)}.`);
}

/**
 * Harnesses for user functions, each running the operator a job runs the function in. The
 * harness opens on first use (or with `open()`); restore a snapshot with
 * `await harness.initializeState(snapshot)` before that. A function implementing
 * CheckpointedFunction or CheckpointListener gets those calls from `snapshot()`,
 * `initializeState()` and `notifyOfCompletedCheckpoint()`.
 *
 * Unlike Flink's, `forKeyedProcessFunction` takes no key type: keys are hashed from their value.
 * Max parallelism defaults to a job's default (128), not Flink's harness default of 1.
 */
export const ProcessFunctionTestHarnesses = {
  /** A harness for a ProcessFunction on a (non-keyed) stream. */
  forProcessFunction<IN, OUT>(
    fn: Pick<ProcessFunction<IN, OUT>, 'processElement'>,
    options?: TestHarnessOptions,
  ): OneInputStreamOperatorTestHarness<IN, OUT> {
    checkHasMethod('forProcessFunction()', fn, 'processElement');
    return new OneInputStreamOperatorTestHarness<IN, OUT>(
      { name: 'Process', keyed: false, create: () => new ProcessOperator(fn) },
      options,
    );
  },

  /** A harness for a KeyedProcessFunction: keyed state and processing-time timers, keyed by `keySelector`. */
  forKeyedProcessFunction<K, IN, OUT>(
    fn: Pick<KeyedProcessFunction<K, IN, OUT>, 'processElement'>,
    keySelector: KeySelector<IN, K> | ((value: IN) => K),
    options?: TestHarnessOptions,
  ): KeyedOneInputStreamOperatorTestHarness<K, IN, OUT> {
    checkHasMethod('forKeyedProcessFunction()', fn, 'processElement');
    const key = keySelectorFn(keySelector);
    return new KeyedOneInputStreamOperatorTestHarness<K, IN, OUT>(
      { name: 'KeyedProcess', keyed: true, create: () => new KeyedProcessOperator(fn, key) },
      options,
    );
  },

  /** A harness for a map function (a function, or an object with `map` and optional hooks). */
  forMapFunction<IN, OUT>(
    fn: MapFunction<IN, OUT> | ((value: IN) => OUT),
    options?: TestHarnessOptions,
  ): OneInputStreamOperatorTestHarness<IN, OUT> {
    return new OneInputStreamOperatorTestHarness<IN, OUT>(
      { name: 'Map', keyed: false, create: () => new MapOperator(fn) },
      options,
    );
  },

  /** A harness for a flatMap function. */
  forFlatMapFunction<IN, OUT>(
    fn: FlatMapFunction<IN, OUT> | ((value: IN, out: Collector<OUT>) => void),
    options?: TestHarnessOptions,
  ): OneInputStreamOperatorTestHarness<IN, OUT> {
    return new OneInputStreamOperatorTestHarness<IN, OUT>(
      { name: 'Flat Map', keyed: false, create: () => new FlatMapOperator(fn) },
      options,
    );
  },

  /** A harness for a filter function; the output is the records it keeps. */
  forFilterFunction<T>(
    fn: FilterFunction<T> | ((value: T) => boolean),
    options?: TestHarnessOptions,
  ): OneInputStreamOperatorTestHarness<T, T> {
    return new OneInputStreamOperatorTestHarness<T, T>(
      { name: 'Filter', keyed: false, create: () => new FilterOperator(fn) },
      options,
    );
  },

  /**
   * A harness for a Sink: the harness's subtask creates its writer when it opens, records go to
   * `write`, `endInput()` calls `flush(true)`, `close()` closes the writer. Asynchronous writes
   * hold back later input until they settle, as in a task; `await processAll()` waits for them.
   */
  forSink<IN>(sink: Sink<IN>, options?: TestHarnessOptions): OneInputStreamOperatorTestHarness<IN, never> {
    checkHasMethod('forSink()', sink, 'createWriter');
    return new OneInputStreamOperatorTestHarness<IN, never>(
      { name: 'Sink', keyed: false, create: () => new SinkWriterOperator(sink) },
      options,
    );
  },
};
