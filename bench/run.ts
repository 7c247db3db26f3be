/**
 * `npm run bench`: runs every benchmark against its baseline and prints the report;
 * `npm run bench -- NAME...` runs only the benchmarks whose names start with one of the NAMEs.
 */

import type { ComparisonResult } from './harness.js';

// Quiet the engine's logs before it loads (stdout's last line must be the JSON summary).
process.env['SLUICE_LOG_LEVEL'] ??= 'warn';

// Jobs run inline unless a benchmark says otherwise: without this the package root would install
// local mode for this file (a user module), and every job would bundle the whole bench.
const { setDefaultPipelineExecutor } = await import('../src/api/execution.js');
const { LocalExecutor } = await import('../src/cluster/local-executor.js');
setDefaultPipelineExecutor(new LocalExecutor());

const { compare, formatJson, formatResult } = await import('./harness.js');
const { chainedStateless } = await import('./chained-stateless.js');
const { keyedExchange } = await import('./keyed-exchange.js');
const { clusterKeyedCount } = await import('./cluster-keyed-count.js');
const { clusterRecovery } = await import('./cluster-recovery.js');
const { checkpointOverhead } = await import('./checkpoint-overhead.js');
const { stateOps1m } = await import('./state-ops.js');
const { incrementalVsFull } = await import('./incremental-checkpoint.js');
const { checkpointBackpressure } = await import('./checkpoint-backpressure.js');
const { restoreLmdb } = await import('./restore-lmdb.js');
const { savepointFigures } = await import('./savepoint.js');
const { fileSinkVsPlain } = await import('./file-sink.js');
const { postgresSinkVsPlain } = await import('./postgres-sink.js');
const { nexmarkFigures } = await import('./nexmark.js');

/** Scales every record count, e.g. BENCH_SCALE=0.1 for a quick smoke run. */
const scale = Number(process.env['BENCH_SCALE'] ?? '1');
if (!(scale > 0)) throw new Error(`BENCH_SCALE must be a positive number, got ${process.env['BENCH_SCALE']}`);
const records = (n: number): number => Math.max(1000, Math.round(n * scale));

const timing = {
  repetitions: Number(process.env['BENCH_REPETITIONS'] ?? '5'),
  minSampleSeconds: 0.5 * Math.min(1, scale),
};

/** One benchmark: its name (for selection) and how to run it into results and report lines. */
interface Benchmark {
  readonly name: string;
  run(): Promise<{ readonly results: readonly ComparisonResult[]; readonly lines: readonly string[] }>;
}

