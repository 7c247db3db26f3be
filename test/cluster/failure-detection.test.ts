// Failure detection between real processes: a TaskManager that stays connected but falls silent
// is declared lost by heartbeat timeout — in local mode also ended and replaced — and the job
// fails over to give the failure-free results;
// TaskManagers whose JobManager goes away (its endpoint closes, or it stays connected but falls
// silent) drop their tasks and register with the next one.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { SluiceError } from '../../src/core/errors.js';
import { Configuration } from '../../src/core/configuration.js';
import {
  RpcServer,
  type TaskManagerConnection,
  type ToJobManagerMessage,
} from '../../src/cluster/rpc/index.js';
import { TaskManager } from '../../src/cluster/task-manager.js';
import { TaskManagerRegistry } from '../../src/cluster/task-manager-registry.js';
import { main } from '../fixtures/keyed-count-job.js';
import {
  KEYED_COUNT_JOB,
  allTasksRunning,
  expectedRunningCounts,
  firstJobMaster,
  killProcess,
  sortedRows,
  spawnTaskManagerProcess,
  until,
  useClusterExecutor,
  useTestClusters,
} from '../support/cluster.js';

const HEARTBEATS = { 'heartbeat.interval': '200ms', 'heartbeat.timeout': '1500ms' };

const clusters = useTestClusters();

