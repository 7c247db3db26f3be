/** Control-plane security: no secret, no messages; malformed, unknown or random input closes one connection, never the server. */
import { createServer as createHttpServer } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../core/clock.js';
import { MsgpackSerializer } from '../../core/serializer.js';
import { FrameType, encodeFrame } from '../../network/frame-codec.js';
import { ClientHandshake } from '../../network/handshake.js';
import { connectRpc } from './connect-rpc.js';
import { encodeEnvelope } from './rpc-envelope.js';
import {
  SECRET,
  closeAfterEach,
  connectClient,
  failure,
  rawAuthenticated,
  rawConnect,
  silent,
  startServer,
  until,
  type LogLine,
} from './rpc-loopback.fixtures.js';
import type { RpcServer } from './rpc-server.js';

closeAfterEach();

const serializer = new MsgpackSerializer<unknown>();
const message = (body: Uint8Array, more = false): Uint8Array[] =>
  encodeFrame({ kind: 'message', more, body });
const header = (length: number, type: number): Uint8Array[] => [
  Uint8Array.of(length >>> 24, (length >>> 16) & 0xff, (length >>> 8) & 0xff, length & 0xff, type),
];

/** A server whose every authenticated connection records what reaches its handler. */
async function watchedServer(options: Parameters<typeof startServer>[0] = {}) {
  const delivered: string[] = [];
  const accepted: string[] = [];
  const started = await startServer({
    ...options,
    onConnection: (c) => {
      accepted.push(c.remote);
      c.onMessage((m, responder) => {
        delivered.push(m.kind);
        responder?.reply({ kind: 'ack' });
      });
    },
  });
  return { ...started, accepted, delivered };
}

/** A fresh honest client still gets answers: the server survived whatever came before. */
async function expectServes(server: RpcServer): Promise<void> {
  const tm = await connectClient(server);
  await expect(tm.ask({ kind: 'ack' }, 10_000)).resolves.toEqual({ kind: 'ack' });
}

const logged = (lines: LogLine[], pattern: RegExp): boolean =>
  lines.some((l) => pattern.test(`${l.msg} ${l.err?.message ?? ''}`));

