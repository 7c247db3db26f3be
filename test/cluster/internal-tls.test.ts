// Issue 11, point 3: internal traffic over mutual TLS (security.ssl.internal.*), on top of the
// cluster secret. A whole job runs with its records crossing TaskManagers over TLS; the RPC and
// data ports refuse peers without a certificate of the internal CA, and the secret still counts.
import { connect as connectTcp } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRpc } from '../../src/cluster/rpc/index.js';
import { main } from '../fixtures/keyed-count-job.js';
import { createTestPki, type TestPki } from '../support/certificates.js';
import { KEYED_COUNT_JOB, expectedRunningCounts, sortedRows, useTestClusters } from '../support/cluster.js';

const clusters = useTestClusters();
let pki: TestPki;
beforeAll(() => void (pki = createTestPki()));
afterAll(() => pki.remove());

const tlsConfig = () => ({
  'security.ssl.internal.enabled': 'true',
  'security.ssl.internal.key-path': pki.server.key,
  'security.ssl.internal.cert-path': pki.server.cert,
  'security.ssl.internal.truststore-path': pki.ca,
});

/** Whether a TLS handshake with `cert` (or none) to `port` succeeds. */
function handshake(port: number, cert?: { key: string; cert: string }): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connectTls({
      host: '127.0.0.1',
      port,
      ca: pki.read(pki.ca),
      ...(cert ? { key: pki.read(cert.key), cert: pki.read(cert.cert) } : {}),
      checkServerIdentity: () => undefined,
    });
    // TLS 1.3 finishes the client's side before the server checked its certificate: the server's
    // verdict shows in whether it then talks or hangs up.
    socket.once('secureConnect', () => {
      socket.write('\x00\x00\x00\x01\x00');
      socket.once('data', () => resolve(true));
    });
    socket.once('error', () => resolve(false));
    socket.once('close', () => resolve(false));
  });
}

/** Whether a plain TCP peer gets anything back for a HELLO frame. */
function plainAnswered(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connectTcp(port, '127.0.0.1');
    socket.once('connect', () =>
      socket.write(
        Buffer.from('000000230100010000000000000000000000000000000000000000000000000000000000', 'hex'),
      ),
    );
    socket.once('data', (d) => resolve(d.length > 0 && d[4] !== 0x15 && d[0] !== 0x15));
    socket.once('error', () => resolve(false));
    socket.once('close', () => resolve(false));
  });
}

describe('internal TLS (security.ssl.internal.*)', () => {
  it('runs a keyed job whose records cross two TaskManagers over mutual TLS', async () => {
    const args = ['20000', '4', '100', '20000', '16'];
    const running = await clusters.start({
      jobFile: KEYED_COUNT_JOB,
      args,
      taskManagers: 2,
      slots: 2,
      config: tlsConfig(),
    });
    const taskManagers = await running.waitForTaskManagers(2);
    const rows = await main(args);
    expect(sortedRows(rows)).toEqual(sortedRows(expectedRunningCounts(20000, 16)));
    const [master] = running.executor.jobMasters;
    expect(master!.getJobStatus()).toBe('FINISHED');
    expect(master!.getCheckpointStats()!.counts.completed).toBeGreaterThan(0);
    const placement = running.executor.gatewayOf(master!)!;
    expect(new Set([0, 1, 2, 3].map((s) => placement.placementOf(0, s)?.id)).size).toBe(2);

    // The ports it ran over take TLS peers of the internal CA only.
    const rpcPort = running.cluster.registry.address.port;
    const dataPort = taskManagers[0]!.dataAddress.port;
    for (const port of [rpcPort, dataPort]) {
      expect(await handshake(port, pki.server)).toBe(true);
      expect(await handshake(port, pki.rogue)).toBe(false);
      expect(await handshake(port)).toBe(false);
      expect(await plainAnswered(port)).toBe(false);
    }
  });

  it('keeps the cluster secret: a peer with a good certificate and a wrong secret is refused', async () => {
    const running = await clusters.start({
      jobFile: KEYED_COUNT_JOB,
      args: [],
      taskManagers: 0,
      slots: 1,
      config: tlsConfig(),
    });
    const { host, port } = running.cluster.registry.address;
    const tls = { key: pki.read(pki.server.key), cert: pki.read(pki.server.cert), ca: pki.read(pki.ca) };
    await expect(connectRpc({ host, port, secret: 'not-the-secret', tls })).rejects.toThrow(
      /do not share the cluster secret/u,
    );
    await expect(connectRpc({ host, port, secret: 'not-the-secret' })).rejects.toThrow();
  });

  it('says which file is missing', async () => {
    await expect(
      clusters.start({
        jobFile: KEYED_COUNT_JOB,
        args: [],
        taskManagers: 0,
        slots: 1,
        config: { ...tlsConfig(), 'security.ssl.internal.truststore-path': '/nonexistent/ca.pem' },
      }),
    ).rejects.toThrow(
      /security\.ssl\.internal\.truststore-path: cannot read \/nonexistent\/ca\.pem \(ENOENT\)/u,
    );
  });
});
