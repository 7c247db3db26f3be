/** The Sink contract (Flink's Sink V2): a writer per subtask; writes may be asynchronous. */
import { SluiceError } from '../core/errors.js';
import type { FunctionInitializationContext, FunctionSnapshotContext } from './checkpointed-function.js';
import type { RichFunction } from './functions.js';
import { AbstractRichFunction } from './rich-functions.js';
import type { RuntimeContext } from './runtime-context.js';

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
 * Flink's legacy SinkFunction, for `addSink`: called once per record, synchronously. An object
 * with `invoke` (a class may implement it, or extend RichSinkFunction for `getRuntimeContext()`);
 * `addSink` also takes a plain function `(record, ctx) => void`.
 */
export interface SinkFunction<T> extends RichFunction {
  invoke(record: T, ctx: SinkWriterContext): void;
}

/** A sink function with a RuntimeContext (Flink's RichSinkFunction). */
export abstract class RichSinkFunction<T> extends AbstractRichFunction implements SinkFunction<T> {
  abstract invoke(record: T, ctx: SinkWriterContext): void;
}

type Hook = (...args: never[]) => unknown;

/**
 * A Sink whose writers call a sink function per record. The function is a field, not a closure,
 * so each subtask's copy of the sink has its own copy of it; its hooks (open/close, a rich
 * function's runtime context, CheckpointedFunction, CheckpointListener) are passed on to it.
 */
class SinkFunctionSink<T> implements Sink<T> {
  constructor(private readonly fn: SinkFunction<T> | ((record: T, ctx: SinkWriterContext) => void)) {}

  private forward(hook: string, args: unknown[]): void {
    const method = (this.fn as unknown as Record<string, unknown>)[hook];
    if (typeof this.fn === 'object' && typeof method === 'function')
      (method as Hook).apply(this.fn, args as never[]);
  }
  setRuntimeContext(ctx: RuntimeContext): void {
    this.forward('setRuntimeContext', [ctx]);
  }
  open(ctx: RuntimeContext): void {
    this.forward('open', [ctx]);
  }
  close(): void {
    this.forward('close', []);
  }
  initializeState(ctx: FunctionInitializationContext): void {
    this.forward('initializeState', [ctx]);
  }
  snapshotState(ctx: FunctionSnapshotContext): void {
    this.forward('snapshotState', [ctx]);
  }
  notifyCheckpointComplete(checkpointId: number): void {
    this.forward('notifyCheckpointComplete', [checkpointId]);
  }
  notifyCheckpointAborted(checkpointId: number): void {
    this.forward('notifyCheckpointAborted', [checkpointId]);
  }

  createWriter(): SinkWriter<T> {
    const fn = this.fn;
    const write = typeof fn === 'function' ? fn : fn.invoke.bind(fn);
    return { write, flush: () => {}, close: () => {} };
  }
}

/** A Sink whose writers call `fn` per record. */
export function sinkOfFunction<T>(
  fn: SinkFunction<T> | ((record: T, ctx: SinkWriterContext) => void),
): Sink<T> {
  if (typeof fn !== 'function' && typeof (fn as { invoke?: unknown } | null)?.invoke !== 'function')
    throw new SluiceError(
      'SLUICE_PROGRAM_INVALID',
      'addSink() needs a function (record, ctx) => void or an object with an invoke(record, ctx) method.',
    );
  return new SinkFunctionSink(fn);
}
