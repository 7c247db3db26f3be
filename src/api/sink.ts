/** The Sink contract (Flink's Sink V2): a writer per subtask; writes may be asynchronous. */
import { SluiceError } from '../core/errors.js';
import type { TypeSerializer } from '../core/serializer.js';
import type { FunctionInitializationContext, FunctionSnapshotContext } from './checkpointed-function.js';
import type { RichFunction } from './functions.js';
import { AbstractRichFunction } from './rich-functions.js';
import type { RuntimeContext } from './runtime-context.js';

/** What a sink's writer or committer knows of its subtask (Flink's `InitContext`). */
export interface InitContext {
  getSubtaskId(): number;
  getNumberOfParallelSubtasks(): number;
  getAttemptNumber(): number;
  /**
   * The id of the checkpoint this subtask was restored from, or undefined on a fresh start
   * (Flink's `getRestoredCheckpointId`). Work a sink began after it (transactions, files) was
   * never committed and is to be aborted.
   */
  getRestoredCheckpointId(): number | undefined;
  /** The job (Flink's `getJobInfo()`); the id changes when a job is resumed from a checkpoint. */
  getJobInfo(): { getJobId(): string; getJobName(): string };
  /**
   * The sink operator's stable id (from its uid, or its place in the graph): the same across
   * restarts and resumes, so a sink can name its transactions with it.
   */
  getOperatorId(): string;
}

/** What a writer knows of its subtask (Flink's `WriterInitContext`). */
export type WriterInitContext = InitContext;

/** Extra facts about a record being written. */
export interface SinkWriterContext {
  /** Processing time now (ms since epoch). */
  currentProcessingTime(): number;
  /** The record's event timestamp, or null when it has none (Flink's `Context.timestamp()`). */
  timestamp(): number | null;
  /** The sink's current event-time watermark (Flink's `Context.currentWatermark()`). */
  currentWatermark(): number;
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

/**
 * A sink: a factory for its writers. A plain Sink is at-least-once (its writers flush at every
 * barrier); one that also implements `SupportsCommitter` is two-phase-commit and exactly-once.
 */
export interface Sink<T> {
  createWriter(ctx: WriterInitContext): SinkWriter<T>;
}

/**
 * The writer of a two-phase-commit sink (Flink's `CommittingSinkWriter`). At each barrier the
 * runtime calls `flush(false)` and then, in the same synchronous step, `prepareCommit()`; at the
 * end of a bounded job `flush(true)` and `prepareCommit()` once more. The committables returned
 * (transaction ids, pending file names) are stored in the checkpoint and handed to the sink's
 * `Committer` once it completes; what the writer writes after `prepareCommit` belongs to the next
 * checkpoint. `prepareCommit` returns its committables synchronously, because the checkpoint's
 * state is captured right after it: a writer whose preparation is asynchronous (a database's
 * `PREPARE TRANSACTION`) starts it in `flush(false)` (only ever called at a barrier) and returns
 * that promise, which holds back the checkpoint's acknowledgement until the preparation is done;
 * `prepareCommit` then returns the ids it prepared.
 */
export interface CommittingSinkWriter<T, CommT> extends SinkWriter<T> {
  prepareCommit(): readonly CommT[];
}

/**
 * A writer with state of its own in checkpoints (Flink's `StatefulSinkWriter`): an open
 * in-progress file and its length, a transaction counter. `snapshotState` runs in the checkpoint's
 * synchronous phase, after `prepareCommit`.
 */
export interface StatefulSinkWriter<T, S> extends SinkWriter<T> {
  snapshotState(checkpointId: number): readonly S[];
}

/**
 * A sink whose writers are stateful (Flink's `SupportsWriterState`). After a restore the runtime
 * calls `restoreWriter` instead of `createWriter`, with the states the writers of this subtask's
 * share snapshotted (all of them when the parallelism is unchanged; on rescale, states are
 * redistributed as list state). `restoreWriter` is also where a sink cleans up work begun after
 * the restored checkpoint.
 */
export interface SupportsWriterState<T, S> {
  restoreWriter(ctx: WriterInitContext, recoveredState: readonly S[]): StatefulSinkWriter<T, S>;
  /** How writer states are written into checkpoints; optional, as `getCommittableSerializer`. */
  getWriterStateSerializer?(): TypeSerializer<S>;
}

/** Whether `writer` is a two-phase-commit writer (has `prepareCommit`). */
export function isCommittingSinkWriter(writer: unknown): writer is CommittingSinkWriter<unknown, unknown> {
  return (
    typeof (writer as Partial<CommittingSinkWriter<unknown, unknown>> | null)?.prepareCommit === 'function'
  );
}

/** Whether `writer` has state of its own (has `snapshotState`). */
export function isStatefulSinkWriter(writer: unknown): writer is StatefulSinkWriter<unknown, unknown> {
  return (
    typeof (writer as Partial<StatefulSinkWriter<unknown, unknown>> | null)?.snapshotState === 'function'
  );
}

/** Whether `sink` restores its writers from state (has `restoreWriter`). */
export function supportsWriterState(sink: unknown): sink is SupportsWriterState<unknown, unknown> {
  return typeof (sink as Partial<SupportsWriterState<unknown, unknown>> | null)?.restoreWriter === 'function';
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
