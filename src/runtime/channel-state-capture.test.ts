/** Unaligned checkpoints in the data plane: priority barriers, in-flight data capture and its replay. */
import { describe, expect, it } from 'vitest';
import { MsgpackSerializer } from '../core/serializer.js';
import { decodeChannelState, encodeChannelState } from '../storage/channel-state.js';
import { isBuffer, type ChannelEvent, type ChannelItem } from './channel-event.js';
import { captureInputChannels, replayChannelState } from './channel-state-capture.js';
import { InputGate, type GateItem } from './input-gate.js';
import { ResultPartition, type ChannelReceiver } from './result-partition.js';
import { RecordWriter } from './record-writer.js';
import { createChannelSelector } from './channel-selector.js';

const serializer = new MsgpackSerializer();
const forward = () => createChannelSelector({ kind: 'forward' }, 0, 1, 1, 128);
const buf = (tag: number): Uint8Array => new Uint8Array([tag, tag]);
const tags = (buffers: readonly Uint8Array[] | undefined): number[] => (buffers ?? []).map((b) => b[0]!);
const unaligned = (checkpointId: number): ChannelEvent => ({
  kind: 'barrier',
  checkpointId,
  timestamp: 0,
  unaligned: true,
});
const aligned = (checkpointId: number): ChannelEvent => ({ kind: 'barrier', checkpointId, timestamp: 0 });

function label(polled: GateItem | undefined): string | undefined {
  if (polled === undefined) return undefined;
  const item: ChannelItem = polled.item;
  return `${polled.channel.index}:${isBuffer(item) ? item[0]! : `${item.kind}`}`;
}

function drain(gate: InputGate): string[] {
  const out: string[] = [];
  for (let l = label(gate.pollNext()); l !== undefined; l = label(gate.pollNext())) out.push(l);
  return out;
}

/** A receiver that records what a producer sends. */
class Received implements ChannelReceiver {
  readonly items: string[] = [];
  onBuffer(buffer: Uint8Array): void {
    this.items.push(String(buffer[0]));
  }
  onEvent(event: ChannelEvent): void {
    this.items.push(event.kind);
  }
}

describe('a priority barrier on the producer side', () => {
  it('leaves ahead of the unsent buffers, without credit, and returns the buffers it overtook', () => {
    const partition = new ResultPartition(1, 10);
    const sp = partition.subpartitions[0]!;
    const received = new Received();
    sp.connect(received, 1);
    sp.add(buf(1));
    sp.add(buf(2));
    sp.add(buf(3));
    expect(received.items).toEqual(['1']);
    expect(tags(sp.addPriority(unaligned(1)))).toEqual([2, 3]);
    expect(received.items).toEqual(['1', 'barrier']);
    sp.addCredit(2);
    expect(received.items).toEqual(['1', 'barrier', '2', '3']);
  });

  it('turns a queued timeoutable barrier into a priority event when its timeout passed, returning what it overtook', () => {
    const partition = new ResultPartition(1, 10);
    const sp = partition.subpartitions[0]!;
    const events: ChannelEvent[] = [];
    const received = new Received();
    sp.connect(
      { onBuffer: (b) => received.onBuffer(b), onEvent: (e) => (events.push(e), received.onEvent(e)) },
      1,
    );
    sp.add(buf(1));
    sp.add(buf(2));
    sp.add({ kind: 'barrier', checkpointId: 4, timestamp: 7, timeoutable: true });
    sp.add(buf(3));
    expect(sp.holdsBarrier(4)).toBe(true);
    expect(tags(sp.convertToPriority(4))).toEqual([2]);
    expect(events).toEqual([{ kind: 'barrier', checkpointId: 4, timestamp: 7, unaligned: true }]);
    expect(sp.holdsBarrier(4)).toBe(false);
    expect(sp.convertToPriority(4)).toBeUndefined();
    sp.addCredit(2);
    expect(received.items).toEqual(['1', 'barrier', '2', '3']);
  });

  it('flushes the record writer first, so a part-filled buffer is overtaken too', () => {
    const partition = new ResultPartition(2, 10);
    const writer = new RecordWriter(partition, forward(), serializer, 1024);
    writer.collect('a');
    const overtaken = writer.broadcastPriorityEvent(unaligned(1));
    expect(overtaken.map((b) => b.length)).toEqual([1, 0]);
  });
});

