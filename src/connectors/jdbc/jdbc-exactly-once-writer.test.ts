// max_prepared_transactions = 0 (PostgreSQL's default) is reported with how to fix it. The
// setting is server-wide and needs a restart to change, so the writer is pointed at a session
// that answers as such a server does, instead of reconfiguring the shared test server.
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { SluiceError } from '../../core/errors.js';
import { JdbcBatch } from './jdbc-batch.js';
import { JdbcExactlyOnceWriter } from './jdbc-exactly-once-writer.js';
import { JdbcExecutionOptions } from './jdbc-execution-options.js';
import type { PgSession } from './pg-connection.js';
import { SqlTemplate } from './sql-template.js';

/** A session of a server with `setting` as max_prepared_transactions; PREPARE fails as PostgreSQL's does at 0. */
function serverWith(setting: string): PgSession & { readonly statements: string[] } {
  const statements: string[] = [];
  const result = (rows: unknown[]) => ({ rows }) as unknown as pg.QueryResult<never>;
  return {
    statements,
    query: <R extends pg.QueryResultRow>(sql: string) => {
      statements.push(sql);
      if (sql === 'SHOW max_prepared_transactions')
        return Promise.resolve(result([{ max_prepared_transactions: setting }]) as pg.QueryResult<R>);
      if (sql.includes('PREPARE TRANSACTION'))
        return Promise.reject(
          Object.assign(new Error('prepared transactions are disabled'), { code: '55000' }),
        );
      return Promise.resolve(result([]) as pg.QueryResult<R>);
    },
    close: () => Promise.resolve(),
  };
}

function writerOn(session: PgSession): JdbcExactlyOnceWriter<number> {
  return new JdbcExactlyOnceWriter(
    new JdbcBatch<number>(
      new SqlTemplate('INSERT INTO t (i) VALUES (?)'),
      (_ps, i) => [i],
      JdbcExecutionOptions.builder().withBatchSize(1).build(),
    ),
    session,
    {
      ids: { prefix: 'p', operatorId: 'op' },
      subtask: 0,
      parallelism: 1,
      restoredCheckpointId: undefined,
      recoveredAndRollback: true,
      timeoutSec: undefined,
    },
  );
}

const context = { currentProcessingTime: () => 0, timestamp: () => null, currentWatermark: () => 0 };

async function failure(pending: void | PromiseLike<void>): Promise<SluiceError> {
  const error = await Promise.resolve(pending).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SluiceError);
  return error as SluiceError;
}

describe('JdbcExactlyOnceWriter on a server with max_prepared_transactions = 0', () => {
  it('fails the first write with SLUICE_CONNECTOR_MISCONFIGURED saying how to enable prepared transactions, before writing anything', async () => {
    const server = serverWith('0');
    const error = await failure(writerOn(server).write(1, context));
    expect(error.code).toBe('SLUICE_CONNECTOR_MISCONFIGURED');
    expect(error.message).toMatch(/max_prepared_transactions = 0/);
    expect(error.message).toMatch(/ALTER SYSTEM SET max_prepared_transactions = 64; then restart PostgreSQL/);
    expect(server.statements).toEqual(['SHOW max_prepared_transactions']);
  });

  it('reports a PREPARE refused because the setting dropped to 0 after the check the same way', async () => {
    const server = serverWith('64');
    const writer = writerOn(server);
    await writer.write(1, context);
    const error = await failure(writer.flush());
    expect(error.code).toBe('SLUICE_CONNECTOR_MISCONFIGURED');
    expect(error.message).toMatch(/ALTER SYSTEM SET max_prepared_transactions/);
    expect((error.cause as Error).message).toBe('prepared transactions are disabled');
  });
});
