/** Loopback fixtures for the RPC tests: servers, clients and hand-driven raw sockets that are all closed after each test. */
import { connect, type Socket } from 'node:net';
import { pino, type Logger } from 'pino';
import { afterEach, expect, vi } from 'vitest';
import type { SluiceError } from '../../core/errors.js';
import { FrameDecoder, encodeFrame, type Frame } from '../../network/frame-codec.js';
import type { TcpAddress } from '../../network/frame-connection.js';
import { ClientHandshake } from '../../network/handshake.js';
import { connectRpc, type ConnectRpcOptions } from './connect-rpc.js';
import type { JobManagerConnection, TaskManagerConnection } from './rpc-connection.js';
import { RpcServer, type RpcServerOptions } from './rpc-server.js';

/** The secret every fixture uses unless told otherwise. */
export const SECRET = 'the-cluster-secret';

/** Polls until `check` passes: loopback is fast, a loaded CI machine is not. */
export const until = (check: () => void): Promise<void> =>
  vi.waitFor(check, { timeout: 15_000, interval: 5 });

/** The error `promise` rejects with; fails the test if it resolves. */
export function failure(promise: Promise<unknown>): Promise<SluiceError> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e as SluiceError,
  );
}

/** A logger that drops everything. */
export const silent: Logger = pino({ level: 'silent' });

const servers: RpcServer[] = [];
const clients: JobManagerConnection[] = [];
const sockets: Socket[] = [];

/** Registers the cleanup: call once at the top of a test file. */
export function closeAfterEach(): void {
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.destroy();
    await Promise.all(clients.splice(0).map((c) => c.close('test over')));
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });
}

/** One JSON log line, as the tests read them. */
export type LogLine = { level: number; msg: string; err?: { message: string; code?: string } };

/** A logger whose lines the test can read. */
export function captureLog(): { log: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const log = pino(
    { level: 'debug' },
    { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) },
  );
  return { log, lines };
}

/** A listening server collecting its authenticated connections. */
export async function startServer(options: Partial<RpcServerOptions> = {}) {
  const { log, lines } = captureLog();
  const accepted: TaskManagerConnection[] = [];
  const server = await RpcServer.listen({
    secret: SECRET,
    log,
    onConnection: (connection) => accepted.push(connection),
    ...options,
  });
  servers.push(server);
  return { server, accepted, lines };
}

/** A TaskManager-side connection to `server`. */
export async function connectClient(
  server: RpcServer,
  options: Partial<ConnectRpcOptions> = {},
): Promise<JobManagerConnection> {
  const connection = await connectRpc({
    host: '127.0.0.1',
    port: server.address.port,
    secret: SECRET,
    log: silent,
    ...options,
  });
  clients.push(connection);
  return connection;
}

/** A raw socket speaking frames by hand, as an attacker or a broken peer would. */
export async function rawConnect(address: TcpAddress) {
  const socket = connect(address);
  sockets.push(socket);
  const frames: Frame[] = [];
  const decoder = new FrameDecoder(64 * 1024 * 1024);
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

/** A raw socket that completed the handshake honestly (with `secret`). */
export async function rawAuthenticated(address: TcpAddress, secret = SECRET) {
  const raw = await rawConnect(address);
  const handshake = new ClientHandshake(secret);
  raw.send(encodeFrame(handshake.start()));
  await until(() => expect(raw.frames.length).toBeGreaterThanOrEqual(1));
  const step = handshake.onFrame(raw.frames[0]!);
  if (step.kind !== 'continue') throw new Error(`handshake: ${step.kind}`);
  raw.send(encodeFrame(step.send));
  await until(() => expect(raw.frames.length).toBeGreaterThanOrEqual(2));
  expect(handshake.onFrame(raw.frames[1]!).kind).toBe('authenticated');
  raw.frames.splice(0, 2);
  return raw;
}
