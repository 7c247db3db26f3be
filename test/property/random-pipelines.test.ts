// Property: random pipelines (map, filter, flatMap, keyed count/reduce, partitioners, unions, parallelism, chaining) give the output a plain-array model predicts.
import fc from 'fast-check';
import { expect, it } from 'vitest';
import {
  KeyedProcessFunction,
  ValueStateDescriptor,
  type Collector,
  type DataStream,
  type KeyedProcessContext,
  type RuntimeContext,
  type SingleOutputStreamOperator,
  type StreamExecutionEnvironment,
  type ValueState,
} from 'sluice';
import { envAt, expectSameMultiset, groupInOrder, range } from '../support/helpers.js';

const M = 1_000;
/** Keyed steps emit `key * KEY_SPACE + count`: the multiset of those ignores arrival order. */
const KEY_SPACE = 100_000;

type Partition = 'none' | 'rebalance' | 'rescale' | 'shuffle' | 'broadcast' | 'forward';
type Op =
  | { kind: 'map'; a: number }
  | { kind: 'filter'; d: number; r: number }
  | { kind: 'flatMap' }
  | { kind: 'keyCount'; k: number }
  | { kind: 'keyReduceCount'; k: number }
  | { kind: 'unionSelf' }
  | { kind: 'unionSource' };
interface Step {
  op: Op;
  partition: Partition;
  parallelism: number | undefined;
  disableChaining: boolean;
}
interface Pipeline {
  envParallelism: number;
  source: { kind: 'elements'; values: number[] } | { kind: 'sequence'; from: number; to: number };
  steps: Step[];
  /** A final keyBy(x % k).reduce(sum) whose running values depend on arrival order. */
  finalSum: number | undefined;
}

const mapFn = (a: number) => (x: number) => (x * a + 1) % M;
const filterFn = (d: number, r: number) => (x: number) => x % d !== r;
const twin = (x: number): number[] => (x % 2 === 0 ? [x, x + 1] : [x]);
const branchFn = (x: number) => (x * 7 + 3) % M;
const sourceBranchFn = (x: number) => x + 1;

// --- the model: what each step does to the multiset of records ---

interface ModelStream {
  records: number[];
  /** Parallelism of each producer feeding the next operator (several after a union). */
  producers: number[];
}

/** The partitioner a step really gets: forward only where every producer has the same parallelism. */
function effectivePartition(partition: Partition, producers: readonly number[], q: number): Partition {
  return partition === 'forward' && producers.some((p) => p !== q) ? 'none' : partition;
}

/** Records after the exchange into an operator of parallelism q (broadcast copies to every subtask). */
function exchanged(records: readonly number[], partition: Partition, q: number): number[] {
  return partition === 'broadcast' ? records.flatMap((x) => Array<number>(q).fill(x)) : [...records];
}

function runningCounts(records: readonly number[], k: number): number[] {
  const counts = new Map<number, number>();
  return records.map((x) => {
    const key = x % k;
    const c = (counts.get(key) ?? 0) + 1;
    counts.set(key, c);
    return key * KEY_SPACE + c;
  });
}

function sourceRecords(p: Pipeline): number[] {
  return p.source.kind === 'elements' ? p.source.values : range(p.source.from, p.source.to);
}
function sourceParallelism(p: Pipeline): number {
  return p.source.kind === 'elements' ? 1 : p.envParallelism;
}

