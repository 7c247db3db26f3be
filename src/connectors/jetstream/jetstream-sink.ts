/**
 * A sink publishing to NATS JetStream, built as Flink's KafkaSink is:
 * `JetStreamSink.builder().setServers(url).setSubject(s).setSerializer(new SimpleStringSchema())
 * .setDeliveryGuarantee(DeliveryGuarantee.EXACTLY_ONCE).build()`. Messages carry ids
 * (`Nats-Msg-Id`) that stay the same when a restored job publishes them again, so the stream's
 * duplicate window (2 minutes by default) removes replays.
 */
import type { Committer, SupportsCommitter } from '../../api/committer.js';
import { DeliveryGuarantee, parseDeliveryGuarantee } from '../../api/delivery-guarantee.js';
import type {
  Sink,
  SinkWriter,
  StatefulSinkWriter,
  SupportsWriterState,
  WriterInitContext,
} from '../../api/sink.js';
import { invalidProgram } from '../../core/errors.js';
import type { SerializationSchema } from '../serialization-schemas.js';
import type { JetStreamCommittable } from './jetstream-committable.js';
import { JetStreamCommitter } from './jetstream-committer.js';
import { JetStreamPublisher } from './jetstream-publisher.js';
import type { JetStreamSinkSettings } from './jetstream-sink-settings.js';
import { JetStreamAtLeastOnceWriter, JetStreamExactlyOnceWriter } from './jetstream-sink-writer.js';
import { parseServers } from './nats-connection.js';

export class JetStreamSink<T>
  implements Sink<T>, SupportsCommitter<JetStreamCommittable>, SupportsWriterState<T, never>
{
  /** @internal use `JetStreamSink.builder()`. */
  constructor(private readonly settings: JetStreamSinkSettings<T>) {
    // Only an exactly-once sink commits: an at-least-once one is a plain Sink.
    if (settings.deliveryGuarantee !== 'exactly-once')
      (this as { createCommitter?: unknown }).createCommitter = undefined;
  }

  static builder<T = string>(): JetStreamSinkBuilder<T> {
    return new JetStreamSinkBuilder<T>();
  }

  getDeliveryGuarantee(): DeliveryGuarantee {
    return this.settings.deliveryGuarantee;
  }

  createWriter(ctx: WriterInitContext): SinkWriter<T> & StatefulSinkWriter<T, never> {
    const identity = {
      operatorId: ctx.getOperatorId(),
      subtask: ctx.getSubtaskId(),
      restoredCheckpointId: ctx.getRestoredCheckpointId(),
    };
    if (this.settings.deliveryGuarantee === 'exactly-once')
      return new JetStreamExactlyOnceWriter(this.settings, identity);
    return new JetStreamAtLeastOnceWriter(
      this.settings,
      identity,
      new JetStreamPublisher(this.settings.servers, `JetStreamSink subtask ${ctx.getSubtaskId()}`),
    );
  }

  restoreWriter(ctx: WriterInitContext): StatefulSinkWriter<T, never> {
    return this.createWriter(ctx);
  }

  createCommitter(ctx: WriterInitContext): Committer<JetStreamCommittable> {
    return new JetStreamCommitter(
      new JetStreamPublisher(this.settings.servers, `JetStreamSink committer ${ctx.getSubtaskId()}`),
    );
  }
}

const encoder = new TextEncoder();

export class JetStreamSinkBuilder<T> {
  private servers: string[] = [];
  private subject: string | undefined;
  private subjectSelector: ((record: T) => string) | undefined;
  private serialize: ((record: T) => Uint8Array) | undefined;
  private deliveryGuarantee: DeliveryGuarantee = DeliveryGuarantee.AT_LEAST_ONCE;
  private transactionalIdPrefix = 'sluice';

  setServers(...servers: (string | readonly string[])[]): this {
    this.servers = servers.flatMap((s) => parseServers(s));
    return this;
  }

  /** Every record goes to this subject. */
  setSubject(subject: string): this {
    this.subject = subject;
    return this;
  }

  /** Picks each record's subject (Flink's KafkaRecordSerializationSchema topic selector). */
  setSubjectSelector(selector: (record: T) => string): this {
    this.subjectSelector = selector;
    return this;
  }

  /** A record's bytes: a SerializationSchema (`new SimpleStringSchema()`) or a function to bytes or text. */
  setSerializer<R>(
    serializer: SerializationSchema<R> | ((record: R) => Uint8Array | string),
  ): JetStreamSinkBuilder<R> {
    const self = this as unknown as JetStreamSinkBuilder<R>;
    if (typeof serializer === 'function')
      self.serialize = (r) => {
        const out = serializer(r);
        return typeof out === 'string' ? encoder.encode(out) : out;
      };
    else if (typeof serializer?.serialize === 'function') self.serialize = (r) => serializer.serialize(r);
    else throw invalidProgram('JetStreamSink: setSerializer needs a SerializationSchema or a function.');
    return self;
  }

  /** EXACTLY_ONCE, AT_LEAST_ONCE (default, as KafkaSink's NONE is not) or NONE; Flink's enum names too. */
  setDeliveryGuarantee(guarantee: string): this {
    const parsed = parseDeliveryGuarantee(guarantee);
    if (!parsed)
      throw invalidProgram(
        `JetStreamSink: setDeliveryGuarantee takes DeliveryGuarantee.EXACTLY_ONCE, AT_LEAST_ONCE or NONE, got '${String(guarantee)}'.`,
      );
    this.deliveryGuarantee = parsed;
    return this;
  }

  /**
   * Starts every message id (as KafkaSink's transactional id prefix): two jobs publishing into one
   * stream from sinks of the same uid need different prefixes, or the duplicate window drops one's messages.
   */
  setTransactionalIdPrefix(prefix: string): this {
    if (!/^[\w.-]{1,64}$/.test(prefix))
      throw invalidProgram(
        `JetStreamSink: setTransactionalIdPrefix takes 1-64 letters, digits, '_', '.', '-'.`,
      );
    this.transactionalIdPrefix = prefix;
    return this;
  }

  build(): JetStreamSink<T> {
    if (this.servers.length === 0)
      throw invalidProgram("JetStreamSink: setServers('nats://host:4222') is required.");
    if ((this.subject === undefined) === (this.subjectSelector === undefined))
      throw invalidProgram(
        'JetStreamSink: set exactly one of setSubject(subject) and setSubjectSelector(record => subject).',
      );
    if (!this.serialize)
      throw invalidProgram(
        'JetStreamSink: a serializer is required: setSerializer(new SimpleStringSchema()).',
      );
    return new JetStreamSink({
      servers: this.servers,
      subject: this.subject,
      subjectSelector: this.subjectSelector,
      serialize: this.serialize,
      deliveryGuarantee: this.deliveryGuarantee,
      transactionalIdPrefix: this.transactionalIdPrefix,
    });
  }
}
