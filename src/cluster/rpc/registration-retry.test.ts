/** Registration retries on a ManualClock: exponential back-off, refusals, timeouts, the deadline; and a TaskManager that loses and regains its JobManager. */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../core/clock.js';
import type { SluiceError } from '../../core/errors.js';
import { connectRpc } from './connect-rpc.js';
import {
  HeartbeatMonitor,
  HeartbeatResponder,
  answerHeartbeats,
  monitorConnection,
} from './heartbeat-monitor.js';
import {
  RegistrationRetry,
  type RegistrationOutcome,
  type RegistrationRetryOptions,
} from './registration-retry.js';
import type { JobManagerConnection } from './rpc-connection.js';
import { SECRET, closeAfterEach, silent, startServer, until } from './rpc-loopback.fixtures.js';
import type { RpcServer } from './rpc-server.js';

closeAfterEach();

/** Lets promise reactions run: attempts settle in microtasks, the clock does not wait for them. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A retry whose attempts are answered by the test, with the time each one started. */
function scripted(clock: ManualClock, options: Partial<RegistrationRetryOptions<string>> = {}) {
  const started: number[] = [];
  const signals: AbortSignal[] = [];
  let next: () => Promise<RegistrationOutcome<string>> = () =>
    Promise.reject(new Error('connection refused'));
  const registered: string[] = [];
  const gaveUp: SluiceError[] = [];
  const abandoned: string[] = [];
  const retry = new RegistrationRetry<string>({
    clock,
    log: silent,
    attempt: (signal) => {
      started.push(clock.now());
      signals.push(signal);
      return next();
    },
    onRegistered: (value) => registered.push(value),
    onGaveUp: (error) => gaveUp.push(error),
    onAbandoned: (value) => abandoned.push(value),
    ...options,
  });
  return {
    retry,
    started,
    signals,
    registered,
    gaveUp,
    abandoned,
    answer: (fn: () => Promise<RegistrationOutcome<string>>) => (next = fn),
  };
}

/** Advances `ms` in steps, letting attempts settle before and after each step. */
async function advance(clock: ManualClock, ms: number, step = 50): Promise<void> {
  await settle();
  for (let t = 0; t < ms; t += step) {
    clock.advance(Math.min(step, ms - t));
    await settle();
  }
}

describe('RegistrationRetry', () => {
  it('backs off exponentially from 100 ms to at most 30 s until an attempt registers', async () => {
    const clock = new ManualClock();
    const s = scripted(clock, { deadlineMs: Number.POSITIVE_INFINITY });
    s.retry.start();
    await settle();
    expect(s.retry.state).toBe('waiting');
    await advance(clock, 120_000);
    const gaps = s.started.slice(1).map((t, i) => t - s.started[i]!);
    expect(gaps.slice(0, 10)).toEqual([100, 200, 400, 800, 1_600, 3_200, 6_400, 12_800, 25_600, 30_000]);
    expect(new Set(gaps.slice(9))).toEqual(new Set([30_000]));
    s.answer(() => Promise.resolve({ kind: 'registered', value: 'connection-1' }));
    await advance(clock, 30_000);
    expect(s.registered).toEqual(['connection-1']);
    expect(s.retry.state).toBe('registered');
    const attempts = s.started.length;
    await advance(clock, 300_000, 10_000);
    expect(s.started).toHaveLength(attempts);
  });

  it('waits refusedDelayMs after a decline, and start() resets the back-off', async () => {
    const clock = new ManualClock();
    const s = scripted(clock, { refusedDelayMs: 5_000 });
    s.answer(() => Promise.resolve({ kind: 'declined', reason: 'duplicate TaskManager id' }));
    s.retry.start();
    await advance(clock, 10_000, 100);
    expect(s.started).toEqual([0, 5_000, 10_000]);
    s.answer(() => Promise.reject(new Error('down')));
    s.retry.start();
    await advance(clock, 300, 100);
    expect(s.started.slice(3)).toEqual([10_000, 10_100, 10_300]);
  });

  it('abandons an attempt that hangs, aborting it, and releases its late success', async () => {
    const clock = new ManualClock();
    const s = scripted(clock, { attemptTimeoutMs: 1_000 });
    let finish: (outcome: RegistrationOutcome<string>) => void = () => {};
    s.answer(() => new Promise((resolve) => (finish = resolve)));
    s.retry.start();
    await advance(clock, 999, 999);
    expect(s.signals[0]!.aborted).toBe(false);
    await advance(clock, 1, 1);
    expect(s.signals[0]!.aborted).toBe(true);
    expect(s.retry.state).toBe('waiting');
    finish({ kind: 'registered', value: 'too-late' });
    await settle();
    expect(s.abandoned).toEqual(['too-late']);
    expect(s.registered).toEqual([]);
    await advance(clock, 100, 100);
    expect(s.started).toEqual([0, 1_100]);
  });

  it('gives up at the deadline with SLUICE_RPC_UNREACHABLE naming the last error', async () => {
    const clock = new ManualClock();
    const s = scripted(clock, { deadlineMs: 10_000 });
    s.retry.start();
    await advance(clock, 10_000);
    expect(s.gaveUp).toHaveLength(1);
    expect(s.gaveUp[0]).toMatchObject({ code: 'SLUICE_RPC_UNREACHABLE' });
    expect(s.gaveUp[0]!.message).toMatch(/within 10000 ms \(\d+ attempts; last: connection refused\)/u);
    expect(s.retry.state).toBe('gave-up');
    const attempts = s.started.length;
    await advance(clock, 100_000, 10_000);
    expect(s.started).toHaveLength(attempts);
  });

  it('stop() aborts the attempt in flight and schedules nothing more', async () => {
    const clock = new ManualClock();
    const s = scripted(clock);
    s.answer(() => new Promise(() => {}));
    s.retry.start();
    s.retry.stop();
    expect(s.signals[0]!.aborted).toBe(true);
    expect(s.retry.state).toBe('stopped');
    await advance(clock, 60_000, 1_000);
    expect(s.started).toEqual([0]);
  });
});

