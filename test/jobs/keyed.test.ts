// Keyed whole jobs at parallelism 1-4: KeyedProcessFunction with every state kind, reduce, and the rolling aggregations on tuples and objects.
import { describe, expect, it } from 'vitest';
import {
  AggregatingStateDescriptor,
  KeyedProcessFunction,
  ListStateDescriptor,
  MapStateDescriptor,
  ReducingStateDescriptor,
  ValueStateDescriptor,
  type AggregatingState,
  type Collector,
  type KeyedProcessContext,
  type ListState,
  type MapState,
  type ReducingState,
  type RuntimeContext,
  type ValueState,
} from 'sluice';
import { PARALLELISMS, envAt, expectSameMultiset, groupInOrder, range } from '../support/helpers.js';

const N = 600;
const K = 7;

interface Stats {
  readonly n: number;
  readonly sum: number;
  readonly min: number;
  readonly max: number;
}

type Out =
  | { kind: 'count'; key: number; count: number }
  | {
      kind: 'final';
      key: number;
      list: number[];
      buckets: [number, number][];
      sum: number;
      stats: Stats;
    }
  | { kind: 'cleared'; key: number; empty: boolean[] };

const statsFunction = {
  createAccumulator: (): Stats => ({ n: 0, sum: 0, min: Infinity, max: -Infinity }),
  add: (x: number, a: Stats): Stats => ({
    n: a.n + 1,
    sum: a.sum + x,
    min: Math.min(a.min, x),
    max: Math.max(a.max, x),
  }),
  getResult: (a: Stats): Stats => a,
  merge: (a: Stats, b: Stats): Stats => ({
    n: a.n + b.n,
    sum: a.sum + b.sum,
    min: Math.min(a.min, b.min),
    max: Math.max(a.max, b.max),
  }),
};

/**
 * Keeps a key's records in all five kinds of keyed state; emits the running count per record,
 * and once a key has seen all its records, the state's contents and that clearing empties it.
 */
class AllStateKinds extends KeyedProcessFunction<number, number, Out> {
  private count!: ValueState<number>;
  private list!: ListState<number>;
  private buckets!: MapState<number, number>;
  private sum!: ReducingState<number>;
  private stats!: AggregatingState<number, Stats>;

  constructor(private readonly expectedPerKey: Record<number, number>) {
    super();
  }

  open(ctx: RuntimeContext): void {
    this.count = ctx.getState(new ValueStateDescriptor<number>('count', { defaultValue: 0 }));
    this.list = ctx.getListState(new ListStateDescriptor<number>('list'));
    this.buckets = ctx.getMapState(new MapStateDescriptor<number, number>('buckets'));
    this.sum = ctx.getReducingState(new ReducingStateDescriptor<number>('sum', (a, b) => a + b));
    this.stats = ctx.getAggregatingState(new AggregatingStateDescriptor('stats', statsFunction));
  }

  processElement(x: number, ctx: KeyedProcessContext<number>, out: Collector<Out>): void {
    const key = ctx.getCurrentKey();
    const count = this.count.value()! + 1;
    this.count.update(count);
    this.list.add(x);
    this.buckets.put(x % 3, (this.buckets.get(x % 3) ?? 0) + 1);
    this.sum.add(x);
    this.stats.add(x);
    out.collect({ kind: 'count', key, count });
    if (count !== this.expectedPerKey[key]) return;
    out.collect({
      kind: 'final',
      key,
      list: [...this.list.get()].sort((a, b) => a - b),
      buckets: [...this.buckets.entries()]
        .map(([b, n]): [number, number] => [b, n])
        .sort((a, b) => a[0] - b[0]),
      sum: this.sum.get()!,
      stats: this.stats.get()!,
    });
    for (const s of [this.count, this.list, this.buckets, this.sum, this.stats]) s.clear();
    out.collect({
      kind: 'cleared',
      key,
      empty: [
        this.count.value() === 0,
        this.list.get().length === 0,
        this.buckets.isEmpty(),
        this.sum.get() === undefined,
        this.stats.get() === undefined,
      ],
    });
  }
}