const benchmarks: Benchmark[] = [
  {
    name: 'chained-stateless',
    run: async () => {
      const result = await compare(chainedStateless(records(2_000_000)), timing);
      return { results: [result], lines: [formatResult(result)] };
    },
  },
  {
    name: 'keyed-count-exchange-p2',
    run: async () => {
      const result = await compare(keyedExchange(records(1_000_000)), timing);
      return { results: [result], lines: [formatResult(result)] };
    },
  },
  {
    // Three figures from the same runs: checkpoint-overhead-1m-keys, checkpoint-sync-pause-1m-keys,
    // checkpoint-async-vs-limit.
    name: 'checkpoint-overhead-1m-keys',
    run: async () => {
      const outcome = await checkpointOverhead(records(15_000_000), records(1_000_000), {
        ...timing,
        repetitions: Math.min(timing.repetitions, 3),
      });
      return { results: outcome.results, lines: [...outcome.results.map(formatResult), ...outcome.lines] };
    },
  },
  {
    name: 'cluster-keyed-count-p2',
    run: async () => {
      const comparison = clusterKeyedCount(records(2_000_000));
      const result = await compare(comparison, timing);
      const skews = comparison.startupSkewsMs.join(', ');
      const capacities = comparison.capacities.map((c) => c.toFixed(2)).join(', ');
      return {
        results: [result],
        lines: [
          formatResult(result),
          `  (cluster: last task RUNNING after the first, ms: ${skews})`,
          `  (machine: CPU two processes got over one alone, after each cluster run, warm-up first: ${capacities}; ~2 = two free cores, ~1 = they shared one)`,
        ],
      };
    },
  },
  {
    name: 'cluster-recovery-100mb',
    run: async () => {
      const outcome = await clusterRecovery({
        stateBytes: Math.max(1, Math.round(100 * Math.min(1, scale))) * 2 ** 20,
      });
      return { results: outcome.results, lines: [...outcome.results.map(formatResult), ...outcome.lines] };
    },
  },
  {
    name: 'cluster-recovery-100mb-lmdb',
    run: async () => {
      const outcome = await clusterRecovery({
        stateBytes: Math.max(1, Math.round(100 * Math.min(1, scale))) * 2 ** 20,
        backend: 'lmdb',
      });
      return { results: outcome.results, lines: [...outcome.results.map(formatResult), ...outcome.lines] };
    },
  },
  {
    // Two figures: state-ops-hashmap, state-ops-lmdb.
    name: 'state-ops',
    run: async () => {
      const results: ComparisonResult[] = [];
      for (const comparison of stateOps1m(records(1_000_000)))
        results.push(await compare(comparison, { ...timing, repetitions: Math.min(timing.repetitions, 3) }));
      return { results, lines: results.map(formatResult) };
    },
  },
  {
    // Two figures from the same checkpoints: incremental-vs-full-1pct (size), ...-duration.
    name: 'incremental-vs-full-1pct',
    run: async () => {
      const outcome = await incrementalVsFull(records(1_000_000), Math.max(2, timing.repetitions));
      return { results: outcome.results, lines: [...outcome.results.map(formatResult), ...outcome.lines] };
    },
  },
  {
    // Four figures from the same runs: checkpoint-backpressure-aligned, -unaligned, -timeout and
    // -persisted-data.
    name: 'checkpoint-backpressure',
    run: async () => {
      const outcome = await checkpointBackpressure(Math.max(3, Math.round(8 * Math.min(1, scale))));
      return { results: outcome.results, lines: [...outcome.results.map(formatResult), ...outcome.lines] };
    },
  },
  {
    // The same two figures on the lmdb backend: incremental-vs-full-1pct-lmdb, ...-lmdb-duration.
    name: 'incremental-vs-full-1pct-lmdb',
    run: async () => {
      const outcome = await incrementalVsFull(records(1_000_000), Math.max(2, timing.repetitions), 'lmdb');
      return { results: outcome.results, lines: [...outcome.results.map(formatResult), ...outcome.lines] };
    },
  },
  {
    name: 'restore-1gb-lmdb',
    run: async () => {
      // 1 GB (not GiB): the snapshot's buffer then stays under 1 GiB instead of doubling to 2.
      const outcome = await restoreLmdb(1e9 * Math.min(1, scale), Math.min(timing.repetitions, 3));
      return { results: outcome.results, lines: [...outcome.results.map(formatResult), ...outcome.lines] };
    },
  },
  {
    // Three figures: savepoint-vs-checkpoint-1m-keys (duration), ...-size, restore-rescale-2-to-4-vs-same.
    name: 'savepoint',
    run: async () => {
      const outcome = await savepointFigures(records(1_000_000), Math.min(timing.repetitions, 3));
      return { results: outcome.results, lines: [...outcome.results.map(formatResult), ...outcome.lines] };
    },
  },
  {
    name: 'filesink-vs-plain',
    run: async () => {
      const result = await compare(fileSinkVsPlain(records(2_000_000)), timing);
      return { results: [result], lines: [formatResult(result)] };
    },
  },
  {
    name: 'postgres-sink-vs-plain',
    run: async () => {
      const result = await compare(postgresSinkVsPlain(records(500_000)), {
        ...timing,
        repetitions: Math.min(timing.repetitions, 3),
      });
      return { results: [result], lines: [formatResult(result)] };
    },
  },
  {
    // One figure per query (nexmark-q0 ... nexmark-q12) and nexmark-q0-vs-plain, nexmark-q5-vs-plain;
    // `npm run bench -- nexmark-q5` runs one query.
    name: 'nexmark',
    run: () => nexmarkFigures(scale, selected),
  },
];

const selected = process.argv.slice(2);
const chosen = benchmarks.filter(
  (b) =>
    selected.length === 0 ||
    selected.some((s) => b.name.startsWith(s) || (b.name === 'nexmark' && s.startsWith('nexmark-'))),
);
if (chosen.length === 0)
  throw new Error(
    `no benchmark matches ${selected.join(', ')}; the benchmarks are ${benchmarks.map((b) => b.name).join(', ')}`,
  );

console.log(
  `sluice bench: node ${process.version}, ${timing.repetitions} repetitions of >= ${timing.minSampleSeconds}s ` +
    'after one warm-up; best sample of each',
);
const results: ComparisonResult[] = [];
for (const b of chosen) {
  const outcome = await b.run();
  for (const line of outcome.lines) console.log(line);
  results.push(...outcome.results);
}
console.log(formatJson('sluice', results));
