/**
 * Publishes to JetStream with message ids, many publishes in flight at once (each waits for the
 * stream's ack), over one connection opened on first use.
 */
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { SluiceError } from '../../core/errors.js';
import { closeQuietly, connectNats } from './nats-connection.js';

/** Publishes awaiting acks at once; more waits (backpressure). */
export const MAX_IN_FLIGHT = 1024;

export class JetStreamPublisher {
  private connection: Promise<NatsConnection> | undefined;
  private client: JetStreamClient | undefined;

  constructor(
    private readonly servers: readonly string[],
    private readonly what: string,
  ) {}

  /** The client, once connected (undefined until then: callers await `connect()` first). */
  async connect(): Promise<JetStreamClient> {
    if (this.client) return this.client;
    const nc = await (this.connection ??= connectNats(this.servers, this.what));
    return (this.client = jetstream(nc));
  }

  /** The client if connected already: the per-record path then needs no extra promise. */
  connectedClient(): JetStreamClient | undefined {
    return this.client;
  }

  failure(e: unknown, subject: string): SluiceError {
    if (e instanceof SluiceError) return e;
    return new SluiceError(
      'SLUICE_CONNECTOR_FAILED',
      `${this.what}: publishing to '${subject}' failed: ${(e as Error).message}${
        /no responders|503/i.test((e as Error).message) ? ' (no JetStream stream takes this subject?)' : ''
      }`,
      { cause: e },
    );
  }

  /** Publishes every message of a batch with ids `<id>:<i>`, `MAX_IN_FLIGHT` at a time. */
  async publishAll(
    id: string,
    subjects: string | readonly string[],
    payloads: readonly Uint8Array[],
  ): Promise<void> {
    const js = await this.connect();
    const subjectOf = (i: number) => (typeof subjects === 'string' ? subjects : subjects[i]!);
    for (let start = 0; start < payloads.length; start += MAX_IN_FLIGHT) {
      const end = Math.min(payloads.length, start + MAX_IN_FLIGHT);
      const acks: Promise<unknown>[] = [];
      for (let i = start; i < end; i++)
        acks.push(
          js.publish(subjectOf(i), payloads[i], { msgID: `${id}:${i}` }).catch((e: unknown) => {
            throw this.failure(e, subjectOf(i));
          }),
        );
      await Promise.all(acks);
    }
  }

  close(): void {
    closeQuietly(this.connection);
    this.connection = undefined;
    this.client = undefined;
  }
}
