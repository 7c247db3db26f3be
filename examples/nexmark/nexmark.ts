/**
 * Runs one Nexmark query on the Nexmark generator:
 * `npx sluice run examples/nexmark/nexmark.ts --query q5 [--events 100000] [--rate 10000] [--sink print|blackhole]`.
 * `--rate` is the event-time rate (events per second of `dateTime`); the source runs as fast as
 * the job takes it. With `--sink blackhole` (Nexmark's sink) only the row count is printed.
 */
import { ParameterTool, StreamExecutionEnvironment } from 'sluice';
import { nexmarkEvents } from './nexmark-views.js';
import { QUERIES, type QueryName } from './queries.js';

const params = ParameterTool.fromArgs(process.argv.slice(2));
const query = params.get('query', 'q0');
if (!(query in QUERIES))
  throw new Error(`--query must be one of ${Object.keys(QUERIES).join(', ')}, got ${query}.`);
const sink = params.get('sink', 'print');
if (sink !== 'print' && sink !== 'blackhole')
  throw new Error(`--sink must be print or blackhole, got ${sink}.`);

const env = StreamExecutionEnvironment.getExecutionEnvironment();
env.getConfig().setGlobalJobParameters(params);
const events = nexmarkEvents(env, {
  numEvents: params.getLong('events', 100_000),
  firstEventRate: params.getDouble('rate', 10_000),
});
const rows = QUERIES[query as QueryName](events);
if (sink === 'print') rows.print();
else rows.addSink(() => {});
const result = await env.execute(`Nexmark ${query}`);
console.log(`Nexmark ${query} finished in ${result.getNetRuntime()} ms`);
