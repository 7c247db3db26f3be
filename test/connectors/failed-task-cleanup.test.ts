// A failed task closes its operators (Flink's task cleanup): after injected failures and
// restarts, the JDBC sink's connections of the failed attempts are gone and every opened user
// function was closed; a job that fails for good leaves no connection behind either.
import type pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  DataGeneratorSource,
  JdbcConnectionOptions,
  JdbcExecutionOptions,
  JdbcSink,
  KeyedProcessFunction,
  RestartStrategies,
  WatermarkStrategy,
  type Collector,
  type KeyedProcessContext,
} from 'sluice';
import { POSTGRES_URL, requireServer, uniqueName } from '../support/external-servers.js';
import { envAt } from '../support/helpers.js';
import { testClient } from '../support/jdbc-jobs.js';

const available = await requireServer('postgres');

/** Shared by every subtask and attempt (the job runs inline). */
const lifecycle = { opened: 0, closed: 0, failAt: new Set<number>(), failed: 0 };

class Failing extends KeyedProcessFunction<number, number, number> {
  open(): void {
    lifecycle.opened++;
  }
  processElement(i: number, _ctx: KeyedProcessContext<number>, out: Collector<number>): void {
    if (lifecycle.failAt.delete(i)) {
      lifecycle.failed++;
      throw new Error(`injected failure at record ${i}`);
    }
    out.collect(i);
  }
  close(): void {
    lifecycle.closed++;
  }
}

describe.runIf(available)('a failed task closes its operators', () => {
  let client: pg.Client;
  const tables: string[] = [];
  beforeAll(async () => {
    client = await testClient();
  });
  afterAll(async () => {
    for (const t of tables) await client.query(`DROP TABLE IF EXISTS ${t}`);
    await client?.end();
  });
  beforeEach(() => {
    lifecycle.opened = 0;
    lifecycle.closed = 0;
    lifecycle.failed = 0;
    lifecycle.failAt.clear();
  });

  /** A job writing numbers through JdbcSink.sink, its sessions named `app` in pg_stat_activity. */
  async function job(app: string, records: number, failAt: number[]) {
    const name = uniqueName('cleanup');
    tables.push(name);
    await client.query(`CREATE TABLE ${name} (i int PRIMARY KEY)`);
    for (const i of failAt) lifecycle.failAt.add(i);
    const env = envAt(2);
    env.enableCheckpointing(50);
    env
      .fromSource(
        new DataGeneratorSource((i) => i, records, { recordsPerSecond: 4000 }),
        WatermarkStrategy.noWatermarks(),
        'numbers',
      )
      .keyBy((i) => i % 5)
      .process(new Failing())
      .sinkTo(
        JdbcSink.sink<number>(
          `INSERT INTO ${name} (i) VALUES (?) ON CONFLICT (i) DO NOTHING`,
          (_ps, i) => [i],
          JdbcExecutionOptions.builder().withBatchSize(20).withMaxRetries(0).build(),
          new JdbcConnectionOptions.JdbcConnectionOptionsBuilder()
            .withUrl(`${POSTGRES_URL}?ApplicationName=${app}`)
            .build(),
        ),
      );
    return { env, name };
  }

  const sessions = async (app: string) =>
    Number(
      (
        await client.query<{ n: string }>(
          'SELECT count(*) AS n FROM pg_stat_activity WHERE application_name LIKE $1',
          [`${app}%`],
        )
      ).rows[0]!.n,
    );

  /** Polls until the app's sessions are gone (a closed client ends its session asynchronously). */
  async function sessionsDrainTo0(app: string): Promise<void> {
    const deadline = Date.now() + 10_000;
    let n = await sessions(app);
    while (n > 0 && Date.now() < deadline) n = await sessions(app);
    expect(n, `sessions of ${app} left open`).toBe(0);
  }

  it('after failures and restarts, no session of a failed attempt is left and every open was closed', async () => {
    const app = uniqueName('sluice_cleanup');
    const records = 900;
    const { env, name } = await job(app, records, [300, 600]);
    env.setRestartStrategy(RestartStrategies.fixedDelayRestart(5, 0));
    await env.execute();
    expect(lifecycle.failed).toBe(2);
    // Each attempt opened the function in both subtasks: 3 attempts.
    expect(lifecycle.opened).toBe(6);
    expect(lifecycle.closed).toBe(lifecycle.opened);
    await sessionsDrainTo0(app);
    const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${name}`);
    expect(Number(rows[0]!.n)).toBe(records);
  });

  it('a job that fails for good closes its operators and its sink sessions', async () => {
    const app = uniqueName('sluice_cleanup');
    const { env } = await job(app, 600, [400]);
    env.setRestartStrategy(RestartStrategies.noRestart());
    await expect(env.execute()).rejects.toThrow(/injected failure at record 400/);
    expect(lifecycle.opened).toBe(2);
    expect(lifecycle.closed).toBe(2);
    await sessionsDrainTo0(app);
  });
});
