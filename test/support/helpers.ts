/** Shared helpers of the whole-job tests: multisets, condition polling, error checks, running jobs. */
import { expect } from 'vitest';
import {
  DataGeneratorSource,
  SluiceError,
  StreamExecutionEnvironment,
  type CollectResult,
  type ErrorCode,
  type JobClient,
  type Sink,
} from 'sluice';

/** Parallelisms every whole-job test runs at. */
export const PARALLELISMS = [1, 2, 3, 4] as const;

/** A fresh environment with the given default parallelism. */
export function envAt(parallelism: number): StreamExecutionEnvironment {
  return StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(parallelism);
}

/** A canonical, order-free form of a record list: each record as JSON, sorted. */
export function multiset(records: readonly unknown[]): string[] {
  return records.map((r) => JSON.stringify(r)).sort();
}

/** Asserts `actual` and `expected` hold the same records the same number of times. */
export function expectSameMultiset(actual: readonly unknown[], expected: readonly unknown[]): void {
  expect(actual.length).toBe(expected.length);
  expect(multiset(actual)).toEqual(multiset(expected));
}

/** Groups records by a key, keeping their arrival order within each key. */
export function groupInOrder<T, K>(records: readonly T[], key: (r: T) => K): Map<K, T[]> {
  const out = new Map<K, T[]>();
  for (const r of records) {
    const k = key(r);
    const list = out.get(k);
    if (list) list.push(r);
    else out.set(k, [r]);
  }
  return out;
}

/** The integers `from..to`, inclusive. */
export function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

/**
 * Resolves once `condition()` holds; rejects naming `what` if it does not within `timeoutMs`. A
 * function `what` is asked at the time-out, so it can tell how far things got.
 */
export async function waitFor(
  condition: () => boolean,
  what: string | (() => string),
  timeoutMs = 5_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** The SluiceError `promise` rejects with, after checking its code. */
export async function rejectsWith(promise: Promise<unknown>, code: ErrorCode): Promise<SluiceError> {
  let error: unknown;
  try {
    await promise;
  } catch (e) {
    error = e;
  }
  expect(error, `expected a rejection with ${code}`).toBeInstanceOf(SluiceError);
  const sluiceError = error as SluiceError;
  expect(sluiceError.code, sluiceError.message).toBe(code);
  return sluiceError;
}

/** The SluiceError `fn` throws synchronously, after checking its code. */
export function throwsWith(fn: () => unknown, code: ErrorCode): SluiceError {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(error, `expected a throw with ${code}`).toBeInstanceOf(SluiceError);
  const sluiceError = error as SluiceError;
  expect(sluiceError.code, sluiceError.message).toBe(code);
  return sluiceError;
}

/**
 * Runs the environment's job and reads `result` until `done(records)` holds, then cancels the
 * job; fails (after cancelling) if that takes longer than `timeoutMs`.
 */
export async function collectUntil<T>(
  env: StreamExecutionEnvironment,
  result: CollectResult<T>,
  done: (records: readonly T[]) => boolean,
  timeoutMs = 10_000,
): Promise<{ records: T[]; client: JobClient }> {
  const client = await env.executeAsync();
  const records: T[] = [];
  const iterator = result[Symbol.asyncIterator]();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>(
    (resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)),
  );
  try {
    while (!done(records)) {
      const next = await Promise.race([iterator.next(), timeout]);
      if (next === 'timeout')
        throw new Error(`timed out after ${timeoutMs} ms with ${records.length} records collected`);
      if (next.done === true) throw new Error(`the job ended after ${records.length} records`);
      records.push(next.value);
    }
  } finally {
    clearTimeout(timer);
    await client.cancel();
  }
  return { records, client };
}

/**
 * Runs another, unrelated unbounded job on the same in-process scheduler until it has generated
 * `records` records. Used to show that time passed and the scheduler kept running tasks, as a
 * condition rather than a sleep.
 */
export async function whileAnotherJobRuns(records = 60): Promise<void> {
  let generated = 0;
  const env = envAt(1);
  const noop: Sink<number> = { createWriter: () => ({ write() {}, flush() {}, close() {} }) };
  env
    .fromSource(
      new DataGeneratorSource((i) => (generated++, i), Infinity, { recordsPerSecond: 2_000 }),
      'witness',
    )
    .sinkTo(noop);
  const client = await env.executeAsync('witness');
  try {
    await waitFor(() => generated >= records, `the witness job to generate ${records} records`);
  } finally {
    await client.cancel();
  }
}
