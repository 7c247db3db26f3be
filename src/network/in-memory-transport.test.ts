/** In-memory transport: a RecordWriter's partition wired to an InputGate with connectInMemory, under credit-based flow control. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MsgpackSerializer } from '../core/serializer.js';
import { END_OF_PARTITION, isBuffer } from '../runtime/channel-event.js';
import { createChannelSelector } from '../runtime/channel-selector.js';
import { InputGate, type InputChannel } from '../runtime/input-gate.js';
import { RecordWriter, readFrameLength } from '../runtime/record-writer.js';
import { ResultPartition } from '../runtime/result-partition.js';
import { connectInMemory } from './in-memory-transport.js';

const serializer = new MsgpackSerializer();

function decode(buf: Uint8Array): unknown[] {
  const out: unknown[] = [];
  for (let pos = 0; pos < buf.length;) {
    const len = readFrameLength(buf, pos);
    out.push(serializer.deserialize(buf, pos + 4, pos + 4 + len));
    pos += 4 + len;
  }
  return out;
}

/** One producer writing to `n` consumer channels of one gate, each channel with `credits`. */
function wire(n: number, credits: number, maxBuffersPerChannel: number, segmentSize: number) {
  const partition = new ResultPartition(n, maxBuffersPerChannel);
  const gate = new InputGate();
  const channels: InputChannel[] = partition.subpartitions.map((sp) => {
    const ch = gate.addChannel(0, serializer);
    connectInMemory(sp, ch, credits);
    return ch;
  });
  const writer = new RecordWriter(
    partition,
    createChannelSelector({ kind: 'rebalance' }, 0, n, n, 128),
    serializer,
    segmentSize,
  );
  return { partition, gate, channels, writer };
}

/** Buffers a channel holds: delivered to it and not yet recycled. */
const held = (partition: ResultPartition, ch: number, recycled: number): number =>
  partition.subpartitions[ch]!.sentBuffers - recycled;

describe('connectInMemory', () => {
  it('delivers records in order per channel, with the frame format, then the event', () => {
    const { gate, writer } = wire(2, 100, 100, 48);
    for (let i = 0; i < 30; i++) writer.collect({ i });
    writer.broadcastEvent(END_OF_PARTITION);
    const perChannel: unknown[][] = [[], []];
    const ended: boolean[] = [false, false];
    for (let p = gate.pollNext(); p; p = gate.pollNext()) {
      const idx = p.channel.index;
      if (isBuffer(p.item)) {
        expect(ended[idx]).toBe(false); // nothing after end-of-partition
        perChannel[idx]!.push(...decode(p.item));
        p.channel.recycle(p.item.length);
      } else {
        expect(p.item).toBe(END_OF_PARTITION);
        ended[idx] = true;
      }
    }
    expect(ended).toEqual([true, true]);
    expect(perChannel[0]).toEqual(Array.from({ length: 15 }, (_, k) => ({ i: 2 * k })));
    expect(perChannel[1]).toEqual(Array.from({ length: 15 }, (_, k) => ({ i: 2 * k + 1 })));
  });

  it('with 2 credits the receiver never holds more than 2 buffers until it recycles', () => {
    const { partition, gate, channels, writer } = wire(1, 2, 100, 16);
    for (let i = 0; i < 10; i++) writer.collect('x'.repeat(8)); // one buffer per record
    writer.flushAll();
    const sp = partition.subpartitions[0]!;
    expect(sp.sentBuffers).toBe(2);
    expect(sp.queuedBuffers).toBe(8);
    // Take both, recycle none: still nothing more arrives.
    const a = gate.pollNext()!.item as Uint8Array;
    const b = gate.pollNext()!.item as Uint8Array;
    expect(gate.pollNext()).toBeUndefined();
    expect(held(partition, 0, 0)).toBe(2);
    channels[0]!.recycle(a.length);
    expect(sp.sentBuffers).toBe(3); // exactly one more, against the returned credit
    expect(held(partition, 0, 1)).toBe(2);
    channels[0]!.recycle(b.length);
    expect(sp.sentBuffers).toBe(4);
    expect(channels[0]!.maxBufferedBytes).toBeLessThanOrEqual(2 * 16);
  });

  it('backpressures the producer: unavailable at maxBuffersPerChannel queued, available once credit drains it', () => {
    const { partition, gate, channels, writer } = wire(1, 1, 3, 16);
    let wakeups = 0;
    const big = 'y'.repeat(9); // 4 + 10 bytes: one buffer per record
    let written = 0;
    // Write while available, like a task does.
    while (partition.isAvailable()) {
      writer.collect(big);
      written++;
      expect(written).toBeLessThan(20);
    }
    // 1 sent against the credit, 1 waiting in the writer, 3 queued in the subpartition.
    expect(partition.subpartitions[0]!.queuedBuffers).toBe(3);
    partition.onAvailable(() => wakeups++);
    const item = gate.pollNext()!;
    expect(wakeups).toBe(0);
    item.channel.recycle((item.item as Uint8Array).length); // one more leaves: 2 queued
    expect(partition.isAvailable()).toBe(true);
    expect(wakeups).toBe(1);
    channels[0]!.recycle(0);
    expect(wakeups).toBe(1);
  });

  it('delivers everything in order under random consumption, never holding more than its credits', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.oneof(fc.string({ maxLength: 40 }), fc.constant('flush'), fc.constant('consume')), {
          maxLength: 80,
        }),
        (n, credits, script) => {
          const { partition, gate, channels, writer } = wire(n, credits, 1000, 24);
          const recycled = new Array<number>(n).fill(0);
          const got: unknown[][] = Array.from({ length: n }, () => []);
          const want: unknown[][] = Array.from({ length: n }, () => []);
          let next = 0;
          const consumeOne = (): boolean => {
            const p = gate.pollNext();
            if (!p) return false;
            const idx = p.channel.index;
            const b = p.item as Uint8Array;
            got[idx]!.push(...decode(b));
            recycled[idx]!++;
            p.channel.recycle(b.length);
            return true;
          };
          for (const step of script) {
            if (step === 'flush') writer.flushAll();
            else if (step === 'consume') consumeOne();
            else {
              writer.collect(step);
              want[next]!.push(step);
              next = (next + 1) % n;
            }
            for (let ch = 0; ch < n; ch++) {
              expect(held(partition, ch, recycled[ch]!)).toBeLessThanOrEqual(credits);
              expect(channels[ch]!.bufferedBytes).toBeGreaterThanOrEqual(0);
            }
          }
          writer.flushAll();
          while (consumeOne());
          expect(got).toEqual(want);
          for (const ch of channels) expect(ch.bufferedBytes).toBe(0);
        },
      ),
      { numRuns: 200 },
    );
  });
});
