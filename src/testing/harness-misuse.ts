/** The error a test harness raises when it is called in an order or with a value a task never uses. */
import { SluiceError } from '../core/errors.js';

/** SLUICE_TESTING_HARNESS_MISUSE with `message`, which says what to change. */
export function harnessMisuse(message: string): SluiceError {
  return new SluiceError('SLUICE_TESTING_HARNESS_MISUSE', message);
}

/** A promise and the functions that settle it (Promise.withResolvers, which Node 20 lacks). */
export interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

/** A new pending Deferred. */
export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