function model(p: Pipeline): ModelStream {
  const src: ModelStream = { records: sourceRecords(p), producers: [sourceParallelism(p)] };
  let cur = src;
  for (const step of p.steps) {
    const q = step.parallelism ?? p.envParallelism;
    const { op } = step;
    if (op.kind === 'keyCount' || op.kind === 'keyReduceCount') {
      // keyReduceCount's first map takes the partitioner; keyCount's keyBy replaces it.
      const before =
        op.kind === 'keyReduceCount'
          ? exchanged(cur.records, effectivePartition(step.partition, cur.producers, q), q)
          : cur.records;
      cur = { records: runningCounts(before, op.k), producers: [q] };
      continue;
    }
    if (op.kind === 'unionSelf' || op.kind === 'unionSource') {
      const base = op.kind === 'unionSelf' ? cur : src;
      const fn = op.kind === 'unionSelf' ? branchFn : sourceBranchFn;
      const part = effectivePartition(step.partition, base.producers, q);
      const branch = exchanged(base.records, part, q).map(fn);
      cur = { records: [...cur.records, ...branch], producers: [...cur.producers, q] };
      continue;
    }
    const xs = exchanged(cur.records, effectivePartition(step.partition, cur.producers, q), q);
    const out =
      op.kind === 'map'
        ? xs.map(mapFn(op.a))
        : op.kind === 'filter'
          ? xs.filter(filterFn(op.d, op.r))
          : xs.flatMap(twin);
    cur = { records: out, producers: [q] };
  }
  return cur;
}

// --- the job ---

class RunningCount extends KeyedProcessFunction<number, number, number> {
  private count!: ValueState<number>;
  open(ctx: RuntimeContext): void {
    this.count = ctx.getState(new ValueStateDescriptor<number>('count', { defaultValue: 0 }));
  }
  processElement(_x: number, ctx: KeyedProcessContext<number>, out: Collector<number>): void {
    const c = this.count.value()! + 1;
    this.count.update(c);
    out.collect(ctx.getCurrentKey() * KEY_SPACE + c);
  }
}

function partitioned(s: DataStream<number>, partition: Partition): DataStream<number> {
  switch (partition) {
    case 'none':
      return s;
    case 'rebalance':
      return s.rebalance();
    case 'rescale':
      return s.rescale();
    case 'shuffle':
      return s.shuffle();
    case 'broadcast':
      return s.broadcast();
    case 'forward':
      return s.forward();
  }
}

function configured<T>(op: SingleOutputStreamOperator<T>, step: Step): SingleOutputStreamOperator<T> {
  if (step.parallelism !== undefined) op.setParallelism(step.parallelism);
  if (step.disableChaining) op.disableChaining();
  return op;
}

function build(env: StreamExecutionEnvironment, p: Pipeline): DataStream<number> {
  const src =
    p.source.kind === 'elements'
      ? env.fromElements(...p.source.values)
      : env.fromSequence(p.source.from, p.source.to);
  let cur: DataStream<number> = src;
  const srcProducers = [sourceParallelism(p)];
  let producers = srcProducers;
  for (const step of p.steps) {
    const q = step.parallelism ?? p.envParallelism;
    const { op } = step;
    const into = (s: DataStream<number>, from: readonly number[]) =>
      partitioned(s, effectivePartition(step.partition, from, q));
    switch (op.kind) {
      case 'map':
        cur = configured(into(cur, producers).map(mapFn(op.a)), step);
        break;
      case 'filter':
        cur = configured(into(cur, producers).filter(filterFn(op.d, op.r)), step);
        break;
      case 'flatMap':
        cur = configured(
          into(cur, producers).flatMap((x: number, out: Collector<number>) =>
            twin(x).forEach((y) => out.collect(y)),
          ),
          step,
        );
        break;
      case 'keyCount':
        cur = configured(cur.keyBy((x) => x % op.k).process(new RunningCount()), step);
        break;
      case 'keyReduceCount': {
        const k = op.k;
        const pairs = configured(
          into(cur, producers).map((x): [number, number] => [x % k, 1]),
          { ...step, disableChaining: false },
        );
        const counted = configured(
          pairs.keyBy((t) => t[0]).reduce((a, b): [number, number] => [a[0], a[1] + b[1]]),
          step,
        );
        cur = configured(
          counted.map((t) => t[0] * KEY_SPACE + t[1]),
          { ...step, disableChaining: false },
        );
        break;
      }
      case 'unionSelf':
      case 'unionSource': {
        const [base, from] = op.kind === 'unionSelf' ? [cur, producers] : [src, srcProducers];
        const branch = configured(
          into(base, from).map(op.kind === 'unionSelf' ? branchFn : sourceBranchFn),
          step,
        );
        cur = cur.union(branch);
        producers = [...producers, q];
        continue;
      }
    }
    producers = [q];
  }
  return cur;
}