/** What AllStateKinds emits for `xs` keyed by `x % K`, as a multiset. */
function modelAllStateKinds(xs: number[]): Out[] {
  const out: Out[] = [];
  for (const [key, values] of groupInOrder(xs, (x) => x % K)) {
    values.forEach((_, i) => out.push({ kind: 'count', key, count: i + 1 }));
    const buckets = new Map<number, number>();
    for (const x of values) buckets.set(x % 3, (buckets.get(x % 3) ?? 0) + 1);
    out.push({
      kind: 'final',
      key,
      list: [...values].sort((a, b) => a - b),
      buckets: [...buckets].sort((a, b) => a[0] - b[0]),
      sum: values.reduce((a, b) => a + b, 0),
      stats: values.reduce((acc, x) => statsFunction.add(x, acc), statsFunction.createAccumulator()),
    });
    out.push({ kind: 'cleared', key, empty: [true, true, true, true, true] });
  }
  return out;
}

/** Per key, the running folds of its records in order (Flink's rolling aggregation semantics). */
function rolling<T, K>(records: readonly T[], keyOf: (r: T) => K, step: (acc: T, r: T) => T): T[] {
  const acc = new Map<K, T>();
  return records.map((r) => {
    const k = keyOf(r);
    const prev = acc.get(k);
    const next = prev === undefined ? r : step(prev, r);
    acc.set(k, next);
    return next;
  });
}

type Tuple = [string, number, number];
interface Sale {
  user: string;
  amount: number;
  seq: number;
}
// Values repeat (mod 11), so minBy/maxBy meet ties and must keep the first record.
const tuples: Tuple[] = range(0, 119).map((i): Tuple => [`k${i % 4}`, (i * 37) % 11, i]);
const sales: Sale[] = range(0, 119).map((i) => ({ user: `u${i % 5}`, amount: (i * 53) % 13, seq: i }));

