/**
 * Reads a JetStream source's splits: one ordered consumer per split, starting at the split's
 * next stream sequence. Messages are buffered per split by an async loop that pauses when the
 * buffer is full (backpressure reaches the server's pull), and emitted by `pollNext` in the
 * task's mailbox, so a split's position is exact at every snapshot.
 */
import { DeliverPolicy, jetstream, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type {
  InputStatus,
  ReaderOutput,
  SourceOutput,
  SourceReader,
  SourceReaderContext,
} from '../../api/source/source.js';
import { SluiceError } from '../../core/errors.js';
import type { JetStreamDeserializationSchema, JetStreamRecord } from './jetstream-record.js';
import type { JetStreamDiscoveryFailed, JetStreamSourceSettings } from './jetstream-split-enumerator.js';
import type { JetStreamSplit } from './jetstream-split.js';
import { closeQuietly, connectNats } from './nats-connection.js';

/** Messages buffered per split before its consumer loop waits for the task to catch up. */
const BUFFER_LIMIT = 1024;
/** Messages emitted per `pollNext`, so that the task can take barriers and timers in between. */
const POLL_BATCH = 64;
/** Marks the end of a bounded split in its buffer. */
const END = { seq: Number.MAX_SAFE_INTEGER } as JsMsg;

class SplitReading implements JetStreamRecord {
  readonly buffer: JsMsg[] = [];
  head = 0;
  finished = false;
  output: SourceOutput<unknown> | undefined;
  messages: ConsumerMessages | undefined;
  room: (() => void) | undefined;
  nextSequence: number;
  /** The message being deserialized: this object is the deserializer's view of it. */
  current!: JsMsg;

  constructor(readonly split: JetStreamSplit) {
    this.nextSequence = split.nextSequence;
  }

  get subject(): string {
    return this.current.subject;
  }
  get data(): Uint8Array {
    return this.current.data;
  }
  get sequence(): number {
    return this.current.seq;
  }
  get timestamp(): number {
    return Math.floor(this.current.info.timestampNanos / 1e6);
  }
  header(name: string): string | undefined {
    return this.current.headers?.get(name) || undefined;
  }
}

export class JetStreamSourceReader<T> implements SourceReader<T, JetStreamSplit> {
  private readonly readings: SplitReading[] = [];
  private connection: Promise<NatsConnection> | undefined;
  private noMoreSplits = false;
  private failure: SluiceError | undefined;
  private waiter: (() => void) | undefined;
  private closed = false;

  constructor(
    private readonly ctx: SourceReaderContext,
    private readonly settings: JetStreamSourceSettings,
    private readonly deserializer: JetStreamDeserializationSchema<T>,
  ) {}

  start(): void {
    this.ctx.sendSplitRequest();
  }

  private connect(): Promise<NatsConnection> {
    return (this.connection ??= connectNats(
      this.settings.servers,
      `JetStreamSource '${this.settings.stream}' subtask ${this.ctx.getIndexOfSubtask()}`,
    ));
  }

  addSplits(splits: readonly JetStreamSplit[]): void {
    for (const split of splits) {
      const reading = new SplitReading(split);
      this.readings.push(reading);
      if (split.stopSequence !== undefined && split.nextSequence > split.stopSequence)
        reading.finished = true;
      else void this.consume(reading).catch((e: unknown) => this.fail(e, reading));
    }
    this.wake();
  }

  private async consume(reading: SplitReading): Promise<void> {
    const nc = await this.connect();
    const js = jetstream(nc);
    const consumer = await js.consumers.get(this.settings.stream, {
      filter_subjects: reading.split.subject,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: reading.nextSequence,
    });
    const stop = reading.split.stopSequence;
    if (stop !== undefined && (await consumer.info()).num_pending === 0) {
      reading.finished = true;
      return this.wake();
    }
    if (this.closed) return;
    const messages = (reading.messages = await consumer.consume({ max_messages: BUFFER_LIMIT / 2 }));
    for await (const m of messages) {
      if (this.closed || reading.finished) break;
      reading.buffer.push(m);
      // Bounded: nothing after the stop sequence is read, and a drained filter ends the split.
      if (stop !== undefined && (m.seq >= stop || m.info.pending === 0)) break;
      if (reading.buffer.length === 1) this.wake();
      if (reading.buffer.length - reading.head >= BUFFER_LIMIT)
        await new Promise<void>((resolve) => (reading.room = resolve));
    }
    reading.messages = undefined;
    void messages.close().catch(() => {});
    if (stop !== undefined) reading.buffer.push(END);
    this.wake();
  }

  private fail(e: unknown, reading: SplitReading): void {
    if (this.closed) return;
    this.failure ??=
      e instanceof SluiceError
        ? e
        : new SluiceError(
            'SLUICE_CONNECTOR_FAILED',
            `JetStreamSource '${this.settings.stream}': reading subject '${reading.split.subject}' from sequence ${reading.nextSequence} failed: ${(e as Error).message}`,
            { cause: e },
          );
    this.wake();
  }

  pollNext(output: ReaderOutput<T>): InputStatus {
    if (this.failure) throw this.failure;
    let emitted = 0;
    let active = 0;
    for (const reading of this.readings) {
      if (reading.finished) continue;
      active++;
      const out = (reading.output ??= output.createOutputForSplit?.(reading.split.splitId) ?? output);
      while (emitted < POLL_BATCH && reading.head < reading.buffer.length) {
        const m = reading.buffer[reading.head++]!;
        if (m === END || (reading.split.stopSequence !== undefined && m.seq > reading.split.stopSequence)) {
          reading.finished = true;
          output.releaseOutputForSplit?.(reading.split.splitId);
          break;
        }
        reading.current = m;
        let record: T;
        try {
          record = this.deserializer.deserialize(reading);
        } catch (e) {
          throw new SluiceError(
            'SLUICE_SERIALIZATION_FAILED',
            `JetStreamSource '${this.settings.stream}': the deserializer failed on subject '${m.subject}' sequence ${m.seq}: ${(e as Error).message}`,
            { cause: e },
          );
        }
        reading.nextSequence = m.seq + 1;
        out.collect(record, reading.timestamp);
        emitted++;
      }
      if (reading.head === reading.buffer.length) {
        reading.buffer.length = 0;
        reading.head = 0;
        const room = reading.room;
        reading.room = undefined;
        room?.();
      }
    }
    if (active === 0 && this.noMoreSplits) return 'END_OF_INPUT';
    return emitted === POLL_BATCH ? 'MORE_AVAILABLE' : 'NOTHING_AVAILABLE';
  }

  isAvailable(): Promise<void> {
    if (this.failure || this.readings.some((r) => !r.finished && r.head < r.buffer.length))
      return Promise.resolve();
    if (this.noMoreSplits && this.readings.every((r) => r.finished)) return Promise.resolve();
    return new Promise((resolve) => (this.waiter = resolve));
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  notifyNoMoreSplits(): void {
    this.noMoreSplits = true;
    this.wake();
  }

  handleSourceEvent(event: unknown): void {
    const failed = event as JetStreamDiscoveryFailed;
    if (failed.kind === 'jetstream-discovery-failed') {
      this.failure ??= new SluiceError(failed.code, failed.message);
      this.wake();
    }
  }

  snapshotState(): JetStreamSplit[] {
    return this.readings
      .filter((r) => !r.finished)
      .map((r) => ({ ...r.split, nextSequence: r.nextSequence }));
  }

  close(): void {
    this.closed = true;
    for (const r of this.readings) {
      r.room?.();
      void r.messages?.close().catch(() => {});
    }
    if (this.connection) closeQuietly(this.connection);
    this.wake();
  }
}
