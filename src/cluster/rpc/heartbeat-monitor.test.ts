/** Heartbeats on a ManualClock: lost exactly at the timeout, at once on a close, after the failure threshold; both sides, and over loopback. */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../core/clock.js';
import { ClusterOptions } from '../../core/config-options.js';
import { Configuration } from '../../core/configuration.js';
import {
  HeartbeatMonitor,
  HeartbeatResponder,
  answerHeartbeats,
  heartbeatLostError,
  heartbeatSettings,
  monitorConnection,
  type HeartbeatLossReason,
  type HeartbeatSettings,
  type JobManagerLossReason,
} from './heartbeat-monitor.js';
import { closeAfterEach, connectClient, silent, startServer, until } from './rpc-loopback.fixtures.js';
import type { HeartbeatResponse, TaskMetricsReport } from './rpc-messages.js';

closeAfterEach();

const settings: HeartbeatSettings = { intervalMs: 10, timeoutMs: 50, rpcFailureThreshold: 2 };

/** A monitor on a ManualClock that records each loss with the time it was reported. */
function monitorOn(clock: ManualClock, overrides: Partial<HeartbeatSettings> = {}) {
  const lost: { id: string; reason: HeartbeatLossReason; at: number }[] = [];
  const monitor = new HeartbeatMonitor<string>({
    ...settings,
    ...overrides,
    clock,
    log: silent,
    onTargetLost: (id, reason) => lost.push({ id, reason, at: clock.now() }),
  });
  return { monitor, lost };
}

/** A target that answers each request at once while `answering`, and records the sequence numbers. */
function fakeTarget(monitor: HeartbeatMonitor<string>, id: string) {
  const target = { answering: true, sendOk: true, requests: [] as number[] };
  monitor.monitorTarget(id, {
    requestHeartbeat: (seq) => {
      target.requests.push(seq);
      if (target.sendOk && target.answering) monitor.reportActivity(id);
      return target.sendOk;
    },
  });
  return target;
}

describe('HeartbeatMonitor', () => {
  it('reports a target that stops answering exactly heartbeat.timeout after its last answer, not before', () => {
    const clock = new ManualClock();
    const { monitor, lost } = monitorOn(clock);
    const target = fakeTarget(monitor, 'tm-1');
    clock.advance(30); // answered at 10, 20, 30
    target.answering = false;
    clock.advance(49);
    expect(lost).toEqual([]);
    expect(monitor.isMonitored('tm-1')).toBe(true);
    clock.advance(1);
    expect(lost).toEqual([{ id: 'tm-1', reason: 'timeout', at: 80 }]);
    expect(monitor.isMonitored('tm-1')).toBe(false);
    const requests = target.requests.length;
    clock.advance(500);
    expect(lost).toHaveLength(1);
    expect(target.requests).toHaveLength(requests);
  });

  it('keeps a target that answers, asking every heartbeat.interval with a new sequence number', () => {
    const clock = new ManualClock();
    const { monitor, lost } = monitorOn(clock);
    const target = fakeTarget(monitor, 'tm-1');
    clock.advance(10_000);
    expect(lost).toEqual([]);
    expect(target.requests).toHaveLength(1_000);
    expect(target.requests).toEqual(target.requests.map((_, i) => i));
  });

  it('counts any message as a sign of life, and a target never asked is lost at the timeout from monitoring', () => {
    const clock = new ManualClock();
    const { monitor, lost } = monitorOn(clock);
    const chatty = fakeTarget(monitor, 'chatty');
    chatty.answering = false;
    clock.advance(5);
    const silentTarget = fakeTarget(monitor, 'silent');
    silentTarget.answering = false;
    for (let t = 0; t < 10; t++) {
      clock.advance(40);
      monitor.reportActivity('chatty'); // an acknowledge-checkpoint, say
    }
    expect(lost).toEqual([{ id: 'silent', reason: 'timeout', at: 55 }]);
  });

  it('reports a closed connection at once, and once', () => {
    const clock = new ManualClock();
    const { monitor, lost } = monitorOn(clock);
    fakeTarget(monitor, 'tm-1');
    clock.advance(3);
    monitor.reportTargetClosed('tm-1');
    expect(lost).toEqual([{ id: 'tm-1', reason: 'connection-closed', at: 3 }]);
    monitor.reportTargetClosed('tm-1');
    clock.advance(1_000);
    expect(lost).toHaveLength(1);
  });

  it('reports a target after heartbeat.rpc-failure-threshold failed requests in a row, before the timeout', () => {
    const clock = new ManualClock();
    const { monitor, lost } = monitorOn(clock, { rpcFailureThreshold: 3 });
    const target = fakeTarget(monitor, 'tm-1');
    target.sendOk = false;
    clock.advance(20); // two failures
    target.sendOk = true;
    clock.advance(10); // success: the count starts over
    target.sendOk = false;
    clock.advance(20);
    expect(lost).toEqual([]);
    clock.advance(10);
    expect(lost).toEqual([{ id: 'tm-1', reason: 'rpc-failures', at: 60 }]);
    // A throwing send is a failed send too.
    const thrower = new HeartbeatMonitor<string>({
      ...settings,
      clock,
      log: silent,
      onTargetLost: (id, reason) => lost.push({ id, reason, at: clock.now() }),
    });
    thrower.monitorTarget('tm-2', {
      requestHeartbeat: () => {
        throw new Error('socket gone');
      },
    });
    clock.advance(20);
    expect(lost.at(-1)).toEqual({ id: 'tm-2', reason: 'rpc-failures', at: 80 });
    thrower.stop();
  });

  it('reports nothing for an unmonitored target or after stop, and a re-monitored id starts afresh', () => {
    const clock = new ManualClock();
    const { monitor, lost } = monitorOn(clock);
    fakeTarget(monitor, 'a').answering = false;
    fakeTarget(monitor, 'b').answering = false;
    clock.advance(40);
    monitor.unmonitorTarget('a');
    fakeTarget(monitor, 'b').answering = false; // re-registered at 40
    clock.advance(49);
    expect(lost).toEqual([]);
    clock.advance(1);
    expect(lost).toEqual([{ id: 'b', reason: 'timeout', at: 90 }]);
    fakeTarget(monitor, 'c').answering = false;
    monitor.stop();
    clock.advance(1_000);
    expect(lost).toHaveLength(1);
  });

  it('a throwing onTargetLost is logged, not fatal', () => {
    const clock = new ManualClock();
    const monitor = new HeartbeatMonitor<string>({
      ...settings,
      clock,
      log: silent,
      onTargetLost: () => {
        throw new Error('listener bug');
      },
    });
    monitor.monitorTarget('x', { requestHeartbeat: () => true });
    expect(() => clock.advance(100)).not.toThrow();
    expect(monitor.isMonitored('x')).toBe(false);
  });
});