describe('a priority barrier on the consumer side', () => {
  it('jumps the queue, keeps what was queued as the checkpoint state, and is taken by pollPriority', () => {
    const gate = new InputGate();
    const [a, b] = [0, 1].map(() => gate.addChannel(0, serializer));
    a!.onBuffer(buf(1), 0);
    a!.onBuffer(buf(2), 0);
    b!.onBuffer(buf(5), 0);
    a!.onEvent(unaligned(1));
    a!.onBuffer(buf(3), 0);
    expect(gate.hasPriority()).toBe(true);
    expect(label(gate.pollPriority())).toBe('0:barrier');
    expect(gate.pollPriority()).toBeUndefined();
    expect(tags(a!.arrivalCapture?.buffers)).toEqual([1, 2]);
    expect(drain(gate)).toEqual(['0:1', '1:5', '0:2', '0:3']);
  });

  it('records the other channels until their barrier, after a part-processed buffer and what is queued', () => {
    const gate = new InputGate();
    const [a, b, c] = [0, 1, 2].map(() => gate.addChannel(0, serializer));
    a!.onBuffer(buf(1), 0);
    a!.onEvent(unaligned(7));
    b!.onBuffer(buf(4), 0);
    c!.onBuffer(buf(8), 0);
    gate.pollPriority();
    const capture = captureInputChannels(7, gate, [1, 2], a, { channel: b!, rest: buf(3) });
    capture.setOutputs([]);
    b!.onBuffer(buf(5), 0);
    b!.onEvent(unaligned(7));
    c!.onBuffer(buf(9), 0);
    // An aligned barrier while recording is taken with priority too: the task went unaligned.
    c!.onEvent(aligned(7));
    c!.onBuffer(buf(10), 0);
    return capture.result.then((state) => {
      expect(state!.inputs.map((i) => [i.channel, tags(i.buffers)])).toEqual([
        [0, [1]],
        [1, [3, 4, 5]],
        [2, [8, 9]],
      ]);
    });
  });

  it('takes an aligned barrier already queued as the end of a recording, and moves it ahead', () => {
    const gate = new InputGate();
    const [a, b] = [0, 1].map(() => gate.addChannel(0, serializer));
    b!.onBuffer(buf(1), 0);
    b!.onEvent(aligned(3));
    b!.onBuffer(buf(2), 0);
    const capture = captureInputChannels(3, gate, [1], a, undefined);
    capture.setOutputs([]);
    expect(label(gate.pollPriority())).toBe('1:barrier');
    expect(drain(gate)).toEqual(['1:1', '1:2']);
    return capture.result.then((state) => expect(tags(state!.inputs[0]!.buffers)).toEqual([1]));
  });

  it('ends a recording at the end of the channel, and settles undefined when aborted', async () => {
    const gate = new InputGate();
    const [a, b] = [0, 1].map(() => gate.addChannel(0, serializer));
    const ended = captureInputChannels(1, gate, [0], undefined, undefined);
    ended.setOutputs([]);
    a!.onBuffer(buf(1), 0);
    a!.onEvent({ kind: 'end-of-partition' });
    expect(tags((await ended.result)!.inputs[0]!.buffers)).toEqual([1]);
    const aborted = captureInputChannels(2, gate, [1], undefined, undefined);
    aborted.abort();
    b!.stopRecording(2);
    b!.onBuffer(buf(2), 0);
    expect(await aborted.result).toBeUndefined();
  });
});

describe('restored channel state', () => {
  it('is replayed ahead of what already arrived, without granting credit for it', () => {
    const gate = new InputGate();
    const channel = gate.addChannel(0, serializer);
    const credits: number[] = [];
    channel.connect({ addCredit: (n) => credits.push(n) }, 2);
    channel.onBuffer(buf(9), 0);
    const partition = new ResultPartition(1, 10);
    const received = new Received();
    partition.subpartitions[0]!.connect(received, 5);
    const writer = new RecordWriter(partition, forward(), serializer, 1024);
    const state = decodeChannelState(
      encodeChannelState({
        inputs: [{ channel: 0, buffers: [buf(1), buf(2)] }],
        outputs: [{ writer: 0, subpartition: 0, buffers: [buf(6)] }],
      }),
      'test state',
    );
    replayChannelState(state, gate, [writer], 'task (1/1)');
    const order: string[] = [];
    for (let polled = gate.pollNext(); polled; polled = gate.pollNext()) {
      order.push(label(polled)!);
      channel.recycle((polled.item as Uint8Array).length);
    }
    expect(order).toEqual(['0:1', '0:2', '0:9']);
    expect(credits).toEqual([1]);
    expect(received.items).toEqual(['6']);
  });

  it('names the task when its channels do not match the checkpoint', () => {
    const gate = new InputGate();
    gate.addChannel(0, serializer);
    expect(() =>
      replayChannelState({ inputs: [{ channel: 3, buffers: [buf(1)] }], outputs: [] }, gate, [], 'sum (2/2)'),
    ).toThrow(/task sum \(2\/2\) cannot restore the in-flight data of input channel 3/u);
  });

  it('rejects damaged bytes with a clear error', () => {
    const bytes = encodeChannelState({ inputs: [{ channel: 0, buffers: [buf(1)] }], outputs: [] });
    expect(() => decodeChannelState(bytes.subarray(0, bytes.length - 1), 'the in-flight data')).toThrow(
      /the in-flight data.*truncated/u,
    );
    expect(() => decodeChannelState(new Uint8Array(16), 'the in-flight data')).toThrow(/not channel state/u);
  });
});
