/**
 * The consumer side of exchanges: input channels (one per producer subtask and edge) that hold
 * at most the buffers they granted credit for, merged by a gate that hands the task one item
 * at a time, round-robin over the channels that have data.
 *
 * Credit is Flink's: each channel owns `buffers-per-channel` exclusive buffers, and the gate
 * lends `floating-buffers-per-gate` more to the channels whose producer reports a backlog (the
 * buffers it holds behind the one it sent), so a busy channel, across processes especially, is
 * not throttled to a round trip per two buffers. A channel gives a floating buffer back once it
 * is consumed and the backlog no longer needs it.
 */
import type { TypeSerializer } from '../core/serializer.js';
import { isBuffer, type ChannelEvent, type ChannelItem } from './channel-event.js';
import type { ChannelReceiver } from './result-partition.js';

/** Where a consumer returns credit (the subpartition, or a network proxy of it). */
export interface CreditSink {
  addCredit(n: number): void;
}

/** One channel's queue on the consumer side. */
export class InputChannel implements ChannelReceiver {
  private queue: ChannelItem[] = [];
  private head = 0;
  /** Buffered bytes now, and the most ever buffered (the backpressure bound's witness). */
  bufferedBytes = 0;
  maxBufferedBytes = 0;
  finished = false;
  /** Blocked by barrier alignment: its items wait here (and its producer, for credit). */
  blocked = false;
  queuedInGate = false;
  creditSink: CreditSink | undefined;
  /** Credit granted to the producer and not used yet (its exclusive buffers at first). */
  private announced = 0;
  /** Floating buffers lent by the gate: announced, in flight, or holding data. */
  floating = 0;
  /** The producer's backlog as its last buffer reported it. */
  private backlog = 0;
  /** Waiting in the gate's queue for a floating buffer. */
  waitingForFloating = false;
  /** Priority events (unaligned barriers) at the head of the queue, not taken yet. */
  priorityEvents = 0;
  /**
   * What was queued when a priority barrier arrived while nothing was being recorded: the channel
   * state of this channel if the task triggers that checkpoint on it (the task clears it).
   */
  arrivalCapture: { readonly checkpointId: number; readonly buffers: Uint8Array[] } | undefined;
  /** An unaligned checkpoint's recording: buffers that arrive until its barrier does. */
  private recording:
    | {
        readonly checkpointId: number;
        readonly buffers: Uint8Array[];
        readonly done: (buffers: Uint8Array[]) => void;
      }
    | undefined;
  /** Replayed channel state at the head of the queue: consumed without granting credit. */
  private replayed = 0;

  constructor(
    private readonly gate: InputGate,
    /** Index among the gate's channels. */
    readonly index: number,
    /** Which input of the task's head operator this channel feeds: 0, or 1 for a two-input head's second. */
    readonly inputIndex: number,
    /** Deserializer for the records of this channel's producer. */
    readonly serializer: TypeSerializer<unknown>,
  ) {}

  /** The channel is connected with `exclusiveBuffers` of room: the producer's initial credit. */
  connect(creditSink: CreditSink, exclusiveBuffers: number): void {
    this.creditSink = creditSink;
    this.announced = exclusiveBuffers;
  }

  onBuffer(buffer: Uint8Array, backlog: number): void {
    this.bufferedBytes += buffer.length;
    if (this.bufferedBytes > this.maxBufferedBytes) this.maxBufferedBytes = this.bufferedBytes;
    this.announced--;
    this.backlog = backlog;
    this.queue.push(buffer);
    if (this.recording !== undefined) this.recording.buffers.push(buffer);
    if (backlog > this.announced) this.gate.lendFloating(this);
    this.gate.notifyData(this);
  }

  /** Whether the producer holds more buffers than it has credit for. */
  wantsFloating(): boolean {
    return this.backlog > this.announced;
  }

  /** A floating buffer from the gate: its room goes to the producer as credit. */
  takeFloating(): void {
    this.floating++;
    this.grant();
  }

  private grant(): void {
    this.announced++;
    this.creditSink?.addCredit(1);
  }

  onEvent(event: ChannelEvent): void {
    const recording = this.recording;
    if (
      event.kind === 'barrier' &&
      (event.unaligned === true || recording?.checkpointId === event.checkpointId)
    ) {
      // Everything queued now came before the barrier.
      if (recording?.checkpointId === event.checkpointId) this.finishRecording();
      else
        this.arrivalCapture = {
          checkpointId: event.checkpointId,
          buffers: this.queuedBuffers(this.queue.length),
        };
      this.putAtHead(event);
      return;
    }
    // The end of the channel: every buffer it will ever send before a barrier is recorded.
    if (event.kind === 'end-of-partition' && recording !== undefined) this.finishRecording();
    this.queue.push(event);
    this.gate.notifyData(this);
  }