describe('control-plane security', () => {
  it('closes a connection that sends a malformed message, logs why, delivers nothing, and keeps serving', async () => {
    const cases: [string, Uint8Array[], RegExp][] = [
      ['not MessagePack', message(Uint8Array.of(0xc1, 0xff, 0x00)), /not MessagePack|malformed message/u],
      ['trailing bytes', message(Uint8Array.of(0x80, 0x80)), /not MessagePack/u],
      ['not an envelope', message(serializer.serialize([1, 2, 3])), /envelope should be an object/u],
      [
        'unknown message kind',
        message(encodeEnvelope({ kind: 'tell', message: { kind: 'launch' } as never })),
        /message\.kind should be a message kind/u,
      ],
      [
        'a field of the wrong type',
        message(
          encodeEnvelope({
            kind: 'tell',
            message: { kind: 'heartbeat-response', seq: 'one' } as never,
          }),
        ),
        /heartbeat-response\.seq should be a whole number/u,
      ],
      [
        'the wrong direction',
        message(
          encodeEnvelope({ kind: 'tell', message: { kind: 'cancel-job', jobId: '0'.repeat(32) } as never }),
        ),
        /a cancel-job message is never sent to the job-manager/u,
      ],
      [
        'a data-plane frame',
        encodeFrame({ kind: 'credit', channelId: 1, n: 1 }),
        /CREDIT frame on a control connection/u,
      ],
      ['an unknown frame type', [...header(1, 42)], /unknown frame type 42/u],
      ['a handshake frame again', encodeFrame({ kind: 'welcome' }), /welcome frame after the handshake/u],
      ['an oversized frame', [...header(64 * 1024 * 1024, FrameType.MESSAGE)], /exceeds the maximum/u],
    ];
    const { server, delivered, lines } = await watchedServer();
    for (const [what, bytes, pattern] of cases) {
      const raw = await rawAuthenticated(server.address);
      raw.send(bytes);
      await until(() => expect(raw.isClosed(), what).toBe(true));
      expect(delivered, what).toEqual([]);
      await until(() => expect(logged(lines, pattern), `${what} logged`).toBe(true));
      await expectServes(server);
      delivered.length = 0;
    }
  });

  it('closes a malformed message even behind a valid one, and a fragment without its end delivers nothing', async () => {
    const { server, delivered } = await watchedServer();
    const raw = await rawAuthenticated(server.address);
    const good = encodeEnvelope({ kind: 'tell', message: { kind: 'ack' } });
    raw.send(message(good), message(good.subarray(0, 3), true), message(Uint8Array.of(0xc1)));
    await until(() => expect(raw.isClosed()).toBe(true));
    expect(delivered).toEqual(['ack']);
  });

  it('rejects a client with the wrong secret before any message is delivered', async () => {
    const { server, delivered, lines } = await watchedServer();
    const error = await failure(
      connectRpc({
        host: '127.0.0.1',
        port: server.address.port,
        secret: 'not-the-secret',
        log: silent,
      }),
    );
    expect(error).toMatchObject({ code: 'SLUICE_NETWORK_HANDSHAKE_FAILED' });
    expect(error.message).toMatch(/security\.cluster\.secret/u);
    expect(error.message).toContain(`127.0.0.1:${server.address.port}`);
    await until(() => expect(server.connectionCount).toBe(0));
    await until(() => expect(logged(lines, /authentication failed/u)).toBe(true));
    expect(delivered).toEqual([]);
  });

  it('never hands out a peer with a forged proof, nor one that skips the handshake', async () => {
    const { server, accepted, delivered } = await watchedServer();
    const forged = await rawConnect(server.address);
    const handshake = new ClientHandshake(SECRET);
    forged.send(encodeFrame(handshake.start()));
    await until(() => expect(forged.frames).toHaveLength(1));
    const ask = encodeEnvelope({ kind: 'ask', id: 0, message: { kind: 'ack' } });
    forged.send(encodeFrame({ kind: 'response', proof: new Uint8Array(32) }), message(ask));
    const skipper = await rawConnect(server.address);
    skipper.send(message(ask));
    await until(() => expect(forged.isClosed() && skipper.isClosed()).toBe(true));
    expect(accepted).toEqual([]);
    expect(delivered).toEqual([]);
    await expectServes(server);
  });

  it('closes a peer that never completes the handshake, on the injected clock', async () => {
    const clock = new ManualClock();
    const { server } = await startServer({ clock, handshakeTimeoutMs: 5_000 });
    const raw = await rawConnect(server.address);
    await until(() => expect(server.connectionCount).toBe(1));
    clock.advance(4_999);
    await new Promise((resolve) => setImmediate(resolve));
    expect(raw.isClosed()).toBe(false);
    clock.advance(1);
    await until(() => expect(raw.isClosed()).toBe(true));
  });

  it('says clearly when nothing listens, or something that is not a JobManager answers', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise((resolve) => probe.close(resolve));
    const refused = await failure(connectRpc({ host: '127.0.0.1', port, secret: SECRET, log: silent }));
    expect(refused).toMatchObject({ code: 'SLUICE_RPC_UNREACHABLE' });
    expect(refused.message).toMatch(
      new RegExp(`cannot reach the JobManager at 127\\.0\\.0\\.1:${port} \\(.*ECONNREFUSED`, 'u'),
    );

    const http = createHttpServer((_req, res) => res.end('hello'));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    try {
      const httpPort = (http.address() as AddressInfo).port;
      const wrong = await failure(
        connectRpc({
          host: '127.0.0.1',
          port: httpPort,
          secret: SECRET,
          log: silent,
        }),
      );
      expect(wrong).toMatchObject({ code: 'SLUICE_RPC_UNREACHABLE' });
      expect(wrong.message).toMatch(/does not speak Sluice's control protocol/u);
    } finally {
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    }
  });

  it('survives random bytes before and after authentication, delivering nothing malformed', async () => {
    const { server, delivered } = await watchedServer();
    await fc.assert(
      fc.asyncProperty(
        fc.boolean(),
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { minLength: 1, maxLength: 5 }),
        async (authenticate, chunks) => {
          const raw = authenticate
            ? await rawAuthenticated(server.address)
            : await rawConnect(server.address);
          for (const chunk of chunks) raw.send([chunk]);
          // Hang up after the bytes: a prefix of a longer frame then ends inside it.
          raw.socket.end();
          await until(() => expect(raw.isClosed()).toBe(true));
        },
      ),
      { numRuns: 60 },
    );
    // Also garbage dressed as MESSAGE frames, the layer a random header rarely reaches.
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 200 }), async (body) => {
        const raw = await rawAuthenticated(server.address);
        raw.send(message(body));
        raw.socket.end();
        await until(() => expect(raw.isClosed()).toBe(true));
      }),
      { numRuns: 60 },
    );
    const valid = new Set(['ack', 'heartbeat-response', 'task-ended']);
    expect(delivered.filter((kind) => !valid.has(kind))).toEqual([]);
    await until(() => expect(server.connectionCount).toBe(0));
    await expectServes(server);
  });
});