describe('a TaskManager and its JobManager', () => {
  it('cancels its tasks when the JobManager goes silent, and registers again with back-off once it is back', async () => {
    const clock = new ManualClock(); // the TaskManager's clock: heartbeats and registration
    const jmClock = new ManualClock();
    let jmId = 'jm-1';
    const lostAtJm: string[] = [];
    const newMonitor = () =>
      new HeartbeatMonitor<string>({
        intervalMs: 10_000,
        timeoutMs: 50_000,
        rpcFailureThreshold: 2,
        clock: jmClock,
        log: silent,
        onTargetLost: (id) => lostAtJm.push(id),
      });
    let monitor = newMonitor();
    let heartbeats = 0;
    const serve = (port = 0): Promise<RpcServer> =>
      startServer({
        port,
        onConnection: (c) =>
          c.onMessage((m, responder) => {
            if (m.kind === 'heartbeat-response') heartbeats++;
            if (m.kind !== 'register-task-manager') return;
            monitorConnection(monitor, m.taskManagerId, c);
            responder?.reply({ kind: 'registration-accepted', jobManagerId: jmId });
          }),
      }).then((s) => s.server);
    let server = await serve();
    const port = server.address.port;

    const events: string[] = [];
    let current: JobManagerConnection | undefined;
    let stopAnswering = (): void => {};
    const responder = new HeartbeatResponder({
      timeoutMs: 50_000,
      clock,
      log: silent,
      onJobManagerLost: (reason) => {
        events.push(`lost:${reason}`, 'cancel-tasks');
        stopAnswering();
        void current?.close('the JobManager is lost');
        retry.start();
      },
    });
    const retry: RegistrationRetry<{ connection: JobManagerConnection; jobManagerId: string }> =
      new RegistrationRetry({
        clock,
        log: silent,
        deadlineMs: Number.POSITIVE_INFINITY,
        attempt: async () => {
          events.push(`attempt@${clock.now()}`);
          const connection = await connectRpc({ host: '127.0.0.1', port, secret: SECRET, log: silent });
          const reply = await connection.ask(
            {
              kind: 'register-task-manager',
              taskManagerId: 'tm-1',
              slots: 2,
              dataAddress: { host: '127.0.0.1', port: 1 },
              pid: 1,
            },
            10_000,
          );
          if (reply.kind === 'registration-accepted')
            return { kind: 'registered', value: { connection, jobManagerId: reply.jobManagerId } };
          await connection.close('declined');
          return { kind: 'declined', reason: reply.kind };
        },
        onRegistered: ({ connection, jobManagerId }) => {
          events.push(`registered:${jobManagerId}`);
          current = connection;
          stopAnswering = answerHeartbeats(connection, responder);
        },
        onAbandoned: ({ connection }) => void connection.close('abandoned'),
      });

    retry.start();
    await until(() => expect(events).toContain('registered:jm-1'));
    // Healthy: the JobManager asks, the TaskManager answers, nobody is lost.
    for (let i = 1; i <= 10; i++) {
      jmClock.advance(10_000);
      await until(() => expect(heartbeats).toBe(i)); // the TaskManager heard the request at TaskManager time 10 s·(i-1)
      clock.advance(10_000);
    }
    expect(events).toEqual(['attempt@0', 'registered:jm-1']);
    // The JobManager hangs: its connection stays open but it stops asking. Last request heard at 90 s.
    monitor.stop();
    clock.advance(39_999);
    expect(events).not.toContain('lost:timeout');
    clock.advance(1);
    expect(events).toEqual([
      'attempt@0',
      'registered:jm-1',
      'lost:timeout',
      'cancel-tasks',
      'attempt@140000',
    ]);
    // And it is gone for a while: attempts fail, further and further apart.
    await server.close();
    await until(() => expect(retry.state).toBe('waiting'));
    for (const gap of [100, 200, 400, 800]) {
      clock.advance(gap);
      await until(() => expect(retry.state).toBe('waiting'));
      await until(() => expect(retry.attempts).toBeGreaterThan(1));
    }
    const attempts = events.filter((e) => e.startsWith('attempt@')).map((e) => Number(e.slice(8)));
    expect(attempts.slice(1)).toEqual([140_000, 140_100, 140_300, 140_700, 141_500]);
    // A new JobManager on the same address: the next attempt registers.
    jmId = 'jm-2';
    monitor = newMonitor();
    server = await serve(port);
    clock.advance(1_600);
    await until(() => expect(events.at(-1)).toBe('registered:jm-2'));
    expect(responder.watching).toBe(true);
    expect(lostAtJm).toEqual([]);
    stopAnswering();
    await current?.close('test over');
  });
});
