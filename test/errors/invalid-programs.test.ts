// Invalid programs and configuration are rejected before any record is processed, with a message saying what to change; unknown config keys warn.
import { describe, expect, it } from 'vitest';
import {
  Configuration,
  PipelineOptions,
  StreamExecutionEnvironment,
  ValueStateDescriptor,
  loadConfiguration,
  type RuntimeContext,
  type Sink,
} from 'sluice';
import { envAt, rejectsWith, throwsWith } from '../support/helpers.js';

const discard: Sink<unknown> = { createWriter: () => ({ write() {}, flush() {}, close() {} }) };

/** A source whose records are counted as they pass the first map: proves nothing ran. */
function countedSource(env: StreamExecutionEnvironment) {
  const seen = { records: 0 };
  const stream = env.fromSequence(1, 1_000).map((x) => (seen.records++, x));
  return { stream, seen };
}

describe('invalid parallelism', () => {
  it.each([0, -1, 1.5, NaN])(
    'env.setParallelism(%s) throws at once, saying it must be a positive integer',
    (p) => {
      const error = throwsWith(
        () => StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(p),
        'SLUICE_PROGRAM_INVALID',
      );
      expect(error.message).toMatch(/setParallelism\(\) must be a positive integer, got/);
      expect(error.message).toContain(String(p));
    },
  );

  it.each([0, -1, 1.5])('operator.setParallelism(%s) throws at once, naming the operator', (p) => {
    const env = envAt(2);
    const error = throwsWith(
      () =>
        env
          .fromSequence(1, 10)
          .map((x) => x)
          .name('mapper')
          .setParallelism(p),
      'SLUICE_PROGRAM_INVALID',
    );
    expect(error.message).toContain("'mapper'");
    expect(error.message).toContain('positive integer');
  });

  it('parallelism 200 above max parallelism 128 is rejected before any record is processed', async () => {
    const env = envAt(200).setMaxParallelism(128);
    const { stream, seen } = countedSource(env);
    stream.sinkTo(discard);
    const error = await rejectsWith(env.execute(), 'SLUICE_PROGRAM_INVALID');
    expect(error.message).toContain('parallelism 200 is above max parallelism 128');
    expect(error.message).toMatch(/lower the parallelism or raise setMaxParallelism\(\)/);
    expect(seen.records).toBe(0);
  });

  it('an operator’s parallelism above its own max parallelism is rejected before anything runs', async () => {
    const env = envAt(2);
    const { stream, seen } = countedSource(env);
    stream
      .keyBy((x) => x % 3)
      .reduce((a, b) => a + b)
      .name('wide')
      .setParallelism(20)
      .setMaxParallelism(16)
      .sinkTo(discard);
    const error = await rejectsWith(env.execute(), 'SLUICE_PROGRAM_INVALID');
    expect(error.message).toContain("'wide'");
    expect(error.message).toContain('parallelism 20 is above max parallelism 16');
    expect(seen.records).toBe(0);
  });
});

