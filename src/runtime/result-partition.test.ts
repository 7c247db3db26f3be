/** ResultPartition/ResultSubpartition: credit-gated sending, event ordering, and availability (backpressure) signalling. */
import { describe, expect, it } from 'vitest';
import { SluiceError } from '../core/errors.js';
import { END_OF_PARTITION, type ChannelEvent } from './channel-event.js';
import { ResultPartition, type ChannelReceiver } from './result-partition.js';

class Recorder implements ChannelReceiver {
  readonly items: (Uint8Array | ChannelEvent)[] = [];
  onBuffer(buffer: Uint8Array): void {
    this.items.push(buffer);
  }
  onEvent(event: ChannelEvent): void {
    this.items.push(event);
  }
}

const buf = (tag: number, size = 3): Uint8Array => new Uint8Array(size).fill(tag);
const tags = (items: readonly (Uint8Array | ChannelEvent)[]): (number | string)[] =>
  items.map((i) => (i instanceof Uint8Array ? i[0]! : i.kind));

describe('ResultSubpartition', () => {
  it('sends only against credit, in FIFO order', () => {
    const part = new ResultPartition(1, 100);
    const sp = part.subpartitions[0]!;
    const rec = new Recorder();
    sp.connect(rec, 2);
    for (let i = 1; i <= 5; i++) sp.add(buf(i));
    expect(tags(rec.items)).toEqual([1, 2]);
    expect([sp.queuedBuffers, sp.sentBuffers]).toEqual([3, 2]);
    sp.addCredit(1);
    expect(tags(rec.items)).toEqual([1, 2, 3]);
    sp.addCredit(10);
    expect(tags(rec.items)).toEqual([1, 2, 3, 4, 5]);
    expect([sp.queuedBuffers, sp.queuedBytes, sp.sentBuffers, sp.sentBytes]).toEqual([0, 0, 5, 15]);
    // Remaining credit is kept for later buffers.
    sp.add(buf(6));
    expect(tags(rec.items)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('queues everything until connected, then sends against the initial credit', () => {
    const part = new ResultPartition(1, 100);
    const sp = part.subpartitions[0]!;
    sp.add(buf(1, 10));
    sp.add(END_OF_PARTITION);
    sp.add(buf(2, 20));
    expect([sp.queuedBuffers, sp.queuedBytes]).toEqual([2, 30]);
    const rec = new Recorder();
    sp.connect(rec, 1);
    expect(tags(rec.items)).toEqual([1, 'end-of-partition']);
    expect([sp.queuedBuffers, sp.queuedBytes]).toEqual([1, 20]);
  });

  it('sends events without credit when nothing is ahead of them, never overtaking buffers', () => {
    const part = new ResultPartition(1, 100);
    const sp = part.subpartitions[0]!;
    const rec = new Recorder();
    sp.connect(rec, 0);
    sp.add(END_OF_PARTITION);
    expect(tags(rec.items)).toEqual(['end-of-partition']);
    sp.add(buf(1));
    sp.add(END_OF_PARTITION);
    expect(tags(rec.items)).toEqual(['end-of-partition']);
    sp.addCredit(1);
    expect(tags(rec.items)).toEqual(['end-of-partition', 1, 'end-of-partition']);
  });

  it('is connected only once', () => {
    const sp = new ResultPartition(1, 4).subpartitions[0]!;
    sp.connect(new Recorder(), 1);
    expect(() => sp.connect(new Recorder(), 1)).toThrow(SluiceError);
  });

  it('keeps order across many items (queue compaction)', () => {
    const sp = new ResultPartition(1, 10_000).subpartitions[0]!;
    const rec = new Recorder();
    sp.connect(rec, 0);
    for (let i = 0; i < 500; i++) sp.add(buf(i & 0xff, 1));
    for (let i = 0; i < 500; i += 7) sp.addCredit(7);
    expect(tags(rec.items)).toEqual(Array.from({ length: 500 }, (_, i) => i & 0xff));
  });
});

describe('ResultPartition availability', () => {
  it('becomes unavailable when a subpartition queues maxBuffersPerChannel unsent buffers', () => {
    const part = new ResultPartition(2, 3);
    const [sp0] = part.subpartitions;
    sp0!.add(buf(1));
    sp0!.add(buf(2));
    expect(part.isAvailable()).toBe(true);
    sp0!.add(buf(3));
    expect(part.isAvailable()).toBe(false);
  });

  it('does not count events toward the limit', () => {
    const part = new ResultPartition(1, 2);
    const sp = part.subpartitions[0]!;
    sp.add(buf(1));
    for (let i = 0; i < 5; i++) sp.add(END_OF_PARTITION);
    expect(part.isAvailable()).toBe(true);
  });

  it('becomes available, calling the listener once, when credit drains the subpartition', () => {
    const part = new ResultPartition(1, 3);
    const sp = part.subpartitions[0]!;
    const rec = new Recorder();
    sp.connect(rec, 0);
    for (let i = 1; i <= 4; i++) sp.add(buf(i)); // one past the limit
    expect(part.isAvailable()).toBe(false);
    let calls = 0;
    part.onAvailable(() => calls++);
    expect(calls).toBe(0);
    sp.addCredit(1); // 3 queued: still full
    expect([part.isAvailable(), calls]).toEqual([false, 0]);
    sp.addCredit(1); // 2 queued
    expect([part.isAvailable(), calls]).toEqual([true, 1]);
    sp.addCredit(5);
    expect(calls).toBe(1);
    // Filling up and draining again does not call the old listener again.
    for (let i = 0; i < 10; i++) sp.add(buf(9)); // 3 leave on the credit left, 7 stay queued
    expect([sp.queuedBuffers, part.isAvailable()]).toEqual([7, false]);
    sp.addCredit(7);
    expect([part.isAvailable(), calls]).toEqual([true, 1]);
  });

  it('calls a listener at once when already available', () => {
    const part = new ResultPartition(1, 3);
    let calls = 0;
    part.onAvailable(() => calls++);
    expect(calls).toBe(1);
  });

  it('stays unavailable until every full subpartition drains', () => {
    const part = new ResultPartition(2, 2);
    const [a, b] = part.subpartitions;
    const ra = new Recorder();
    const rb = new Recorder();
    a!.connect(ra, 0);
    b!.connect(rb, 0);
    for (const sp of [a!, b!]) for (let i = 0; i < 2; i++) sp.add(buf(i));
    expect(part.isAvailable()).toBe(false);
    const calls: string[] = [];
    part.onAvailable(() => calls.push('first'));
    part.onAvailable(() => calls.push('second'));
    a!.addCredit(2);
    expect([part.isAvailable(), calls.length]).toEqual([false, 0]);
    b!.addCredit(1);
    expect(part.isAvailable()).toBe(true);
    expect(calls).toEqual(['first', 'second']);
  });

  it('a buffer sent at once (credit available) never makes the partition unavailable afterwards', () => {
    const part = new ResultPartition(1, 1);
    const sp = part.subpartitions[0]!;
    sp.connect(new Recorder(), 100);
    for (let i = 0; i < 10; i++) {
      sp.add(buf(i));
      expect(part.isAvailable()).toBe(true);
    }
  });
});
