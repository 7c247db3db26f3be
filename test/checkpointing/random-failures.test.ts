// Property: random keyed pipelines at random parallelism and checkpoint interval, with 1-2 user-function failures at random records, collect exactly the failure-free model's output.
import fc from 'fast-check';
import { expect, it } from 'vitest';
import {
  DataGeneratorSource,
  KeyedProcessFunction,
  RestartStrategies,
  ValueStateDescriptor,
  type Collector,
  type DataStream,
  type KeyedProcessContext,
  type RuntimeContext,
  type ValueState,
} from 'sluice';
import { InjectedFailure, fileUri, runToEnd, withTempDir } from '../support/checkpointing.js';
import { envAt, expectSameMultiset } from '../support/helpers.js';

type Step = { kind: 'map'; a: number; b: number } | { kind: 'filter'; d: number; r: number };
type Site = 'before keyBy' | 'keyed';

interface Pipeline {
  /** Records 0..n-1 from a DataGeneratorSource. */
  readonly n: number;
  readonly steps: readonly Step[];
  readonly keys: number;
  /** Running count per key, or running sum (whose values depend on each key's record order). */
  readonly aggregate: 'count' | 'sum';
  readonly sourceParallelism: number;
  readonly rebalance: boolean;
  readonly keyedParallelism: number;
  readonly intervalMs: number;
  readonly storage: 'jobmanager' | 'filesystem';
  /** Each failure fires once, when its site has processed `at` records (replays included). */
  readonly failures: readonly { readonly site: Site; readonly at: number }[];
}

const applyStep = (step: Step, x: number): number | undefined =>
  step.kind === 'map' ? (x * step.a + step.b) % 1_000 : x % step.d === step.r ? undefined : x;

/** The values reaching keyBy, in source order. */
function survivors(p: Pipeline): number[] {
  const out: number[] = [];
  for (let i = 0; i < p.n; i++) {
    let x: number | undefined = i;
    for (const step of p.steps) if (x !== undefined) x = applyStep(step, x);
    if (x !== undefined) out.push(x);
  }
  return out;
}

/** The failure-free output: `key:count` or `key:running sum` per record. */
function model(p: Pipeline): string[] {
  const state = new Map<number, number>();
  return survivors(p).map((x) => {
    const key = x % p.keys;
    const next = (state.get(key) ?? 0) + (p.aggregate === 'count' ? 1 : x);
    state.set(key, next);
    return `${key}:${next}`;
  });
}

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    kind: fc.constant('map' as const),
    a: fc.integer({ min: 1, max: 7 }),
    b: fc.integer({ min: 0, max: 99 }),
  }),
  fc.integer({ min: 2, max: 5 }).chain((d) =>
    fc.record({
      kind: fc.constant('filter' as const),
      d: fc.constant(d),
      r: fc.integer({ min: 0, max: d - 1 }),
    }),
  ),
);

const pipelineArb: fc.Arbitrary<Pipeline> = fc
  .record({
    n: fc.integer({ min: 150, max: 400 }),
    steps: fc.array(stepArb, { maxLength: 3 }),
    keys: fc.integer({ min: 2, max: 9 }),
    aggregate: fc.constantFrom('count' as const, 'sum' as const),
    sourceParallelism: fc.integer({ min: 1, max: 3 }),
    rebalance: fc.boolean(),
    keyedParallelism: fc.integer({ min: 1, max: 3 }),
    intervalMs: fc.integer({ min: 20, max: 100 }),
    storage: fc.constantFrom('jobmanager' as const, 'filesystem' as const),
    failureSeeds: fc.array(
      fc.record({
        site: fc.constantFrom<Site>('before keyBy', 'keyed'),
        fraction: fc.double({ min: 0, max: 0.95, noNaN: true }),
      }),
      { minLength: 1, maxLength: 2 },
    ),
  })
  .map(({ failureSeeds, ...rest }): Pipeline => {
    // A running sum's outputs depend on each key's record order: one source reader keeps it.
    const shape = rest.aggregate === 'sum' ? { ...rest, sourceParallelism: 1, rebalance: false } : rest;
    const reaching = survivors({ ...shape, failures: [] }).length;
    return {
      ...shape,
      failures: failureSeeds.map((f) => ({ site: f.site, at: Math.floor(f.fraction * reaching) })),
    };
  })
  .filter((p) => survivors(p).length > 0);

// --- failure injection, shared by every subtask and attempt of the job under test ---

let planned: { site: Site; at: number; fired: boolean }[] = [];
const processed: Record<Site, number> = { 'before keyBy': 0, keyed: 0 };

function maybeFail(site: Site): void {
  const seen = processed[site]++;
  for (const f of planned)
    if (!f.fired && f.site === site && seen >= f.at) {
      f.fired = true;
      throw new InjectedFailure(`${site} at record ${f.at}`);
    }
}

class Aggregate extends KeyedProcessFunction<number, number, string> {
  private acc!: ValueState<number>;
  constructor(private readonly kind: 'count' | 'sum') {
    super();
  }
  open(ctx: RuntimeContext): void {
    this.acc = ctx.getState(new ValueStateDescriptor<number>('acc', { defaultValue: 0 }));
  }
  processElement(x: number, ctx: KeyedProcessContext<number>, out: Collector<string>): void {
    maybeFail('keyed');
    const next = this.acc.value()! + (this.kind === 'count' ? 1 : x);
    this.acc.update(next);
    out.collect(`${ctx.getCurrentKey()}:${next}`);
  }
}

async function run(p: Pipeline, dir: string) {
  planned = p.failures.map((f) => ({ ...f, fired: false }));
  processed['before keyBy'] = 0;
  processed.keyed = 0;
  const env = envAt(p.sourceParallelism);
  env.enableCheckpointing(p.intervalMs);
  if (p.storage === 'filesystem') env.getCheckpointConfig().setCheckpointStorage(fileUri(dir));
  env.setRestartStrategy(RestartStrategies.fixedDelay(5, 10));
  // About half a second of input.
  let stream: DataStream<number> = env.fromSource(
    new DataGeneratorSource((i) => i, p.n, { recordsPerSecond: p.n * 2 }),
    'numbers',
  );
  if (p.rebalance) stream = stream.rebalance();
  for (const step of p.steps)
    stream =
      step.kind === 'map'
        ? stream.map((x) => applyStep(step, x)!)
        : stream.filter((x) => applyStep(step, x) !== undefined);
  const out = stream
    .map((x) => (maybeFail('before keyBy'), x))
    .keyBy((x) => x % p.keys)
    .process(new Aggregate(p.aggregate))
    .setParallelism(p.keyedParallelism);
  return runToEnd(env, out);
}

it('random pipelines with 1-2 failures at random records give the failure-free output exactly once', async () => {
  await fc.assert(
    fc.asyncProperty(pipelineArb, (p) =>
      withTempDir(async (dir) => {
        const { records, result } = await run(p, dir);
        expect(planned.every((f) => f.fired)).toBe(true);
        expect(result.numRestarts).toBe(p.failures.length);
        expectSameMultiset(records, model(p));
      }),
    ),
    { numRuns: 12, endOnFailure: true },
  );
});
