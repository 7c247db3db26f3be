/**
 * postgres-sink-vs-plain: records/s into PostgreSQL through JdbcSink.exactlyOnceSink (a prepared
 * transaction per checkpoint, checkpoints every 1 s) vs a plain `pg` script doing the same
 * batched inserts (multi-row INSERT of the same batch size, a transaction committed every 1 s).
 */
import pg from 'pg';
import {
  DataGeneratorSource,
  JdbcConnectionOptions,
  JdbcExactlyOnceOptions,
  JdbcExecutionOptions,
  JdbcSink,
  StreamExecutionEnvironment,
  WatermarkStrategy,
  type JdbcStatement,
} from '../src/index.js';
import { expectCount, type Comparison } from './harness.js';

const URL = process.env['SLUICE_BENCH_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const TABLE = 'sluice_bench_postgres_sink';
const BATCH = 5000;

interface Row {
  readonly id: number;
  readonly name: string;
  readonly amount: number;
}
const row = (i: number): Row => ({ id: i, name: `user-${i % 1000}`, amount: (i * 7) % 10_000 });

async function withClient<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

const resetTable = () =>
  withClient((c) =>
    c.query(
      `DROP TABLE IF EXISTS ${TABLE}; CREATE UNLOGGED TABLE ${TABLE} (id bigint NOT NULL, name text NOT NULL, amount int NOT NULL)`,
    ),
  );
const rowCount = () =>
  withClient(async (c) =>
    Number((await c.query<{ n: string }>(`SELECT count(*) AS n FROM ${TABLE}`)).rows[0]!.n),
  );

async function runJob(records: number): Promise<number> {
  await resetTable();
  const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(1);
  env.enableCheckpointing(1000);
  env
    .fromSource(new DataGeneratorSource(row, records), WatermarkStrategy.noWatermarks(), 'rows')
    .sinkTo(
      JdbcSink.exactlyOnceSink(
        `INSERT INTO ${TABLE} (id, name, amount) VALUES (?, ?, ?)`,
        (ps: JdbcStatement, r: Row) => {
          ps.setLong(1, r.id);
          ps.setString(2, r.name);
          ps.setInt(3, r.amount);
        },
        JdbcExecutionOptions.builder().withBatchSize(BATCH).build(),
        JdbcExactlyOnceOptions.builder().withTransactionIdPrefix('bench').build(),
        new JdbcConnectionOptions.JdbcConnectionOptionsBuilder().withUrl(URL).build(),
      ),
    )
    .uid('bench-pg-sink');
  await env.execute('bench: postgres-sink');
  expectCount('postgres-sink rows', await rowCount(), records);
  return records;
}

/** The plain script: parameterized multi-row inserts of BATCH rows, committed every second. */
async function runPlain(records: number): Promise<number> {
  await resetTable();
  await withClient(async (c) => {
    const tuples = (n: number) =>
      Array.from({ length: n }, (_, i) => `($${3 * i + 1}, $${3 * i + 2}, $${3 * i + 3})`).join(',');
    const full = `INSERT INTO ${TABLE} (id, name, amount) VALUES ${tuples(BATCH)}`;
    let committedAt = Date.now();
    await c.query('BEGIN');
    for (let start = 0; start < records; start += BATCH) {
      const n = Math.min(BATCH, records - start);
      const params: unknown[] = [];
      for (let i = start; i < start + n; i++) {
        const r = row(i);
        params.push(r.id, r.name, r.amount);
      }
      await c.query(
        n === BATCH ? full : `INSERT INTO ${TABLE} (id, name, amount) VALUES ${tuples(n)}`,
        params,
      );
      if (Date.now() - committedAt >= 1000) {
        await c.query('COMMIT; BEGIN');
        committedAt = Date.now();
      }
    }
    await c.query('COMMIT');
  });
  expectCount('postgres-sink baseline rows', await rowCount(), records);
  return records;
}

export function postgresSinkVsPlain(records: number): Comparison {
  return {
    name: 'postgres-sink-vs-plain',
    description: `DataGenerator → JdbcSink.exactlyOnceSink (PREPARE/COMMIT PREPARED), checkpoints every 1 s, batch ${BATCH}, ${records} rows`,
    baselineDescription: `plain pg script: multi-row INSERTs of ${BATCH} rows, a transaction committed every 1 s`,
    subject: () => runJob(records),
    baseline: () => runPlain(records),
    goal: 0.7,
    close: () => withClient((c) => c.query(`DROP TABLE IF EXISTS ${TABLE}`)).then(() => {}),
  };
}
