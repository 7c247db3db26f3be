/** The JobManager's registry of TaskManagers, driven over the real control plane by fake TaskManagers on loopback. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Configuration } from '../core/configuration.js';
import { SluiceError } from '../core/errors.js';
import type { JobId } from '../core/ids.js';
import {
  connectRpc,
  type JobManagerConnection,
  type RpcCloseReason,
  type ToJobManagerMessage,
  type ToTaskManagerMessage,
} from './rpc/index.js';
import { encodeFrame } from '../network/frame-codec.js';
import { encodeEnvelope } from './rpc/rpc-envelope.js';
import { rawAuthenticated } from './rpc/rpc-loopback.fixtures.js';
import {
  TaskManagerRegistry,
  type JobMessageHandler,
  type RegisteredTaskManager,
} from './task-manager-registry.js';

const SECRET = 'test-secret';
const JOB_A = '0123456789abcdef0123456789abcdef' as JobId;
const JOB_B = 'fedcba9876543210fedcba9876543210' as JobId;

let registries: TaskManagerRegistry[] = [];
let clients: JobManagerConnection[] = [];

afterEach(async () => {
  await Promise.all(clients.map((c) => c.close('test over')));
  await Promise.all(registries.map((r) => r.close()));
  clients = [];
  registries = [];
});

let nextTm = 0;
/** A fresh TaskManager id (32 hex characters). */
function tmId(): string {
  return (nextTm++).toString(16).padStart(32, 'a');
}

async function startRegistry(): Promise<TaskManagerRegistry> {
  const registry = await TaskManagerRegistry.start({
    configuration: new Configuration(),
    secret: SECRET,
    host: '127.0.0.1',
    port: 0,
  });
  registries.push(registry);
  return registry;
}

/** An authenticated control connection to the registry, not registered yet. */
async function connect(registry: TaskManagerRegistry): Promise<JobManagerConnection> {
  const connection = await connectRpc({ host: '127.0.0.1', port: registry.address.port, secret: SECRET });
  clients.push(connection);
  return connection;
}

function registration(id: string, slots: number): ToJobManagerMessage {
  return {
    kind: 'register-task-manager',
    taskManagerId: id,
    slots,
    dataAddress: { host: '127.0.0.1', port: 1 },
    pid: 1,
  };
}

/** A fake TaskManager that connected and registered `slots` slots (accepted). */
async function registerTm(
  registry: TaskManagerRegistry,
  slots: number,
  id = tmId(),
): Promise<{ id: string; connection: JobManagerConnection }> {
  const connection = await connect(registry);
  const reply = await connection.ask(registration(id, slots), 5000);
  expect(reply).toEqual({ kind: 'registration-accepted', jobManagerId: 'jobmanager' });
  return { id, connection };
}

/**
 * A TaskManager registered over a bare socket, which the test can drop without a CLOSE frame, as
 * the kernel closes the sockets of a SIGKILLed process.
 */
async function registerRawTm(registry: TaskManagerRegistry, slots: number, id = tmId()) {
  const raw = await rawAuthenticated(registry.address, SECRET);
  raw.send(
    encodeFrame({
      kind: 'message',
      more: false,
      body: encodeEnvelope({ kind: 'ask', id: 1, message: registration(id, slots) }),
    }),
  );
  await vi.waitFor(() => expect(registry.taskManagers().some((tm) => tm.id === id)).toBe(true));
  return { id, socket: raw.socket };
}

/** The error `promise` rejects with; fails the test if it resolves. */
function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
}

/** A job handler recording what it hears; `lost` resolves at the first onTaskManagerLost. */
function recordingHandler() {
  const messages: { from: RegisteredTaskManager; message: ToJobManagerMessage }[] = [];
  const losses: { taskManager: RegisteredTaskManager; error: SluiceError }[] = [];
  let onMessage: () => void = () => {};
  let onLost: () => void = () => {};
  const handler: JobMessageHandler = {
    onMessage: (from, message) => {
      messages.push({ from, message });
      onMessage();
    },
    onTaskManagerLost: (taskManager, error) => {
      losses.push({ taskManager, error });
      onLost();
    },
  };
  return {
    handler,
    messages,
    losses,
    /** Resolves once `n` messages arrived. */
    messagesArrived: (n: number) =>
      new Promise<void>((resolve) => {
        onMessage = () => void (messages.length >= n && resolve());
        onMessage();
      }),
    lost: new Promise<void>((resolve) => (onLost = resolve)),
  };
}

