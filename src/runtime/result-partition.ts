/**
 * The producer side of an exchange: one subpartition per consumer channel, each a FIFO of
 * finished buffers and events that leaves only against credit the consumer granted.
 * A subpartition holding `maxBuffersPerChannel` unsent buffers makes the partition unavailable,
 * which suspends the producing task: that is how backpressure reaches the sources.
 */
import { invariant } from '../core/errors.js';
import { isBuffer, type ChannelEvent, type ChannelItem } from './channel-event.js';

/** The consumer end of a channel as the producer sees it (an InputChannel, or a network proxy). */
export interface ChannelReceiver {
  /** A buffer, and how many buffers the producer still holds for this channel behind it. */
  onBuffer(buffer: Uint8Array, backlog: number): void;
  onEvent(event: ChannelEvent): void;
}

/** One channel's queue on the producer side. */
export class ResultSubpartition {
  private queue: ChannelItem[] = [];
  private head = 0;
  private credit = 0;
  private receiver: ChannelReceiver | undefined;
  /** Unsent buffers (events excluded) and their bytes. */
  queuedBuffers = 0;
  queuedBytes = 0;
  /** The most bytes ever queued here unsent (the backpressure bound's witness). */
  maxQueuedBytes = 0;
  /** Buffers and bytes sent over this channel so far. */
  sentBuffers = 0;
  sentBytes = 0;

  constructor(
    private readonly partition: ResultPartition,
    readonly index: number,
  ) {}

  /** Connects the consumer; `initialCredit` is how many buffers it has room for. */
  connect(receiver: ChannelReceiver, initialCredit: number): void {
    invariant(this.receiver === undefined, 'a subpartition is connected once');
    this.receiver = receiver;
    this.credit = initialCredit;
    this.trySend();
  }

  add(item: ChannelItem): void {
    this.queue.push(item);
    if (isBuffer(item)) {
      this.queuedBytes += item.length;
      if (this.queuedBytes > this.maxQueuedBytes) this.maxQueuedBytes = this.queuedBytes;
      if (++this.queuedBuffers === this.partition.maxBuffersPerChannel) this.partition.onFull();
    }
    this.trySend();
  }

  /**
   * Puts `event` ahead of everything unsent (an unaligned checkpoint's barrier) and returns the
   * buffers it overtook, in order: they still go out after it, and belong to the checkpoint as
   * this channel's output state.
   */
  addPriority(event: ChannelEvent): Uint8Array[] {
    const overtaken = this.unsentBuffers(this.queue.length);
    if (this.head > 0) this.queue[--this.head] = event;
    else this.queue.unshift(event);
    this.trySend();
    return overtaken;
  }

  /**
   * Turns the barrier of `checkpointId`, if it is still queued here, into a priority event of an
   * unaligned checkpoint (its aligned-checkpoint timeout passed): it moves ahead of the buffers
   * before it, which are returned as this channel's output state. Undefined if it left already.
   */
  convertToPriority(checkpointId: number): Uint8Array[] | undefined {
    const at = this.indexOfBarrier(checkpointId);
    if (at < 0) return undefined;
    const { timestamp } = this.queue[at] as Extract<ChannelEvent, { kind: 'barrier' }>;
    const overtaken = this.unsentBuffers(at);
    this.queue.splice(at, 1);
    this.addPriority({ kind: 'barrier', checkpointId, timestamp, unaligned: true });
    return overtaken;
  }

  /** Whether the barrier of `checkpointId` is still queued here. */
  holdsBarrier(checkpointId: number): boolean {
    return this.indexOfBarrier(checkpointId) >= 0;
  }

  private indexOfBarrier(checkpointId: number): number {
    for (let i = this.head; i < this.queue.length; i++) {
      const item = this.queue[i]!;
      if (!isBuffer(item) && item.kind === 'barrier' && item.checkpointId === checkpointId) return i;
    }
    return -1;
  }

  /** The unsent buffers queued before index `end`, in order. */
  private unsentBuffers(end: number): Uint8Array[] {
    const buffers: Uint8Array[] = [];
    for (let i = this.head; i < end; i++) {
      const item = this.queue[i]!;
      if (isBuffer(item)) buffers.push(item);
    }
    return buffers;
  }

  /** The consumer freed `n` buffers' worth of room. */
  addCredit(n: number): void {
    this.credit += n;
    this.trySend();
  }

  private trySend(): void {
    const receiver = this.receiver;
    if (!receiver) return;
    while (this.head < this.queue.length) {
      const item = this.queue[this.head]!;
      if (isBuffer(item)) {
        if (this.credit === 0) break;
        this.credit--;
        this.queue[this.head++] = undefined as unknown as ChannelItem;
        this.queuedBytes -= item.length;
        this.sentBuffers++;
        this.sentBytes += item.length;
        if (this.queuedBuffers-- === this.partition.maxBuffersPerChannel) this.partition.onNotFull();
        receiver.onBuffer(item, this.queuedBuffers);
      } else {
        this.queue[this.head++] = undefined as unknown as ChannelItem;
        receiver.onEvent(item);
      }
    }
    if (this.head > 64 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }
}

/** All subpartitions one producer subtask writes for one outgoing job edge. */
export class ResultPartition {
  readonly subpartitions: ResultSubpartition[];
  private fullCount = 0;
  private listeners: (() => void)[] = [];

  constructor(
    numSubpartitions: number,
    readonly maxBuffersPerChannel: number,
  ) {
    this.subpartitions = Array.from({ length: numSubpartitions }, (_, i) => new ResultSubpartition(this, i));
  }

  /** False while any subpartition is full: the producer must not emit more. */
  isAvailable(): boolean {
    return this.fullCount === 0;
  }

  /** Calls `listener` once, when the partition becomes available again. */
  onAvailable(listener: () => void): void {
    if (this.fullCount === 0) listener();
    else this.listeners.push(listener);
  }

  /** @internal */
  onFull(): void {
    this.fullCount++;
  }

  /** @internal */
  onNotFull(): void {
    if (--this.fullCount === 0 && this.listeners.length > 0) {
      const listeners = this.listeners;
      this.listeners = [];
      for (const l of listeners) l();
    }
  }
}