// --- generators ---

const partitionArb = fc.constantFrom<Partition>(
  'none',
  'none',
  'rebalance',
  'rescale',
  'shuffle',
  'broadcast',
  'forward',
);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('map' as const), a: fc.integer({ min: 1, max: 20 }) }),
  fc
    .record({ kind: fc.constant('filter' as const), d: fc.integer({ min: 2, max: 5 }), r: fc.nat(4) })
    .map((f) => ({ ...f, r: f.r % f.d })),
  fc.record({ kind: fc.constant('flatMap' as const) }),
  fc.record({ kind: fc.constant('keyCount' as const), k: fc.integer({ min: 1, max: 6 }) }),
  fc.record({ kind: fc.constant('keyReduceCount' as const), k: fc.integer({ min: 1, max: 6 }) }),
  fc.record({ kind: fc.constant('unionSelf' as const) }),
  fc.record({ kind: fc.constant('unionSource' as const) }),
);
const stepArb: fc.Arbitrary<Step> = fc.record({
  op: opArb,
  partition: partitionArb,
  parallelism: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
  disableChaining: fc.boolean(),
});
const pipelineArb: fc.Arbitrary<Pipeline> = fc
  .record({
    envParallelism: fc.integer({ min: 1, max: 4 }),
    source: fc.oneof(
      fc.record({
        kind: fc.constant('elements' as const),
        values: fc.array(fc.nat(M - 1), { minLength: 0, maxLength: 120 }),
      }),
      fc
        .record({ kind: fc.constant('sequence' as const), from: fc.nat(500), length: fc.nat(200) })
        .map(({ kind, from, length }) => ({ kind, from, to: from + length })),
    ),
    steps: fc.array(stepArb, { minLength: 1, maxLength: 6 }),
    finalSum: fc.option(fc.integer({ min: 1, max: 5 }), { nil: undefined }),
  })
  // Keep jobs small: broadcasts and unions multiply the records.
  .filter((p) => model(p).records.length <= 20_000);

it('random pipelines produce exactly the multiset the plain-array model computes', async () => {
  await fc.assert(
    fc.asyncProperty(pipelineArb, async (p) => {
      const env = envAt(p.envParallelism);
      const stream = build(env, p);
      const expected = model(p).records;
      if (p.finalSum === undefined) {
        expectSameMultiset(await stream.executeAndCollect(), expected);
        return;
      }
      // A running sum depends on each key's arrival order, which parallel inputs do not fix:
      // check each key's output count, its rising values and its final total instead.
      const k = p.finalSum;
      const out = await stream
        .map((x): [number, number] => [x % k, x])
        .keyBy((t) => t[0])
        .reduce((a, b) => [a[0], a[1] + b[1]])
        .executeAndCollect();
      expect(out).toHaveLength(expected.length);
      const expectedPerKey = groupInOrder(expected, (x) => x % k);
      const actualPerKey = groupInOrder(out, (t) => t[0]);
      expect([...actualPerKey.keys()].sort()).toEqual([...expectedPerKey.keys()].sort());
      for (const [key, values] of expectedPerKey) {
        const sums = actualPerKey.get(key)!.map((t) => t[1]);
        expect(sums).toHaveLength(values.length);
        for (let i = 1; i < sums.length; i++) expect(sums[i]!).toBeGreaterThanOrEqual(sums[i - 1]!);
        expect(sums.at(-1)).toBe(values.reduce((a, b) => a + b, 0));
      }
    }),
    { numRuns: 50 },
  );
});