describe('heartbeat settings', () => {
  it("reads Flink's keys and defaults, and rejects a timeout below the interval", () => {
    expect(heartbeatSettings(new Configuration())).toEqual({
      intervalMs: 10_000,
      timeoutMs: 50_000,
      rpcFailureThreshold: 2,
    });
    const config = new Configuration()
      .set(ClusterOptions.HEARTBEAT_INTERVAL, '2s')
      .set(ClusterOptions.HEARTBEAT_TIMEOUT, '1s');
    expect(() => heartbeatSettings(config)).toThrow(
      /heartbeat\.timeout \(1000 ms\) must be at least heartbeat\.interval/u,
    );
  });

  it('names the loss in the error a failover reports', () => {
    const defaults = { intervalMs: 10_000, timeoutMs: 50_000, rpcFailureThreshold: 2 };
    expect(heartbeatLostError('TaskManager tm-1', 'timeout', defaults)).toMatchObject({
      code: 'SLUICE_HEARTBEAT_TARGET_LOST',
      message: 'TaskManager tm-1 was lost: it sent no heartbeat for 50000 ms (heartbeat.timeout)',
    });
    expect(heartbeatLostError('TaskManager tm-1', 'connection-closed', defaults).message).toMatch(
      /closed its connection/u,
    );
    expect(heartbeatLostError('TaskManager tm-1', 'rpc-failures', defaults).message).toMatch(
      /2 heartbeat requests/u,
    );
  });
});

describe('HeartbeatResponder', () => {
  function responderOn(clock: ManualClock) {
    const lost: { reason: JobManagerLossReason; at: number }[] = [];
    const responder = new HeartbeatResponder({
      timeoutMs: 50,
      clock,
      log: silent,
      onJobManagerLost: (reason) => lost.push({ reason, at: clock.now() }),
    });
    return { responder, lost };
  }

  it('reports a JobManager that stops requesting exactly heartbeat.timeout after its last message', () => {
    const clock = new ManualClock();
    const { responder, lost } = responderOn(clock);
    responder.start();
    for (let i = 0; i < 5; i++) {
      clock.advance(10);
      responder.reportActivity();
    }
    clock.advance(49);
    expect(lost).toEqual([]);
    clock.advance(1);
    expect(lost).toEqual([{ reason: 'timeout', at: 100 }]);
    expect(responder.watching).toBe(false);
    responder.reportActivity(); // a straggler does not re-arm it
    clock.advance(1_000);
    expect(lost).toHaveLength(1);
  });

  it('reports a closed connection at once; stop() reports nothing; start() watches again', () => {
    const clock = new ManualClock();
    const { responder, lost } = responderOn(clock);
    responder.start();
    clock.advance(7);
    responder.reportConnectionClosed();
    responder.reportConnectionClosed();
    expect(lost).toEqual([{ reason: 'connection-closed', at: 7 }]);
    responder.start();
    responder.stop();
    clock.advance(1_000);
    expect(lost).toHaveLength(1);
    responder.start();
    clock.advance(50);
    expect(lost.at(-1)).toEqual({ reason: 'timeout', at: 1_057 });
  });
});

