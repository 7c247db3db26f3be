/** RecordWriter: length-prefixed frames in segment-size buffers per channel, flushing, oversized records, broadcast, events. */
import { describe, expect, it } from 'vitest';
import { JsonSerializer, MsgpackSerializer, type TypeSerializer } from '../core/serializer.js';
import { END_OF_PARTITION, isBuffer, type ChannelEvent } from './channel-event.js';
import { createChannelSelector, type ChannelSelector } from './channel-selector.js';
import { RecordWriter, frameHasTimestamp, readFrameLength } from './record-writer.js';
import { ElementTimestamp } from './element-timestamp.js';
import { ResultPartition, type ChannelReceiver } from './result-partition.js';

type Received = { buffer: Uint8Array } | { event: ChannelEvent };

/** A receiver with unlimited credit that records what arrives. */
class Recorder implements ChannelReceiver {
  readonly items: Received[] = [];
  onBuffer(buffer: Uint8Array): void {
    this.items.push({ buffer });
  }
  onEvent(event: ChannelEvent): void {
    this.items.push({ event });
  }
  get buffers(): Uint8Array[] {
    return this.items.flatMap((i) => ('buffer' in i ? [i.buffer] : []));
  }
}

/** Splits a buffer into its `[u32 BE length][bytes]` frames and decodes each. */
function decodeFrames(buf: Uint8Array, serializer: TypeSerializer<unknown>): unknown[] {
  const out: unknown[] = [];
  let pos = 0;
  while (pos < buf.length) {
    expect(pos + 4).toBeLessThanOrEqual(buf.length);
    const len = new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getUint32(pos);
    expect(readFrameLength(buf, pos)).toBe(len);
    out.push(serializer.deserialize(buf, pos + 4, pos + 4 + len));
    pos += 4 + len;
  }
  expect(pos).toBe(buf.length); // no trailing garbage
  return out;
}

/** A writer over `n` channels, each connected with plenty of credit. */
function setup(
  n: number,
  segmentSize: number,
  selector: ChannelSelector = createChannelSelector({ kind: 'rebalance' }, 0, n, n, 128),
  serializer: TypeSerializer<unknown> = new MsgpackSerializer(),
): {
  writer: RecordWriter;
  receivers: Recorder[];
  partition: ResultPartition;
  serializer: TypeSerializer<unknown>;
} {
  const partition = new ResultPartition(n, 1000);
  const receivers = partition.subpartitions.map((sp) => {
    const r = new Recorder();
    sp.connect(r, 1_000_000);
    return r;
  });
  return {
    writer: new RecordWriter(partition, selector, serializer, segmentSize),
    receivers,
    partition,
    serializer,
  };
}

const toChannel = (ch: number): ChannelSelector => ({ isBroadcast: false, selectChannel: () => ch });