/** The server side's RegisteredTaskManager of `id`. */
function registered(registry: TaskManagerRegistry, id: string): RegisteredTaskManager {
  const tm = registry.taskManagers().find((t) => t.id === id);
  if (!tm) throw new Error(`TaskManager ${id} is not registered`);
  return tm;
}

/** Resolves when `connection` closes, with the reason. */
function closed(connection: { onClose(handler: (reason: RpcCloseReason) => void): unknown }) {
  return new Promise<RpcCloseReason>((resolve) => void connection.onClose(resolve));
}

describe('TaskManagerRegistry', () => {
  describe('registration', () => {
    it('accepts a TaskManager and records its slots, address and pid', async () => {
      const registry = await startRegistry();
      const { id } = await registerTm(registry, 3);
      const [tm] = registry.taskManagers();
      expect(registry.taskManagers()).toHaveLength(1);
      expect(tm).toMatchObject({
        id,
        slots: 3,
        freeSlots: 3,
        dataAddress: { host: '127.0.0.1', port: 1 },
        pid: 1,
      });
      expect(registry.totalSlots).toBe(3);
    });

    it('declines a second registration on the same connection and keeps the first', async () => {
      const registry = await startRegistry();
      const { id, connection } = await registerTm(registry, 2);
      const reply = await connection.ask(registration(tmId(), 5), 5000);
      expect(reply).toEqual({ kind: 'registration-declined', reason: 'already registered' });
      expect(registry.taskManagers().map((t) => t.id)).toEqual([id]);
      expect(registry.totalSlots).toBe(2);
      expect(connection.open).toBe(true);
    });

    it('closes a connection whose first message is not a registration', async () => {
      const registry = await startRegistry();
      const connection = await connect(registry);
      const reason = closed(connection);
      connection.send({ kind: 'task-ended', jobId: JOB_A, attempt: 0, vertexIndex: 0, subtask: 0 });
      const why = await reason;
      expect(why.kind).toBe('lost');
      expect(why.kind === 'lost' && why.error.message).toMatch(/register first/u);
      expect(registry.taskManagers()).toEqual([]);
    });

    it('notifies registration listeners until they unsubscribe', async () => {
      const registry = await startRegistry();
      const seen: number[] = [];
      const stop = registry.onRegistration(() => seen.push(registry.taskManagers().length));
      await registerTm(registry, 1);
      expect(seen).toEqual([1]);
      stop();
      await registerTm(registry, 1);
      expect(seen).toEqual([1]);
      expect(registry.taskManagers()).toHaveLength(2);
    });

    it('treats the same TaskManager id registering on a new connection as the loss of the old one', async () => {
      const registry = await startRegistry();
      const job = recordingHandler();
      registry.setJobHandler(JOB_A, job.handler);
      const first = await registerTm(registry, 2);
      const oldClosed = closed(first.connection);
      await registerTm(registry, 4, first.id);
      await job.lost;
      expect(job.losses).toHaveLength(1);
      expect(job.losses[0]!.taskManager.slots).toBe(2);
      expect(job.losses[0]!.error).toBeInstanceOf(SluiceError);
      expect(job.losses[0]!.error.code).toBe('SLUICE_HEARTBEAT_TARGET_LOST');
      expect(job.losses[0]!.error.message).toMatch(/registered again/u);
      expect((await oldClosed).kind).toBe('lost');
      expect(registry.taskManagers()).toHaveLength(1);
      expect(registered(registry, first.id).slots).toBe(4);
      expect(registry.totalSlots).toBe(4);
    });
  });

  describe('allocate', () => {
    it('resolves at once, one slot on each of the TaskManagers with the most free slots, and release frees them', async () => {
      const registry = await startRegistry();
      const a = await registerTm(registry, 2);
      const b = await registerTm(registry, 2);
      const allocation = await registry.allocate(2, 5000);
      expect(allocation.map((tm) => tm.id)).toEqual([a.id, b.id]);
      expect(registered(registry, a.id).freeSlots).toBe(1);
      expect(registered(registry, b.id).freeSlots).toBe(1);

      registry.release(allocation);
      expect(registered(registry, a.id).freeSlots).toBe(2);
      expect(registered(registry, b.id).freeSlots).toBe(2);
      // All four are free again.
      const all = await registry.allocate(4, 5000);
      expect(all.map((tm) => tm.id)).toEqual([a.id, a.id, b.id, b.id]);
    });

    it('prefers the TaskManager with more free slots and orders the slots by TaskManager', async () => {
      const registry = await startRegistry();
      const small = await registerTm(registry, 1);
      const big = await registerTm(registry, 3);
      const allocation = await registry.allocate(3, 5000);
      // big (3 free) → big (2 free) → then 1 free each: the first registered wins the tie.
      expect(allocation.map((tm) => tm.id)).toEqual([small.id, big.id, big.id]);
      expect(registered(registry, small.id).freeSlots).toBe(0);
      expect(registered(registry, big.id).freeSlots).toBe(1);
    });

    it('gives each slot index its previous TaskManager when it has a free slot (local recovery), the rest as usual', async () => {
      const registry = await startRegistry();
      const a = await registerTm(registry, 2);
      const b = await registerTm(registry, 2);
      // Without a preference slot 0 would go to a, slot 1 to b.
      const swapped = await registry.allocate(2, 5000, [b.id, a.id]);
      expect(swapped.map((tm) => tm.id)).toEqual([b.id, a.id]);
      registry.release(swapped);
      // A preferred TaskManager without a free slot, or gone, is only a preference: any free slot serves.
      const held = await registry.allocate(2, 5000, [b.id, b.id]);
      expect(held.map((tm) => tm.id)).toEqual([b.id, b.id]);
      const rest = await registry.allocate(2, 5000, [b.id, 'gone']);
      expect(rest.map((tm) => tm.id)).toEqual([a.id, a.id]);
    });

    it('waits for more TaskManagers when too few slots are registered, then resolves on registration', async () => {
      const registry = await startRegistry();
      const a = await registerTm(registry, 1);
      let settled = false;
      expect(registry.waitingForSlots).toBe(false);
      const pending = registry.allocate(3, 10_000).finally(() => (settled = true));
      expect(registry.waitingForSlots).toBe(true);
      // A waiting request holds no slots.
      expect(registered(registry, a.id).freeSlots).toBe(1);

      // Still one slot short after a second TaskManager registered (its registration was served first).
      const b = await registerTm(registry, 1);
      expect(settled).toBe(false);
      expect(registered(registry, b.id).freeSlots).toBe(1);

      const registrations: number[] = [];
      registry.onRegistration(() => registrations.push(registry.taskManagers().length));
      const c = await registerTm(registry, 2);
      const allocation = await pending;
      expect(registrations).toEqual([3]);
      expect(registry.waitingForSlots).toBe(false);
      expect(allocation.map((tm) => tm.id)).toEqual([a.id, b.id, c.id]);
      expect(registered(registry, a.id).freeSlots).toBe(0);
      expect(registered(registry, b.id).freeSlots).toBe(0);
      expect(registered(registry, c.id).freeSlots).toBe(1);
    });

    it('serves a waiting request from released slots', async () => {
      const registry = await startRegistry();
      const a = await registerTm(registry, 2);
      const first = await registry.allocate(2, 5000);
      const waiting = registry.allocate(1, 10_000);
      expect(registered(registry, a.id).freeSlots).toBe(0);
      registry.release(first);
      const second = await waiting;
      expect(second.map((tm) => tm.id)).toEqual([a.id]);
      expect(registered(registry, a.id).freeSlots).toBe(1);
    });

    it('rejects with SLUICE_NO_RESOURCES after timeoutMs, naming slot.request.timeout and the registered slots', async () => {
      const registry = await startRegistry();
      const a = await registerTm(registry, 1);
      const error = await failure(registry.allocate(3, 150));
      expect(error).toBeInstanceOf(SluiceError);
      const e = error as SluiceError;
      expect(e.code).toBe('SLUICE_NO_RESOURCES');
      expect(e.message).toContain('could not acquire 3 task slot(s)');
      expect(e.message).toContain('slot.request.timeout (150 ms)');
      expect(e.message).toContain('1 TaskManager(s) with 1 free of 1 slot(s) are registered');
      // The timed-out request is gone: a later TaskManager's slots stay free.
      const b = await registerTm(registry, 2);
      expect(registered(registry, a.id).freeSlots).toBe(1);
      expect(registered(registry, b.id).freeSlots).toBe(2);
    });

    it('rejects waiting requests when the registry closes', async () => {
      const registry = await startRegistry();
      const waiting = failure(registry.allocate(1, 10_000));
      await registry.close();
      const error = (await waiting) as SluiceError;
      expect(error.code).toBe('SLUICE_NO_RESOURCES');
      expect(error.message).toMatch(/shutting down/u);
    });
  });

  describe('routing and losses', () => {
    it('routes a registered TaskManager’s messages about a job to that job’s handler only', async () => {
      const registry = await startRegistry();
      const jobA = recordingHandler();
      const jobB = recordingHandler();
      registry.setJobHandler(JOB_A, jobA.handler);
      registry.setJobHandler(JOB_B, jobB.handler);
      const { id, connection } = await registerTm(registry, 2);

      const ended: ToJobManagerMessage = {
        kind: 'task-ended',
        jobId: JOB_A,
        attempt: 0,
        vertexIndex: 0,
        subtask: 0,
      };
      const arrived = jobA.messagesArrived(1);
      connection.send(ended);
      await arrived;
      expect(jobA.messages).toHaveLength(1);
      expect(jobA.messages[0]!.message).toEqual(ended);
      expect(jobA.messages[0]!.from).toBe(registered(registry, id));
      expect(jobB.messages).toEqual([]);
    });

    it('splits task metrics by job', async () => {
      const registry = await startRegistry();
      const jobA = recordingHandler();
      const jobB = recordingHandler();
      registry.setJobHandler(JOB_A, jobA.handler);
      registry.setJobHandler(JOB_B, jobB.handler);
      const { connection } = await registerTm(registry, 2);
      const metricA = { jobId: JOB_A, attempt: 0, vertexIndex: 0, subtask: 0, counters: { recordsIn: 1 } };
      const metricB = { jobId: JOB_B, attempt: 1, vertexIndex: 2, subtask: 1, counters: { recordsIn: 7 } };
      const arrivedA = jobA.messagesArrived(1);
      const arrivedB = jobB.messagesArrived(1);
      connection.send({ kind: 'heartbeat-response', seq: 0, metrics: [metricA, metricB] });
      await Promise.all([arrivedA, arrivedB]);
      expect(jobA.messages.map((m) => m.message)).toEqual([{ kind: 'task-metrics', metrics: [metricA] }]);
      expect(jobB.messages.map((m) => m.message)).toEqual([{ kind: 'task-metrics', metrics: [metricB] }]);
    });

    it('stops routing to a handler once it is removed', async () => {
      const registry = await startRegistry();
      const old = recordingHandler();
      const current = recordingHandler();
      registry.setJobHandler(JOB_A, old.handler);
      registry.setJobHandler(JOB_A, current.handler);
      // Removing the replaced handler leaves the current one in place.
      registry.removeJobHandler(JOB_A, old.handler);
      const { connection } = await registerTm(registry, 1);
      const send = (subtask: number) =>
        connection.send({ kind: 'task-ended', jobId: JOB_A, attempt: 0, vertexIndex: 0, subtask });
      const first = current.messagesArrived(1);
      send(0);
      await first;
      registry.removeJobHandler(JOB_A, current.handler);
      // A handler for another job proves the next message was processed.
      const other = recordingHandler();
      registry.setJobHandler(JOB_B, other.handler);
      const marker = other.messagesArrived(1);
      send(1);
      connection.send({ kind: 'task-ended', jobId: JOB_B, attempt: 0, vertexIndex: 0, subtask: 0 });
      await marker;
      expect(current.messages).toHaveLength(1);
      expect(old.messages).toEqual([]);
    });

    it('unregisters a TaskManager whose connection closes and tells the job handlers with SLUICE_HEARTBEAT_TARGET_LOST', async () => {
      const registry = await startRegistry();
      const job = recordingHandler();
      registry.setJobHandler(JOB_A, job.handler);
      const a = await registerTm(registry, 2);
      const b = await registerTm(registry, 1);
      const allocation = await registry.allocate(2, 5000);
      expect(registry.taskManagers()).toHaveLength(2);

      await a.connection.close('TaskManager stopping');
      await job.lost;
      expect(registry.taskManagers().map((tm) => tm.id)).toEqual([b.id]);
      expect(registry.totalSlots).toBe(1);
      expect(job.losses).toHaveLength(1);
      const { taskManager, error } = job.losses[0]!;
      expect(taskManager.id).toBe(a.id);
      expect(error).toBeInstanceOf(SluiceError);
      expect(error.code).toBe('SLUICE_HEARTBEAT_TARGET_LOST');
      expect(error.message).toContain(`TaskManager ${a.id}`);
      expect(error.message).toMatch(/closed its connection/u);

      // Releasing slots of the lost TaskManager gives nothing back to it; b's slot is free again.
      registry.release(allocation);
      expect(taskManager.freeSlots).toBe(0);
      expect(registered(registry, b.id).freeSlots).toBe(1);
    });

    it('regression: a TaskManager whose socket vanished is lost before the next message is handled, so a failover scheduled then never gets its slot', async () => {
      const registry = await startRegistry();
      const dead = await registerRawTm(registry, 1);
      const b = await registerTm(registry, 1);
      // What a failover triggered by b's message would be given.
      const scheduled: string[] = [];
      const lost: string[] = [];
      registry.setJobHandler(JOB_A, {
        onMessage: () => {
          registry.allocate(1, 1000).then(
            (allocation) => {
              scheduled.push(allocation[0]!.id);
              registry.release(allocation);
            },
            () => scheduled.push('none'),
          );
        },
        onTaskManagerLost: (tm) => void lost.push(tm.id),
      });

      // The TaskManager dies (no CLOSE frame), and a task of b reports right after: the JobManager
      // reads both in one turn, the end of the dead one's socket first.
      dead.socket.destroy();
      b.connection.send({ kind: 'task-ended', jobId: JOB_A, attempt: 0, vertexIndex: 0, subtask: 0 });
      await vi.waitFor(() => expect(scheduled).toHaveLength(1));
      expect(scheduled).toEqual([b.id]);
      expect(lost).toEqual([dead.id]);
      expect(registry.taskManagers().map((tm) => tm.id)).toEqual([b.id]);
    });

    it('after quiesce(), a lost TaskManager is unregistered without telling the job handlers', async () => {
      const registry = await startRegistry();
      const job = recordingHandler();
      registry.setJobHandler(JOB_A, job.handler);
      const a = await registerTm(registry, 2);
      const serverSide = closed(registered(registry, a.id).connection);

      registry.quiesce();
      await a.connection.close('TaskManager stopping');
      await serverSide;
      expect(registry.taskManagers()).toEqual([]);
      expect(job.losses).toEqual([]);
    });

    it('declines a registration during shutdown', async () => {
      const registry = await startRegistry();
      registry.quiesce();
      const connection = await connect(registry);
      const reply = await connection.ask(registration(tmId(), 2), 5000);
      expect(reply).toEqual<ToTaskManagerMessage>({
        kind: 'registration-declined',
        reason: 'the JobManager is shutting down',
      });
      expect(registry.taskManagers()).toEqual([]);
      expect(registry.totalSlots).toBe(0);
    });

    it('send() delivers to a registered TaskManager and reports false once its connection is gone', async () => {
      const registry = await startRegistry();
      const a = await registerTm(registry, 1);
      const tm = registered(registry, a.id);
      const received = new Promise<ToTaskManagerMessage>((resolve) => void a.connection.onMessage(resolve));
      expect(registry.send(tm, { kind: 'cancel-job', jobId: JOB_A })).toBe(true);
      expect(await received).toEqual({ kind: 'cancel-job', jobId: JOB_A });
      const serverSide = closed(tm.connection);
      await a.connection.close('bye');
      await serverSide;
      expect(registry.send(tm, { kind: 'cancel-job', jobId: JOB_A })).toBe(false);
    });
  });
});
