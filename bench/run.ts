/** `npm run bench`: runs every benchmark against its hand-written limit and prints the report. */

// Quiet the engine's logs before it loads (stdout's last line must be the JSON summary).
process.env['SLUICE_LOG_LEVEL'] ??= 'warn';

const { compare, formatJson, formatResult } = await import('./harness.js');
const { chainedStateless } = await import('./chained-stateless.js');
const { keyedExchange } = await import('./keyed-exchange.js');

/** Scales every record count, e.g. BENCH_SCALE=0.1 for a quick smoke run. */
const scale = Number(process.env['BENCH_SCALE'] ?? '1');
if (!(scale > 0)) throw new Error(`BENCH_SCALE must be a positive number, got ${process.env['BENCH_SCALE']}`);
const records = (n: number): number => Math.max(1000, Math.round(n * scale));

const timing = {
  repetitions: Number(process.env['BENCH_REPETITIONS'] ?? '5'),
  minSampleSeconds: 0.5 * Math.min(1, scale),
};

const comparisons = [chainedStateless(records(2_000_000)), keyedExchange(records(1_000_000))];

console.log(
  `sluice bench: node ${process.version}, ${timing.repetitions} repetitions of >= ${timing.minSampleSeconds}s ` +
    'after one warm-up; best sample of each',
);
const results = [];
for (const c of comparisons) {
  const result = await compare(c, timing);
  console.log(formatResult(result));
  results.push(result);
}
console.log(formatJson('sluice', results));
