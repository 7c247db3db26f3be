/** Connecting to NATS and looking up a stream, with errors that name the server and the stream. */
import { jetstreamManager, type JetStreamManager, type StreamInfo } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { SluiceError } from '../../core/errors.js';

/** `setServers` input: one URL, a comma-separated list, or an array. */
export function parseServers(servers: string | readonly string[]): string[] {
  const list = (typeof servers === 'string' ? servers.split(',') : [...servers]).map((s) => s.trim());
  return list.filter((s) => s !== '');
}

export async function connectNats(servers: readonly string[], what: string): Promise<NatsConnection> {
  try {
    return await connect({ servers: [...servers], name: `sluice ${what}` });
  } catch (e) {
    throw new SluiceError(
      'SLUICE_CONNECTOR_FAILED',
      `${what}: cannot connect to NATS at ${servers.join(', ')}: ${(e as Error).message}`,
      { cause: e },
    );
  }
}

/** The stream's info; a stream that does not exist is a configuration error, not a transient one. */
export async function streamInfo(
  nc: NatsConnection,
  stream: string,
  what: string,
): Promise<{ jsm: JetStreamManager; info: StreamInfo }> {
  const jsm = await jetstreamManager(nc);
  try {
    return { jsm, info: await jsm.streams.info(stream) };
  } catch (e) {
    if (/stream not found/i.test((e as Error).message))
      throw new SluiceError(
        'SLUICE_CONNECTOR_MISCONFIGURED',
        `${what}: JetStream stream '${stream}' does not exist at ${nc.getServer()}; create it first (nats stream add ${stream} --subjects ...).`,
        { cause: e },
      );
    throw new SluiceError(
      'SLUICE_CONNECTOR_FAILED',
      `${what}: cannot read JetStream stream '${stream}': ${(e as Error).message}`,
      { cause: e },
    );
  }
}

/** Closes without throwing: used on shutdown paths, where the job's own error matters more. */
export function closeQuietly(nc: Promise<NatsConnection> | NatsConnection | undefined): void {
  void Promise.resolve(nc)
    .then((c) => c?.drain())
    .catch(() => {});
}
