/** The Sink contract (Flink's Sink V2): a writer per subtask; writes may be asynchronous. */

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
