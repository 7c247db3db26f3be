// JdbcSink against the real PostgreSQL: the at-least-once upsert sink (batched, flushed at each
// checkpoint, retrying through a cut connection) and the builders' validation.
import { describe, expect, it } from 'vitest';
import {
  JdbcConnectionOptions,
  JdbcExecutionOptions,
  JdbcSink,
  type JdbcStatement,
  RestartStrategies,
  SluiceError,
} from 'sluice';
import {
  resetFailuresBeforeEach,
  testDatabaseOptions,
  useTestDatabase,
} from '../support/connector-servers.js';
import { POSTGRES_URL, requireServer, uniqueName } from '../support/external-servers.js';
import { throwsWith } from '../support/helpers.js';
import {
  countingJob,
  cutSinkConnections,
  expectedRows,
  failures,
  type Counted,
} from '../support/jdbc-jobs.js';

const available = await requireServer('postgres');

const connection = () => testDatabaseOptions().withDriverName('org.postgresql.Driver').build();

describe.runIf(available)('JdbcSink.sink (at-least-once, upsert)', () => {
  const db = useTestDatabase();
  resetFailuresBeforeEach();
  const table = (columns: string) => db.table('sink', columns);

  it('upserts running counts through failures and a cut connection: each key ends at its total', async () => {
    const name = await table('k int PRIMARY KEY, c int NOT NULL');
    const records = 3000;
    const keys = 17;
    failures.planned = [700, 1500];
    const sink = JdbcSink.sink(
      `INSERT INTO ${name} (k, c) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET c = EXCLUDED.c`,
      (ps: JdbcStatement, r: Counted) => {
        ps.setInt(1, r.k);
        ps.setInt(2, r.c);
      },
      JdbcExecutionOptions.builder().withBatchSize(50).withBatchIntervalMs(200).withMaxRetries(3).build(),
      connection(),
    );
    const env = countingJob(sink, { records, keys, rate: 3000, parallelism: 2, intervalMs: 100 });
    const client2 = await env.executeAsync();
    // Cut the sink's connections once rows arrive: the writer reconnects and retries the batch.
    let cut = 0;
    const deadline = Date.now() + 30_000;
    while (cut === 0 && Date.now() < deadline) {
      const { rows } = await db.client.query<{ n: string }>(`SELECT count(*) AS n FROM ${name}`);
      if (Number(rows[0]!.n) > 0) cut = await cutSinkConnections(db.client);
    }
    expect(cut).toBeGreaterThan(0);
    await client2.getJobExecutionResult();
    expect(failures.fired).toBe(2);
    const { rows } = await db.client.query<Counted>(`SELECT k, c FROM ${name} ORDER BY k`);
    const totals = new Map<number, number>();
    for (const r of expectedRows(records, keys)) totals.set(r.k, r.c);
    expect(rows).toEqual([...totals].map(([k, c]) => ({ k, c })));
  });

  it('takes the parameters as an array returned by the statement builder, and a postgres:// URL', async () => {
    const name = await table('k int, c int');
    const sink = JdbcSink.sink<Counted>(
      `INSERT INTO ${name} (k, c) VALUES (?, ?)`,
      (_ps, r) => [r.k, r.c],
      new JdbcConnectionOptions.JdbcConnectionOptionsBuilder().withUrl(POSTGRES_URL).build(),
    );
    const env = countingJob(sink, { records: 200, keys: 3, rate: 100_000, parallelism: 1, intervalMs: 1000 });
    await env.execute();
    const { rows } = await db.client.query<Counted>(`SELECT k, c FROM ${name} ORDER BY k, c`);
    expect(rows).toEqual(expectedRows(200, 3).sort((a, b) => a.k - b.k || a.c - b.c));
  });

  it('fails the job with a typed error naming the statement when PostgreSQL rejects it', async () => {
    const sink = JdbcSink.sink<Counted>(
      `INSERT INTO ${uniqueName('missing')} (k, c) VALUES (?, ?)`,
      (_ps, r) => [r.k, r.c],
      JdbcExecutionOptions.builder().withMaxRetries(0).build(),
      connection(),
    );
    const env = countingJob(sink, { records: 10, keys: 2, rate: 100_000, parallelism: 1, intervalMs: 1000 });
    env.setRestartStrategy(RestartStrategies.noRestart());
    const error = await env.execute().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SluiceError);
    expect(JSON.stringify(String((error as Error).message) + String((error as Error).cause))).toMatch(
      /does not exist/,
    );
  });
});

describe('JdbcSink builders', () => {
  it('reject a non-PostgreSQL URL, a missing URL and bad options with typed errors', () => {
    const builder = () => new JdbcConnectionOptions.JdbcConnectionOptionsBuilder();
    expect(
      throwsWith(() => builder().withUrl('jdbc:mysql://h/db').build(), 'SLUICE_PROGRAM_INVALID').message,
    ).toMatch(/PostgreSQL/);
    throwsWith(() => builder().build(), 'SLUICE_PROGRAM_INVALID');
    throwsWith(() => JdbcExecutionOptions.builder().withBatchSize(0), 'SLUICE_PROGRAM_INVALID');
    throwsWith(
      () => JdbcSink.sink('INSERT INTO t VALUES (?)', () => {}, undefined as never),
      'SLUICE_PROGRAM_INVALID',
    );
  });
});