describe('RecordWriter', () => {
  it('writes [u32 big-endian length][bytes] frames, in order per channel', () => {
    const { writer, receivers, serializer } = setup(2, 64);
    const records = Array.from({ length: 40 }, (_, i) => ({ i, s: 'x'.repeat(i % 5) }));
    for (const r of records) writer.collect(r);
    writer.flushAll();
    expect(writer.recordsOut).toBe(40);
    for (const [ch, rec] of receivers.entries()) {
      const got = rec.buffers.flatMap((b) => decodeFrames(b, serializer));
      expect(got).toEqual(records.filter((_, i) => i % 2 === ch));
      for (const b of rec.buffers) expect(b.length).toBeLessThanOrEqual(64);
    }
  });

  it('frames exactly as documented (JSON serializer, byte for byte)', () => {
    const { writer, receivers } = setup(1, 32, toChannel(0), new JsonSerializer());
    writer.collect('ab');
    writer.collect(7);
    writer.flushAll();
    // "ab" is 4 JSON bytes, 7 is 1.
    expect(Array.from(receivers[0]!.buffers[0]!)).toEqual([
      0, 0, 0, 4, 0x22, 0x61, 0x62, 0x22, 0, 0, 0, 1, 0x37,
    ]);
  });

  it('holds partial buffers until flushAll, which sends every non-empty one', () => {
    const { writer, receivers, partition } = setup(3, 1024, toChannel(1));
    writer.collect('a');
    writer.collect('b');
    expect(receivers.map((r) => r.items.length)).toEqual([0, 0, 0]);
    writer.flushAll();
    expect(receivers.map((r) => r.items.length)).toEqual([0, 1, 0]); // empty channels send nothing
    expect(partition.subpartitions[1]!.sentBuffers).toBe(1);
    writer.flushAll();
    expect(receivers[1]!.items.length).toBe(1); // nothing new to flush
  });

  it('sends a buffer when the next record does not fit, never splitting a record', () => {
    const serializer = new JsonSerializer();
    const { writer, receivers } = setup(1, 16, toChannel(0), serializer);
    // Each frame: 4 + 5 bytes ("abc" quoted) = 9; two do not fit in 16.
    writer.collect('abc');
    expect(receivers[0]!.items.length).toBe(0);
    writer.collect('def');
    expect(receivers[0]!.buffers.map((b) => decodeFrames(b, serializer))).toEqual([['abc']]);
    writer.flushAll();
    expect(receivers[0]!.buffers.map((b) => decodeFrames(b, serializer))).toEqual([['abc'], ['def']]);
  });

  it('gives a record bigger than the segment size a buffer of its own', () => {
    const serializer = new JsonSerializer();
    const { writer, receivers } = setup(1, 32, toChannel(0), serializer);
    const big = 'z'.repeat(100);
    writer.collect('small');
    writer.collect(big);
    writer.collect('after');
    writer.flushAll();
    const bufs = receivers[0]!.buffers;
    expect(bufs.map((b) => decodeFrames(b, serializer))).toEqual([['small'], [big], ['after']]);
    expect(bufs[1]!.length).toBe(4 + 102);
  });

  it('fills a buffer exactly to the segment size', () => {
    const serializer = new JsonSerializer();
    const { writer, receivers } = setup(1, 18, toChannel(0), serializer);
    writer.collect('abc'); // 9 bytes
    writer.collect('def'); // 9 more: exactly 18
    writer.collect('g');
    writer.flushAll();
    expect(receivers[0]!.buffers.map((b) => b.length)).toEqual([18, 7]);
  });

  it('copies broadcast records into every channel', () => {
    const n = 3;
    const { writer, receivers, serializer } = setup(
      n,
      64,
      createChannelSelector({ kind: 'broadcast' }, 0, n, n, 128),
    );
    for (let i = 0; i < 10; i++) writer.collect({ i });
    writer.flushAll();
    expect(writer.recordsOut).toBe(10);
    for (const rec of receivers)
      expect(rec.buffers.flatMap((b) => decodeFrames(b, serializer))).toEqual(
        Array.from({ length: 10 }, (_, i) => ({ i })),
      );
  });

  it('puts events on every channel behind the data written before them', () => {
    const { writer, receivers, serializer } = setup(2, 1024);
    writer.collect('r0'); // channel 0
    writer.collect('r1'); // channel 1
    writer.broadcastEvent(END_OF_PARTITION);
    for (const [ch, rec] of receivers.entries()) {
      expect(rec.items.length).toBe(2);
      const [data, event] = rec.items;
      expect(data && 'buffer' in data && decodeFrames(data.buffer, serializer)).toEqual([`r${ch}`]);
      expect(event).toEqual({ event: END_OF_PARTITION });
    }
  });

  it('keeps events behind unsent buffers when the channel has no credit', () => {
    const partition = new ResultPartition(1, 100);
    const serializer = new JsonSerializer();
    const writer = new RecordWriter(partition, toChannel(0), serializer, 8);
    for (const s of ['a', 'b', 'c']) writer.collect(s); // 7-byte frames: one buffer each
    writer.broadcastEvent(END_OF_PARTITION);
    const rec = new Recorder();
    partition.subpartitions[0]!.connect(rec, 1);
    const kinds = (): string[] =>
      rec.items.map((i) => ('buffer' in i ? String(decodeFrames(i.buffer, serializer)[0]) : i.event.kind));
    expect(kinds()).toEqual(['a']);
    partition.subpartitions[0]!.addCredit(1);
    expect(kinds()).toEqual(['a', 'b']);
    partition.subpartitions[0]!.addCredit(5);
    expect(kinds()).toEqual(['a', 'b', 'c', 'end-of-partition']);
    expect(rec.items.filter((i) => isBuffer('buffer' in i ? i.buffer : i.event)).length).toBe(3);
  });

  it('frames a timestamped record as [u32 length | flag][f64 timestamp][bytes], others unchanged', () => {
    const { writer, receivers, serializer } = setup(1, 1024);
    const ts = new ElementTimestamp();
    writer.bindElementTimestamp(ts);
    writer.collect('plain');
    ts.set(1_700_000_000_123.5);
    writer.collect('stamped');
    ts.set(-5);
    writer.collect('negative');
    ts.clear();
    writer.collect('plain again');
    writer.flushAll();
    const buf = receivers[0]!.buffers[0]!;
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const out: [unknown, number | null][] = [];
    for (let pos = 0; pos < buf.length;) {
      const len = readFrameLength(buf, pos);
      let start = pos + 4;
      let t: number | null = null;
      if (frameHasTimestamp(buf, pos)) {
        expect(view.getUint32(pos) >>> 31).toBe(1);
        t = view.getFloat64(start);
        start += 8;
      } else {
        expect(view.getUint32(pos)).toBe(len);
      }
      out.push([serializer.deserialize(buf, start, start + len), t]);
      pos = start + len;
    }
    expect(out).toEqual([
      ['plain', null],
      ['stamped', 1_700_000_000_123.5],
      ['negative', -5],
      ['plain again', null],
    ]);
  });

  it('sends a watermark as an event on every channel behind the records', () => {
    const { writer, receivers } = setup(2, 1024);
    writer.collect('a');
    writer.emitWatermark(42);
    for (const r of receivers)
      expect(r.items.map((i) => ('event' in i ? i.event : 'buffer'))).toEqual(
        r.buffers.length > 0
          ? ['buffer', { kind: 'watermark', timestamp: 42 }]
          : [{ kind: 'watermark', timestamp: 42 }],
      );
  });
});
