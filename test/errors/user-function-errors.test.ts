// A throwing user function (map, open, KeyedProcessFunction, onTimer, sink write, key selector) fails the job naming operator, subtask and cause; no task keeps running.
import { describe, expect, it } from 'vitest';
import {
  DataGeneratorSource,
  KeyedProcessFunction,
  type Collector,
  type KeyedProcessContext,
  type OnTimerContext,
  type RuntimeContext,
  type Sink,
  type SluiceError,
} from 'sluice';
import { envAt, rejectsWith, whileAnotherJobRuns } from '../support/helpers.js';

const P = 3;

/** Asserts `error` is the documented user-function failure around `cause`. */
function expectUserFunctionFailure(
  error: SluiceError,
  operator: string,
  cause: Error,
  subtask = /[123]/,
): void {
  expect(error.code).toBe('SLUICE_USER_FUNCTION_FAILED');
  expect(error.classification).toBe('user');
  expect(error.message).toContain(`'${operator}'`);
  expect(error.message).toMatch(new RegExp(`subtask ${subtask.source}/${P}`));
  expect(error.message).toContain(cause.message);
  // The original error, with its stack, is the cause.
  expect(error.cause).toBe(cause);
  expect((error.cause as Error).stack).toContain('user-function-errors.test.ts');
}

/** A sink that drops records. */
const discard: Sink<unknown> = { createWriter: () => ({ write() {}, flush() {}, close() {} }) };

