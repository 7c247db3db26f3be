// Security of a running cluster of real processes: a TaskManager or data client without the
// cluster secret gets nothing, and random bytes on every internal port disturb neither the
// processes nor the job running on them.
import { randomBytes, randomInt } from 'node:crypto';
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { SluiceError } from '../../src/core/errors.js';
import { MsgpackSerializer } from '../../src/core/serializer.js';
import { channelKey } from '../../src/cluster/task-deployment.js';
import {
  FrameDecoder,
  FrameType,
  encodeFrame,
  HANDSHAKE_TOKEN_BYTES,
} from '../../src/network/frame-codec.js';
import { ClientHandshake, PROTOCOL_VERSION } from '../../src/network/handshake.js';
import { TcpDataClient } from '../../src/network/tcp-data-client.js';
import type { TcpAddress } from '../../src/network/tcp-transport.js';
import { InputGate } from '../../src/runtime/input-gate.js';
import { main } from '../fixtures/keyed-count-job.js';
import {
  KEYED_COUNT_JOB,
  allTasksRunning,
  captureLogs,
  expectedRunningCounts,
  firstJobMaster,
  killProcess,
  sortedRows,
  spawnTaskManagerProcess,
  until,
  useTestClusters,
} from '../support/cluster.js';

const clusters = useTestClusters();

/** A frame header: u32 length (type byte plus payload), then the type. */
const header = (length: number, type: number): Buffer =>
  Buffer.from([length >>> 24, (length >>> 16) & 0xff, (length >>> 8) & 0xff, length & 0xff, type]);

/** One hostile connection: what it writes, and whether it hangs up itself or waits to be closed. */
interface Garbage {
  readonly what: string;
  readonly chunks: readonly Uint8Array[];
  /** Half-close after writing (a prefix of a frame then ends inside it); else the server must close on its own. */
  readonly end: boolean;
}

/** A round of hostile inputs of random lengths: noise, plausible frames, oversized and truncated ones, a half handshake. */
function garbageRound(): Garbage[] {
  const hello = Buffer.concat(
    encodeFrame({ kind: 'hello', version: PROTOCOL_VERSION, nonce: randomBytes(HANDSHAKE_TOKEN_BYTES) }),
  );
  const plausibleLength = randomInt(2, 1024);
  const noise = randomBytes(randomInt(1, 16_384));
  const cut = randomInt(0, noise.length);
  return [
    { what: 'random bytes', chunks: [randomBytes(randomInt(1, 8192))], end: true },
    { what: 'random bytes in two writes', chunks: [noise.subarray(0, cut), noise.subarray(cut)], end: true },
    {
      what: 'a whole frame of a real type with a random payload',
      chunks: [header(plausibleLength, randomInt(1, 11)), randomBytes(plausibleLength - 1)],
      end: true,
    },
    {
      what: 'a valid-looking length prefix, then fewer bytes',
      chunks: [header(randomInt(64, 1000), FrameType.HELLO), randomBytes(randomInt(0, 32))],
      end: true,
    },
    {
      what: 'an oversized frame',
      chunks: [header(randomInt(64 * 1024, 0xffffffff), randomInt(1, 11)), randomBytes(randomInt(0, 4096))],
      end: false,
    },
    { what: 'an unknown frame type', chunks: [header(8, randomInt(11, 256)), randomBytes(7)], end: false },
    { what: 'a valid HELLO, then random bytes', chunks: [hello, randomBytes(randomInt(1, 2048))], end: true },
    {
      what: 'a valid HELLO, then a forged proof',
      chunks: [hello, ...encodeFrame({ kind: 'response', proof: randomBytes(HANDSHAKE_TOKEN_BYTES) })],
      end: false,
    },
  ];
}

