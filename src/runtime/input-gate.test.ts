/** InputGate/InputChannel: round-robin polling over channels with data, buffered-bytes accounting, credit return on recycle. */
import { describe, expect, it } from 'vitest';
import { MsgpackSerializer } from '../core/serializer.js';
import { END_OF_PARTITION, isBuffer, type ChannelItem } from './channel-event.js';
import { InputGate, type GateItem } from './input-gate.js';

const serializer = new MsgpackSerializer();
const buf = (tag: number, size = 2): Uint8Array => new Uint8Array(size).fill(tag);

/** Drains the gate: `channelIndex:tag` per item (tag = first byte, or the event kind). */
function drain(gate: InputGate): string[] {
  const out: string[] = [];
  for (let polled: GateItem | undefined; (polled = gate.pollNext());) {
    const item: ChannelItem = polled.item;
    out.push(`${polled.channel.index}:${isBuffer(item) ? item[0]! : item.kind}`);
  }
  return out;
}

describe('InputGate', () => {
  it('returns nothing when no channel has data', () => {
    const gate = new InputGate();
    gate.addChannel(0, serializer);
    expect(gate.hasData()).toBe(false);
    expect(gate.pollNext()).toBeUndefined();
  });

  it('round-robins over the channels that have data', () => {
    const gate = new InputGate();
    const [a, b, c] = [0, 1, 2].map(() => gate.addChannel(0, serializer));
    a!.onBuffer(buf(1), 0);
    a!.onBuffer(buf(2), 0);
    a!.onBuffer(buf(3), 0);
    c!.onBuffer(buf(7), 0);
    c!.onBuffer(buf(8), 0);
    expect(drain(gate)).toEqual(['0:1', '2:7', '0:2', '2:8', '0:3']);
    expect(b!.hasData()).toBe(false);
  });

  it('puts a channel that gets data later at the back of the rotation', () => {
    const gate = new InputGate();
    const [a, b] = [0, 1].map(() => gate.addChannel(0, serializer));
    a!.onBuffer(buf(1), 0);
    a!.onBuffer(buf(2), 0);
    expect(gate.pollNext()!.item).toEqual(buf(1));
    b!.onBuffer(buf(5), 0);
    b!.onBuffer(buf(6), 0);
    a!.onBuffer(buf(3), 0);
    expect(drain(gate)).toEqual(['0:2', '1:5', '0:3', '1:6']);
  });

  it('keeps each channel in order, events included', () => {
    const gate = new InputGate();
    const [a, b] = [0, 1].map(() => gate.addChannel(0, serializer));
    a!.onBuffer(buf(1), 0);
    a!.onEvent(END_OF_PARTITION);
    b!.onBuffer(buf(4), 0);
    b!.onBuffer(buf(5), 0);
    b!.onEvent(END_OF_PARTITION);
    expect(drain(gate)).toEqual(['0:1', '1:4', '0:end-of-partition', '1:5', '1:end-of-partition']);
  });

  it('holds the watermarks of a blocked channel with its records until unblocked (aligned checkpoints)', () => {
    const gate = new InputGate();
    const [a, b] = [0, 1].map(() => gate.addChannel(0, serializer));
    a!.onEvent({ kind: 'barrier', checkpointId: 1, timestamp: 0 });
    a!.onBuffer(buf(1), 0);
    a!.onEvent({ kind: 'watermark', timestamp: 100 });
    b!.onBuffer(buf(2), 0);
    b!.onEvent({ kind: 'watermark', timestamp: 50 });
    expect(gate.pollNext()!.item).toEqual({ kind: 'barrier', checkpointId: 1, timestamp: 0 });
    gate.block(a!); // as the barrier handler does on the first barrier
    expect(drain(gate)).toEqual(['1:2', '1:watermark']);
    gate.unblockAll();
    expect(drain(gate)).toEqual(['0:1', '0:watermark']);
  });

  it('calls onData once per channel becoming ready, not per item', () => {
    const gate = new InputGate();
    let wakes = 0;
    gate.onData = () => wakes++;
    const a = gate.addChannel(0, serializer);
    a.onBuffer(buf(1), 0);
    a.onBuffer(buf(2), 0);
    expect(wakes).toBe(1);
    drain(gate);
    a.onBuffer(buf(3), 0);
    expect(wakes).toBe(2);
  });

  it('gives channels indexes, input indexes and serializers', () => {
    const gate = new InputGate();
    const other = new MsgpackSerializer();
    const a = gate.addChannel(0, serializer);
    const b = gate.addChannel(1, other);
    expect([a.index, a.inputIndex, b.index, b.inputIndex]).toEqual([0, 0, 1, 1]);
    expect(b.serializer).toBe(other);
    expect(gate.channels).toEqual([a, b]);
  });

  it('counts finished channels', () => {
    const gate = new InputGate();
    gate.addChannel(0, serializer);
    gate.addChannel(0, serializer);
    expect(gate.allFinished()).toBe(false);
    gate.finishedChannels = 2;
    expect(gate.allFinished()).toBe(true);
  });

  it('keeps order over many items (ready-queue compaction)', () => {
    const gate = new InputGate();
    const chans = [0, 1, 2].map(() => gate.addChannel(0, serializer));
    for (let i = 0; i < 100; i++) for (const ch of chans) ch.onBuffer(buf(i), 0);
    const got = drain(gate);
    expect(got.length).toBe(300);
    for (const ch of [0, 1, 2])
      expect(got.filter((s) => s.startsWith(`${ch}:`))).toEqual(
        Array.from({ length: 100 }, (_, i) => `${ch}:${i}`),
      );
  });
});

