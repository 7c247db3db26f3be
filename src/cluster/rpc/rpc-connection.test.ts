/** Control connections over real loopback TCP: messages arrive equal and in order, asks are answered or time out, closes are reported. */
import { createServer } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../core/clock.js';
import { SluiceError } from '../../core/errors.js';
import type { JobId } from '../../core/ids.js';
import {
  SECRET,
  closeAfterEach,
  connectClient,
  failure,
  rawAuthenticated,
  startServer,
  until,
} from './rpc-loopback.fixtures.js';
import { decodeEnvelope, encodeEnvelope } from './rpc-envelope.js';
import type { RpcCloseReason } from './rpc-connection.js';
import { toJobManagerMessage, toTaskManagerMessage } from './rpc-messages.arbitraries.js';
import type { ToJobManagerMessage, ToTaskManagerMessage } from './rpc-messages.js';
import { RpcServer } from './rpc-server.js';

closeAfterEach();

const JOB = '0123456789abcdef0123456789abcdef' as JobId;
const register: ToJobManagerMessage = {
  kind: 'register-task-manager',
  taskManagerId: 'tm-1',
  slots: 2,
  dataAddress: { host: '127.0.0.1', port: 6121 },
  pid: 4242,
};

/** A connected pair: the JobManager's end and the TaskManager's end of one connection. */
async function pair(clientOptions: Parameters<typeof connectClient>[1] = {}) {
  const { server, accepted, lines } = await startServer();
  const tm = await connectClient(server, clientOptions);
  await until(() => expect(accepted).toHaveLength(1));
  return { server, jm: accepted[0]!, tm, lines };
}