describe(`at parallelism ${P}`, () => {
  it('a map that throws on record 500 fails the job naming the operator, its subtask and the cause', async () => {
    let thrown: Error | undefined;
    const env = envAt(P);
    env
      .fromSequence(1, 3_000)
      .map((x) => {
        if (x === 500) throw (thrown = new Error('record 500 is cursed'));
        return x;
      })
      .name('boom')
      .sinkTo(discard);
    const error = await rejectsWith(env.execute(), 'SLUICE_USER_FUNCTION_FAILED');
    expect(thrown).toBeDefined();
    expectUserFunctionFailure(error, 'boom', thrown!);
    expect(error.message).toContain('map');
  });

  it('executeAndCollect() rejects with the same failure', async () => {
    const cause = new Error('no odd numbers past 100');
    const out = envAt(P)
      .fromSequence(1, 1_000)
      .map((x) => {
        if (x > 100 && x % 2 === 1) throw cause;
        return x;
      })
      .name('evens only')
      .executeAndCollect();
    const error = await rejectsWith(out, 'SLUICE_USER_FUNCTION_FAILED');
    expectUserFunctionFailure(error, 'evens only', cause);
  });

  it('a DataGeneratorSource whose function throws fails the job naming the source', async () => {
    const cause = new Error('generator ran dry');
    const env = envAt(P);
    env
      .fromSource(
        new DataGeneratorSource((i) => {
          if (i === 1_234) throw cause;
          return i;
        }, 5_000),
        'numbers',
      )
      .sinkTo(discard);
    const error = await rejectsWith(env.execute(), 'SLUICE_USER_FUNCTION_FAILED');
    expectUserFunctionFailure(error, 'numbers', cause);
  });

  it('an error in open() fails the job naming the subtask whose open() threw', async () => {
    const cause = new Error('cannot connect');
    const env = envAt(P);
    env
      .fromSequence(1, 100)
      .map({
        open(ctx: RuntimeContext) {
          if (ctx.getIndexOfThisSubtask() === 1) throw cause;
        },
        map: (x: number) => x,
      })
      .name('opener')
      .sinkTo(discard);
    const error = await rejectsWith(env.execute(), 'SLUICE_USER_FUNCTION_FAILED');
    expectUserFunctionFailure(error, 'opener', cause, /2/);
    expect(error.message).toContain('open');
  });

  it('an error in a KeyedProcessFunction fails the job naming the keyed operator', async () => {
    const cause = new Error('key 4 is not allowed');
    class Picky extends KeyedProcessFunction<number, number, number> {
      processElement(x: number, ctx: KeyedProcessContext<number>, out: Collector<number>) {
        if (ctx.getCurrentKey() === 4 && x > 200) throw cause;
        out.collect(x);
      }
    }
    const env = envAt(P);
    env
      .fromSequence(1, 1_000)
      .keyBy((x) => x % 10)
      .process(new Picky())
      .name('picky')
      .sinkTo(discard);
    const error = await rejectsWith(env.execute(), 'SLUICE_USER_FUNCTION_FAILED');
    expectUserFunctionFailure(error, 'picky', cause);
    expect(error.message).toContain('processElement');
  });

  it('an error in onTimer fails the running job naming the operator', async () => {
    const cause = new Error('timer went off badly');
    class Alarm extends KeyedProcessFunction<number, number, number> {
      processElement(x: number, ctx: KeyedProcessContext<number>) {
        ctx.timerService().registerProcessingTimeTimer(ctx.timerService().currentProcessingTime() + 20);
        void x;
      }
      onTimer(_ts: number, _ctx: OnTimerContext<number>, _out: Collector<number>) {
        throw cause;
      }
    }
    const env = envAt(P);
    env
      .fromSource(new DataGeneratorSource((i) => i, Infinity, { recordsPerSecond: 500 }), 'ticks')
      .keyBy((x) => x % 3)
      .process(new Alarm())
      .name('alarm')
      .sinkTo(discard);
    const error = await rejectsWith(env.execute(), 'SLUICE_USER_FUNCTION_FAILED');
    expectUserFunctionFailure(error, 'alarm', cause);
    expect(error.message).toContain('onTimer');
  });

  it('a sink whose write throws fails the job naming the sink', async () => {
    const cause = new Error('disk full');
    const env = envAt(P);
    env
      .fromSequence(1, 1_000)
      .sinkTo({
        createWriter: () => ({
          write: (x: number) => {
            if (x === 700) throw cause;
          },
          flush() {},
          close() {},
        }),
      })
      .name('files');
    const error = await rejectsWith(env.execute(), 'SLUICE_USER_FUNCTION_FAILED');
    expectUserFunctionFailure(error, 'files', cause);
    expect(error.message).toContain('write');
  });

  it('a sink whose async write rejects fails the job naming the sink and subtask', async () => {
    const cause = new Error('remote said no');
    const env = envAt(P);
    env
      .fromSequence(1, 1_000)
      .sinkTo({
        createWriter: () => ({
          write: (x: number) =>
            new Promise<void>((resolve, reject) =>
              setImmediate(() => (x === 321 ? reject(cause) : resolve())),
            ),
          flush() {},
          close() {},
        }),
      })
      .name('remote');
    const error = await rejectsWith(env.execute(), 'SLUICE_USER_FUNCTION_FAILED');
    expectUserFunctionFailure(error, 'remote', cause);
    expect(error.message).toContain('write');
  });

  it('a key selector that throws fails the job naming the keyed operator and the subtask running it', async () => {
    const cause = new Error('no key for 77');
    const env = envAt(P);
    env
      .fromSequence(1, 1_000)
      .keyBy((x) => {
        if (x === 77) throw cause;
        return x % 5;
      })
      .reduce((a, b) => a + b)
      .name('totals')
      .sinkTo(discard);
    const error = await rejectsWith(env.execute(), 'SLUICE_USER_FUNCTION_FAILED');
    expectUserFunctionFailure(error, 'totals', cause);
    expect(error.message).toContain('key selector');
  });

  it.each([
    ['undefined', () => undefined, 'undefined'],
    ['a function', () => () => 1, 'a function'],
    ['a symbol', () => Symbol('k'), 'a symbol'],
    ['an object holding undefined', () => ({ id: undefined }), 'undefined'],
  ])(
    'a key selector returning %s fails with SLUICE_KEY_NOT_HASHABLE saying what to return',
    async (_, bad, what) => {
      const env = envAt(P);
      env
        .fromSequence(1, 1_000)
        // The type check rejects such selectors at compile time; `unknown` stands in for a user's `any`.
        .keyBy((x): unknown => (x === 400 ? bad() : x % 5))
        .reduce((a, b) => a + b)
        .name('sums')
        .sinkTo(discard);
      const error = await rejectsWith(env.execute(), 'SLUICE_KEY_NOT_HASHABLE');
      expect(error.message).toContain(what);
      expect(error.message).toContain("'sums'");
      expect(error.message).toMatch(/subtask [123]\/3/);
      expect(error.message).toMatch(/key selector/);
      expect(error.message).toMatch(/a key must be a string, number/);
    },
  );

  it('after a job fails, none of its tasks keeps running', async () => {
    let generated = 0;
    const env = envAt(P);
    env
      .fromSource(
        new DataGeneratorSource((i) => (generated++, i), Infinity, { recordsPerSecond: 3_000 }),
        'ticking',
      )
      .rebalance()
      .map((x) => {
        if (generated > 200) throw new Error(`stop at ${x}`);
        return x;
      })
      .sinkTo(discard);
    await rejectsWith(env.execute(), 'SLUICE_USER_FUNCTION_FAILED');
    const atFailure = generated;
    expect(atFailure).toBeGreaterThan(200);
    // The scheduler goes on running another job's tasks; this job's source is never polled again.
    await whileAnotherJobRuns();
    expect(generated).toBe(atFailure);
  });
});
