// JdbcSink.exactlyOnceSink against the real PostgreSQL: source → keyBy → running count → sink
// with user-function failures and cut connections ends with every row exactly once; rows stay
// invisible to other connections until their checkpoint completes; prepared transactions left
// behind by a crash are rolled back on start.
import { beforeAll, describe, expect, it } from 'vitest';
import { JdbcExactlyOnceOptions, JdbcExecutionOptions, JdbcSink, type JdbcStatement } from 'sluice';
import { operatorIdFromUid } from '../../src/graph/operator-ids.js';
import {
  resetFailuresBeforeEach,
  testDatabaseOptions,
  useTestDatabase,
} from '../support/connector-servers.js';
import { requireServer, uniqueName } from '../support/external-servers.js';
import { expectSameMultiset } from '../support/helpers.js';
import {
  countingJob,
  cutSinkConnections,
  expectedRows,
  failures,
  type Counted,
} from '../support/jdbc-jobs.js';

const available = await requireServer('postgres');

describe.runIf(available)('JdbcSink.exactlyOnceSink', () => {
  const db = useTestDatabase();
  resetFailuresBeforeEach();
  beforeAll(async () => {
    const { rows } = await db.client.query<{ m: string }>(
      'SELECT current_setting($$max_prepared_transactions$$) AS m',
    );
    if (Number(rows[0]!.m) === 0)
      throw new Error('max_prepared_transactions = 0: run scripts/setup-postgres.sh first');
  });
  const table = () => db.table('eo', 'k int NOT NULL, c int NOT NULL');
  const count = async (name: string) =>
    Number((await db.client.query<{ n: string }>(`SELECT count(*) AS n FROM ${name}`)).rows[0]!.n);
  const prepared = async (prefix: string) =>
    (
      await db.client.query<{ gid: string }>(`SELECT gid FROM pg_prepared_xacts WHERE gid LIKE $1`, [
        `${prefix}:%`,
      ])
    ).rows.map((r) => r.gid);

  function sink(name: string, prefix: string, batchSize = 40) {
    return JdbcSink.exactlyOnceSink(
      `INSERT INTO ${name} (k, c) VALUES (?, ?)`,
      (ps: JdbcStatement, r: Counted) => {
        ps.setInt(1, r.k);
        ps.setInt(2, r.c);
      },
      JdbcExecutionOptions.builder().withBatchSize(batchSize).withMaxRetries(0).build(),
      JdbcExactlyOnceOptions.builder().withTransactionIdPrefix(prefix).build(),
      testDatabaseOptions().build(),
    );
  }

  it('writes every row exactly once through user-function failures and cut connections', async () => {
    const name = await table();
    const prefix = uniqueName('t');
    const records = 4000;
    const keys = 23;
    failures.planned = [600, 1300, 2900];
    const env = countingJob(sink(name, prefix), {
      records,
      keys,
      rate: 2500,
      parallelism: 2,
      intervalMs: 100,
    });
    const job = await env.executeAsync();
    // Cut the sink's connections twice, each time once more rows are committed.
    let cuts = 0;
    let seen = 0;
    const deadline = Date.now() + 60_000;
    while (cuts < 2 && Date.now() < deadline) {
      const n = await count(name);
      if (n > seen && (await cutSinkConnections(db.client)) > 0) {
        cuts++;
        seen = n + 200;
      }
    }
    expect(cuts).toBe(2);
    await job.getJobExecutionResult();
    expect(failures.fired).toBe(3);
    const { rows } = await db.client.query<Counted>(`SELECT k, c FROM ${name}`);
    expectSameMultiset(rows, expectedRows(records, keys));
    expect(await prepared(prefix)).toEqual([]);
  });

  it('keeps rows invisible to other connections until their checkpoint completes', async () => {
    const name = await table();
    const prefix = uniqueName('t');
    // No checkpoint before the end: everything is one open transaction until the final commit.
    const env = countingJob(sink(name, prefix, 10), {
      records: 600,
      keys: 5,
      rate: 600,
      parallelism: 1,
      intervalMs: 3_600_000,
    });
    const job = await env.executeAsync();
    let openSeen = false;
    const deadline = Date.now() + 30_000;
    while (!openSeen && Date.now() < deadline) {
      const { rows } = await db.client.query<{ n: string }>(
        "SELECT count(*) AS n FROM pg_stat_activity WHERE application_name LIKE 'sluice-jdbc-sink%' AND state = 'idle in transaction' AND datname = current_database()",
      );
      // The sink's transaction holds rows (its first batch is in) while this connection sees none.
      if (Number(rows[0]!.n) > 0) {
        expect(await count(name)).toBe(0);
        openSeen = true;
      }
    }
    expect(openSeen).toBe(true);
    await job.getJobExecutionResult();
    expect(await count(name)).toBe(600);
  });

  it('rolls back prepared transactions a crashed run left after its last checkpoint', async () => {
    const name = await table();
    const prefix = uniqueName('t');
    const operatorId = operatorIdFromUid('pg-sink');
    // A crashed run's leftover: prepared for a checkpoint that never completed.
    const leftover = `${prefix}:${operatorId}:0:3:0`;
    await db.client.query(`BEGIN; INSERT INTO ${name} VALUES (-1, -1); PREPARE TRANSACTION '${leftover}'`);
    expect(await prepared(prefix)).toEqual([leftover]);
    const env = countingJob(sink(name, prefix), {
      records: 300,
      keys: 4,
      rate: 100_000,
      parallelism: 1,
      intervalMs: 50,
    });
    await env.execute();
    expect(await prepared(prefix)).toEqual([]);
    const { rows } = await db.client.query<Counted>(`SELECT k, c FROM ${name}`);
    expectSameMultiset(rows, expectedRows(300, 4));
  });
});