describe('InputChannel', () => {
  it('tracks buffered bytes and their maximum, released by recycle', () => {
    const gate = new InputGate();
    const ch = gate.addChannel(0, serializer);
    ch.onBuffer(buf(1, 10), 0);
    ch.onBuffer(buf(2, 30), 0);
    expect([ch.bufferedBytes, ch.maxBufferedBytes]).toEqual([40, 40]);
    const first = ch.poll() as Uint8Array;
    expect(ch.bufferedBytes).toBe(40); // polled but not recycled: still held
    ch.recycle(first.length);
    expect([ch.bufferedBytes, ch.maxBufferedBytes]).toEqual([30, 40]);
    ch.onBuffer(buf(3, 5), 0);
    expect([ch.bufferedBytes, ch.maxBufferedBytes]).toEqual([35, 40]);
  });

  it('returns one credit per recycled buffer to its credit sink', () => {
    const gate = new InputGate();
    const ch = gate.addChannel(0, serializer);
    const credits: number[] = [];
    ch.recycle(0); // no sink yet: nothing to return to
    ch.connect({ addCredit: (n) => credits.push(n) }, 2);
    ch.onBuffer(buf(1), 0);
    ch.poll();
    expect(credits).toEqual([]);
    ch.recycle(2);
    expect(credits).toEqual([1]);
  });

  it('poll returns undefined when empty', () => {
    const ch = new InputGate().addChannel(0, serializer);
    expect(ch.poll()).toBeUndefined();
    ch.onEvent(END_OF_PARTITION);
    expect(ch.poll()).toBe(END_OF_PARTITION);
    expect(ch.poll()).toBeUndefined();
  });
});

describe('floating buffers', () => {
  /** A channel of `gate` with 2 exclusive buffers, recording the credit it grants. */
  function channelOf(gate: InputGate) {
    const credits: number[] = [];
    const channel = gate.addChannel(0, serializer);
    channel.connect({ addCredit: (n) => credits.push(n) }, 2);
    return { channel, granted: () => credits.reduce((a, b) => a + b, 0) };
  }

  /** Receives a buffer with `backlog`, then polls and recycles it. */
  function consume(channel: ReturnType<typeof channelOf>['channel'], backlog: number): void {
    channel.onBuffer(buf(1), backlog);
    channel.recycle((channel.poll() as Uint8Array).length);
  }

  it('lends a channel as many floating buffers as its producer has backlog, from the gate pool', () => {
    const gate = new InputGate(3);
    const a = channelOf(gate);
    // One exclusive credit used, and 5 buffers wait behind it: the gate lends all 3 it has.
    a.channel.onBuffer(buf(1), 5);
    expect(a.channel.floating).toBe(3);
    expect(a.granted()).toBe(3);
    // Another channel with a backlog gets none while the pool is empty, and keeps its exclusive credit.
    const b = channelOf(gate);
    consume(b.channel, 4);
    expect(b.channel.floating).toBe(0);
    expect(b.granted()).toBe(1);
  });

  it('gives a floating buffer back once the backlog no longer needs it, to a channel that waits', () => {
    const gate = new InputGate(1);
    const a = channelOf(gate);
    const b = channelOf(gate);
    a.channel.onBuffer(buf(1), 3);
    expect(a.channel.floating).toBe(1);
    b.channel.onBuffer(buf(1), 3); // waits: the pool is empty
    expect(b.channel.floating).toBe(0);
    // a's producer is drained (backlog 0): the buffer a consumes goes back and on to b.
    a.channel.recycle((a.channel.poll() as Uint8Array).length);
    a.channel.onBuffer(buf(2), 0);
    const before = a.granted();
    a.channel.recycle((a.channel.poll() as Uint8Array).length);
    expect(a.channel.floating).toBe(0);
    expect(a.granted()).toBe(before);
    expect(b.channel.floating).toBe(1);
  });

  it('always grants exclusive buffers back, so a channel never runs out of credit', () => {
    const gate = new InputGate(0);
    const a = channelOf(gate);
    for (let i = 0; i < 10; i++) consume(a.channel, 7);
    expect(a.channel.floating).toBe(0);
    expect(a.granted()).toBe(10);
  });
});
