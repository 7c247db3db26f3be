/**
 * Nexmark (issue 15 point 6): each query of examples/nexmark over the Nexmark generator, inline at
 * parallelism 1 with exactly-once checkpoints every 10 s on the hashmap backend, in events per
 * second per core used (CPU time of this process over the run: the engine, the generator, GC and
 * the checkpoint I/O threads), beside Flink's published per-core figure; and plain TypeScript
 * loops of q0 and q5 over the same events, as the same-run limit.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { HashMapStateBackend, StreamExecutionEnvironment, type NexmarkConfiguration } from '../src/index.js';
import { nexmarkEvents } from '../examples/nexmark/nexmark-views.js';
import { QUERIES, type QueryName } from '../examples/nexmark/queries.js';
import { expectCount, type ComparisonResult } from './harness.js';
import { plainQ0, plainQ5 } from './nexmark-plain.js';

/**
 * Flink's published throughput per core, in events/s: the higher of nexmark/nexmark's GUIDE_V1
 * (Flink 1.13-2.0, 8 x 1-slot TMs, RocksDB, checkpoints every 3 min) and GUIDE_V2 (Flink >= 2.0,
 * ForSt/RocksDB, checkpoints every 30 s; throughput / cores) tables, Apache-2.0.
 */
export const FLINK_PER_CORE: Record<QueryName, { readonly v1: number; readonly v2: number }> = {
  q0: { v1: 155_000, v2: 379_000 },
  q1: { v1: 158_000, v2: 395_000 },
  q2: { v1: 175_000, v2: 414_000 },
  q3: { v1: 152_000, v2: 219_000 },
  q4: { v1: 34_300, v2: 28_000 },
  q5: { v1: 22_100, v2: 74_500 },
  q7: { v1: 12_300, v2: 22_900 },
  q8: { v1: 146_000, v2: 162_000 },
  q11: { v1: 39_700, v2: 46_000 },
  q12: { v1: 75_700, v2: 194_000 },
};

/**
 * Events per measured run at BENCH_SCALE=1, sized for 3 to 8 s of one core each. The event-time rate is Flink's V1 TPS, 10 M/s, so the windows hold what Flink's did.
 */
const EVENTS: Record<QueryName, number> = {
  q0: 6_000_000,
  q1: 6_000_000,
  q2: 6_000_000,
  q3: 4_000_000,
  q4: 1_000_000,
  q5: 1_500_000,
  q7: 2_000_000,
  q8: 3_000_000,
  q11: 1_500_000,
  q12: 3_000_000,
};
const EVENT_RATE = 10_000_000;

/** Rows the query emitted in the current run (every sink subtask adds here: inline, one process). */
let rows = 0;

/** What one run measured. */
export interface NexmarkRun {
  readonly events: number;
  readonly seconds: number;
  /** CPU seconds over wall seconds. */
  readonly cores: number;
  readonly perCore: number;
  readonly checkpoints: number;
  readonly failedCheckpoints: number;
}

/** Measures `run` (which processes `events`) by wall clock and this process's CPU time. */
export async function measure(
  events: number,
  run: () => Promise<{ completed: number; failed: number }>,
): Promise<NexmarkRun> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const { completed, failed } = await run();
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  const cpuSeconds = (used.user + used.system) / 1e6;
  return {
    events,
    seconds,
    cores: cpuSeconds / seconds,
    perCore: events / cpuSeconds,
    checkpoints: completed,
    failedCheckpoints: failed,
  };
}

async function runQuery(
  query: QueryName,
  options: NexmarkConfiguration,
  dir: string,
): Promise<{ completed: number; failed: number }> {
  const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(1);
  env.setStateBackend(new HashMapStateBackend());
  env.enableCheckpointing(10_000);
  env.getCheckpointConfig().setCheckpointStorage(pathToFileURL(dir).href);
  rows = 0;
  QUERIES[query](nexmarkEvents(env, options)).addSink(() => {
    rows++;
  });
  const client = await env.executeAsync(`bench: nexmark ${query}`);
  await client.getJobExecutionResult();
  const counts = client.getCheckpointStats()?.counts;
  return { completed: counts?.completed ?? 0, failed: counts?.failed ?? 0 };
}

