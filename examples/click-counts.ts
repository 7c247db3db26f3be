/**
 * Demo: counts clicks per page with keyed state, in parallel, and checks the result.
 * Run it with `npm start` (which is `sluice run examples/click-counts.ts`).
 */
import {
  DataGeneratorSource,
  KeyedProcessFunction,
  StreamExecutionEnvironment,
  ValueStateDescriptor,
} from 'sluice';
import type { Collector, KeyedProcessContext, RuntimeContext, ValueState } from 'sluice';

interface Click {
  page: string;
  user: number;
}

const CLICKS = 300_000;
const PAGES = 50;

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

const env = StreamExecutionEnvironment.getExecutionEnvironment();
env.setParallelism(3);

const rows = await env
  .fromSource(
    new DataGeneratorSource((i): Click => ({ page: `p${(i * 7) % PAGES}`, user: i % 1000 }), CLICKS, {
      recordsPerSecond: 60_000,
    }),
    'clicks',
  )
  .keyBy((c) => c.page)
  .process(new RunningCount())
  .uid('running-count')
  .name('running count')
  .executeAndCollect('click-counts');

// The last running count of each page is its total.
const totals = new Map<string, number>();
for (const [page, n] of rows) totals.set(page, Math.max(totals.get(page) ?? 0, n));
const top = [...totals].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, 5);

console.log(`\n${rows.length} running counts for ${totals.size} pages; top pages:`);
for (const [page, n] of top) console.log(`  ${page.padEnd(4)} ${n}`);

const expected = CLICKS / PAGES;
const exact =
  rows.length === CLICKS && [...totals.values()].every((n) => n === expected) && totals.size === PAGES;
console.log(
  exact
    ? `check: every page counted exactly ${expected} clicks, ${CLICKS} in total: OK`
    : 'check: FAILED — counts differ from the expectation',
);
if (!exact) process.exitCode = 1;