describe('failure detection across processes', () => {
  it('ends a local-mode TaskManager that stops answering heartbeats (SIGSTOP) and replaces it, so the job finishes with the failure-free results', async () => {
    const records = 24_000;
    const args = [String(records), '4', '200', '6000', '16'];
    // Two TaskManagers of two slots for parallelism 4: without a replacement the job would wait
    // for slots until slot.request.timeout (5 min).
    const running = await clusters.start({
      jobFile: KEYED_COUNT_JOB,
      args,
      taskManagers: 2,
      slots: 2,
      config: HEARTBEATS,
    });
    await running.waitForTaskManagers(2);
    const result = main(args);
    const master = await firstJobMaster(running);
    await allTasksRunning(master);
    // Progress first, so the restart restores a checkpoint rather than starting over.
    await until(() => expect(master.getCheckpointStats()?.counts.completed ?? 0).toBeGreaterThanOrEqual(1));

    const victimTm = running.executor.gatewayOf(master)!.placementOf(0, 0)!;
    const victim = running.cluster.taskManagerProcesses.find((p) => p.taskManagerId === victimTm.id)!;
    expect(victim.child.pid).toBe(victimTm.pid);
    const pids = new Set(running.cluster.taskManagerProcesses.map((p) => p.child.pid));
    const victimExit = new Promise<NodeJS.Signals | null>((resolve) =>
      victim.child.once('exit', (_code, signal) => resolve(signal)),
    );
    // Continued even if the test fails: a stopped process would hold up the cluster's shutdown.
    clusters.defer(() => victim.child.kill('SIGCONT'));
    const stoppedAt = Date.now();
    victim.child.kill('SIGSTOP');

    await until(() => expect(master.exceptionHistory.length).toBeGreaterThanOrEqual(1));
    const detectedAfter = Date.now() - stoppedAt;
    const first = master.exceptionHistory[0]!.error as SluiceError;
    expect(first.code).toBe('SLUICE_HEARTBEAT_TARGET_LOST');
    expect(first.message).toMatch(
      new RegExp(`TaskManager ${victimTm.id} .* sent no heartbeat for 1500 ms`, 'u'),
    );
    // Declared lost by the timeout, not at once (its last message came shortly before the stop).
    expect(detectedAfter).toBeGreaterThanOrEqual(700);
    // Local mode ended the silent process (a stopped one only dies of SIGKILL) and started another.
    expect(await victimExit).toBe('SIGKILL');
    const replacement = await until(() => {
      const fresh = running.cluster.taskManagerProcesses.find((p) => !pids.has(p.child.pid));
      expect(fresh).toBeDefined();
      return fresh!;
    });

    const rows = await result;
    expect(sortedRows(rows)).toEqual(sortedRows(expectedRunningCounts(records, 16)));
    expect(master.getJobStatus()).toBe('FINISHED');
    for (const failure of master.exceptionHistory)
      expect((failure.error as SluiceError).code).toBe('SLUICE_HEARTBEAT_TARGET_LOST');
    // The attempt that finished ran on the TaskManager that stayed and on the replacement.
    const placement = running.executor.gatewayOf(master)!;
    const hosts = new Set([0, 1, 2, 3].map((s) => placement.placementOf(0, s)!.id));
    expect(hosts.has(victimTm.id)).toBe(false);
    expect(hosts.has(replacement.taskManagerId)).toBe(true);
    expect(hosts.size).toBe(2);
  });

  it('drops a silent (SIGSTOP) standalone TaskManager after heartbeat.timeout, leaves its process alone, and takes it back once it answers again', async () => {
    const running = await clusters.start({
      jobFile: KEYED_COUNT_JOB,
      args: [],
      taskManagers: 0,
      slots: 2,
      config: HEARTBEATS,
    });
    const { registry, secret } = running.cluster;
    const id = randomBytes(16).toString('hex');
    const tm = spawnTaskManagerProcess({ jobManager: registry.address, secret, id, defines: HEARTBEATS });
    clusters.defer(() => killProcess(tm.child));
    clusters.defer(() => tm.child.kill('SIGCONT'));
    await until(() => expect(registry.taskManagers().map((t) => t.id)).toEqual([id]));

    const stoppedAt = Date.now();
    tm.child.kill('SIGSTOP');
    await until(() => expect(registry.taskManagers()).toEqual([]));
    expect(Date.now() - stoppedAt).toBeGreaterThanOrEqual(700);
    // Not a child of the local cluster: nothing ends or replaces it.
    expect(tm.child.exitCode).toBeNull();
    expect(tm.child.signalCode).toBeNull();
    expect(running.cluster.taskManagerProcesses).toEqual([]);

    // Woken up, it notices its JobManager dropped it, and registers again.
    tm.child.kill('SIGCONT');
    await until(() => expect(registry.taskManagers().map((t) => t.id)).toEqual([id]));
  });

  it('TaskManagers whose JobManager goes away cancel their tasks, register with the next one idle, and serve it', async () => {
    // Far more records than it can produce during the test: the job runs until its JobManager goes.
    const args = ['10000000', '4', '0', '4000', '16'];
    const running = await clusters.start({
      jobFile: KEYED_COUNT_JOB,
      args,
      taskManagers: 2,
      slots: 2,
      config: HEARTBEATS,
    });
    const tms = await running.waitForTaskManagers(2);
    const ids = tms.map((tm) => tm.id).sort();
    const pids = running.cluster.taskManagerProcesses.map((p) => p.child.pid).sort();
    const result = main(args);
    // The job never finishes: the test cancels it when it stops the cluster.
    result.catch(() => {});
    const master = await firstJobMaster(running);
    await allTasksRunning(master);
    await until(() => expect(master.getMetrics()[1]?.recordsIn ?? 0).toBeGreaterThan(0));

    // The JobManager's endpoint goes away; a new one comes up on the same port.
    const { registry, secret } = running.cluster;
    const { port } = registry.address;
    await registry.close();
    const next = await TaskManagerRegistry.start({
      configuration: running.configuration,
      secret,
      host: '127.0.0.1',
      port,
    });
    clusters.defer(() => next.close());
    // Everything each TaskManager sends the new JobManager, from its registration on.
    const received = new Map<string, ToJobManagerMessage[]>();
    const tap = () => {
      for (const tm of next.taskManagers()) {
        if (received.has(tm.id)) continue;
        const messages: ToJobManagerMessage[] = [];
        received.set(tm.id, messages);
        tm.connection.onMessage((message) => void messages.push(message));
      }
    };
    clusters.defer(next.onRegistration(tap));
    tap();

    await until(() =>
      expect(
        next
          .taskManagers()
          .map((tm) => tm.id)
          .sort(),
      ).toEqual(ids),
    );
    // A few heartbeat rounds: each answer reports the tasks a TaskManager runs, and there are none.
    await until(() => {
      for (const id of ids)
        expect(
          received.get(id)!.filter((m) => m.kind === 'heartbeat-response').length,
        ).toBeGreaterThanOrEqual(3);
    });
    for (const id of ids) {
      const messages = received.get(id)!;
      expect(messages.filter((m) => m.kind !== 'heartbeat-response')).toEqual([]);
      for (const m of messages) if (m.kind === 'heartbeat-response') expect(m.metrics ?? []).toEqual([]);
    }
    // The same processes: they went back to registering instead of exiting or running on.
    expect(running.cluster.taskManagerProcesses.map((p) => p.child.pid).sort()).toEqual(pids);

    // And they serve the new JobManager: a job there runs on both and gives the right results.
    const nextArgs = ['8000', '4', '0', '0', '16'];
    const nextJobs = await useClusterExecutor(next, {
      jobFile: KEYED_COUNT_JOB,
      args: nextArgs,
      configuration: running.configuration,
    });
    clusters.defer(() => nextJobs.restore());
    const rows = await main(nextArgs);
    expect(sortedRows(rows)).toEqual(sortedRows(expectedRunningCounts(8000, 16)));
    const nextMaster = nextJobs.executor.jobMasters[0]!;
    expect(nextMaster.getNumRestarts()).toBe(0);
    const placement = nextJobs.executor.gatewayOf(nextMaster)!;
    expect(new Set([0, 1, 2, 3].map((s) => placement.placementOf(0, s)!.id)).size).toBe(2);
  });

  it('a TaskManager whose JobManager stays connected but falls silent gives up on it after heartbeat.timeout and registers again', async () => {
    // A stand-in JobManager: accepts every registration, requests heartbeats until told to stop.
    const secret = 'failure-detection-secret';
    let silent = false;
    const registrations: { connection: TaskManagerConnection; at: number }[] = [];
    const answers = new Map<TaskManagerConnection, number>();
    const closed = new Map<TaskManagerConnection, string>();
    const server = await RpcServer.listen({
      secret,
      onConnection: (connection) => {
        connection.onClose((reason) =>
          closed.set(connection, reason.kind === 'lost' ? reason.error.message : reason.reason),
        );
        connection.onMessage((message, responder) => {
          if (message.kind === 'heartbeat-response')
            answers.set(connection, (answers.get(connection) ?? 0) + 1);
          if (message.kind !== 'register-task-manager') return;
          registrations.push({ connection, at: Date.now() });
          responder?.reply({ kind: 'registration-accepted', jobManagerId: 'stand-in' });
        });
      },
    });
    clusters.defer(() => server.close());
    let seq = 0;
    const heartbeats = setInterval(() => {
      if (silent) return;
      for (const { connection } of registrations)
        if (connection.open) connection.send({ kind: 'heartbeat-request', seq: seq++ });
    }, 200);
    clusters.defer(() => clearInterval(heartbeats));

    const tm = new TaskManager({
      configuration: new Configuration().addAll(HEARTBEATS),
      jobManager: server.address,
      secret,
    });
    clusters.defer(() => tm.stop());
    await tm.start();
    await until(() => expect(registrations).toHaveLength(1));
    const first = registrations[0]!.connection;
    // While heartbeats come, it stays (several timeouts' worth would show a spurious loss).
    await until(() => expect(answers.get(first) ?? 0).toBeGreaterThanOrEqual(5));
    expect(registrations).toHaveLength(1);
    expect(tm.isRegistered).toBe(true);

    silent = true;
    const silentAt = Date.now();
    await until(() => expect(registrations).toHaveLength(2));
    const second = registrations[1]!;
    expect(second.connection).not.toBe(first);
    // It waited out heartbeat.timeout (counted from the last request, about one interval before).
    expect(second.at - silentAt).toBeGreaterThanOrEqual(700);
    // And it closed the silent connection itself, before registering on a new one.
    await until(() => expect(closed.get(first)).toMatch(/the TaskManager disconnects/u));
    expect(first.open).toBe(false);
    await until(() => expect(tm.isRegistered).toBe(true));
  });
});