function result(
  name: string,
  description: string,
  baselineDescription: string,
  value: number,
  baseline: number,
  goal: number,
): ComparisonResult {
  return {
    name,
    description,
    baselineDescription,
    unit: 'records/s',
    goal,
    value,
    baseline,
    ratio: value / baseline,
    subjectSamples: [value],
    baselineSamples: [baseline],
  };
}

const perCore = (r: NexmarkRun): string =>
  `${(r.perCore / 1000).toFixed(1)} K ev/s per core (${r.events.toLocaleString('en')} events in ${r.seconds.toFixed(2)} s on ${r.cores.toFixed(2)} cores, ${r.checkpoints} checkpoints completed, ${r.failedCheckpoints} failed)`;

/** Every query, then the plain limits of q0 and q5; `scale` multiplies the event counts. */
export async function nexmarkFigures(
  scale: number,
  only: readonly string[] = [],
): Promise<{ results: ComparisonResult[]; lines: string[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-nexmark-'));
  const results: ComparisonResult[] = [];
  const lines: string[] = [];
  const measured = new Map<QueryName, NexmarkRun>();
  try {
    const queries = (Object.keys(QUERIES) as QueryName[]).filter(
      (q) => only.length === 0 || only.some((o) => `nexmark-${q}` === o || o === 'nexmark'),
    );
    for (const query of queries) {
      const events = Math.max(10_000, Math.round(EVENTS[query] * scale));
      const options = { numEvents: events, firstEventRate: EVENT_RATE };
      // Warm-up (JIT), untimed, on a fifth of the events.
      await runQuery(query, { ...options, numEvents: Math.round(events / 5) }, join(dir, `${query}-warm-up`));
      const run = await measure(events, () => runQuery(query, options, join(dir, query)));
      // q0 emits every bid: 46 of each 50 events, the first 4 of a block being a person and 3 auctions.
      if (query === 'q0')
        expectCount('nexmark q0 rows', rows, Math.floor(events / 50) * 46 + Math.max(0, (events % 50) - 4));
      measured.set(query, run);
      const flink = FLINK_PER_CORE[query];
      const baseline = Math.max(flink.v1, flink.v2);
      results.push(
        result(
          `nexmark-${query}`,
          `Nexmark ${query}, events/s per core used, hashmap, exactly-once checkpoints every 10 s`,
          `Flink's published per-core figure (best of GUIDE_V1 ${flink.v1 / 1000} K, GUIDE_V2 ${flink.v2 / 1000} K)`,
          run.perCore,
          baseline,
          1,
        ),
      );
      lines.push(
        `nexmark-${query}: ${perCore(run)}; Flink ${baseline / 1000} K; ratio ${(run.perCore / baseline).toFixed(2)}`,
      );
    }
    for (const [query, plain] of [
      ['q0', plainQ0],
      ['q5', plainQ5],
    ] as const) {
      const job = measured.get(query);
      if (job === undefined) continue;
      const options = { numEvents: job.events, firstEventRate: EVENT_RATE };
      plain({ ...options, numEvents: Math.round(job.events / 5) });
      const limit = await measure(job.events, () => {
        plain(options);
        return Promise.resolve({ completed: 0, failed: 0 });
      });
      results.push(
        result(
          `nexmark-${query}-vs-plain`,
          `Nexmark ${query} in Sluice, events/s per core (as nexmark-${query})`,
          `a plain TypeScript loop of ${query} over the same generated events, per core`,
          job.perCore,
          limit.perCore,
          0.5,
        ),
      );
      lines.push(
        `nexmark-${query}-vs-plain: plain loop ${perCore(limit)}; Sluice / plain ${(job.perCore / limit.perCore).toFixed(2)}`,
      );
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return { results, lines };
}
