/** TCP transport over loopback: a RecordWriter's partition read by an InputGate in order, under credit-based flow control, with failures reported. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../core/clock.js';
import type { SluiceError } from '../core/errors.js';
import { MsgpackSerializer } from '../core/serializer.js';
import { END_OF_PARTITION, isBuffer, type ChannelEvent } from '../runtime/channel-event.js';
import { createChannelSelector } from '../runtime/channel-selector.js';
import { InputGate, type InputChannel } from '../runtime/input-gate.js';
import { RecordWriter, readFrameLength } from '../runtime/record-writer.js';
import { ResultPartition } from '../runtime/result-partition.js';
import {
  TcpDataClient,
  TcpDataServer,
  type TcpDataClientOptions,
  type TcpDataServerOptions,
} from './tcp-transport.js';

/** Polls until `check` passes: loopback is fast, but a loaded CI machine is not. */
const until = (check: () => void): Promise<void> => vi.waitFor(check, { timeout: 15_000, interval: 5 });
const SECRET = 'test-cluster-secret';
const serializer = new MsgpackSerializer();
const key = (consumer: number, attempt = 0): string => `job1:0:0:${consumer}:${attempt}`;

const servers: TcpDataServer[] = [];
const clients: TcpDataClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function startServer(options: Partial<TcpDataServerOptions> = {}): Promise<TcpDataServer> {
  const server = new TcpDataServer({ secret: SECRET, ...options });
  servers.push(server);
  await server.listen();
  return server;
}

/** A client whose channel failures are collected in `failures`. */
function startClient(options: Partial<TcpDataClientOptions> = {}) {
  const failures: { channelKey: string; error: SluiceError }[] = [];
  const client = new TcpDataClient({
    secret: SECRET,
    onChannelFailed: (channelKey, error) => failures.push({ channelKey, error }),
    ...options,
  });
  clients.push(client);
  return { client, failures };
}

type Received = { record: unknown } | ChannelEvent;

/**
 * Drains the gate whenever data arrives (as a task's mailbox would), decoding records; recycles
 * each buffer unless `recycle` is off, in which case `held` keeps them for the test to recycle.
 */
function consume(gate: InputGate, recycle = true) {
  const items: Received[][] = gate.channels.map(() => []);
  const held: { channel: InputChannel; bytes: number }[] = [];
  let buffers = 0;
  const drain = (): void => {
    for (let p = gate.pollNext(); p; p = gate.pollNext()) {
      const out = items[p.channel.index]!;
      if (!isBuffer(p.item)) {
        out.push(p.item);
        continue;
      }
      buffers++;
      const buf = p.item;
      for (let pos = 0; pos < buf.length;) {
        const len = readFrameLength(buf, pos);
        out.push({ record: serializer.deserialize(buf, pos + 4, pos + 4 + len) });
        pos += 4 + len;
      }
      if (recycle) p.channel.recycle(buf.length);
      else held.push({ channel: p.channel, bytes: buf.length });
    }
  };
  gate.onData = () => queueMicrotask(drain);
  return { items, held, buffers: () => buffers };
}