  /** The buffers queued before index `end` (events skipped), in order. */
  private queuedBuffers(end: number): Uint8Array[] {
    const buffers: Uint8Array[] = [];
    for (let i = this.head; i < end; i++) {
      const item = this.queue[i]!;
      if (isBuffer(item)) buffers.push(item);
    }
    return buffers;
  }

  /** Queues a priority event ahead of everything not taken yet, and tells the gate. */
  private putAtHead(event: ChannelEvent): void {
    if (this.head > 0) this.queue[--this.head] = event;
    else this.queue.unshift(event);
    this.priorityEvents++;
    this.gate.notifyPriority(this);
  }

  /**
   * Starts collecting this channel's state for unaligned checkpoint `checkpointId`: `prefix` (the
   * rest of a buffer the task is part-way through), then what is queued before the barrier, then
   * what arrives until it does. `done` gets the buffers once the barrier arrived (at once if it
   * already did) or the channel ended.
   */
  startRecording(
    checkpointId: number,
    prefix: Uint8Array | undefined,
    done: (buffers: Uint8Array[]) => void,
  ): void {
    const buffers: Uint8Array[] = prefix === undefined ? [] : [prefix];
    const capture = this.arrivalCapture;
    if (capture?.checkpointId === checkpointId) {
      this.arrivalCapture = undefined;
      for (const b of capture.buffers) buffers.push(b);
      done(buffers);
      return;
    }
    // An aligned barrier already queued (the checkpoint went unaligned after it arrived): what
    // precedes it is the state, and it moves ahead of that data, as Flink's priority conversion.
    for (let i = this.head; i < this.queue.length; i++) {
      const item = this.queue[i]!;
      if (isBuffer(item)) {
        buffers.push(item);
      } else if (item.kind === 'barrier' && item.checkpointId === checkpointId) {
        this.queue.splice(i, 1);
        this.putAtHead(item);
        done(buffers);
        return;
      }
    }
    this.recording = { checkpointId, buffers, done };
  }

  /** Stops recording for `checkpointId` without result (the checkpoint was aborted). */
  stopRecording(checkpointId: number): void {
    if (this.recording?.checkpointId === checkpointId) this.recording = undefined;
    if (this.arrivalCapture?.checkpointId === checkpointId) this.arrivalCapture = undefined;
  }

  private finishRecording(): void {
    const recording = this.recording!;
    this.recording = undefined;
    recording.done(recording.buffers);
  }

  /**
   * Restored channel state: these buffers come first, ahead of anything that already arrived. They
   * were never granted credit, so consuming them grants none.
   */
  replay(buffers: readonly Uint8Array[]): void {
    if (buffers.length === 0) return;
    // Behind priority events, if any (none in practice: checkpoints start once every task restored).
    const first = this.head + this.priorityEvents;
    this.queue = [...this.queue.slice(this.head, first), ...buffers, ...this.queue.slice(first)];
    this.head = 0;
    this.replayed += buffers.length;
    for (const b of buffers) this.bufferedBytes += b.length;
    if (this.bufferedBytes > this.maxBufferedBytes) this.maxBufferedBytes = this.bufferedBytes;
    this.gate.notifyData(this);
  }

  hasData(): boolean {
    return this.head < this.queue.length;
  }

  /** Takes the next item; a buffer's credit returns only when `recycle` is called. */
  poll(): ChannelItem | undefined {
    if (this.head >= this.queue.length) return undefined;
    const item = this.queue[this.head]!;
    this.queue[this.head++] = undefined as unknown as ChannelItem;
    if (this.priorityEvents > 0) this.priorityEvents--;
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    }
    return item;
  }

  /**
   * The task is done with a buffer of `bytes`: its room is granted back to the producer, or,
   * when it was a floating buffer the backlog no longer needs, given back to the gate.
   */
  recycle(bytes: number): void {
    this.bufferedBytes -= bytes;
    if (this.replayed > 0) {
      this.replayed--;
      return;
    }
    if (this.floating > 0 && !this.wantsFloating()) {
      this.floating--;
      this.gate.returnFloating();
    } else this.grant();
  }
}

/** The result of polling the gate. */
export interface GateItem {
  channel: InputChannel;
  item: ChannelItem;
}

/** All input channels of one task. */
export class InputGate {
  readonly channels: InputChannel[] = [];
  /** Floating buffers not lent to any channel. */
  private floatingAvailable: number;
  /** Channels whose backlog wants floating buffers while none is free, in order of asking. */
  private readonly waiting: InputChannel[] = [];

