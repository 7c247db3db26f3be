/** TCP transport security: no secret, no data; garbage, oversized and unknown frames close the connection, never the server. */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import fc from 'fast-check';
import { pino, type Logger } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../core/clock.js';
import type { SluiceError } from '../core/errors.js';
import { MsgpackSerializer } from '../core/serializer.js';
import { END_OF_PARTITION } from '../runtime/channel-event.js';
import { InputGate } from '../runtime/input-gate.js';
import { ResultPartition } from '../runtime/result-partition.js';
import { FrameDecoder, FrameType, encodeFrame, type Frame } from './frame-codec.js';
import { ClientHandshake, PROTOCOL_VERSION } from './handshake.js';
import { TcpDataClient, TcpDataServer, type TcpAddress, type TcpDataServerOptions } from './tcp-transport.js';
import { RejectionLog } from './rejection-log.js';

/** Polls until `check` passes: loopback is fast, but a loaded CI machine is not. */
const until = (check: () => void): Promise<void> => vi.waitFor(check, { timeout: 15_000, interval: 5 });
const SECRET = 'the-real-secret';
const serializer = new MsgpackSerializer();
let keys = 0;
const freshKey = (): string => `job1:0:0:${keys++}:0`;

const servers: TcpDataServer[] = [];
const clients: TcpDataClient[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** A logger whose JSON lines the test can read. */
type LogLine = { msg: string; err?: { message: string } };

/** What a line says: its message, and its error's (a rejected stranger's line has no error object). */
const says = (l: LogLine): string => `${l.msg} ${l.err?.message ?? ''}`;

function captureLog(): { log: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const log = pino(
    { level: 'info' },
    { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) },
  );
  return { log, lines };
}

async function startServer(options: Partial<TcpDataServerOptions> = {}) {
  const { log, lines } = captureLog();
  // Its own rejection log: the process's is rate-limited across every test of the file.
  const server = new TcpDataServer({ secret: SECRET, log, rejections: new RejectionLog(), ...options });
  servers.push(server);
  await server.listen();
  return { server, lines };
}

function startClient(secret = SECRET) {
  const failures: { channelKey: string; error: SluiceError }[] = [];
  const client = new TcpDataClient({
    secret,
    log: pino({ level: 'silent' }),
    onChannelFailed: (channelKey, error) => failures.push({ channelKey, error }),
  });
  clients.push(client);
  return { client, failures };
}

/** Registers a one-record partition and checks a good client reads it: the server still serves. */
async function expectServes(server: TcpDataServer): Promise<void> {
  const key = freshKey();
  const partition = new ResultPartition(1, 4);
  server.register(key, partition.subpartitions[0]!);
  partition.subpartitions[0]!.add(Uint8Array.of(0, 0, 0, 1, 0xc3)); // one record: msgpack `true`
  partition.subpartitions[0]!.add(END_OF_PARTITION);
  const { client, failures } = startClient();
  const gate = new InputGate();
  const channel = gate.addChannel(0, serializer);
  client.connectRemote(channel, server.address, key, 2);
  await until(() => expect(partition.subpartitions[0]!.sentBuffers).toBe(1));
  await until(() => expect(gate.pollNext()?.item).toEqual(Uint8Array.of(0, 0, 0, 1, 0xc3)));
  expect(failures).toEqual([]);
}

/** A raw socket speaking frames by hand, as an attacker or a broken peer would. */
async function rawConnect(address: TcpAddress) {
  const socket = connect(address);
  sockets.push(socket);
  const frames: Frame[] = [];
  const decoder = new FrameDecoder();
  let closed = false;
  socket.on('data', (chunk: Buffer) => void decoder.push(chunk, (f) => frames.push(f)));
  socket.on('error', () => {}); // a reset is an expected way for the server to hang up
  socket.on('close', () => void (closed = true));
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  return {
    socket,
    frames,
    isClosed: () => closed,
    send: (...pieces: Uint8Array[][]) => socket.write(Buffer.concat(pieces.flat())),
  };
}

