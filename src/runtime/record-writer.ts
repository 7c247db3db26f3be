/**
 * Serializes records into per-channel buffers and hands full buffers to the result partition. A
 * frame is `[u32 length][bytes]`, or, for a record with an event timestamp,
 * `[u32 length | TIMESTAMP_FLAG][f64 timestamp][bytes]`: a record without a timestamp costs
 * nothing more than before. A record larger than a segment gets a buffer of its own size rather
 * than being split.
 */
import type { TypeSerializer } from '../core/serializer.js';
import type { Output } from './stream-operator.js';
import type { ChannelSelector } from './channel-selector.js';
import type { ChannelEvent } from './channel-event.js';
import type { ResultPartition } from './result-partition.js';
import { ElementTimestamp } from './element-timestamp.js';

/** The length word's top bit: an 8-byte big-endian float64 timestamp follows the length. */
export const TIMESTAMP_FLAG = 0x80000000;
/** A record's bytes must fit below the flag bit. */
const MAX_RECORD_BYTES = 0x7fffffff;

/** Writes one producer subtask's records for one outgoing edge. */
export class RecordWriter implements Output<unknown> {
  private readonly buffers: (Uint8Array | undefined)[];
  private readonly positions: number[];
  /** A view per open buffer, for the timestamps (made once per buffer, not per record). */
  private readonly views: (DataView | undefined)[];
  /** The chain's current record timestamp; the task binds its chain's (see `bindElementTimestamp`). */
  private timestamp = new ElementTimestamp();
  /** Records written (for metrics). */
  recordsOut = 0;

  constructor(
    readonly partition: ResultPartition,
    private readonly selector: ChannelSelector,
    private readonly serializer: TypeSerializer<unknown>,
    private readonly segmentSize: number,
  ) {
    const n = partition.subpartitions.length;
    this.buffers = new Array<Uint8Array | undefined>(n).fill(undefined);
    this.positions = new Array<number>(n).fill(0);
    this.views = new Array<DataView | undefined>(n).fill(undefined);
  }

  /** Frames records with the timestamps of the chain that owns `timestamp`. */
  bindElementTimestamp(timestamp: ElementTimestamp): void {
    this.timestamp = timestamp;
  }

  collect(record: unknown): void {
    const bytes = this.serializer.serialize(record);
    this.recordsOut++;
    if (this.selector.isBroadcast) {
      for (let ch = 0; ch < this.buffers.length; ch++) this.append(ch, bytes);
    } else {
      this.append(this.selector.selectChannel(record), bytes);
    }
  }

  private append(ch: number, bytes: Uint8Array): void {
    const stamped = this.timestamp.present;
    const header = stamped ? 12 : 4;
    const len = bytes.length;
    if (len > MAX_RECORD_BYTES) throw new RangeError(`a record of ${len} bytes is too large to send`);
    const need = len + header;
    let buf = this.buffers[ch];
    let pos = this.positions[ch]!;
    if (buf === undefined || pos + need > buf.length) {
      if (buf !== undefined) this.finish(ch);
      buf = new Uint8Array(need > this.segmentSize ? need : this.segmentSize);
      this.buffers[ch] = buf;
      this.views[ch] = undefined;
      pos = 0;
    }
    buf[pos] = (len >>> 24) | (stamped ? 0x80 : 0);
    buf[pos + 1] = (len >>> 16) & 0xff;
    buf[pos + 2] = (len >>> 8) & 0xff;
    buf[pos + 3] = len & 0xff;
    if (stamped) {
      let view = this.views[ch];
      if (view === undefined) {
        view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
        this.views[ch] = view;
      }
      view.setFloat64(pos + 4, this.timestamp.value);
    }
    buf.set(bytes, pos + header);
    this.positions[ch] = pos + need;
  }

  private finish(ch: number): void {
    const buf = this.buffers[ch]!;
    this.partition.subpartitions[ch]!.add(buf.subarray(0, this.positions[ch]));
    this.buffers[ch] = undefined;
    this.views[ch] = undefined;
    this.positions[ch] = 0;
  }

  /** Sends every partly filled buffer now (buffer timeout, and before events). */
  flushAll(): void {
    for (let ch = 0; ch < this.buffers.length; ch++) if (this.positions[ch]! > 0) this.finish(ch);
  }

  /** Flushes, then puts `event` on every channel, in order behind the data. */
  broadcastEvent(event: ChannelEvent): void {
    this.flushAll();
    for (const sp of this.partition.subpartitions) sp.add(event);
  }

  /**
   * Flushes, then puts `event` on every channel ahead of the unsent data (an unaligned barrier);
   * returns per channel the buffers it overtook.
   */
  broadcastPriorityEvent(event: ChannelEvent): Uint8Array[][] {
    this.flushAll();
    return this.partition.subpartitions.map((sp) => sp.addPriority(event));
  }

  /** A watermark goes to every channel, in order behind the records (Flink's RecordWriterOutput). */
  emitWatermark(watermark: number): void {
    this.broadcastEvent({ kind: 'watermark', timestamp: watermark });
  }
}

/** Reads the length prefix of the frame at `pos` (without the timestamp flag). */
export function readFrameLength(buf: Uint8Array, pos: number): number {
  return ((buf[pos]! & 0x7f) << 24) | (buf[pos + 1]! << 16) | (buf[pos + 2]! << 8) | buf[pos + 3]!;
}

/** Whether the frame at `pos` carries a timestamp (8 bytes after the length word). */
export function frameHasTimestamp(buf: Uint8Array, pos: number): boolean {
  return (buf[pos]! & 0x80) !== 0;
}
