/** Figure (a) and its limit (c): a chained source → map → filter → sink at parallelism 1 vs a plain loop. */
import { StreamExecutionEnvironment } from '../src/index.js';
import { CountingSink, expectCount, type Comparison } from './harness.js';

/** The record the map produces. */
export interface Click {
  readonly id: number;
  readonly page: string;
  readonly value: number;
}

/** The map: index → a small object (shared by the job and the baseline). */
export function toClick(i: number): Click {
  return { id: i, page: `p${i % 50}`, value: i * 2 };
}

/** The filter: keeps every other record (shared by the job and the baseline). */
export function keep(c: Click): boolean {
  return c.value % 4 === 0;
}

/** Runs the chained job over `records` records; returns how many it read. */
async function runJob(records: number): Promise<number> {
  const sink = new CountingSink<Click>();
  sink.reset();
  const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(1);
  env
    .fromSequence(0, records - 1)
    .map(toClick)
    .filter(keep)
    .sinkTo(sink);
  const graph = env.getJobGraph();
  if (graph.vertices.length !== 1)
    throw new Error(`expected one chained task, got ${graph.vertices.length} vertices`);
  await env.execute('bench: chained-stateless');
  expectCount('chained-stateless sink', sink.count, Math.ceil(records / 2));
  return records;
}

/** The same work by hand: generate, map, filter, count. */
function runLoop(records: number): number {
  let count = 0;
  for (let i = 0; i < records; i++) {
    const c = toClick(i);
    if (keep(c)) count++;
  }
  expectCount('chained-stateless baseline', count, Math.ceil(records / 2));
  return records;
}

/** The comparison over `records` records. */
export function chainedStateless(records: number): Comparison {
  return {
    name: 'chained-stateless',
    description: `fromSequence → map → filter → sink, parallelism 1, one chained task, ${records} records`,
    baselineDescription: 'plain loop: same map and filter functions, count',
    subject: () => runJob(records),
    baseline: () => runLoop(records),
  };
}
