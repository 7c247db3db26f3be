/**
 * The real PostgreSQL and NATS JetStream servers the connector tests run against. A test file
 * asks `requireServer(kind)` at collection time: absent, its tests are skipped with a message,
 * except under CI=true, where a missing server fails the run.
 */
import { connect as netConnect } from 'node:net';
import { randomBytes } from 'node:crypto';

export const POSTGRES_URL =
  process.env['SLUICE_TEST_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
export const NATS_URL = process.env['SLUICE_TEST_NATS_URL'] ?? 'nats://127.0.0.1:4222';

function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = netConnect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2_000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Whether the server is up; throws under CI=true when it is not (a missing server is a failure there). */
export async function requireServer(kind: 'postgres' | 'nats'): Promise<boolean> {
  const url = new URL(kind === 'postgres' ? POSTGRES_URL : NATS_URL);
  const port = Number(url.port || (kind === 'postgres' ? 5432 : 4222));
  if (await reachable(url.hostname, port)) return true;
  const message = `${kind} is not reachable at ${url.host}: its connector tests are skipped`;
  if (process.env['CI'] === 'true') throw new Error(`${message}, which CI=true does not allow`);
  console.warn(message);
  return false;
}

/** A name no other test run uses: tables and streams are created per test and dropped after. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(5).toString('hex')}`;
}
