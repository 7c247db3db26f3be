/**
 * The writers of a JetStreamSink. EXACTLY_ONCE buffers each checkpoint's messages and hands
 * them out at the barrier as a committable, published by the committer once the checkpoint
 * completes: nothing is visible before, and a republish after a restore reuses the ids, which
 * the stream's duplicate window drops. AT_LEAST_ONCE (and NONE) publish at once, with ids from
 * the checkpoint and the record's place after it: a replay in the same order is deduplicated,
 * one in another order (several input channels) may duplicate; every barrier waits for the acks.
 */
import type { CommittingSinkWriter, SinkWriter, StatefulSinkWriter } from '../../api/sink.js';
import type { JetStreamCommittable } from './jetstream-committable.js';
import { MAX_IN_FLIGHT, type JetStreamPublisher } from './jetstream-publisher.js';
import { batchId, type JetStreamSinkSettings } from './jetstream-sink-settings.js';

interface WriterIdentity {
  readonly operatorId: string;
  readonly subtask: number;
  readonly restoredCheckpointId: number | undefined;
}

export class JetStreamExactlyOnceWriter<T>
  implements CommittingSinkWriter<T, JetStreamCommittable>, StatefulSinkWriter<T, never>
{
  private checkpoint: number;
  private batches = 0;
  private subjects: string[] = [];
  private payloads: Uint8Array[] = [];

  constructor(
    private readonly settings: JetStreamSinkSettings<T>,
    private readonly identity: WriterIdentity,
  ) {
    this.checkpoint = identity.restoredCheckpointId ?? 0;
  }

  write(record: T): void {
    this.payloads.push(this.settings.serialize(record));
    const select = this.settings.subjectSelector;
    if (select) this.subjects.push(select(record));
  }

  flush(): void {}

  prepareCommit(): readonly JetStreamCommittable[] {
    if (this.payloads.length === 0) return [];
    const { operatorId, subtask } = this.identity;
    const committable: JetStreamCommittable = {
      id: batchId(this.settings.transactionalIdPrefix, operatorId, subtask, this.checkpoint, this.batches++),
      subjects: this.settings.subject ?? this.subjects,
      payloads: this.payloads,
    };
    this.payloads = [];
    this.subjects = [];
    return [committable];
  }

  snapshotState(checkpointId: number): readonly never[] {
    this.checkpoint = checkpointId;
    this.batches = 0;
    return [];
  }

  close(): void {}
}

export class JetStreamAtLeastOnceWriter<T> implements SinkWriter<T>, StatefulSinkWriter<T, never> {
  private checkpoint: number;
  /** Records written since `checkpoint`: the last part of their message ids. */
  private sequence = 0;
  private inFlight = 0;
  private failure: unknown;
  private drained: (() => void) | undefined;
  private readonly onAck = () => {
    if (--this.inFlight <= MAX_IN_FLIGHT / 2) this.wake();
  };
  private readonly onError = (e: unknown) => {
    this.failure ??= e;
    this.inFlight--;
    this.wake();
  };

  constructor(
    private readonly settings: JetStreamSinkSettings<T>,
    private readonly identity: WriterIdentity,
    private readonly publisher: JetStreamPublisher,
  ) {
    this.checkpoint = identity.restoredCheckpointId ?? 0;
  }

  write(record: T): void | Promise<void> {
    if (this.failure) throw this.publisher.failure(this.failure, this.settings.subject ?? '(selected)');
    const subject = this.settings.subject ?? this.settings.subjectSelector!(record);
    const data = this.settings.serialize(record);
    const { operatorId, subtask } = this.identity;
    const n = this.sequence++;
    const msgID =
      this.settings.deliveryGuarantee === 'none'
        ? undefined
        : `${batchId(this.settings.transactionalIdPrefix, operatorId, subtask, this.checkpoint, 0)}:${n}`;
    this.inFlight++;
    const js = this.publisher.connectedClient();
    if (js) js.publish(subject, data, msgID ? { msgID } : undefined).then(this.onAck, this.onError);
    else
      return this.publisher
        .connect()
        .then((c) => c.publish(subject, data, msgID ? { msgID } : undefined))
        .then(this.onAck, this.onError);
    if (this.inFlight >= MAX_IN_FLIGHT) return this.until(MAX_IN_FLIGHT / 2);
  }

  private wake(): void {
    const d = this.drained;
    this.drained = undefined;
    d?.();
  }

  /** Resolves once at most `limit` publishes await their acks; rejects with a failed one. */
  private async until(limit: number): Promise<void> {
    while (this.inFlight > limit && !this.failure) await new Promise<void>((r) => (this.drained = r));
    if (this.failure) throw this.publisher.failure(this.failure, this.settings.subject ?? '(selected)');
  }

  flush(): void | Promise<void> {
    if (this.inFlight > 0 || this.failure) return this.until(0);
  }

  snapshotState(checkpointId: number): readonly never[] {
    this.checkpoint = checkpointId;
    this.sequence = 0;
    return [];
  }

  close(): void {
    this.publisher.close();
  }
}
