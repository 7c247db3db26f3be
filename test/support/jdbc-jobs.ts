/**
 * The PostgreSQL connector tests' job: generated events → keyBy → a keyed running count (state)
 * → a JDBC sink, with failures injected in the keyed function. The failure-free output is one
 * row per (key, count) for counts 1..n of each key.
 */
import pg from 'pg';
import {
  DataGeneratorSource,
  KeyedProcessFunction,
  RestartStrategies,
  ValueStateDescriptor,
  WatermarkStrategy,
  type Collector,
  type KeyedProcessContext,
  type RuntimeContext,
  type Sink,
  type StreamExecutionEnvironment,
  type ValueState,
} from 'sluice';
import { POSTGRES_URL } from './external-servers.js';
import { envAt } from './helpers.js';

export interface Counted {
  readonly k: number;
  readonly c: number;
}

/** Injected failures: shared by every subtask and attempt of the job (tests run it inline). */
export const failures = { planned: [] as number[], fired: 0, done: new Set<number>(), processed: 0 };

class RunningCount extends KeyedProcessFunction<number, number, Counted> {
  private count!: ValueState<number>;
  open(ctx: RuntimeContext): void {
    this.count = ctx.getState(new ValueStateDescriptor<number>('count'));
  }
  processElement(i: number, ctx: KeyedProcessContext<number>, out: Collector<Counted>): void {
    if (failures.planned.includes(i) && !failures.done.has(i)) {
      failures.done.add(i);
      failures.fired++;
      throw new Error(`injected failure at record ${i}`);
    }
    failures.processed++;
    const c = (this.count.value() ?? 0) + 1;
    this.count.update(c);
    out.collect({ k: ctx.getCurrentKey(), c });
  }
}

/** The job: `records` numbers at `rate`/s over `keys` keys, checkpointing every `intervalMs`. */
export function countingJob(
  sink: Sink<Counted>,
  settings: { records: number; keys: number; rate: number; parallelism: number; intervalMs: number },
): StreamExecutionEnvironment {
  const env = envAt(settings.parallelism);
  env.enableCheckpointing(settings.intervalMs);
  env.setRestartStrategy(RestartStrategies.fixedDelayRestart(20, 0));
  env
    .fromSource(
      new DataGeneratorSource((i) => i, settings.records, { recordsPerSecond: settings.rate }),
      WatermarkStrategy.noWatermarks(),
      'numbers',
    )
    .keyBy((i) => i % settings.keys)
    .process(new RunningCount())
    .sinkTo(sink)
    .uid('pg-sink');
  return env;
}

/** Every (key, count) row a failure-free run writes. */
export function expectedRows(records: number, keys: number): Counted[] {
  const counts = new Array<number>(keys).fill(0);
  return Array.from({ length: records }, (_, i) => ({ k: i % keys, c: ++counts[i % keys]! }));
}

/** A client of the test database, for set-up, checks and cutting the sink's connections. */
export async function testClient(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  client.on('error', () => {});
  await client.connect();
  return client;
}

/** Terminates the sink's backends (their application_name); returns how many were cut. */
export async function cutSinkConnections(client: pg.Client): Promise<number> {
  const { rows } = await client.query<{ cut: boolean }>(
    "SELECT pg_terminate_backend(pid) AS cut FROM pg_stat_activity WHERE application_name LIKE 'sluice-jdbc-sink%' AND datname = current_database() AND pid <> pg_backend_pid()",
  );
  return rows.filter((r) => r.cut).length;
}
