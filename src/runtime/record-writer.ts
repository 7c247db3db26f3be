/**
 * Serializes records into per-channel buffers (`[u32 length][bytes]` frames, segment-size
 * buffers) and hands full buffers to the result partition. A record larger than a segment gets
 * a buffer of its own size rather than being split.
 */
import type { TypeSerializer } from '../core/serializer.js';
import type { Output } from './stream-operator.js';
import type { ChannelSelector } from './channel-selector.js';
import type { ChannelEvent } from './channel-event.js';
import type { ResultPartition } from './result-partition.js';

/** Writes one producer subtask's records for one outgoing edge. */
export class RecordWriter implements Output<unknown> {
  private readonly buffers: (Uint8Array | undefined)[];
  private readonly positions: number[];
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
    const need = bytes.length + 4;
    let buf = this.buffers[ch];
    let pos = this.positions[ch]!;
    if (buf === undefined || pos + need > buf.length) {
      if (buf !== undefined) this.finish(ch);
      buf = new Uint8Array(need > this.segmentSize ? need : this.segmentSize);
      this.buffers[ch] = buf;
      pos = 0;
    }
    const len = bytes.length;
    buf[pos] = len >>> 24;
    buf[pos + 1] = (len >>> 16) & 0xff;
    buf[pos + 2] = (len >>> 8) & 0xff;
    buf[pos + 3] = len & 0xff;
    buf.set(bytes, pos + 4);
    this.positions[ch] = pos + need;
  }

  private finish(ch: number): void {
    const buf = this.buffers[ch]!;
    this.partition.subpartitions[ch]!.add(buf.subarray(0, this.positions[ch]));
    this.buffers[ch] = undefined;
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
}

/** Reads the length prefix of the frame at `pos`. */
export function readFrameLength(buf: Uint8Array, pos: number): number {
  return ((buf[pos]! << 24) | (buf[pos + 1]! << 16) | (buf[pos + 2]! << 8) | buf[pos + 3]!) >>> 0;
}