describe('heartbeats over a real connection', () => {
  const metrics: TaskMetricsReport[] = [
    {
      jobId: '0123456789abcdef0123456789abcdef' as never,
      attempt: 0,
      vertexIndex: 0,
      subtask: 1,
      counters: { recordsIn: 42 },
    },
  ];

  it('the TaskManager answers with its metrics and stays; a dead socket is reported at once, without the clock', async () => {
    const jmClock = new ManualClock();
    const { monitor, lost } = monitorOn(jmClock);
    const responses: HeartbeatResponse[] = [];
    const { server } = await startServer({
      onConnection: (c) => {
        monitorConnection(monitor, 'tm-1', c);
        c.onMessage((m) => m.kind === 'heartbeat-response' && responses.push(m));
      },
    });
    const tm = await connectClient(server);
    const tmLost: JobManagerLossReason[] = [];
    const responder = new HeartbeatResponder({
      timeoutMs: 50,
      clock: new ManualClock(),
      log: silent,
      onJobManagerLost: (reason) => tmLost.push(reason),
    });
    answerHeartbeats(tm, responder, () => metrics);
    await until(() => expect(monitor.isMonitored('tm-1')).toBe(true));
    for (let i = 1; i <= 3; i++) {
      jmClock.advance(10);
      await until(() => expect(responses).toHaveLength(i));
    }
    expect(responses).toEqual([0, 1, 2].map((seq) => ({ kind: 'heartbeat-response', seq, metrics })));
    jmClock.advance(49); // requests at 40, 50, 60, 70 go out; the answers keep it alive
    await until(() => expect(responses).toHaveLength(7));
    expect(lost).toEqual([]);
    await tm.close('shutting down'); // the JobManager sees its TaskManager go, as after a SIGKILL
    await until(() => expect(lost).toHaveLength(1));
    expect(lost[0]).toMatchObject({ id: 'tm-1', reason: 'connection-closed', at: 79 });
    expect(tmLost).toEqual([]); // it closed on purpose itself: no loss
    expect(responder.watching).toBe(false);
  });

  it('a connection the JobManager closes on purpose stops the watch silently', async () => {
    const { monitor, lost } = monitorOn(new ManualClock());
    const { server, accepted } = await startServer({
      onConnection: (c) => {
        accepted.push(c);
        monitorConnection(monitor, 'tm-1', c);
      },
    });
    await connectClient(server);
    await until(() => expect(accepted).toHaveLength(1));
    await accepted[0]!.close('TaskManager released');
    expect(monitor.isMonitored('tm-1')).toBe(false);
    expect(lost).toEqual([]);
  });

  it('a TaskManager notices a JobManager that keeps the connection but stops asking', async () => {
    const { server } = await startServer(); // never requests heartbeats
    const tm = await connectClient(server);
    const clock = new ManualClock();
    const tmLost: JobManagerLossReason[] = [];
    const responder = new HeartbeatResponder({
      timeoutMs: 50_000,
      clock,
      log: silent,
      onJobManagerLost: (reason) => tmLost.push(reason),
    });
    const stop = answerHeartbeats(tm, responder);
    clock.advance(49_999);
    expect(tmLost).toEqual([]);
    clock.advance(1);
    expect(tmLost).toEqual(['timeout']);
    stop();
    expect(tm.open).toBe(true);
  });

  it('a TaskManager notices at once when the JobManager process goes away', async () => {
    const { server } = await startServer();
    const tm = await connectClient(server);
    const tmLost: JobManagerLossReason[] = [];
    const responder = new HeartbeatResponder({
      timeoutMs: 50_000,
      clock: new ManualClock(),
      log: silent,
      onJobManagerLost: (reason) => tmLost.push(reason),
    });
    answerHeartbeats(tm, responder);
    await server.close();
    await until(() => expect(tmLost).toEqual(['connection-closed']));
  });
});
