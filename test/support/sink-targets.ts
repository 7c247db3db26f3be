// What the exactly-once sink tests read back from their targets and check: the finished part files
// of a FileSink, the messages of a JetStream stream, and that records of the connector-sinks job
// (numbers → keyBy(n % KEYS) → a running count) arrived exactly once.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DeliverPolicy, jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type pg from 'pg';
import { expect } from 'vitest';
import { KEYS, type Counted } from '../fixtures/connector-sinks-job.js';
import { NATS_URL, uniqueName } from './external-servers.js';
import { testClient } from './jdbc-jobs.js';

/** The targets of one run of the connector-sinks job: a fresh table and stream, a transaction prefix. */
export interface SinkTargets {
  readonly pg: pg.Client;
  readonly table: string;
  readonly nc: NatsConnection;
  readonly jsm: JetStreamManager;
  readonly stream: string;
  readonly prefix: string;
}

/**
 * Creates a table and a JetStream stream named after `name` (unique per call), with the clients
 * to read them back; `defer` gets their clean-up, to run after the test whatever its outcome.
 */
export async function createSinkTargets(
  name: string,
  defer: (cleanup: () => Promise<unknown>) => void,
): Promise<SinkTargets> {
  const pg = await testClient();
  defer(() => pg.end());
  const table = uniqueName(name);
  await pg.query(`CREATE TABLE ${table} (k int NOT NULL, c int NOT NULL, n int NOT NULL)`);
  defer(() => pg.query(`DROP TABLE IF EXISTS ${table}`));
  const nc = await connect({ servers: NATS_URL });
  defer(() => nc.close());
  const jsm = await jetstreamManager(nc);
  const stream = uniqueName(name.toUpperCase());
  await jsm.streams.add({ name: stream, subjects: [`${stream}.>`] });
  defer(() => jsm.streams.delete(stream));
  return { pg, table, nc, jsm, stream, prefix: uniqueName(name.slice(0, 1)) };
}

/**
 * Asserts `written` holds every number below `records` once, and per key the counts 1..n once
 * each (which number got which count depends on how the sources' records interleave).
 */
export function expectExactlyOnce(written: readonly Counted[], records: number, what: string): void {
  expect(
    written.map((r) => r.n).sort((a, b) => a - b),
    `${what}: the numbers`,
  ).toEqual(Array.from({ length: records }, (_, n) => n));
  for (let k = 0; k < KEYS; k++) {
    const counts = written.filter((r) => r.k === k).map((r) => r.c);
    expect(
      counts.sort((a, b) => a - b),
      `${what}: the counts of key ${k}`,
    ).toEqual(Array.from({ length: Math.ceil((records - k) / KEYS) }, (_, i) => i + 1));
    expect(written.filter((r) => r.k === k).every((r) => r.n % KEYS === k)).toBe(true);
  }
}

/** The lines of the finished (visible) part files under `dir`. */
export function finishedLines(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => !f.startsWith('.'))
    .flatMap((f) =>
      readFileSync(join(dir, f), 'utf8')
        .split('\n')
        .filter((l) => l.length > 0),
    );
}

/** The finished part files' `k:c:n` lines as records. */
export function finishedRecords(dir: string): Counted[] {
  return finishedLines(dir).map((l) => {
    const [k, c, n] = l.split(':').map(Number);
    return { k: k!, c: c!, n: n! };
  });
}

/** Every message in `stream`, as JSON. */
export async function streamMessages<T>(
  nc: NatsConnection,
  jsm: JetStreamManager,
  stream: string,
): Promise<T[]> {
  const total = (await jsm.streams.info(stream)).state.messages;
  const messages: T[] = [];
  if (total === 0) return messages;
  const consumer = await jetstream(nc).consumers.get(stream, { deliver_policy: DeliverPolicy.All });
  const iterator = await consumer.consume();
  for await (const m of iterator) {
    messages.push(m.json<T>());
    if (messages.length === total) break;
  }
  await iterator.close();
  return messages;
}
