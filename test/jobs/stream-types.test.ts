// Flink's stream types on every call: sources return a DataStreamSource, sinks a DataStreamSink,
// with the same operator settings as any operator; WatermarkStrategy (any strategy, nothing else); fromData; addSink and
// printToErr; one ReduceFunction type.
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  DataGeneratorSource,
  DataStreamSink,
  DataStreamSource,
  SingleOutputStreamOperator,
  WatermarkStrategy,
  type ReduceFunction,
  type Sink,
  type SinkWriterContext,
} from 'sluice';
import { envAt, expectSameMultiset, range, throwsWith } from '../support/helpers.js';

afterEach(() => vi.restoreAllMocks());

/** A sink whose writers do nothing. */
const discard: Sink<unknown> = {
  createWriter: () => ({ write: () => {}, flush: () => {}, close: () => {} }),
};

describe('every source call returns a DataStreamSource', () => {
  const sources = {
    fromSource: (env: ReturnType<typeof envAt>) =>
      env.fromSource(new DataGeneratorSource((i) => i, 10), 'gen'),
    'fromSource with a WatermarkStrategy': (env: ReturnType<typeof envAt>) =>
      env.fromSource(new DataGeneratorSource((i) => i, 10), WatermarkStrategy.noWatermarks(), 'gen'),
    fromSequence: (env: ReturnType<typeof envAt>) => env.fromSequence(1, 10),
    fromData: (env: ReturnType<typeof envAt>) => env.fromData(1, 2, 3),
    fromElements: (env: ReturnType<typeof envAt>) => env.fromElements(1, 2, 3),
    fromCollection: (env: ReturnType<typeof envAt>) => env.fromCollection([1, 2, 3]),
  };

  it.each(Object.entries(sources))(
    '%s: uid, name, setMaxParallelism, setDescription reach the graph',
    (_, make) => {
      const env = envAt(1);
      const source = make(env);
      expect(source).toBeInstanceOf(DataStreamSource);
      expect(source).toBeInstanceOf(SingleOutputStreamOperator);
      source.uid('numbers').name('the numbers').setMaxParallelism(256).setDescription('reads the numbers');
      source.sinkTo(discard);
      const node = env.getStreamGraph().nodes.find((n) => n.transformation.role === 'source')!;
      expect(node.transformation.uid).toBe('numbers');
      expect(node.name).toBe('the numbers');
      expect(node.maxParallelism).toBe(256);
      expect(node.transformation.description).toBe('reads the numbers');
    },
  );

  it('a parallel source takes any parallelism', () => {
    const env = envAt(1);
    const source = env.fromSequence(1, 100).setParallelism(3);
    expect(source.isParallel()).toBe(true);
    source.sinkTo(discard);
    expect(env.getStreamGraph().nodes.find((n) => n.transformation.role === 'source')!.parallelism).toBe(3);
  });

  it.each(['fromData', 'fromElements', 'fromCollection'] as const)(
    '%s is not parallel: setParallelism(1) is fine, any other fails naming the source',
    (call) => {
      const source = sources[call](envAt(2));
      expect(source.isParallel()).toBe(false);
      expect(() => source.setParallelism(1)).not.toThrow();
      const error = throwsWith(() => source.setParallelism(3), 'SLUICE_PROGRAM_INVALID');
      expect(error.message).toContain("setParallelism(3) of source 'Collection Source'");
      expect(error.message).toContain('parallelism must be 1');
    },
  );

  it('fromData emits its elements in order, as fromElements', async () => {
    const env = envAt(1);
    expect(await env.fromData('a', 'b', 'c').executeAndCollect()).toEqual(['a', 'b', 'c']);
  });

  it('fromSource refuses a second argument that is not a WatermarkStrategy, and takes any strategy', () => {
    const env = envAt(1);
    const source = new DataGeneratorSource((i) => i, 10);
    const strategies = [{ kind: 'bounded-out-of-orderness' }, { kind: 'no-watermarks' }, undefined, null, 5];
    for (const strategy of strategies) {
      const error = throwsWith(
        () => env.fromSource(source, strategy as unknown as WatermarkStrategy<number>, 'clicks'),
        'SLUICE_PROGRAM_INVALID',
      );
      expect(error.message).toContain("fromSource('clicks')");
      expect(error.message).toContain('must be a WatermarkStrategy');
    }
    for (const strategy of [
      WatermarkStrategy.noWatermarks<number>(),
      WatermarkStrategy.forBoundedOutOfOrderness<number>(10).withTimestampAssigner((i) => i),
      WatermarkStrategy.forMonotonousTimestamps<number>().withIdleness(1000),
    ])
      expect(env.fromSource(source, strategy, 'clicks').isParallel()).toBe(true);
  });
});

