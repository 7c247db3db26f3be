/**
 * Demo: counts clicks per page with keyed state, in parallel, with checkpoints every 500 ms. The
 * first attempt fails on purpose half-way; the job restarts from its latest checkpoint, and at
 * the end we check that every click was counted exactly once, as if nothing had happened.
 * Run it with `npm start` (which is `sluice run -j examples/click-counts.ts`, so options given as
 * `npm start -- -D rest.port=0` reach sluice).
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  DataGeneratorSource,
  KeyedProcessFunction,
  RestartStrategies,
  StreamExecutionEnvironment,
  ValueStateDescriptor,
} from 'sluice';
import type { Collector, KeyedProcessContext, RuntimeContext, ValueState } from 'sluice';

interface Click {
  seq: number;
  page: string;
  user: number;
}

const CLICKS = 300_000;
const PAGES = 50;
const FAIL_AT = 150_000;

/** Emits, for every click, the number of clicks its page has had so far. */
class RunningCount extends KeyedProcessFunction<string, Click, [string, number]> {
  private count!: ValueState<number>;

  open(ctx: RuntimeContext) {
    this.count = ctx.getState(new ValueStateDescriptor<number>('count'));
  }

  processElement(click: Click, _ctx: KeyedProcessContext<string>, out: Collector<[string, number]>) {
    const n = (this.count.value() ?? 0) + 1;
    this.count.update(n);
    out.collect([click.page, n]);
  }
}

/** Passes clicks through, but the first attempt of the job breaks at click FAIL_AT. */
class FlakyEnrichment {
  private attempt = 0;

  open(ctx: RuntimeContext) {
    this.attempt = ctx.getAttemptNumber();
  }

  map(click: Click): Click {
    if (this.attempt === 0 && click.seq === FAIL_AT) throw new Error(`injected failure at click ${FAIL_AT}`);
    return click;
  }
}

const env = StreamExecutionEnvironment.getExecutionEnvironment();
env.setParallelism(3);
env.enableCheckpointing(500);
env.getCheckpointConfig().setCheckpointStorage(pathToFileURL(join(tmpdir(), 'sluice-demo-checkpoints')).href);
env.setRestartStrategy(RestartStrategies.fixedDelay(3, 200));

const results = env
  .fromSource(
    new DataGeneratorSource((i): Click => ({ seq: i, page: `p${(i * 7) % PAGES}`, user: i % 1000 }), CLICKS, {
      recordsPerSecond: 60_000,
    }),
    'clicks',
  )
  .map(new FlakyEnrichment())
  .name('enrich')
  .keyBy((c) => c.page)
  .process(new RunningCount())
  .uid('running-count')
  .name('running count')
  .collectAsync();

const client = await env.executeAsync('click-counts');
const rows = await results.toArray();
const result = await client.getJobExecutionResult();

// The last running count of each page is its total.
const totals = new Map<string, number>();
for (const [page, n] of rows) totals.set(page, Math.max(totals.get(page) ?? 0, n));
const top = [...totals].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, 5);

console.log(`\n${rows.length} running counts for ${totals.size} pages; top pages:`);
for (const [page, n] of top) console.log(`  ${page.padEnd(4)} ${n}`);
const { checkpoints } = result;
console.log(
  `checkpoints completed: ${checkpoints.completed}, restarts: ${result.numRestarts}, ` +
    `restored from checkpoint: ${checkpoints.lastRestoredCheckpointId ?? 'none'}`,
);

// Failure-free expectation: every page counted 1..CLICKS/PAGES, each count exactly once.
const expected = CLICKS / PAGES;
const distinct = new Set(rows.map(([page, n]) => `${page}#${n}`)).size;
const exact =
  rows.length === CLICKS &&
  distinct === CLICKS &&
  totals.size === PAGES &&
  [...totals.values()].every((n) => n === expected);
console.log(
  exact
    ? `check: ${CLICKS} clicks, every page counted exactly ${expected} times, no duplicates, despite the failure: OK`
    : 'check: FAILED — the results differ from the failure-free run',
);
if (!exact) process.exitCode = 1;
