// Every partitioner (rebalance, rescale, shuffle, broadcast, forward, global, keyBy) at parallelism 1-4: records delivered and where they go.
import { describe, expect, it } from 'vitest';
import {
  KeyedProcessFunction,
  type Collector,
  type DataStream,
  type KeyedProcessContext,
  type RuntimeContext,
} from 'sluice';
import { PARALLELISMS, envAt, expectSameMultiset, range } from '../support/helpers.js';

const N = 400;

/** A record and the subtasks it passed: `from` before the exchange, `to` after it. */
interface Routed {
  v: number;
  from: number;
  to: number;
}

/** Tags each record with the index of the subtask that runs this map. */
const tagFrom = {
  index: -1,
  open(ctx: RuntimeContext) {
    this.index = ctx.getIndexOfThisSubtask();
  },
  map(v: number) {
    return { v, from: this.index };
  },
};
const tagTo = {
  index: -1,
  open(ctx: RuntimeContext) {
    this.index = ctx.getIndexOfThisSubtask();
  },
  map(r: { v: number; from: number }): Routed {
    return { ...r, to: this.index };
  },
};

/**
 * Flink's pointwise pattern (rescale, forward): with more producers, consumer j reads producers
 * [floor(j·p/c), floor((j+1)·p/c)); with fewer, producer i feeds [ceil(i·c/p), ceil((i+1)·c/p)).
 */
function pointwiseConsumers(i: number, p: number, c: number): number[] {
  if (p >= c)
    return range(0, c - 1).filter((j) => Math.floor((j * p) / c) <= i && i < Math.floor(((j + 1) * p) / c));
  return range(Math.ceil((i * c) / p), Math.ceil(((i + 1) * c) / p) - 1);
}

/** Runs source(p) -> tag -> exchange -> tag(c) and returns what arrived. */
async function route(
  p: number,
  c: number,
  exchange: (s: DataStream<{ v: number; from: number }>) => DataStream<{ v: number; from: number }>,
): Promise<{ out: Routed[]; vertices: number }> {
  const env = envAt(p);
  const tagged = env.fromSequence(0, N - 1).map(tagFrom);
  const result = exchange(tagged).map(tagTo).setParallelism(c).collectAsync();
  const vertices = env.getJobGraph().vertices.length;
  await env.execute();
  return { out: await result.toArray(), vertices };
}

/** Counts of `out` per (from, to) pair. */
function flows(out: readonly Routed[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of out) m.set(`${r.from}->${r.to}`, (m.get(`${r.from}->${r.to}`) ?? 0) + 1);
  return m;
}

/** Asserts each producer spread its records round-robin over exactly `targets(from)`. */
function expectRoundRobin(out: readonly Routed[], p: number, targets: (from: number) => number[]): void {
  const f = flows(out);
  for (let from = 0; from < p; from++) {
    const sent = out.filter((r) => r.from === from).length;
    const allowed = targets(from);
    for (const r of out.filter((x) => x.from === from)) expect(allowed).toContain(r.to);
    const counts = allowed.map((to) => f.get(`${from}->${to}`) ?? 0);
    // Round-robin: the per-consumer counts of one producer differ by at most one.
    if (sent > 0) expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
  }
}

describe.each(PARALLELISMS)('from parallelism %i', (p) => {
  describe.each(PARALLELISMS)('to parallelism %i', (c) => {
    it('rebalance() delivers every record once, round-robin over all consumers', async () => {
      const { out } = await route(p, c, (s) => s.rebalance());
      expectSameMultiset(
        out.map((r) => r.v),
        range(0, N - 1),
      );
      expectRoundRobin(out, p, () => range(0, c - 1));
    });

    it('rescale() delivers every record once, round-robin over the producer’s local consumers', async () => {
      const { out } = await route(p, c, (s) => s.rescale());
      expectSameMultiset(
        out.map((r) => r.v),
        range(0, N - 1),
      );
      expectRoundRobin(out, p, (from) => pointwiseConsumers(from, p, c));
    });

    it('shuffle() delivers every record exactly once to some consumer', async () => {
      const { out } = await route(p, c, (s) => s.shuffle());
      expectSameMultiset(
        out.map((r) => r.v),
        range(0, N - 1),
      );
      for (const r of out) expect(r.to).toBeLessThan(c);
    });

    it('broadcast() delivers every record to every consumer subtask', async () => {
      const { out } = await route(p, c, (s) => s.broadcast());
      expect(out).toHaveLength(N * c);
      expectSameMultiset(
        out.map((r) => [r.v, r.to]),
        range(0, N - 1).flatMap((v) => range(0, c - 1).map((to) => [v, to])),
      );
    });

    it('global() delivers every record to the first consumer subtask', async () => {
      const { out } = await route(p, c, (s) => s.global());
      expectSameMultiset(
        out.map((r) => r.v),
        range(0, N - 1),
      );
      expect(new Set(out.map((r) => r.to))).toEqual(new Set([0]));
    });

    it('keyBy() sends all records of a key to one consumer subtask', async () => {
      const env = envAt(p);
      class Tag extends KeyedProcessFunction<number, { v: number; from: number }, Routed> {
        index = -1;
        open(ctx: RuntimeContext) {
          this.index = ctx.getIndexOfThisSubtask();
        }
        processElement(
          r: { v: number; from: number },
          _ctx: KeyedProcessContext<number>,
          out: Collector<Routed>,
        ) {
          out.collect({ ...r, to: this.index });
        }
      }
      const out = await env
        .fromSequence(0, N - 1)
        .map(tagFrom)
        .keyBy((r) => r.v % 13)
        .process(new Tag())
        .setParallelism(c)
        .executeAndCollect();
      expectSameMultiset(
        out.map((r) => r.v),
        range(0, N - 1),
      );
      for (let key = 0; key < 13; key++)
        expect(new Set(out.filter((r) => r.v % 13 === key).map((r) => r.to)).size).toBe(1);
      if (c > 1) expect(new Set(out.map((r) => r.to)).size).toBeGreaterThan(1);
    });
  });

  it('forward() keeps each record in its subtask, chained into one task', async () => {
    const { out, vertices } = await route(p, p, (s) => s.forward());
    expectSameMultiset(
      out.map((r) => r.v),
      range(0, N - 1),
    );
    for (const r of out) expect(r.to).toBe(r.from);
    expect(vertices).toBe(p === 1 ? 1 : 2);
  });

  it('the default between equal parallelisms is forward, between different ones rebalance', async () => {
    const same = await route(p, p, (s) => s);
    for (const r of same.out) expect(r.to).toBe(r.from);
    const c = p === 4 ? 2 : p + 1;
    const other = await route(p, c, (s) => s);
    expectSameMultiset(
      other.out.map((r) => r.v),
      range(0, N - 1),
    );
    expectRoundRobin(other.out, p, () => range(0, c - 1));
  });

  it('an explicit partitioner breaks the chain even between equal parallelisms', async () => {
    const { out, vertices } = await route(p, p, (s) => s.rebalance());
    expect(out).toHaveLength(N);
    // Source -> tag | tag -> collect sink (chained at parallelism 1) or alone.
    expect(vertices).toBe(p === 1 ? 2 : 3);
  });
});
