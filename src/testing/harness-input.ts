/**
 * A harness's input as a task's: records (and barriers) run at once, unless an asynchronous sink
 * write is pending — then they wait behind it, in order — and a failed write fails the harness.
 */
import { deferred, type Deferred } from './harness-misuse.js';

/** One piece of input: a record, a barrier, the end of input. */
export interface QueuedInput {
  run(): void;
  /** The harness failed before the input ran. */
  abort(error: Error): void;
}

/** Pending asynchronous work, the input waiting behind it, and the failure that ended it. */
export class HarnessInput {
  private pendingAsync = 0;
  private readonly queued: QueuedInput[] = [];
  /** Waiting for idle; `reports`: the waiter hands a failure to the user (close() waits quietly). */
  private readonly idleWaiters: { readonly waiter: Deferred<void>; readonly reports: boolean }[] = [];
  private failure: { readonly error: Error; reported: boolean } | undefined;

  /** Whether the harness failed (a failed write, or a restore that broke off half-way). */
  get failed(): boolean {
    return this.failure !== undefined;
  }

  /** Runs `item` now (its error thrown to the caller) or, while work is pending, after it. */
  push(item: QueuedInput): void {
    if (this.isIdle()) item.run();
    else this.queued.push(item);
  }

  /** Input waits until `promise` settles; a rejection, as `describe` words it, fails the harness. */
  awaitAsync(promise: PromiseLike<unknown>, describe: (cause: unknown) => Error): void {
    this.pendingAsync++;
    promise.then(
      () => {
        this.pendingAsync--;
        this.resume();
      },
      (e: unknown) => {
        this.pendingAsync--;
        this.fail(describe(e), false);
        this.resume();
      },
    );
  }

  /** Resolves once nothing is pending or queued; rejects with the failure (then reported). */
  processAll(): Promise<void> {
    const failure = this.failure;
    if (failure) {
      failure.reported = true;
      return Promise.reject(failure.error);
    }
    if (this.isIdle()) return Promise.resolve();
    const waiter = deferred<void>();
    this.idleWaiters.push({ waiter, reports: true });
    return waiter.promise;
  }

  /** Waits until nothing is pending or queued, or the harness failed; never rejects. */
  async settleQuietly(): Promise<void> {
    if (this.isIdle() || this.failure) return;
    const waiter = deferred<void>();
    this.idleWaiters.push({ waiter, reports: false });
    await waiter.promise.catch(() => {});
  }

  /** Throws the failure, if the harness failed (it counts as reported then). */
  throwIfFailed(): void {
    const failure = this.failure;
    if (!failure) return;
    failure.reported = true;
    throw failure.error;
  }

  /** The failure no call reported to the user yet, marked reported now. */
  takeUnreported(): Error | undefined {
    const failure = this.failure;
    if (!failure || failure.reported) return undefined;
    failure.reported = true;
    return failure.error;
  }

  /**
   * Fails the harness as a task fails: queued input is dropped (each told why) and every later
   * call throws `error`. `reported`: the caller throws it to the user now.
   */
  fail(error: unknown, reported: boolean): void {
    if (this.failure) return;
    const waiters = this.idleWaiters.splice(0);
    const e = asError(error);
    this.failure = { error: e, reported: reported || waiters.some((w) => w.reports) };
    for (const item of this.queued.splice(0)) item.abort(e);
    for (const { waiter } of waiters) waiter.reject(e);
  }

  private isIdle(): boolean {
    return this.pendingAsync === 0 && this.queued.length === 0;
  }

  /** An asynchronous write settled: run the input that waited for it, until the next write. */
  private resume(): void {
    while (this.pendingAsync === 0 && this.queued.length > 0 && !this.failure) {
      const item = this.queued.shift()!;
      try {
        item.run();
      } catch (e) {
        this.fail(e, false);
      }
    }
    if (this.isIdle()) for (const { waiter } of this.idleWaiters.splice(0)) waiter.resolve();
  }
}

/** `e` as an Error (user code may throw anything). */
export function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}