/** A raw socket that completed the handshake honestly. */
async function rawAuthenticated(address: TcpAddress) {
  const raw = await rawConnect(address);
  const handshake = new ClientHandshake(SECRET);
  raw.send(encodeFrame(handshake.start()));
  await until(() => expect(raw.frames).toHaveLength(1));
  const step = handshake.onFrame(raw.frames[0]!);
  if (step.kind !== 'continue') throw new Error(`handshake: ${step.kind}`);
  raw.send(encodeFrame(step.send));
  await until(() => expect(raw.frames).toHaveLength(2));
  expect(handshake.onFrame(raw.frames[1]!).kind).toBe('authenticated');
  return raw;
}

const header = (length: number, type: number): Uint8Array[] => [
  Uint8Array.of(length >>> 24, (length >>> 16) & 0xff, (length >>> 8) & 0xff, length & 0xff, type),
];

describe('TCP transport security', () => {
  it('a client with the wrong secret cannot subscribe: no buffer reaches its channel', async () => {
    const { server, lines } = await startServer();
    const key = freshKey();
    const partition = new ResultPartition(1, 4);
    server.register(key, partition.subpartitions[0]!);
    partition.subpartitions[0]!.add(Uint8Array.of(0, 0, 0, 1, 0xc3));
    const { client, failures } = startClient('a-wrong-secret');
    const channel = new InputGate().addChannel(0, serializer);
    client.connectRemote(channel, server.address, key, 2);
    await until(() => expect(failures).toHaveLength(1));
    expect(failures[0]!.error.code).toBe('SLUICE_NETWORK_CHANNEL_FAILED');
    expect((failures[0]!.error.cause as SluiceError).code).toBe('SLUICE_NETWORK_HANDSHAKE_FAILED');
    expect(channel.hasData()).toBe(false);
    expect(partition.subpartitions[0]!.sentBuffers).toBe(0);
    await until(() => expect(lines.some((l) => /authentication failed/u.test(says(l)))).toBe(true));
    await until(() => expect(server.connectionCount).toBe(0));
    // The subpartition is still unconsumed: the rightful consumer gets it.
    const good = startClient();
    const gate = new InputGate();
    good.client.connectRemote(gate.addChannel(0, serializer), server.address, key, 2);
    await until(() => expect(partition.subpartitions[0]!.sentBuffers).toBe(1));
    expect(good.failures).toEqual([]);
  });

  it('a server with the wrong secret gets no subscription from a client', async () => {
    const { server } = await startServer({ secret: 'another-cluster' });
    const { client, failures } = startClient();
    client.connectRemote(new InputGate().addChannel(0, serializer), server.address, freshKey(), 2);
    await until(() => expect(failures).toHaveLength(1));
    expect((failures[0]!.error.cause as SluiceError).message).toMatch(
      /server does not know the cluster secret/u,
    );
  });

  it('a forged proof followed by data in the same packet is closed before the data is read', async () => {
    const { server, lines } = await startServer();
    const key = freshKey();
    const partition = new ResultPartition(1, 4);
    server.register(key, partition.subpartitions[0]!);
    partition.subpartitions[0]!.add(Uint8Array.of(0, 0, 0, 1, 0xc3));
    const raw = await rawConnect(server.address);
    raw.send(encodeFrame({ kind: 'hello', version: PROTOCOL_VERSION, nonce: randomBytes(32) }));
    await until(() => expect(raw.frames).toHaveLength(1));
    raw.send(
      encodeFrame({ kind: 'response', proof: randomBytes(32) }),
      encodeFrame({ kind: 'subscribe', channelId: 0, initialCredit: 5, channelKey: key }),
      encodeFrame({ kind: 'credit', channelId: 0, n: 5 }),
    );
    await until(() => expect(raw.isClosed()).toBe(true));
    expect(raw.frames.map((f) => f.kind)).toEqual(['challenge', 'close']);
    expect(partition.subpartitions[0]!.sentBuffers).toBe(0);
    expect(lines.some((l) => /client does not know the cluster secret/u.test(says(l)))).toBe(true);
    await expectServes(server);
  });

  it('data frames before the handshake close the connection', async () => {
    const { server, lines } = await startServer();
    const raw = await rawConnect(server.address);
    raw.send(encodeFrame({ kind: 'subscribe', channelId: 0, initialCredit: 2, channelKey: freshKey() }));
    await until(() => expect(raw.isClosed()).toBe(true));
    expect(lines.some((l) => /expected HELLO/u.test(says(l)))).toBe(true);
    await expectServes(server);
  });

  it('random bytes on the port are rejected, the connection closed, and the server keeps serving', async () => {
    const { server } = await startServer();
    const samples = fc.sample(fc.uint8Array({ minLength: 1, maxLength: 2000 }), { numRuns: 25, seed: 42 });
    await Promise.all(
      samples.map(async (bytes) => {
        const raw = await rawConnect(server.address);
        raw.socket.end(bytes); // the end makes even a plausible partial frame a truncated one
        await until(() => expect(raw.isClosed()).toBe(true));
      }),
    );
    await until(() => expect(server.connectionCount).toBe(0));
    await expectServes(server);
  });

  it('an oversized frame is rejected from its length alone, before or after authentication', async () => {
    const { server, lines } = await startServer({ maxFrameSize: 64 * 1024 });
    const early = await rawConnect(server.address);
    early.send(header(0x7fffffff, FrameType.HELLO));
    await until(() => expect(early.isClosed()).toBe(true));
    const late = await rawAuthenticated(server.address);
    late.send(header(64 * 1024, FrameType.BUFFER)); // one byte over, counting the length field
    await until(() => expect(late.isClosed()).toBe(true));
    expect(late.frames.at(-1)).toMatchObject({
      kind: 'close',
      reason: expect.stringMatching(/exceeds the maximum/u),
    });
    expect(lines.filter((l) => /exceeds the maximum/u.test(says(l)))).toHaveLength(2);
    await expectServes(server);
  });

  it('an unknown frame type from an authenticated peer closes only that connection', async () => {
    const { server, lines } = await startServer();
    // A good consumer mid-stream on its own connection.
    const key = freshKey();
    const partition = new ResultPartition(1, 4);
    server.register(key, partition.subpartitions[0]!);
    const good = startClient();
    const gate = new InputGate();
    const channel = gate.addChannel(0, serializer);
    good.client.connectRemote(channel, server.address, key, 2);
    const raw = await rawAuthenticated(server.address);
    raw.send(header(3, 42), [Uint8Array.of(1, 2)]);
    await until(() => expect(raw.isClosed()).toBe(true));
    expect(lines.some((l) => /unknown frame type 42/u.test(says(l)))).toBe(true);
    partition.subpartitions[0]!.add(END_OF_PARTITION);
    await until(() => expect(gate.pollNext()?.item).toBe(END_OF_PARTITION));
    expect(good.failures).toEqual([]);
  });

  it('a producer-only frame sent by a consumer is a protocol error', async () => {
    const { server } = await startServer();
    const raw = await rawAuthenticated(server.address);
    raw.send(encodeFrame({ kind: 'buffer', channelId: 0, more: false, backlog: 0, bytes: Uint8Array.of(1) }));
    await until(() => expect(raw.isClosed()).toBe(true));
    await expectServes(server);
  });

  it('closes a connection that does not authenticate within the handshake timeout', async () => {
    const clock = new ManualClock();
    const { server } = await startServer({ clock, handshakeTimeoutMs: 10_000 });
    const raw = await rawConnect(server.address);
    await until(() => expect(server.connectionCount).toBe(1));
    clock.advance(9_999);
    expect(raw.isClosed()).toBe(false);
    clock.advance(1);
    await until(() => expect(raw.isClosed()).toBe(true));
    expect(raw.frames).toEqual([{ kind: 'close', channelId: 0xffffffff, reason: 'handshake timed out' }]);
  });
});