/** What an authenticated peer (a broken TaskManager) sends: noise, random frames of real types, oversized and unknown ones. */
function authenticatedGarbageRound(): Garbage[] {
  const plausibleLength = randomInt(2, 4096);
  return [
    { what: 'random bytes after the handshake', chunks: [randomBytes(randomInt(1, 8192))], end: true },
    {
      what: 'a frame of a real type with a random payload after the handshake',
      chunks: [header(plausibleLength, randomInt(5, 11)), randomBytes(plausibleLength - 1)],
      end: true,
    },
    {
      what: 'a control message of random bytes after the handshake',
      chunks: encodeFrame({ kind: 'message', more: false, body: randomBytes(randomInt(1, 512)) }),
      end: true,
    },
    {
      what: 'an oversized frame after the handshake',
      chunks: [header(randomInt(64 * 1024 * 1024, 0xffffffff), randomInt(5, 11))],
      end: false,
    },
    {
      what: 'an unknown frame type after the handshake',
      chunks: [header(4, randomInt(11, 256)), randomBytes(3)],
      end: false,
    },
  ];
}

/**
 * Writes `garbage` to `address` on a raw socket (after an honest handshake when given the
 * `secret`); resolves once the peer closed the connection.
 */
function sendGarbage(address: TcpAddress, garbage: Garbage, secret?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect(address);
    clusters.defer(() => socket.destroy());
    const where = `${address.host}:${address.port}`;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`${where} did not close the connection after ${garbage.what}`));
    }, 20_000);
    let authenticated = secret === undefined;
    const write = () => {
      for (const chunk of garbage.chunks) socket.write(chunk);
      if (garbage.end) socket.end();
    };
    socket.on('error', () => {}); // a reset is one way for the server to hang up
    socket.once('close', () => {
      clearTimeout(timer);
      if (authenticated) resolve();
      else reject(new Error(`${where} closed the connection during an honest handshake`));
    });
    if (secret === undefined) {
      socket.on('data', () => {}); // a CHALLENGE, a CLOSE: read and dropped
      socket.once('connect', write);
      return;
    }
    const handshake = new ClientHandshake(secret);
    const decoder = new FrameDecoder();
    socket.once('connect', () => socket.write(Buffer.concat(encodeFrame(handshake.start()))));
    socket.on('data', (chunk: Buffer) => {
      if (authenticated) return;
      decoder.push(chunk, (frame) => {
        if (authenticated) return;
        const step = handshake.onFrame(frame);
        if (step.kind === 'continue') socket.write(Buffer.concat(encodeFrame(step.send)));
        else if (step.kind === 'authenticated') {
          authenticated = true;
          write();
        } else socket.destroy(step.error);
      });
    });
  });
}

