/** A TaskManager's registration with its JobManager, retried with exponential back-off on an injected clock (Flink's RetryingRegistration). */
import type { Cancellable, Clock } from '../../core/clock.js';
import { SluiceError } from '../../core/errors.js';
import { logger, type Logger } from '../../core/log.js';

/** How one registration attempt ended, when the JobManager answered. */
export type RegistrationOutcome<T> =
  /** Registered; `value` is what the attempt built (the connection, say). */
  | { readonly kind: 'registered'; readonly value: T }
  /** The JobManager refused; try again after `refusedDelayMs`. */
  | { readonly kind: 'declined'; readonly reason: string };

/** Settings of a RegistrationRetry. Defaults are Flink's `cluster.registration.*`. */
export interface RegistrationRetryOptions<T> {
  readonly clock: Clock;
  /**
   * One attempt: connect, register, resolve with the outcome; reject when the JobManager cannot
   * be reached. `signal` aborts when the attempt timed out or the retry stopped.
   */
  readonly attempt: (signal: AbortSignal) => Promise<RegistrationOutcome<T>>;
  /** Registered: called once per `start()`. */
  readonly onRegistered: (value: T) => void;
  /** No registration within `deadlineMs` (a TaskManager then exits, as Flink's does). */
  readonly onGaveUp?: (error: SluiceError) => void;
  /** An attempt registered after it was abandoned (timed out, or stopped): release `value`. */
  readonly onAbandoned?: (value: T) => void;
  /** First delay after a failed attempt, doubled after each further one (default 100 ms). */
  readonly initialBackoffMs?: number;
  /** Longest delay between failed attempts (default 30 s). */
  readonly maxBackoffMs?: number;
  /** Delay after the JobManager declined (default 30 s). */
  readonly refusedDelayMs?: number;
  /** An attempt that has not ended after this long failed (default 10 s). */
  readonly attemptTimeoutMs?: number;
  /** Give up after this long without registering (default 5 min, `taskmanager.registration.timeout`); Infinity never does. */
  readonly deadlineMs?: number;
  readonly log?: Logger;
}

/** Where a RegistrationRetry is. */
export type RegistrationState = 'idle' | 'attempting' | 'waiting' | 'registered' | 'gave-up' | 'stopped';

/**
 * Registers, and on failure tries again after 100 ms, 200 ms, 400 ms, ... up to 30 s, until
 * registered, stopped or past the deadline. A TaskManager starts it at launch and again each
 * time it loses its JobManager.
 */
export class RegistrationRetry<T> {
  private current: RegistrationState = 'idle';
  private attemptCount = 0;
  private backoffMs = 0;
  private activeAttempt = 0;
  private controller: AbortController | undefined;
  private timer: Cancellable | undefined;
  private deadline: Cancellable | undefined;
  private lastError: unknown;
  private readonly log: Logger;

  constructor(private readonly options: RegistrationRetryOptions<T>) {
    this.log = options.log ?? logger('registration');
  }

  /** Where it is. */
  get state(): RegistrationState {
    return this.current;
  }

  /** Attempts made since the last `start()`. */
  get attempts(): number {
    return this.attemptCount;
  }

  /** Starts registering now, with the back-off and deadline reset; a registration in progress starts over. */
  start(): void {
    this.cancel();
    this.attemptCount = 0;
    this.backoffMs = this.options.initialBackoffMs ?? 100;
    this.lastError = undefined;
    const deadlineMs = this.options.deadlineMs ?? 300_000;
    if (Number.isFinite(deadlineMs))
      this.deadline = this.options.clock.schedule(deadlineMs, () => this.giveUp());
    this.runAttempt();
  }

  /** Stops retrying; an attempt in flight is aborted and its late success released. */
  stop(): void {
    this.cancel();
    if (this.current !== 'registered' && this.current !== 'gave-up') this.current = 'stopped';
  }

  private cancel(): void {
    this.timer?.cancel();
    this.deadline?.cancel();
    this.timer = undefined;
    this.deadline = undefined;
    this.activeAttempt++;
    this.controller?.abort();
    this.controller = undefined;
  }

  private runAttempt(): void {
    this.current = 'attempting';
    this.attemptCount++;
    const id = ++this.activeAttempt;
    const controller = new AbortController();
    this.controller = controller;
    const timeoutMs = this.options.attemptTimeoutMs ?? 10_000;
    this.timer = this.options.clock.schedule(timeoutMs, () => {
      controller.abort();
      this.failed(
        id,
        new SluiceError('SLUICE_RPC_TIMEOUT', `a registration attempt did not end within ${timeoutMs} ms`),
      );
    });
    let outcome: Promise<RegistrationOutcome<T>>;
    try {
      outcome = this.options.attempt(controller.signal);
    } catch (e) {
      outcome = Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
    void outcome.then(
      (result) => this.ended(id, result),
      (error: unknown) => this.failed(id, error),
    );
  }

  private ended(id: number, outcome: RegistrationOutcome<T>): void {
    if (id !== this.activeAttempt) {
      const abandoned = this.options.onAbandoned;
      if (outcome.kind === 'registered' && abandoned) this.guard(() => abandoned(outcome.value));
      return;
    }
    this.timer?.cancel();
    this.controller = undefined;
    if (outcome.kind === 'declined') {
      const delayMs = this.options.refusedDelayMs ?? 30_000;
      this.log.warn({ reason: outcome.reason, delayMs }, 'the JobManager declined the registration');
      this.lastError = new Error(`declined: ${outcome.reason}`);
      this.retryIn(delayMs);
      return;
    }
    this.deadline?.cancel();
    this.deadline = undefined;
    this.current = 'registered';
    this.guard(() => this.options.onRegistered(outcome.value));
  }

  private failed(id: number, error: unknown): void {
    if (id !== this.activeAttempt) return;
    this.activeAttempt++;
    this.timer?.cancel();
    this.controller = undefined;
    this.lastError = error;
    const delayMs = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.options.maxBackoffMs ?? 30_000);
    this.log.info(
      { err: error, attempt: this.attemptCount, delayMs },
      'registration with the JobManager failed; retrying',
    );
    this.retryIn(delayMs);
  }

  private retryIn(delayMs: number): void {
    this.current = 'waiting';
    this.timer = this.options.clock.schedule(delayMs, () => this.runAttempt());
  }

  private giveUp(): void {
    this.deadline = undefined;
    this.cancel();
    this.current = 'gave-up';
    const last = this.lastError instanceof Error ? this.lastError.message : 'no attempt ended';
    const error = new SluiceError(
      'SLUICE_RPC_UNREACHABLE',
      `could not register with the JobManager within ${this.options.deadlineMs ?? 300_000} ms ` +
        `(${this.attemptCount} attempts; last: ${last}); check that it is running and reachable`,
      this.lastError === undefined ? undefined : { cause: this.lastError },
    );
    this.log.error({ err: error }, 'giving up registration');
    const onGaveUp = this.options.onGaveUp;
    if (onGaveUp) this.guard(() => onGaveUp(error));
  }

  /** Runs an owner callback: it runs inside a promise reaction or a timer, where a throw would escape. */
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.log.error({ err: e }, 'a registration callback threw');
    }
  }
}
