/** The Sink contract (Flink's Sink V2): a writer per subtask; writes may be asynchronous. */
import { SluiceError } from '../core/errors.js';

/** What a writer knows of its subtask. */
export interface WriterInitContext {
  getSubtaskId(): number;
  getNumberOfParallelSubtasks(): number;
  getAttemptNumber(): number;
}

/** Extra facts about a record being written. */
export interface SinkWriterContext {
  /** Processing time now (ms since epoch). */
  currentProcessingTime(): number;
}

/**
 * Writes records to the outside world. `write` may return a promise: the task then pauses its
 * input until it settles (backpressure), and a rejection fails the job. Return nothing for
 * synchronous writers so the hot path allocates no promise.
 */
export interface SinkWriter<T> {
  write(record: T, ctx: SinkWriterContext): void | PromiseLike<void>;
  /** Flushes buffered writes; `endOfInput` is true at the end of a bounded job. */
  flush(endOfInput: boolean): void | PromiseLike<void>;
  close(): void | PromiseLike<void>;
}

/** A sink: a factory for its writers. */
export interface Sink<T> {
  createWriter(ctx: WriterInitContext): SinkWriter<T>;
}

/**
 * Flink's legacy SinkFunction, for `addSink`: called once per record, synchronously. A plain
 * function or an object with `invoke`.
 */
export type SinkFunction<T> =
  ((record: T, ctx: SinkWriterContext) => void) | { invoke(record: T, ctx: SinkWriterContext): void };

/** A Sink whose writers call `fn` per record. */
export function sinkOfFunction<T>(fn: SinkFunction<T>): Sink<T> {
  const invoke =
    typeof fn === 'function'
      ? fn
      : typeof (fn as { invoke?: unknown } | null)?.invoke === 'function'
        ? fn.invoke.bind(fn)
        : undefined;
  if (invoke === undefined)
    throw new SluiceError(
      'SLUICE_PROGRAM_INVALID',
      'addSink() needs a function (record, ctx) => void or an object with an invoke(record, ctx) method.',
    );
  return {
    createWriter: () => ({ write: invoke, flush: () => {}, close: () => {} }),
  };
}