describe('invalid job graphs', () => {
  it('a job with no sink is rejected before any record is processed', async () => {
    const env = envAt(2);
    const { seen } = countedSource(env);
    const error = await rejectsWith(env.execute(), 'SLUICE_PROGRAM_INVALID');
    expect(error.message).toMatch(/no sink/);
    expect(error.message).toMatch(/print\(\), sinkTo\(sink\) or executeAndCollect\(\)/);
    expect(seen.records).toBe(0);
  });

  it('forward() between different parallelisms is rejected, suggesting rebalance() or rescale()', async () => {
    const env = envAt(2);
    const { stream, seen } = countedSource(env);
    stream
      .forward()
      .map((x) => x)
      .name('narrow')
      .setParallelism(3)
      .sinkTo(discard);
    const error = await rejectsWith(env.execute(), 'SLUICE_PROGRAM_INVALID');
    expect(error.message).toContain('forward()');
    expect(error.message).toContain("'narrow' (parallelism 3)");
    expect(error.message).toMatch(/give both the same parallelism or use rebalance\(\) or rescale\(\)/);
    expect(seen.records).toBe(0);
  });

  it('a uid used twice is rejected, naming the uid and both operators', async () => {
    const env = envAt(2);
    const { stream, seen } = countedSource(env);
    stream
      .map((x) => x)
      .name('first')
      .uid('same')
      .map((x) => x)
      .name('second')
      .uid('same')
      .sinkTo(discard);
    const error = await rejectsWith(env.execute(), 'SLUICE_PROGRAM_INVALID');
    expect(error.message).toContain("uid 'same'");
    expect(error.message).toContain("'first'");
    expect(error.message).toContain("'second'");
    expect(error.message).toContain('unique');
    expect(seen.records).toBe(0);
  });

  it('keyBy selectors that may return undefined, a function or a symbol do not type-check', () => {
    const env = envAt(1);
    const s = env.fromSequence(1, 10);
    // Each line below is a compile error (`tsc --noEmit` fails if one stops being one); at run
    // time the first such key fails the job (see user-function-errors.test.ts).
    // @ts-expect-error the key may be undefined
    s.keyBy((x) => (x > 5 ? x : undefined));
    // @ts-expect-error a function has no stable hash
    s.keyBy((x) => () => x);
    // @ts-expect-error a symbol has no stable hash
    s.keyBy(() => Symbol('key'));
    const fine = s.keyBy((x) => [x % 2, { even: x % 2 === 0 }]);
    expect(fine).toBeDefined();
  });

  it('bad source arguments throw at once', async () => {
    const env = envAt(1);
    expect(throwsWith(() => env.fromSequence(5, 1), 'SLUICE_PROGRAM_INVALID').message).toContain(
      'from <= to',
    );
    expect(throwsWith(() => env.fromSequence(0.5, 3), 'SLUICE_PROGRAM_INVALID').message).toContain(
      'safe integers',
    );
    await expect(env.fromSequence(1, 3).executeAndCollect('x', 0)).rejects.toThrow(/positive integer/);
  });

  it('an open() that asks for keyed state on a non-keyed stream fails the job, saying to call keyBy()', async () => {
    const env = envAt(2);
    env
      .fromSequence(1, 10)
      .map({
        open(ctx: RuntimeContext) {
          ctx.getState(new ValueStateDescriptor<number>('x'));
        },
        map: (x: number) => x,
      })
      .sinkTo(discard);
    const error = await rejectsWith(env.execute(), 'SLUICE_STATE_INVALID_ACCESS');
    expect(error.message).toContain('keyBy()');
  });
});

describe('configuration', () => {
  it('a parallelism.default that is not a number throws SLUICE_CONFIG_INVALID_VALUE naming the key', () => {
    const error = throwsWith(
      () => new Configuration().set(PipelineOptions.DEFAULT_PARALLELISM, 'abc'),
      'SLUICE_CONFIG_INVALID_VALUE',
    );
    expect(error.message).toContain('parallelism.default');
    expect(error.message).toContain('abc');
  });

  it.each(['0', '-2'])('parallelism.default=%s from -D is rejected as out of range', (value) => {
    const error = throwsWith(
      () => loadConfiguration({ dynamic: [`parallelism.default=${value}`] }),
      'SLUICE_CONFIG_INVALID_VALUE',
    );
    expect(error.message).toContain('parallelism.default');
    expect(error.message).toContain(value);
  });

  it('an unknown key warns, naming the closest known key', () => {
    const warnings: string[] = [];
    loadConfiguration({ dynamic: ['parallelism.defualt=2'], warn: (m) => warnings.push(m) });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('parallelism.defualt');
    expect(warnings[0]).toContain('did you mean "parallelism.default"');
  });

  it('parallelism.default from the configuration is the environment’s parallelism and the job’s', async () => {
    const env = StreamExecutionEnvironment.getExecutionEnvironment(
      loadConfiguration({ dynamic: ['parallelism.default=3'] }),
    );
    expect(env.getParallelism()).toBe(3);
    class Parallelism {
      p = 0;
      open(ctx: RuntimeContext) {
        this.p = ctx.getNumberOfParallelSubtasks();
      }
      map(_x: number) {
        return this.p;
      }
    }
    const parallelisms = await env.fromSequence(1, 30).map(new Parallelism()).executeAndCollect();
    expect(new Set(parallelisms)).toEqual(new Set([3]));
  });
});
