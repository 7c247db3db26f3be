// Whole jobs at parallelism 1-4: every source, map/filter/flatMap, unions, and chains kept or broken, against exact expected output.
import { describe, expect, it } from 'vitest';
import { DataGeneratorSource, type Collector, type DataStream } from 'sluice';
import { PARALLELISMS, envAt, expectSameMultiset, range } from '../support/helpers.js';

const N = 1_000;
const f = (x: number): number => x * 3 + 1;
const keep = (x: number): boolean => x % 4 !== 0;
const split = (x: number, out: Collector<number>): void => {
  out.collect(x);
  if (x % 5 === 0) out.collect(-x);
};
/** The plain-array model of `map(f).filter(keep).flatMap(split)`. */
const modelPipeline = (xs: number[]): number[] =>
  xs
    .map(f)
    .filter(keep)
    .flatMap((x) => (x % 5 === 0 ? [x, -x] : [x]));

const pipeline = (s: DataStream<number>) => s.map(f).filter(keep).flatMap(split);

/** The job vertices' names of what `env` holds now (before it is executed). */
function vertexNames(env: ReturnType<typeof envAt>): string[] {
  return env.getJobGraph().vertices.map((v) => v.name);
}

describe.each(PARALLELISMS)('at parallelism %i', (p) => {
  describe('sources', () => {
    it('fromSequence emits every number of the range exactly once', async () => {
      const out = await envAt(p).fromSequence(-20, N).executeAndCollect();
      expectSameMultiset(out, range(-20, N));
    });

    it('fromElements emits the elements in order', async () => {
      const elements = ['a', 'b', 'c', 'b', 'a'];
      const out = await envAt(p)
        .fromElements(...elements)
        .executeAndCollect();
      expect(out).toEqual(elements);
    });

    it('DataGeneratorSource emits fn(i) once for every index below count', async () => {
      const out = await envAt(p)
        .fromSource(new DataGeneratorSource((i) => ({ id: i, sq: i * i }), 777), 'generator')
        .executeAndCollect();
      expectSameMultiset(
        out,
        range(0, 776).map((i) => ({ id: i, sq: i * i })),
      );
    });

    it('an empty DataGeneratorSource finishes with no records', async () => {
      const out = await envAt(p)
        .fromSource(new DataGeneratorSource((i) => i, 0), 'empty')
        .executeAndCollect();
      expect(out).toEqual([]);
    });
  });

  describe('map, filter and flatMap', () => {
    it('applies each function to every record of a parallel source', async () => {
      const out = await pipeline(envAt(p).fromSequence(1, N)).executeAndCollect();
      expectSameMultiset(out, modelPipeline(range(1, N)));
    });

    it('keeps the source order through a chain fed by fromElements at parallelism 1', async () => {
      const env = envAt(p);
      const xs = range(1, 200).map((i) => (i * 7919) % 1000);
      const out = await env
        .fromElements(...xs)
        .map(f)
        .setParallelism(1)
        .filter(keep)
        .setParallelism(1)
        .flatMap(split)
        .setParallelism(1)
        .executeAndCollect();
      expect(out).toEqual(modelPipeline(xs));
    });

    it('calls function objects’ methods bound to the object', async () => {
      class Scale {
        constructor(private readonly factor: number) {}
        map(x: number) {
          return x * this.factor;
        }
      }
      class AtMost {
        constructor(private readonly limit: number) {}
        filter(x: number) {
          return x <= this.limit;
        }
      }
      const out = await envAt(p)
        .fromSequence(1, 100)
        .map(new Scale(10))
        .filter(new AtMost(500))
        .flatMap({ flatMap: (x: number, out: Collector<string>) => out.collect(`v${x}`) })
        .executeAndCollect();
      expectSameMultiset(
        out,
        range(1, 50).map((x) => `v${x * 10}`),
      );
    });
  });

  describe('union', () => {
    it('merges two streams of different sources and parallelisms', async () => {
      const env = envAt(p);
      const a = env.fromSequence(1, 300).map((x) => x * 2);
      const b = env.fromElements(7, 8, 9).map((x) => x * 1000);
      const out = await a.union(b).executeAndCollect();
      expectSameMultiset(out, [...range(1, 300).map((x) => x * 2), 7000, 8000, 9000]);
    });

    it('merges three streams, then processes them as one', async () => {
      const env = envAt(p);
      const a = env.fromSequence(1, 100);
      const b = env.fromElements(1000, 2000);
      const c = env.fromSource(new DataGeneratorSource((i) => 5000 + i, 50), 'gen');
      const out = await a
        .union(b, c)
        .map((x) => x + 1)
        .executeAndCollect();
      expectSameMultiset(out, [...range(2, 101), 1001, 2001, ...range(5001, 5050)]);
    });

    it('unions a stream with a transformed copy of itself', async () => {
      const env = envAt(p);
      const s = env.fromSequence(1, 250);
      const result = s.union(s.map((x) => x * 10)).collectAsync();
      expect(vertexNames(env)).toEqual(['Sequence Source -> Map', 'Collect Sink']);
      await env.execute();
      expectSameMultiset(await result.toArray(), [...range(1, 250), ...range(1, 250).map((x) => x * 10)]);
    });

    it('unions a stream with itself, emitting each record twice', async () => {
      const out = await (() => {
        const s = envAt(p).fromSequence(1, 100);
        return s.union(s).executeAndCollect();
      })();
      expectSameMultiset(out, [...range(1, 100), ...range(1, 100)]);
    });
  });

  describe('chaining', () => {
    /** Runs the pipeline `build` describes, checks its output and returns its vertex names. */
    async function runChained(
      build: (env: ReturnType<typeof envAt>) => DataStream<number>,
      setup: (env: ReturnType<typeof envAt>) => void = () => {},
    ): Promise<string[]> {
      const env = envAt(p);
      setup(env);
      const result = build(env).collectAsync();
      const names = vertexNames(env);
      await env.execute();
      expectSameMultiset(await result.toArray(), modelPipeline(range(1, N)));
      return names;
    }
    // The collect sink runs at parallelism 1: chained to its input only when that is 1 too.
    const sinkAlone = p > 1;
    const withSink = (...chains: string[]): string[] =>
      sinkAlone ? [...chains, 'Collect Sink'] : [...chains.slice(0, -1), `${chains.at(-1)} -> Collect Sink`];

    it('chains source, map, filter and flatMap into one task by default', async () => {
      const names = await runChained((env) => pipeline(env.fromSequence(1, N)));
      expect(names).toEqual(withSink('Sequence Source -> Map -> Filter -> Flat Map'));
    });

    it('runs every operator alone after env.disableOperatorChaining()', async () => {
      const names = await runChained(
        (env) => pipeline(env.fromSequence(1, N)),
        (env) => env.disableOperatorChaining(),
      );
      expect(names).toEqual(['Sequence Source', 'Map', 'Filter', 'Flat Map', 'Collect Sink']);
    });

    it('cuts the chain on both sides of an operator with disableChaining()', async () => {
      const names = await runChained((env) =>
        env.fromSequence(1, N).map(f).disableChaining().filter(keep).flatMap(split),
      );
      expect(names).toEqual(withSink('Sequence Source', 'Map', 'Filter -> Flat Map'));
    });

    it('starts a new chain at an operator with startNewChain()', async () => {
      const names = await runChained((env) =>
        env.fromSequence(1, N).map(f).filter(keep).startNewChain().flatMap(split),
      );
      expect(names).toEqual(withSink('Sequence Source -> Map', 'Filter -> Flat Map'));
    });

    it('cuts the chain where setParallelism() changes the parallelism', async () => {
      const env = envAt(p);
      const result = env
        .fromSequence(1, N)
        .map(f)
        .setParallelism(p + 1)
        .filter(keep)
        .flatMap(split)
        .collectAsync();
      const graph = env.getJobGraph();
      expect(graph.vertices.map((v) => [v.name, v.parallelism])).toEqual([
        ['Sequence Source', p],
        ['Map', p + 1],
        ...(p === 1
          ? [['Filter -> Flat Map -> Collect Sink', 1]]
          : [
              ['Filter -> Flat Map', p],
              ['Collect Sink', 1],
            ]),
      ]);
      await env.execute();
      expectSameMultiset(await result.toArray(), modelPipeline(range(1, N)));
    });
  });
});