describe.each(PARALLELISMS)('at parallelism %i', (p) => {
  it('KeyedProcessFunction keeps Value, List, Map, Reducing and Aggregating state per key', async () => {
    const xs = range(1, N);
    const perKey: Record<number, number> = {};
    for (const x of xs) perKey[x % K] = (perKey[x % K] ?? 0) + 1;
    const out = await envAt(p)
      .fromSequence(1, N)
      .keyBy((x) => x % K)
      .process(new AllStateKinds(perKey))
      .executeAndCollect();
    expectSameMultiset(out, modelAllStateKinds(xs));
    // A key's outputs arrive in the order it produced them: counts rising, then final, then cleared.
    for (const [key, records] of groupInOrder(out, (r) => r.key)) {
      const expected = [
        ...range(1, perKey[key]!).map((count) => `count ${count}`),
        'final undefined',
        'cleared undefined',
      ];
      expect(records.map((r) => `${r.kind} ${r.kind === 'count' ? r.count : undefined}`)).toEqual(expected);
    }
  });

  it('reduce emits each key’s running sum, ending at the key’s total', async () => {
    const out = await envAt(p)
      .fromSequence(1, N)
      .map((x): [number, number] => [x % K, x])
      .keyBy((t) => t[0])
      .reduce((a, b) => [a[0], a[1] + b[1]])
      .executeAndCollect();
    expect(out).toHaveLength(N);
    for (const [key, records] of groupInOrder(out, (t) => t[0])) {
      const values = range(1, N).filter((x) => x % K === key);
      const sums = records.map((t) => t[1]);
      expect(sums).toHaveLength(values.length);
      expect(sums.at(-1)).toBe(values.reduce((a, b) => a + b, 0));
      // Inputs are positive, so a key's running sums rise strictly in arrival order.
      for (let i = 1; i < sums.length; i++) expect(sums[i]!).toBeGreaterThan(sums[i - 1]!);
    }
  });

  it('reduce on an ordered input emits exactly the running reductions per key', async () => {
    // Not commutative: the result depends on each key's records arriving in source order.
    const step = (a: [number, number], b: [number, number]): [number, number] => [
      a[0],
      (a[1] * 3 - b[1]) % 1_000_003,
    ];
    const xs = range(1, 300).map((i): [number, number] => [i % 5, (i * 7919) % 101]);
    const out = await envAt(p)
      .fromElements(...xs)
      .keyBy((t) => t[0])
      .reduce({ reduce: step })
      .executeAndCollect();
    const expected = rolling(xs, (t) => t[0], step);
    expectSameMultiset(out, expected);
    expect(groupInOrder(out, (t) => t[0])).toEqual(groupInOrder(expected, (t) => t[0]));
  });

  it('keys by composite keys (tuples and objects) compared by content', async () => {
    const out = await envAt(p)
      .fromSequence(0, 199)
      .map((i) => ({ user: `u${i % 3}`, day: i % 2, n: 1 }))
      .keyBy((r) => [r.user, { day: r.day }])
      .sum('n')
      .executeAndCollect();
    const finals = new Map<string, number>();
    for (const r of out) {
      const k = `${r.user}/${r.day}`;
      finals.set(k, Math.max(finals.get(k) ?? 0, r.n));
    }
    expect(Object.fromEntries(finals)).toEqual({
      'u0/0': 34,
      'u0/1': 33,
      'u1/0': 33,
      'u1/1': 34,
      'u2/0': 33,
      'u2/1': 33,
    });
  });

  describe('rolling aggregations', () => {
    const byTupleKey = (t: Tuple) => t[0];
    const bySaleKey = (s: Sale) => s.user;
    const tupleCases: [string, (acc: Tuple, r: Tuple) => Tuple][] = [
      ['sum', (a, r) => [a[0], a[1] + r[1], a[2]]],
      ['min', (a, r) => [a[0], Math.min(a[1], r[1]), a[2]]],
      ['max', (a, r) => [a[0], Math.max(a[1], r[1]), a[2]]],
      ['minBy', (a, r) => (r[1] < a[1] ? r : a)],
      ['maxBy', (a, r) => (r[1] > a[1] ? r : a)],
    ];
    it.each(tupleCases)('%s(1) on tuples follows Flink’s field semantics per key', async (kind, step) => {
      const keyed = envAt(p)
        .fromElements(...tuples)
        .keyBy(byTupleKey);
      const agg =
        kind === 'sum'
          ? keyed.sum(1)
          : kind === 'min'
            ? keyed.min(1)
            : kind === 'max'
              ? keyed.max(1)
              : kind === 'minBy'
                ? keyed.minBy(1)
                : keyed.maxBy(1);
      const out = await agg.executeAndCollect();
      const expected = rolling(tuples, byTupleKey, step);
      expectSameMultiset(out, expected);
      expect(groupInOrder(out, byTupleKey)).toEqual(groupInOrder(expected, byTupleKey));
    });

    const saleCases: [string, (acc: Sale, r: Sale) => Sale][] = [
      ['sum', (a, r) => ({ ...a, amount: a.amount + r.amount })],
      ['min', (a, r) => ({ ...a, amount: Math.min(a.amount, r.amount) })],
      ['max', (a, r) => ({ ...a, amount: Math.max(a.amount, r.amount) })],
      ['minBy', (a, r) => (r.amount < a.amount ? r : a)],
      ['maxBy', (a, r) => (r.amount > a.amount ? r : a)],
    ];
    it.each(saleCases)(
      '%s("amount") on objects follows Flink’s field semantics per key',
      async (kind, step) => {
        const keyed = envAt(p)
          .fromElements(...sales)
          .keyBy(bySaleKey);
        const agg =
          kind === 'sum'
            ? keyed.sum('amount')
            : kind === 'min'
              ? keyed.min('amount')
              : kind === 'max'
                ? keyed.max('amount')
                : kind === 'minBy'
                  ? keyed.minBy('amount')
                  : keyed.maxBy('amount');
        const out = await agg.executeAndCollect();
        const expected = rolling(sales, bySaleKey, step);
        expectSameMultiset(out, expected);
        expect(groupInOrder(out, bySaleKey)).toEqual(groupInOrder(expected, bySaleKey));
      },
    );

    it('sum(), min() and max() without a field aggregate the records themselves', async () => {
      const xs = range(1, 90).map((i) => (i * 31) % 17);
      const env = envAt(p);
      const s = env.fromElements(...xs).keyBy((x) => x % 3);
      const sums = s.sum().map((x): [string, number] => ['sum', x]);
      const mins = s.min().map((x): [string, number] => ['min', x]);
      const maxs = s.max().map((x): [string, number] => ['max', x]);
      const out = await sums.union(mins, maxs).executeAndCollect();
      const k3 = (x: number) => x % 3;
      expectSameMultiset(out, [
        ...rolling(xs, k3, (a, b) => a + b).map((x) => ['sum', x]),
        ...rolling(xs, k3, (a, b) => Math.min(a, b)).map((x) => ['min', x]),
        ...rolling(xs, k3, (a, b) => Math.max(a, b)).map((x) => ['max', x]),
      ]);
    });
  });
});