describe('every sink call returns a DataStreamSink', () => {
  it.each([
    ['sinkTo', (s: SingleOutputStreamOperator<number>) => s.sinkTo(discard)],
    ['addSink', (s: SingleOutputStreamOperator<number>) => s.addSink(() => {})],
    ['print', (s: SingleOutputStreamOperator<number>) => s.print()],
    ['printToErr', (s: SingleOutputStreamOperator<number>) => s.printToErr()],
  ] as const)('%s: uid, name, setParallelism, setDescription reach the graph', (_, sinkOf) => {
    const env = envAt(1);
    const sink = sinkOf(env.fromSequence(1, 10).map((n) => n));
    expect(sink).toBeInstanceOf(DataStreamSink);
    sink.uid('out').name('the sink').setParallelism(2).setDescription('writes it out');
    const node = env.getStreamGraph().nodes.find((n) => n.transformation.role === 'sink')!;
    expect([node.transformation.uid, node.name, node.parallelism, node.transformation.description]).toEqual([
      'out',
      'the sink',
      2,
      'writes it out',
    ]);
  });

  it('addSink takes a function or an object with invoke(record, ctx)', async () => {
    const byFunction: number[] = [];
    const byObject: number[] = [];
    const env = envAt(2);
    const numbers = env.fromSequence(1, 100);
    numbers.addSink((n) => void byFunction.push(n));
    numbers.addSink({
      invoke(n: number, ctx: SinkWriterContext) {
        expect(ctx.currentProcessingTime()).toBeGreaterThan(0);
        byObject.push(n);
      },
    });
    await env.execute();
    expectSameMultiset(byFunction, range(1, 100));
    expectSameMultiset(byObject, range(1, 100));
    expect(() => numbers.addSink({} as never)).toThrow(/addSink\(\) needs a function/u);
  });

  it('printToErr writes each record to stderr', async () => {
    const lines: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    const env = envAt(1);
    env.fromData('a', 'b').printToErr();
    await env.execute();
    expect(lines).toEqual(['a\n', 'b\n']);
  });
});

describe('ReduceFunction', () => {
  it('is one type for the object form, which classes implement as in Flink; functions work alike', async () => {
    type Pair = [string, number];
    const add = (a: Pair, b: Pair): Pair => [a[0], a[1] + b[1]];
    class Add implements ReduceFunction<Pair> {
      reduce(a: Pair, b: Pair): Pair {
        return [a[0], a[1] + b[1]];
      }
    }
    const addObject: ReduceFunction<Pair> = new Add();
    const env = envAt(2);
    const pairs = env.fromData<[string, number]>(['a', 1], ['b', 2], ['a', 3]);
    const sums = pairs
      .keyBy((p) => p[0])
      .reduce(add)
      .collectAsync();
    const sumsToo = pairs
      .keyBy((p) => p[0])
      .reduce(addObject)
      .collectAsync();
    await env.execute();
    const finals = async (rows: AsyncIterable<[string, number]>) => {
      const out = new Map<string, number>();
      for await (const [k, v] of rows) out.set(k, Math.max(out.get(k) ?? 0, v));
      return out;
    };
    expect(await finals(sums)).toEqual(
      new Map([
        ['a', 4],
        ['b', 2],
      ]),
    );
    expect(await finals(sumsToo)).toEqual(
      new Map([
        ['a', 4],
        ['b', 2],
      ]),
    );
  });
});