function writerFor(partition: ResultPartition, segmentSize: number): RecordWriter {
  const n = partition.subpartitions.length;
  return new RecordWriter(
    partition,
    createChannelSelector({ kind: 'rebalance' }, 0, n, n, 128),
    serializer,
    segmentSize,
  );
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('TCP transport', () => {
  it('delivers records complete and in order with events in order, all channels on one connection', async () => {
    // A small maximum frame size so the large records travel as fragments.
    const server = await startServer({ maxFrameSize: 1024 });
    const { client, failures } = startClient({ maxFrameSize: 1024 });
    const partition = new ResultPartition(2, 4);
    const writer = writerFor(partition, 64);
    partition.subpartitions.forEach((sp, i) => server.register(key(i), sp));
    const gate = new InputGate();
    for (let i = 0; i < 2; i++)
      client.connectRemote(gate.addChannel(0, serializer), server.address, key(i), 2);
    const got = consume(gate);

    const want: Received[][] = [[], []];
    let n = 0;
    for (let checkpointId = 1; checkpointId <= 5; checkpointId++) {
      for (let i = 0; i < 60; i++, n++) {
        const record = { n, pad: n % 17 === 0 ? 'x'.repeat(3000) : '' };
        writer.collect(record);
        want[n % 2]!.push({ record });
      }
      const barrier: ChannelEvent = { kind: 'barrier', checkpointId, timestamp: 1000 + checkpointId };
      writer.broadcastEvent(barrier);
      for (const w of want) w.push(barrier);
    }
    writer.broadcastEvent({ kind: 'cancel-checkpoint', checkpointId: 6 });
    writer.broadcastEvent(END_OF_PARTITION);
    for (const w of want) w.push({ kind: 'cancel-checkpoint', checkpointId: 6 }, END_OF_PARTITION);

    await until(() => expect(got.items.map((c) => c.at(-1))).toEqual([END_OF_PARTITION, END_OF_PARTITION]));
    expect(got.items).toEqual(want);
    expect(client.connectionCount).toBe(1);
    expect(server.connectionCount).toBe(1);
    for (const sp of partition.subpartitions) expect(sp.queuedBuffers).toBe(0);
    expect(failures).toEqual([]);
  });

  it('subscribes before the producer registers: the subscription waits, then connects', async () => {
    const server = await startServer();
    const { client, failures } = startClient();
    const gate = new InputGate();
    client.connectRemote(gate.addChannel(0, serializer), server.address, key(0), 2);
    const got = consume(gate);
    await sleep(50);
    const partition = new ResultPartition(1, 4);
    server.register(key(0), partition.subpartitions[0]!);
    const writer = writerFor(partition, 32);
    writer.collect('late');
    writer.broadcastEvent(END_OF_PARTITION);
    await until(() => expect(got.items[0]).toEqual([{ record: 'late' }, END_OF_PARTITION]));
    expect(failures).toEqual([]);
  });

  it('carries backpressure across the socket: no recycling keeps the producer unavailable, recycling resumes it', async () => {
    const credits = 2;
    const maxBuffersPerChannel = 3;
    const segmentSize = 16;
    const server = await startServer();
    const { client } = startClient();
    const partition = new ResultPartition(1, maxBuffersPerChannel);
    const sp = partition.subpartitions[0]!;
    server.register(key(0), sp);
    const writer = writerFor(partition, segmentSize);
    const gate = new InputGate();
    const channel = gate.addChannel(0, serializer);
    client.connectRemote(channel, server.address, key(0), credits);
    const got = consume(gate, false);

    // The producer writes while its partition is available, and waits for it otherwise, as a task does.
    let written = 0;
    let wakeups = 0;
    const produce = (): void => {
      while (partition.isAvailable() && written < 1000)
        writer.collect(`r${String(written++).padStart(8, '0')}`);
      if (written < 1000) {
        partition.onAvailable(() => {
          wakeups++;
          produce();
        });
      }
    };
    produce();

    await until(() => expect(got.buffers()).toBe(credits));
    await sleep(100); // time for anything beyond the credit to (wrongly) arrive
    expect(got.buffers()).toBe(credits);
    expect(sp.sentBuffers).toBe(credits);
    expect(sp.queuedBuffers).toBe(maxBuffersPerChannel);
    expect(partition.isAvailable()).toBe(false);
    // Sent against credit + queued in the subpartition + the one the writer is filling.
    expect(written).toBe(credits + maxBuffersPerChannel + 1);
    expect(channel.maxBufferedBytes).toBeLessThanOrEqual(credits * segmentSize);

    // One recycled buffer is one credit: exactly one more buffer leaves, and the producer wakes.
    const first = got.held.shift()!;
    const wakeupsBefore = wakeups;
    first.channel.recycle(first.bytes);
    await until(() => expect(sp.sentBuffers).toBe(credits + 1));
    await until(() => expect(wakeups).toBe(wakeupsBefore + 1));
    await sleep(50);
    expect(sp.sentBuffers).toBe(credits + 1);
    expect(partition.isAvailable()).toBe(false);

    // Recycling everything lets all 1000 records through, in order.
    gate.onData = () =>
      queueMicrotask(() => {
        for (let p = gate.pollNext(); p; p = gate.pollNext()) {
          if (isBuffer(p.item)) got.held.push({ channel: p.channel, bytes: p.item.length });
        }
        while (got.held.length > 0) {
          const h = got.held.shift()!;
          h.channel.recycle(h.bytes);
        }
      });
    while (got.held.length > 0) {
      const h = got.held.shift()!;
      h.channel.recycle(h.bytes);
    }
    await until(() => expect(written).toBe(1000));
    writer.flushAll();
    await until(() => expect(sp.queuedBuffers).toBe(0));
    expect(channel.maxBufferedBytes).toBeLessThanOrEqual(credits * segmentSize);
  });

  it('moves bulk data through a congested socket without exceeding the credit bound', async () => {
    const credits = 4;
    const segmentSize = 32 * 1024;
    const server = await startServer();
    const { client, failures } = startClient();
    const partition = new ResultPartition(1, 1000);
    server.register(key(0), partition.subpartitions[0]!);
    const writer = writerFor(partition, segmentSize);
    const gate = new InputGate();
    const channel = gate.addChannel(0, serializer);
    client.connectRemote(channel, server.address, key(0), credits);
    const got = consume(gate);
    const record = 'z'.repeat(segmentSize - 16); // one buffer each, far above the socket's high-water mark
    for (let i = 0; i < 400; i++) writer.collect(`${i}:${record}`);
    writer.broadcastEvent(END_OF_PARTITION);
    await until(() => expect(got.items[0]!.at(-1)).toBe(END_OF_PARTITION));
    expect(got.items[0]!.slice(0, -1)).toEqual(
      Array.from({ length: 400 }, (_, i) => ({ record: `${i}:${record}` })),
    );
    expect(channel.maxBufferedBytes).toBeLessThanOrEqual(credits * segmentSize);
    expect(failures).toEqual([]);
  });

  it('reports the channel failed on the consumer side when the producer side closes', async () => {
    const server = await startServer();
    const { client, failures } = startClient();
    const partition = new ResultPartition(2, 4);
    partition.subpartitions.forEach((sp, i) => server.register(key(i), sp));
    const gate = new InputGate();
    for (let i = 0; i < 2; i++)
      client.connectRemote(gate.addChannel(0, serializer), server.address, key(i), 2);
    const got = consume(gate);
    // Channel 1 completes; only channel 0 is still open when the server goes away.
    partition.subpartitions[1]!.add(END_OF_PARTITION);
    await until(() => expect(got.items[1]).toEqual([END_OF_PARTITION]));
    await servers.pop()!.close();
    await until(() => expect(failures).toHaveLength(1));
    expect(failures[0]!.channelKey).toBe(key(0));
    expect(failures[0]!.error.code).toBe('SLUICE_NETWORK_CHANNEL_FAILED');
    expect(failures[0]!.error.message).toContain(key(0));
    expect(client.connectionCount).toBe(0);
  });

  it('reports a channel failed when its producer unregisters, leaving the connection to the others', async () => {
    const server = await startServer();
    const { client, failures } = startClient();
    const partition = new ResultPartition(2, 4);
    partition.subpartitions.forEach((sp, i) => server.register(key(i), sp));
    const gate = new InputGate();
    for (let i = 0; i < 2; i++)
      client.connectRemote(gate.addChannel(0, serializer), server.address, key(i), 2);
    const got = consume(gate);
    const writer = writerFor(partition, 16);
    writer.collect('a');
    writer.collect('b');
    writer.flushAll();
    // Both channels are subscribed once their first record arrived.
    await until(() => expect(got.items).toEqual([[{ record: 'a' }], [{ record: 'b' }]]));
    server.unregister(key(1), 'task cancelled');
    await until(() => expect(failures).toHaveLength(1));
    expect(failures[0]!.channelKey).toBe(key(1));
    expect(failures[0]!.error.message).toMatch(/producer closed it: task cancelled/u);
    expect(client.connectionCount).toBe(1);
  });

  it('fails a subscription whose partition is never registered, after the request timeout', async () => {
    const clock = new ManualClock();
    const server = await startServer({ clock, partitionRequestTimeoutMs: 5000 });
    const { client, failures } = startClient();
    client.connectRemote(new InputGate().addChannel(0, serializer), server.address, key(9), 2);
    await sleep(100);
    expect(failures).toEqual([]);
    clock.advance(5000);
    await until(() => expect(failures).toHaveLength(1));
    expect(failures[0]!.error.message).toMatch(/partition job1:0:0:9:0 not found/u);
  });

  it('reports a refused connection as a failed channel, not a crash', async () => {
    const probe = await startServer();
    const { port } = probe.address;
    await servers.pop()!.close();
    const { client, failures } = startClient();
    client.connectRemote(new InputGate().addChannel(0, serializer), { host: '127.0.0.1', port }, key(0), 2);
    await until(() => expect(failures).toHaveLength(1));
    expect(failures[0]!.error.code).toBe('SLUICE_NETWORK_CHANNEL_FAILED');
    expect((failures[0]!.error.cause as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
  });

  it('tells the producer side when a subscribed consumer goes away, but not after release', async () => {
    const serverFailures: string[] = [];
    const server = await startServer({ onChannelFailed: (k) => serverFailures.push(k) });
    const { client, failures } = startClient();
    const partition = new ResultPartition(2, 4);
    partition.subpartitions.forEach((sp, i) => server.register(key(i), sp));
    const gate = new InputGate();
    const remotes = [0, 1].map((i) =>
      client.connectRemote(gate.addChannel(0, serializer), server.address, key(i), 2),
    );
    consume(gate);
    const writer = writerFor(partition, 16);
    writer.collect('a');
    writer.collect('b');
    writer.flushAll();
    await until(() => expect(partition.subpartitions.map((sp) => sp.sentBuffers)).toEqual([1, 1]));
    remotes[0]!.release();
    await sleep(50);
    await clients.pop()!.close();
    await until(() => expect(serverFailures).toEqual([key(1)]));
    expect(failures).toEqual([]);
  });

  it('fails a channel whose fragmented buffer exceeds the largest buffer the consumer reassembles', async () => {
    const server = await startServer({ maxFrameSize: 1024 });
    const { client, failures } = startClient({ maxFrameSize: 1024, maxBufferSize: 2000 });
    const partition = new ResultPartition(1, 4);
    server.register(key(0), partition.subpartitions[0]!);
    const gate = new InputGate();
    const channel = gate.addChannel(0, serializer);
    client.connectRemote(channel, server.address, key(0), 2);
    const writer = writerFor(partition, 64);
    writer.collect('x'.repeat(3000));
    writer.flushAll();
    await until(() => expect(failures).toHaveLength(1));
    expect((failures[0]!.error.cause as SluiceError).code).toBe('SLUICE_NETWORK_BAD_FRAME');
    expect(channel.hasData()).toBe(false);
  });

  it('a channel subpartition is served once: a second subscriber is refused', async () => {
    const server = await startServer();
    const partition = new ResultPartition(1, 4);
    server.register(key(0), partition.subpartitions[0]!);
    const a = startClient();
    const b = startClient();
    a.client.connectRemote(new InputGate().addChannel(0, serializer), server.address, key(0), 2);
    await until(() => expect(server.connectionCount).toBe(1));
    await sleep(50);
    b.client.connectRemote(new InputGate().addChannel(0, serializer), server.address, key(0), 2);
    await until(() => expect(b.failures).toHaveLength(1));
    expect(b.failures[0]!.error.message).toMatch(/already consumed/u);
    expect(a.failures).toEqual([]);
  });
});
