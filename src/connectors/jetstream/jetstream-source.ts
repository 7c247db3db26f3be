/**
 * A source reading a NATS JetStream stream, built as Flink's KafkaSource is:
 * `JetStreamSource.builder().setServers(url).setStream(name).setSubjects(...)
 * .setStartingPosition(StartingPosition.earliest()).setDeserializer(schema).build()`.
 * A split is a subject filter; its position is a stream sequence, checkpointed, so a restored
 * job replays exactly from where its checkpoint left each subject.
 */
import type {
  Boundedness,
  Source,
  SourceReader,
  SourceReaderContext,
  SplitEnumerator,
  SplitEnumeratorContext,
} from '../../api/source/source.js';
import { invalidProgram } from '../../core/errors.js';
import type { DeserializationSchema } from '../serialization-schemas.js';
import type { JetStreamDeserializationSchema, JetStreamRecord } from './jetstream-record.js';
import { JetStreamSourceReader } from './jetstream-source-reader.js';
import {
  JetStreamSplitEnumerator,
  type JetStreamEnumeratorState,
  type JetStreamSourceSettings,
} from './jetstream-split-enumerator.js';
import type { JetStreamSplit } from './jetstream-split.js';
import { parseServers } from './nats-connection.js';
import { StartingPosition } from './starting-position.js';

export class JetStreamSource<T> implements Source<T, JetStreamSplit, JetStreamEnumeratorState> {
  /** @internal use `JetStreamSource.builder()`. */
  constructor(
    private readonly settings: JetStreamSourceSettings,
    private readonly deserializer: JetStreamDeserializationSchema<T>,
  ) {}

  static builder<T = string>(): JetStreamSourceBuilder<T> {
    return new JetStreamSourceBuilder<T>();
  }

  getBoundedness(): Boundedness {
    return this.settings.bounded ? 'BOUNDED' : 'CONTINUOUS_UNBOUNDED';
  }

  createEnumerator(
    ctx: SplitEnumeratorContext<JetStreamSplit>,
  ): SplitEnumerator<JetStreamSplit, JetStreamEnumeratorState> {
    return new JetStreamSplitEnumerator(ctx, this.settings);
  }

  restoreEnumerator(
    ctx: SplitEnumeratorContext<JetStreamSplit>,
    state: JetStreamEnumeratorState,
  ): SplitEnumerator<JetStreamSplit, JetStreamEnumeratorState> {
    return new JetStreamSplitEnumerator(ctx, this.settings, state);
  }

  createReader(ctx: SourceReaderContext): SourceReader<T, JetStreamSplit> {
    return new JetStreamSourceReader(ctx, this.settings, this.deserializer);
  }
}

/** Builds a JetStreamSource; `setServers`, `setStream` and a deserializer are required. */
export class JetStreamSourceBuilder<T> {
  private servers: string[] = [];
  private stream: string | undefined;
  private subjects: string[] = [];
  private startingPosition: StartingPosition = StartingPosition.earliest();
  private bounded = false;
  private deserializer: JetStreamDeserializationSchema<T> | undefined;

  /** NATS server URLs: one, a comma-separated list, or several arguments. */
  setServers(...servers: (string | readonly string[])[]): this {
    this.servers = servers.flatMap((s) => parseServers(s));
    return this;
  }

  setStream(stream: string): this {
    this.stream = stream;
    return this;
  }

  /** Subject filters, one split each; the whole stream (`>`) when none is given. */
  setSubjects(...subjects: (string | readonly string[])[]): this {
    this.subjects = subjects.flat();
    return this;
  }

  /** Where a fresh start reads from (default earliest); a restore reads from its checkpoint. */
  setStartingPosition(position: StartingPosition): this {
    this.startingPosition = position;
    return this;
  }

  /**
   * Stops at the stream's last sequence as of the job's first start, which makes the source
   * bounded (for tests and batch). `setBounded()` alone means true.
   */
  setBounded(bounded = true): this {
    this.bounded = bounded;
    return this;
  }

  /** Turns each message (subject, data, sequence, timestamp, headers) into a record. */
  setDeserializer<R>(
    deserializer: JetStreamDeserializationSchema<R> | ((record: JetStreamRecord) => R),
  ): JetStreamSourceBuilder<R> {
    const self = this as unknown as JetStreamSourceBuilder<R>;
    self.deserializer = typeof deserializer === 'function' ? { deserialize: deserializer } : deserializer;
    return self;
  }

  /** Turns each message's data into a record (e.g. `new SimpleStringSchema()`). */
  setValueOnlyDeserializer<R>(schema: DeserializationSchema<R>): JetStreamSourceBuilder<R> {
    if (typeof schema?.deserialize !== 'function')
      throw invalidProgram(
        'JetStreamSource: setValueOnlyDeserializer needs an object with deserialize(bytes).',
      );
    return this.setDeserializer({ deserialize: (r: JetStreamRecord) => schema.deserialize(r.data) });
  }

  build(): JetStreamSource<T> {
    if (this.servers.length === 0)
      throw invalidProgram("JetStreamSource: setServers('nats://host:4222') is required.");
    for (const s of this.servers)
      if (!/^(nats|tls|ws|wss):\/\/|^[^/:]+(:\d+)?$/.test(s))
        throw invalidProgram(`JetStreamSource: '${s}' is not a NATS server URL (nats://host:port).`);
    if (!this.stream) throw invalidProgram('JetStreamSource: setStream(name) is required.');
    if (!this.deserializer)
      throw invalidProgram(
        'JetStreamSource: a deserializer is required: setDeserializer(record => ...) or setValueOnlyDeserializer(new SimpleStringSchema()).',
      );
    const subjects = this.subjects.length > 0 ? this.subjects : ['>'];
    if (new Set(subjects).size !== subjects.length)
      throw invalidProgram(`JetStreamSource: setSubjects got a subject twice: ${subjects.join(', ')}.`);
    return new JetStreamSource(
      {
        servers: this.servers,
        stream: this.stream,
        subjects,
        startingPosition: this.startingPosition,
        bounded: this.bounded,
      },
      this.deserializer,
    );
  }
}