  /** `floatingBuffers`: Flink's `taskmanager.network.memory.floating-buffers-per-gate`. */
  constructor(readonly floatingBuffers = 0) {
    this.floatingAvailable = floatingBuffers;
  }
  private ready: InputChannel[] = [];
  private readyHead = 0;
  /** Channels with a priority event at their head, in order of arrival. */
  private priority: InputChannel[] = [];
  private readonly polled: GateItem = {
    channel: undefined as unknown as InputChannel,
    item: undefined as unknown as ChannelItem,
  };
  finishedChannels = 0;
  /** Called when data arrives while the task may be waiting for it. */
  onData: () => void = () => {};

  addChannel(inputIndex: number, serializer: TypeSerializer<unknown>): InputChannel {
    const channel = new InputChannel(this, this.channels.length, inputIndex, serializer);
    this.channels.push(channel);
    return channel;
  }

  /** @internal Lends floating buffers to `channel` while its backlog wants them and any is free. */
  lendFloating(channel: InputChannel): void {
    while (channel.wantsFloating()) {
      if (this.floatingAvailable === 0) {
        if (!channel.waitingForFloating) {
          channel.waitingForFloating = true;
          this.waiting.push(channel);
        }
        return;
      }
      this.floatingAvailable--;
      channel.takeFloating();
    }
  }

  /** @internal A floating buffer came back: the first waiting channel that still wants one gets it. */
  returnFloating(): void {
    while (this.waiting.length > 0) {
      const channel = this.waiting[0]!;
      if (!channel.wantsFloating()) {
        this.waiting.shift();
        channel.waitingForFloating = false;
        continue;
      }
      channel.takeFloating();
      if (!channel.wantsFloating()) {
        this.waiting.shift();
        channel.waitingForFloating = false;
      }
      return;
    }
    this.floatingAvailable++;
  }

  /** @internal */
  notifyData(channel: InputChannel): void {
    if (channel.queuedInGate || channel.blocked) return;
    channel.queuedInGate = true;
    this.ready.push(channel);
    this.onData();
  }

  /** @internal A priority event reached the head of `channel`. */
  notifyPriority(channel: InputChannel): void {
    this.priority.push(channel);
    this.notifyData(channel);
    this.onData();
  }

  /** Whether a priority event waits to be taken (even while the task's output is full). */
  hasPriority(): boolean {
    return this.priority.length > 0;
  }

  /**
   * The next priority event, ahead of any data: an unaligned barrier must be taken at once, also
   * by a task that is backpressured. Channels blocked by an alignment keep theirs until released.
   * The returned object is reused by the next call (and by `pollNext`).
   */
  pollPriority(): GateItem | undefined {
    for (let i = 0; i < this.priority.length; i++) {
      const channel = this.priority[i]!;
      if (channel.blocked) continue;
      this.priority.splice(i, 1);
      if (channel.priorityEvents === 0) {
        // Taken by pollNext meanwhile.
        i--;
        continue;
      }
      const item = channel.poll()!;
      this.polled.channel = channel;
      this.polled.item = item;
      return this.polled;
    }
    return undefined;
  }

  /**
   * The next item of some channel, or undefined when none has data. The returned object is
   * reused by the next call.
   */
  pollNext(): GateItem | undefined {
    while (this.readyHead < this.ready.length) {
      const channel = this.ready[this.readyHead]!;
      this.ready[this.readyHead++] = undefined as unknown as InputChannel;
      if (channel.blocked) {
        channel.queuedInGate = false;
        continue;
      }
      const item = channel.poll();
      if (channel.hasData()) this.ready.push(channel);
      else channel.queuedInGate = false;
      if (this.readyHead === this.ready.length) {
        this.ready.length = 0;
        this.readyHead = 0;
      } else if (this.readyHead > 64 && this.readyHead * 2 > this.ready.length) {
        this.ready = this.ready.slice(this.readyHead);
        this.readyHead = 0;
      }
      if (item === undefined) continue;
      this.polled.channel = channel;
      this.polled.item = item;
      return this.polled;
    }
    return undefined;
  }

  hasData(): boolean {
    return this.readyHead < this.ready.length;
  }

  /** Stops handing out items of `channel` until `unblock` (barrier alignment). */
  block(channel: InputChannel): void {
    channel.blocked = true;
  }

  /** Resumes every blocked channel; those with data become ready again. */
  unblockAll(): void {
    for (const channel of this.channels) {
      if (!channel.blocked) continue;
      channel.blocked = false;
      if (channel.hasData()) this.notifyData(channel);
    }
    if (this.priority.length > 0) this.onData();
  }

  allFinished(): boolean {
    return this.finishedChannels === this.channels.length;
  }
}

/** Whether a polled item is a buffer. */
export { isBuffer };
