/**
 * The set-up the PostgreSQL and JetStream connector tests share: a describe block calls
 * `useTestDatabase()` or `useJetStream()` once, gets a connection opened before its tests, and
 * creates its tables or streams under unique names; they are dropped and the connection closed
 * after the block.
 */
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type pg from 'pg';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { JdbcConnectionOptions } from 'sluice';
import { NATS_URL, POSTGRES_URL, uniqueName } from './external-servers.js';
import { failures, testClient } from './jdbc-jobs.js';

/** The test database of one describe block. */
export interface TestDatabase {
  /** The block's own connection (open from beforeAll), for set-up, checks and cutting the sink's. */
  readonly client: pg.Client;
  /** Creates a table `<prefix>_<unique>` with `columns`; dropped after the block. */
  table(prefix: string, columns: string): Promise<string>;
}

export function useTestDatabase(): TestDatabase {
  let client: pg.Client | undefined;
  const tables: string[] = [];
  beforeAll(async () => {
    client = await testClient();
  });
  afterAll(async () => {
    for (const t of tables) await client?.query(`DROP TABLE IF EXISTS ${t}`);
    await client?.end();
  });
  return {
    get client() {
      if (client === undefined) throw new Error('the test database is connected in beforeAll');
      return client;
    },
    async table(prefix, columns) {
      const name = uniqueName(prefix);
      tables.push(name);
      await this.client.query(`CREATE TABLE ${name} (${columns})`);
      return name;
    },
  };
}

/** JdbcConnectionOptions for the test database (POSTGRES_URL as a jdbc:postgresql:// URL). */
export function testDatabaseOptions(): InstanceType<
  typeof JdbcConnectionOptions.JdbcConnectionOptionsBuilder
> {
  return new JdbcConnectionOptions.JdbcConnectionOptionsBuilder()
    .withUrl(POSTGRES_URL.replace(/^postgres:\/\/postgres@/, 'jdbc:postgresql://'))
    .withUsername('postgres');
}

/** Clears the injected failures of `jdbc-jobs.ts` before each test of the block. */
export function resetFailuresBeforeEach(): void {
  beforeEach(() => {
    failures.planned = [];
    failures.fired = 0;
    failures.done.clear();
    failures.processed = 0;
  });
}

/** The JetStream server of one describe block. */
export interface TestJetStream {
  readonly nc: NatsConnection;
  readonly jsm: JetStreamManager;
  /** Creates a stream `<prefix>_<unique>` over the subjects `<name>.>`; deleted after the block. */
  stream(prefix: string): Promise<string>;
}

export function useJetStream(): TestJetStream {
  let nc: NatsConnection | undefined;
  let jsm: JetStreamManager | undefined;
  const streams: string[] = [];
  beforeAll(async () => {
    nc = await connect({ servers: NATS_URL });
    jsm = await jetstreamManager(nc);
  });
  afterAll(async () => {
    for (const s of streams) await jsm?.streams.delete(s).catch(() => {});
    await nc?.close();
  });
  const connected = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the JetStream connection is opened in beforeAll');
    return value;
  };
  return {
    get nc() {
      return connected(nc);
    },
    get jsm() {
      return connected(jsm);
    },
    async stream(prefix) {
      const name = uniqueName(prefix);
      streams.push(name);
      await connected(jsm).streams.add({ name, subjects: [`${name}.>`] });
      return name;
    },
  };
}