describe('RpcConnection', () => {
  it('delivers any sequence of valid messages equal and in order, both ways', async () => {
    const { jm, tm } = await pair();
    let atJm: ToJobManagerMessage[] = [];
    let atTm: ToTaskManagerMessage[] = [];
    jm.onMessage((m) => atJm.push(m));
    tm.onMessage((m) => atTm.push(m));
    await fc.assert(
      fc.asyncProperty(
        fc.array(toJobManagerMessage, { maxLength: 20 }),
        fc.array(toTaskManagerMessage, { maxLength: 20 }),
        async (up, down) => {
          atJm = [];
          atTm = [];
          for (const m of up) tm.send(m);
          for (const m of down) jm.send(m);
          await until(() => {
            expect(atJm).toHaveLength(up.length);
            expect(atTm).toHaveLength(down.length);
          });
          expect(atJm).toEqual(up);
          expect(atTm).toEqual(down);
        },
      ),
      { numRuns: 40 },
    );
    expect(jm.open && tm.open).toBe(true);
  });

  it('carries a message larger than a frame in fragments, whole', async () => {
    const { jm, tm } = await pair();
    const received: ToTaskManagerMessage[] = [];
    tm.onMessage((m) => received.push(m));
    const bundle = new Uint8Array(3 * 1024 * 1024 + 17).map((_, i) => i % 251);
    const deploy: ToTaskManagerMessage = {
      kind: 'deploy',
      jobId: JOB,
      attempt: 1,
      bundle,
      payload: { tasks: [1, 2] },
    };
    jm.send(deploy);
    jm.send({ kind: 'cancel-job', jobId: JOB });
    await until(() => expect(received).toHaveLength(2));
    const { bundle: got, ...rest } = received[0] as Extract<ToTaskManagerMessage, { kind: 'deploy' }>;
    // Compared as bytes: a deep equality over 3 million elements takes seconds.
    expect(Buffer.compare(got!, bundle)).toBe(0);
    expect(rest).toEqual({ kind: 'deploy', jobId: JOB, attempt: 1, payload: { tasks: [1, 2] } });
    expect(received[1]!.kind).toBe('cancel-job');
  });

  it('delivers messages that arrived before any handler, in order, to the handlers registered together', async () => {
    const { server } = await startServer({
      onConnection: (c) => {
        c.send({ kind: 'registration-accepted', jobManagerId: 'jm' });
        c.send({ kind: 'heartbeat-request', seq: 1 });
        c.onMessage((_m, responder) => responder?.reply({ kind: 'ack' }));
      },
    });
    const tm = await connectClient(server);
    // The reply travels behind the two messages: once it is here, they are too, unhandled.
    await expect(tm.ask({ kind: 'ack' }, 5_000)).resolves.toEqual({ kind: 'ack' });
    const first: string[] = [];
    const second: string[] = [];
    tm.onMessage((m) => first.push(m.kind));
    tm.onMessage((m) => second.push(m.kind));
    expect(first).toEqual([]);
    await until(() => expect(first).toEqual(['registration-accepted', 'heartbeat-request']));
    expect(second).toEqual(first);
  });

  it('answers an ask with the reply, and a failing responder with SLUICE_RPC_REMOTE_FAILED', async () => {
    const { jm, tm } = await pair();
    jm.onMessage((message, responder) => {
      if (message.kind === 'register-task-manager')
        responder?.reply({ kind: 'registration-accepted', jobManagerId: 'jm-1' });
      if (message.kind === 'task-ended') throw new Error('handler bug');
      if (message.kind === 'ack') responder?.fail(new SluiceError('SLUICE_PROGRAM_INVALID', 'no such job'));
    });
    await expect(tm.ask(register, 5_000)).resolves.toEqual({
      kind: 'registration-accepted',
      jobManagerId: 'jm-1',
    });
    const ended: ToJobManagerMessage = {
      kind: 'task-ended',
      jobId: JOB,
      attempt: 0,
      vertexIndex: 0,
      subtask: 0,
    };
    const thrown = await failure(tm.ask(ended, 5_000));
    expect(thrown).toMatchObject({ code: 'SLUICE_RPC_REMOTE_FAILED' });
    expect(thrown.message).toMatch(/failed to answer task-ended: handler bug/u);
    const failed = await failure(tm.ask({ kind: 'ack' }, 5_000));
    expect(failed.cause).toMatchObject({ code: 'SLUICE_PROGRAM_INVALID', message: 'no such job' });
    // Neither failure closed the connection.
    await expect(tm.ask(register, 5_000)).resolves.toMatchObject({ kind: 'registration-accepted' });
  });

  it('times an ask out on the injected clock, exactly then, and ignores the late reply', async () => {
    const clock = new ManualClock();
    const { jm, tm } = await pair({ clock });
    const asked: ((answer: ToTaskManagerMessage) => void)[] = [];
    jm.onMessage((_m, responder) => responder && asked.push((a) => responder.reply(a)));
    let outcome: unknown;
    const pending = tm.ask(register, 1_000).then(
      (reply) => (outcome = reply),
      (error: unknown) => (outcome = error),
    );
    await until(() => expect(asked).toHaveLength(1));
    clock.advance(999);
    await new Promise((resolve) => setImmediate(resolve));
    expect(outcome).toBeUndefined();
    clock.advance(1);
    await pending;
    expect(outcome).toMatchObject({ code: 'SLUICE_RPC_TIMEOUT' });
    expect((outcome as Error).message).toMatch(/did not answer register-task-manager within 1000 ms/u);
    asked[0]!({ kind: 'registration-accepted', jobManagerId: 'late' });
    const next: ToTaskManagerMessage[] = [];
    tm.onMessage((m) => next.push(m));
    jm.send({ kind: 'heartbeat-request', seq: 9 });
    await until(() => expect(next).toEqual([{ kind: 'heartbeat-request', seq: 9 }]));
  });

  it('fails pending asks and reports both ends when a side closes', async () => {
    const { jm, tm } = await pair();
    const reasons: { jm?: RpcCloseReason; tm?: RpcCloseReason } = {};
    jm.onClose((r) => (reasons.jm = r));
    tm.onClose((r) => (reasons.tm = r));
    jm.onMessage(() => {}); // never answers
    const pending = failure(tm.ask(register, 60_000));
    await until(() => expect(jm.open).toBe(true));
    await jm.close('the JobManager is shutting down');
    expect(reasons.jm).toEqual({ kind: 'closed', reason: 'the JobManager is shutting down' });
    await until(() => expect(reasons.tm?.kind).toBe('lost'));
    const lost = reasons.tm as Extract<RpcCloseReason, { kind: 'lost' }>;
    expect(lost.error).toMatchObject({ code: 'SLUICE_RPC_CONNECTION_LOST' });
    expect(lost.error.message).toMatch(/the JobManager is shutting down/u);
    expect(await pending).toMatchObject({ code: 'SLUICE_RPC_CONNECTION_LOST' });
    expect(tm.send({ kind: 'ack' })).toBe(false);
    await expect(tm.ask(register, 1_000)).rejects.toMatchObject({ code: 'SLUICE_RPC_CONNECTION_LOST' });
    // A handler registered after the close hears about it at once.
    let late: RpcCloseReason | undefined;
    tm.onClose((r) => (late = r));
    expect(late).toBe(reasons.tm);
  });

  it('reports backpressure: send returns false while the peer does not read, writable() resolves once it does', async () => {
    const { server, accepted } = await startServer();
    const raw = await rawAuthenticated(server.address);
    await until(() => expect(accepted).toHaveLength(1));
    const jm = accepted[0]!;
    raw.socket.pause();
    // 64 MiB: more than the kernel's socket buffers on both ends can absorb.
    const payload = new Uint8Array(512 * 1024);
    const sends = 128;
    const accepted_ = Array.from({ length: sends }, (_, attempt) =>
      jm.send({ kind: 'deploy', jobId: JOB, attempt, payload }),
    );
    expect(accepted_.at(-1)).toBe(false);
    expect(jm.congested).toBe(true);
    let writable = false;
    const drained = jm.writable().then(() => (writable = true));
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(writable).toBe(false);
    raw.socket.resume();
    await drained;
    expect(jm.congested).toBe(false);
    // Everything sent arrived: the last frame decodes to the last deploy.
    await until(() => expect(raw.frames.filter((f) => f.kind === 'message' && !f.more).length).toBe(sends));
    const last = raw.frames.at(-1)!;
    const envelope = last.kind === 'message' ? decodeEnvelope(last.body, 'task-manager') : undefined;
    expect(envelope).toMatchObject({ kind: 'tell', message: { kind: 'deploy', attempt: sends - 1 } });
  });

  it('refuses to send a message above maxMessageSize, and closes a connection that receives one', async () => {
    const { jm, tm, lines } = await pair({ maxMessageSize: 4096 });
    const records = new Uint8Array(8192);
    const collect: ToJobManagerMessage = {
      kind: 'collect',
      jobId: JOB,
      attempt: 0,
      vertexIndex: 0,
      subtask: 0,
      collectId: 'c',
      records,
    };
    expect(() => tm.send(collect)).toThrow(/exceeds the control-plane maximum of 4096 bytes/u);
    expect(tm.open).toBe(true);
    // The JobManager end accepts 64 MiB; the TaskManager end, 4 KiB.
    jm.send({ kind: 'deploy', jobId: JOB, attempt: 0, payload: [records] });
    await until(() => expect(tm.closeReason?.kind).toBe('lost'));
    const reason = tm.closeReason as Extract<RpcCloseReason, { kind: 'lost' }>;
    expect(reason.error).toMatchObject({ code: 'SLUICE_RPC_BAD_MESSAGE' });
    expect(lines).toBeDefined();
  });

  it('listens on 127.0.0.1 by default and names a taken port', async () => {
    const { server } = await startServer();
    expect(server.address.host).toBe('127.0.0.1');
    expect(server.address.port).toBeGreaterThan(0);
    const taken = RpcServer.listen({ secret: SECRET, port: server.address.port, onConnection: () => {} });
    await expect(taken).rejects.toMatchObject({ code: 'SLUICE_CONFIG_INVALID_VALUE' });
    await expect(taken).rejects.toThrow(new RegExp(`127\\.0\\.0\\.1:${server.address.port}`, 'u'));
  });

  it('encodes each envelope into a buffer of its own', () => {
    const a = encodeEnvelope({ kind: 'tell', message: { kind: 'heartbeat-request', seq: 1 } });
    const copy = Uint8Array.from(a);
    encodeEnvelope({ kind: 'tell', message: { kind: 'heartbeat-request', seq: 2 } });
    expect(a).toEqual(copy);
  });

  it('closes the server with every connection, reporting them closed', async () => {
    const { server, accepted } = await startServer();
    const tm = await connectClient(server);
    await until(() => expect(accepted).toHaveLength(1));
    const atJm: RpcCloseReason[] = [];
    accepted[0]!.onClose((r) => atJm.push(r));
    await server.close();
    expect(atJm).toEqual([{ kind: 'closed', reason: 'the JobManager is shutting down' }]);
    await until(() => expect(tm.open).toBe(false));
    expect(server.connectionCount).toBe(0);
    // Not listening any more.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(server.address.port, '127.0.0.1', resolve));
    await new Promise((resolve) => probe.close(resolve));
  });
});