describe('cluster security with real processes', () => {
  it('a TaskManager with the wrong secret never registers, and a data client with it reads no channel of a running job', async () => {
    const records = 20_000;
    const args = [String(records), '4', '0', '5000', '16'];
    const logs = captureLogs(['rpc']);
    clusters.defer(logs.restore);
    const running = await clusters.start({ jobFile: KEYED_COUNT_JOB, args, taskManagers: 2, slots: 2 });
    const { registry } = running.cluster;
    const goodIds = (await running.waitForTaskManagers(2)).map((tm) => tm.id).sort();
    const everRegistered = new Set(goodIds);
    clusters.defer(
      registry.onRegistration(() => {
        for (const tm of registry.taskManagers()) everRegistered.add(tm.id);
      }),
    );
    const result = main(args);

    // An impostor TaskManager process: registration fails on the handshake until it gives up.
    const impostorId = randomBytes(16).toString('hex');
    const impostor = spawnTaskManagerProcess({
      jobManager: registry.address,
      secret: 'not-the-cluster-secret',
      id: impostorId,
      defines: { 'taskmanager.registration.timeout': '2s' },
    });
    clusters.defer(() => killProcess(impostor.child));

    // An impostor data client, asking a TaskManager's data port for a channel of the running job.
    const master = await firstJobMaster(running);
    await allTasksRunning(master);
    const placement = running.executor.gatewayOf(master)!;
    const edge = master.jobGraph.edges[0]!;
    const producerTm = placement.placementOf(edge.source.index, 0)!;
    const consumer = [0, 1, 2, 3].find((s) => placement.placementOf(edge.target.index, s) !== producerTm)!;
    const key = channelKey(master.jobId, master.currentAttemptNumber, edge.index, 0, consumer);
    const failures: { channelKey: string; error: SluiceError }[] = [];
    const intruder = new TcpDataClient({
      secret: 'not-the-cluster-secret',
      onChannelFailed: (channelKey, error) => failures.push({ channelKey, error }),
    });
    clusters.defer(() => intruder.close());
    const channel = new InputGate().addChannel(0, new MsgpackSerializer());
    intruder.connectRemote(channel, producerTm.dataAddress, key, 8);
    await until(() => expect(failures).toHaveLength(1));
    expect(failures[0]!.channelKey).toBe(key);
    expect(failures[0]!.error.code).toBe('SLUICE_NETWORK_CHANNEL_FAILED');
    expect((failures[0]!.error.cause as SluiceError).code).toBe('SLUICE_NETWORK_HANDSHAKE_FAILED');
    expect(channel.hasData()).toBe(false);
    expect(master.getJobStatus()).toBe('RUNNING');

    // The impostor process gave up and exited, saying why; the JobManager closed each attempt.
    const exit = await impostor.exited;
    expect(exit).toEqual({ code: 1, signal: null });
    expect(impostor.stderr()).toMatch(/could not register with the JobManager within 2000 ms/u);
    expect(impostor.stderr()).toMatch(/do not share the cluster secret/u);
    expect(impostor.stderr()).toMatch(/\[SLUICE_RPC_UNREACHABLE\]/u);
    expect(
      logs.lines.some(
        (l) =>
          l.component === 'rpc' &&
          /^rejected a connection from 127\.0\.0\.1:\d+: authentication failed \(/u.test(l.msg) &&
          l.err === undefined,
      ),
    ).toBe(true);
    expect(
      registry
        .taskManagers()
        .map((tm) => tm.id)
        .sort(),
    ).toEqual(goodIds);
    expect(everRegistered.has(impostorId)).toBe(false);
    expect(everRegistered.size).toBe(2);

    // The job never noticed either.
    const rows = await result;
    expect(sortedRows(rows)).toEqual(sortedRows(expectedRunningCounts(records, 16)));
    expect(master.getJobStatus()).toBe('FINISHED');
    expect(master.getNumRestarts()).toBe(0);
    expect(master.exceptionHistory).toEqual([]);
  });

  it('random bytes on the JobManager RPC port and every TaskManager data port change neither the processes nor the results', async () => {
    const records = 24_000;
    const args = [String(records), '4', '0', '8000', '16'];
    const running = await clusters.start({ jobFile: KEYED_COUNT_JOB, args, taskManagers: 2, slots: 2 });
    const tms = await running.waitForTaskManagers(2);
    const processes = running.cluster.taskManagerProcesses;
    const pids = processes.map((p) => p.child.pid).sort();
    const result = main(args);
    const master = await firstJobMaster(running);
    await allTasksRunning(master);

    const ports = [running.cluster.registry.address, ...tms.map((tm) => tm.dataAddress)];
    // Strangers, and peers that know the secret but speak nonsense (a broken TaskManager).
    const { secret } = running.cluster;
    // Round after round for as long as the job runs (bounded), each a fresh set of random inputs per port.
    let roundsWhileRunning = 0;
    for (let round = 0; round < 40 && master.getJobStatus() === 'RUNNING'; round++) {
      await Promise.all(
        ports.flatMap((port) => [
          ...garbageRound().map((garbage) => sendGarbage(port, garbage)),
          ...authenticatedGarbageRound().map((garbage) => sendGarbage(port, garbage, secret)),
        ]),
      );
      if (master.getJobStatus() === 'RUNNING') roundsWhileRunning++;
    }

    const rows = await result;
    expect(sortedRows(rows)).toEqual(sortedRows(expectedRunningCounts(records, 16)));
    expect(master.getJobStatus()).toBe('FINISHED');
    expect(master.getNumRestarts()).toBe(0);
    expect(master.exceptionHistory).toEqual([]);
    // The garbage reached a running job, not one that had already ended.
    expect(roundsWhileRunning).toBeGreaterThanOrEqual(5);
    // No process crashed or was replaced: the same TaskManagers, still running and registered.
    const after = running.cluster.taskManagerProcesses;
    expect(after.map((p) => p.child.pid).sort()).toEqual(pids);
    for (const p of after) {
      expect(p.child.exitCode).toBeNull();
      expect(p.child.signalCode).toBeNull();
    }
    expect(
      running.cluster.registry
        .taskManagers()
        .map((tm) => tm.id)
        .sort(),
    ).toEqual(tms.map((tm) => tm.id).sort());
  });
});
