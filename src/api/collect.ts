/** The client end of a collect sink: records as they arrive, as an async iterable or an array. */
import type { CollectTarget } from './execution.js';
import type { CollectCommit } from '../runtime/stream-operator.js';

/** Records of `collectAsync()`: iterate while the job runs, or await `toArray()`. */
export class CollectResult<T> implements CollectTarget, AsyncIterable<T> {
  private readonly records: T[] = [];
  private head = 0;
  private done = false;
  private failure: Error | undefined;
  private waiter: (() => void) | undefined;

  /** Highest checkpoint committed per sink subtask: a re-commit after a restore is ignored. */
  private readonly committed = new Map<number, number>();

  /** @internal */
  push(records: readonly unknown[], commit?: CollectCommit): void {
    if (commit) {
      const last = this.committed.get(commit.subtask);
      if (last !== undefined && commit.checkpointId <= last) return;
      this.committed.set(commit.subtask, commit.checkpointId);
    }
    for (const r of records) this.records.push(r as T);
    this.wake();
  }

  /** @internal The job ended; `error` if it failed. */
  close(error?: unknown): void {
    this.done = true;
    this.failure =
      error === undefined
        ? undefined
        : error instanceof Error
          ? error
          : new Error(typeof error === 'string' ? error : 'the job failed', { cause: error });
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  /** Records collected so far (not consumed by iteration). */
  get size(): number {
    return this.records.length - this.head;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      while (this.head < this.records.length) yield this.records[this.head++]!;
      if (this.done) {
        if (this.failure !== undefined) throw this.failure;
        return;
      }
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
  }

  /** Every record, once the job has ended (rejects if it failed). */
  async toArray(): Promise<T[]> {
    const out: T[] = [];
    for await (const r of this) out.push(r);
    return out;
  }
}
