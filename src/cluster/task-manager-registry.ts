/**
 * The JobManager's view of its TaskManagers (Flink's ResourceManager and SlotPool in one): it
 * accepts their registrations over the control plane, watches them with heartbeats, hands out
 * their slots to jobs, and routes every message they send to the job it belongs to.
 */
import { SystemClock, type Clock } from '../core/clock.js';
import type { Configuration } from '../core/configuration.js';
import { ClusterOptions } from '../core/config-options.js';
import { SluiceError } from '../core/errors.js';
import type { JobId } from '../core/ids.js';
import { logger } from '../core/log.js';
import { internalTlsFromConfiguration, type TcpAddress } from '../network/tcp-transport.js';
import type { CpuSampling, FlameGraphNode } from '../runtime/cpu-flame-graph.js';
import { MAX_CONTROL_MESSAGE_SIZE } from './task-manager.js';
import {
  HeartbeatMonitor,
  RpcServer,
  heartbeatLostError,
  heartbeatSettings,
  monitorConnection,
  type HeartbeatLossReason,
  type LogFileInfo,
  type RpcResponder,
  type TaskManagerConnection,
  type TaskManagerFileType,
  type TaskMetricsReport,
  type ToJobManagerMessage,
  type ToTaskManagerMessage,
} from './rpc/index.js';

/** A registered TaskManager. */
export interface RegisteredTaskManager {
  readonly id: string;
  readonly slots: number;
  readonly dataAddress: TcpAddress;
  readonly pid: number;
  readonly hardware: {
    readonly cpuCores: number;
    readonly physicalMemoryBytes: number;
    readonly heapBytes: number;
  };
  readonly connection: TaskManagerConnection;
  readonly registeredAt: number;
  /** Slots not given to a job. */
  freeSlots: number;
  /** Jobs whose bundle this TaskManager already has. */
  readonly bundles: Set<JobId>;
  /** When it last sent anything (heartbeat or other). */
  lastHeartbeat: number;
  /** The process figures it reported last (heap, CPU, event loop), by Flink's `Status.JVM.*` names. */
  processMetrics?: Readonly<Record<string, number>>;
}

/** Receives what TaskManagers send about one job, and their losses. */
export interface JobMessageHandler {
  onMessage(from: RegisteredTaskManager, message: ToJobManagerMessage): void;
  /** A TaskManager was lost (every job hears it; a job ignores TaskManagers it does not use). */
  onTaskManagerLost(taskManager: RegisteredTaskManager, error: SluiceError): void;
}

/** Slots given to one job: one per slot index (subtask i of every vertex goes into slot i). */
export type SlotAllocation = readonly RegisteredTaskManager[];

interface SlotRequest {
  readonly count: number;
  readonly preferred: readonly (string | undefined)[] | undefined;
  readonly resolve: (allocation: SlotAllocation) => void;
  readonly reject: (error: Error) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

/** Settings of the registry. */
export interface TaskManagerRegistryOptions {
  readonly configuration: Configuration;
  readonly secret: string;
  /** Interface and port to listen on (default: `jobmanager.bind-host` and `jobmanager.rpc.port`). */
  readonly host?: string;
  readonly port?: number;
  readonly clock?: Clock;
}

/** The TaskManagers of a cluster, from the JobManager's side. */
export class TaskManagerRegistry {
  private readonly registered = new Map<string, RegisteredTaskManager>();
  private readonly handlers = new Map<JobId, JobMessageHandler>();
  private readonly requests: SlotRequest[] = [];
  private readonly registrationListeners = new Set<() => void>();
  private readonly metricsListeners = new Set<(reports: readonly TaskMetricsReport[]) => void>();
  private readonly heartbeatLossListeners = new Set<
    (taskManager: RegisteredTaskManager, reason: HeartbeatLossReason) => void
  >();
  private readonly monitor: HeartbeatMonitor;
  private readonly log = logger('resource-manager');
  private closing = false;

  private constructor(
    private readonly server: RpcServer,
    private readonly clock: Clock,
    configuration: Configuration,
  ) {
    const heartbeat = heartbeatSettings(configuration);
    this.monitor = new HeartbeatMonitor({
      ...heartbeat,
      clock,
      onTargetLost: (id, reason) => {
        const tm = this.registered.get(id);
        if (!tm) return;
        this.lose(tm, heartbeatLostError(`TaskManager ${id} (${tm.connection.remote})`, reason, heartbeat));
        for (const listener of this.heartbeatLossListeners) listener(tm, reason);
      },
    });
  }

  /** Starts listening for TaskManagers; a taken port is a clear error. */
  static async start(options: TaskManagerRegistryOptions): Promise<TaskManagerRegistry> {
    const config = options.configuration;
    // Connections that authenticate before the registry exists wait for it.
    const holder: { registry?: TaskManagerRegistry } = {};
    const pending: TaskManagerConnection[] = [];
    const server = await RpcServer.listen({
      secret: options.secret,
      tls: internalTlsFromConfiguration(config),
      host: options.host ?? config.get(ClusterOptions.JOB_MANAGER_BIND_HOST),
      port: options.port ?? config.get(ClusterOptions.JOB_MANAGER_RPC_PORT),
      maxMessageSize: MAX_CONTROL_MESSAGE_SIZE,
      onConnection: (connection) =>
        holder.registry ? holder.registry.accept(connection) : pending.push(connection),
    });
    const registry = new TaskManagerRegistry(server, options.clock ?? SystemClock, config);
    holder.registry = registry;
    for (const connection of pending) registry.accept(connection);
    return registry;
  }

  /** Where TaskManagers connect. */
  get address(): TcpAddress {
    return this.server.address;
  }

  /** The registered TaskManagers, in registration order. */
  taskManagers(): readonly RegisteredTaskManager[] {
    return [...this.registered.values()];
  }

  /** Total slots of all registered TaskManagers. */
  get totalSlots(): number {
    let n = 0;
    for (const tm of this.registered.values()) n += tm.slots;
    return n;
  }

  /** Whether a slot request waits for TaskManagers (or for slots to be released). */
  get waitingForSlots(): boolean {
    return this.requests.length > 0;
  }

  /** Calls `listener` after every registration; returns a function that stops it. */
  onRegistration(listener: () => void): () => void {
    this.registrationListeners.add(listener);
    return () => this.registrationListeners.delete(listener);
  }

  /**
   * Calls `listener` when heartbeats declare a TaskManager lost (silent, unreachable or
   * disconnected); local mode replaces a silent process. Returns a function that stops it.
   */
  onHeartbeatLoss(
    listener: (taskManager: RegisteredTaskManager, reason: HeartbeatLossReason) => void,
  ): () => void {
    this.heartbeatLossListeners.add(listener);
    return () => this.heartbeatLossListeners.delete(listener);
  }

  /**
   * Calls `listener` with every task counter report, of any job and attempt (a job's handler
   * sees only its current attempt's). Returns a function that stops it.
   */
  onTaskMetrics(listener: (reports: readonly TaskMetricsReport[]) => void): () => void {
    this.metricsListeners.add(listener);
    return () => this.metricsListeners.delete(listener);
  }

  /** Routes the messages about `jobId` to `handler` (replacing an earlier one). */
  setJobHandler(jobId: JobId, handler: JobMessageHandler | undefined): void {
    if (handler) this.handlers.set(jobId, handler);
    else this.handlers.delete(jobId);
  }

  /** Stops routing `jobId` to `handler`, unless another handler replaced it meanwhile. */
  removeJobHandler(jobId: JobId, handler: JobMessageHandler): void {
    if (this.handlers.get(jobId) === handler) this.handlers.delete(jobId);
  }

  /**
   * `count` slots, spread over the TaskManagers with the most free slots first; waits for
   * TaskManagers to register (or free slots) up to `timeoutMs`, then fails as Flink's
   * NoResourceAvailableException. `preferred[i]`, the id of the TaskManager slot `i` had before
   * (a restart), gets slot `i` again when it has a free one, so subtasks find their task-local
   * state (Flink schedules by previous allocation the same way); only a preference.
   */
  allocate(
    count: number,
    timeoutMs: number,
    preferred?: readonly (string | undefined)[],
  ): Promise<SlotAllocation> {
    const now = this.tryAllocate(count, preferred);
    if (now) return Promise.resolve(now);
    return new Promise((resolve, reject) => {
      const request: SlotRequest = {
        count,
        preferred,
        resolve,
        reject,
        timer: setTimeout(() => {
          const at = this.requests.indexOf(request);
          if (at >= 0) this.requests.splice(at, 1);
          reject(
            new SluiceError(
              'SLUICE_NO_RESOURCES',
              `could not acquire ${count} task slot(s) within slot.request.timeout (${timeoutMs} ms): ` +
                `${this.registered.size} TaskManager(s) with ${this.freeSlots()} free of ${this.totalSlots} slot(s) are registered. ` +
                'Start more TaskManagers (sluice taskmanager --jobmanager HOST:PORT), give them more slots ' +
                '(taskmanager.numberOfTaskSlots) or lower the job’s parallelism.',
            ),
          );
        }, timeoutMs),
      };
      this.requests.push(request);
    });
  }

  /** Gives slots back (a TaskManager lost meanwhile has none to get back). */
  release(allocation: SlotAllocation): void {
    for (const tm of allocation) if (this.registered.get(tm.id) === tm) tm.freeSlots++;
    this.serveRequests();
  }

  /**
   * A registered TaskManager's log or stdout file (Flink's requestTaskManagerFileUpload): its
   * bytes, or undefined when it keeps no such file (a local-mode child passes its output on).
   */
  async requestFile(tm: RegisteredTaskManager, file: TaskManagerFileType): Promise<Uint8Array | undefined> {
    const answer = await tm.connection.ask({ kind: 'request-file', file }, 30_000);
    if (answer.kind !== 'file-content')
      throw new SluiceError(
        'SLUICE_INTERNAL_ASSERTION',
        `invariant violated: TaskManager ${tm.id} answered request-file with ${answer.kind}`,
      );
    return answer.content;
  }

  /** The files of a registered TaskManager's log directory (Flink's requestTaskManagerLogList); none when it keeps no files. */
  async requestLogList(tm: RegisteredTaskManager): Promise<readonly LogFileInfo[]> {
    const answer = await tm.connection.ask({ kind: 'request-log-list' }, 30_000);
    return this.expect(tm, 'request-log-list', answer, 'log-list').logs;
  }

  /** A file of a registered TaskManager's log directory by name; undefined when it has none of that name. */
  async requestLogFile(tm: RegisteredTaskManager, name: string): Promise<Uint8Array | undefined> {
    const answer = await tm.connection.ask({ kind: 'request-log-file', name }, 30_000);
    return this.expect(tm, 'request-log-file', answer, 'file-content').content;
  }

  /** Samples a registered TaskManager's CPU for the sampling's window; its flame graph. */
  async requestCpuProfile(tm: RegisteredTaskManager, sampling: CpuSampling): Promise<FlameGraphNode> {
    const window = sampling.numSamples * sampling.delayBetweenSamplesMs;
    const answer = await tm.connection.ask({ kind: 'request-cpu-profile', ...sampling }, window + 30_000);
    return this.expect(tm, 'request-cpu-profile', answer, 'cpu-profile').graph;
  }

  private expect<K extends ToJobManagerMessage['kind']>(
    tm: RegisteredTaskManager,
    asked: string,
    answer: ToJobManagerMessage,
    kind: K,
  ): Extract<ToJobManagerMessage, { kind: K }> {
    if (answer.kind !== kind)
      throw new SluiceError(
        'SLUICE_INTERNAL_ASSERTION',
        `invariant violated: TaskManager ${tm.id} answered ${asked} with ${answer.kind}`,
      );
    return answer as Extract<ToJobManagerMessage, { kind: K }>;
  }

  /** Sends to a TaskManager; false when its connection is gone. */
  send(tm: RegisteredTaskManager, message: ToTaskManagerMessage): boolean {
    if (!tm.connection.open) return false;
    tm.connection.send(message);
    return true;
  }

  /** The cluster is shutting down: TaskManagers going away from now on are no failure. */
  quiesce(): void {
    this.closing = true;
    this.monitor.stop();
  }

  /** Stops: every TaskManager connection closes (they cancel their tasks and retry registering). */
  async close(): Promise<void> {
    this.quiesce();
    for (const request of this.requests.splice(0)) {
      clearTimeout(request.timer);
      request.reject(new SluiceError('SLUICE_NO_RESOURCES', 'the JobManager is shutting down'));
    }
    await this.server.close();
    this.registered.clear();
  }

  private freeSlots(): number {
    let n = 0;
    for (const tm of this.registered.values()) n += tm.freeSlots;
    return n;
  }

  private tryAllocate(
    count: number,
    preferred?: readonly (string | undefined)[],
  ): SlotAllocation | undefined {
    if (this.freeSlots() < count) return undefined;
    const slots = new Array<RegisteredTaskManager | undefined>(count).fill(undefined);
    for (let i = 0; i < count; i++) {
      const id = preferred?.[i];
      const tm = id === undefined ? undefined : this.registered.get(id);
      if (tm && tm.freeSlots > 0) {
        tm.freeSlots--;
        slots[i] = tm;
      }
    }
    const missing = slots.filter((s) => s === undefined).length;
    const rest: RegisteredTaskManager[] = [];
    // Most free slots first, so a job spreads over the cluster's processes (and cores).
    while (rest.length < missing) {
      let best: RegisteredTaskManager | undefined;
      for (const tm of this.registered.values())
        if (tm.freeSlots > 0 && (!best || tm.freeSlots > best.freeSlots)) best = tm;
      best!.freeSlots--;
      rest.push(best!);
    }
    // Consecutive subtasks on the same TaskManager where possible: fewer remote channels for pointwise edges.
    const order = [...this.registered.values()];
    rest.sort((a, b) => order.indexOf(a) - order.indexOf(b));
    return slots.map((tm) => tm ?? rest.shift()!);
  }

  private serveRequests(): void {
    while (this.requests.length > 0) {
      const allocation = this.tryAllocate(this.requests[0]!.count, this.requests[0]!.preferred);
      if (!allocation) return;
      const request = this.requests.shift()!;
      clearTimeout(request.timer);
      request.resolve(allocation);
    }
  }

  private accept(connection: TaskManagerConnection): void {
    let tm: RegisteredTaskManager | undefined;
    connection.onMessage((message, responder) => {
      if (tm) {
        tm.lastHeartbeat = this.clock.now();
        if (message.kind === 'register-task-manager')
          return responder?.reply({ kind: 'registration-declined', reason: 'already registered' });
        return this.route(tm, message);
      }
      if (message.kind !== 'register-task-manager') {
        this.log.warn(
          { remote: connection.remote, kind: message.kind },
          'message before registration; closing',
        );
        return void connection.close('register first');
      }
      tm = this.register(connection, message, responder);
    });
    connection.onClose(() => {
      if (tm && this.registered.get(tm.id) === tm && tm.connection === connection)
        // Heartbeat monitoring reports a lost connection; a closed one (by this side) is unregistered here.
        if (!this.monitor.isMonitored(tm.id)) this.unregister(tm);
    });
  }

  private register(
    connection: TaskManagerConnection,
    message: Extract<ToJobManagerMessage, { kind: 'register-task-manager' }>,
    responder: RpcResponder<ToTaskManagerMessage> | undefined,
  ): RegisteredTaskManager | undefined {
    if (this.closing) {
      responder?.reply({ kind: 'registration-declined', reason: 'the JobManager is shutting down' });
      return undefined;
    }
    const existing = this.registered.get(message.taskManagerId);
    if (existing) {
      // The same TaskManager registering again (it lost us): the old incarnation is gone.
      this.lose(
        existing,
        new SluiceError('SLUICE_HEARTBEAT_TARGET_LOST', `TaskManager ${existing.id} registered again`),
      );
    }
    const tm: RegisteredTaskManager = {
      id: message.taskManagerId,
      slots: message.slots,
      dataAddress: message.dataAddress,
      pid: message.pid,
      hardware: message.hardware ?? { cpuCores: 0, physicalMemoryBytes: 0, heapBytes: 0 },
      connection,
      registeredAt: this.clock.now(),
      freeSlots: message.slots,
      bundles: new Set(),
      lastHeartbeat: this.clock.now(),
    };
    this.registered.set(tm.id, tm);
    monitorConnection(this.monitor, tm.id, connection);
    responder?.reply({ kind: 'registration-accepted', jobManagerId: 'jobmanager' });
    this.log.info(
      { taskManagerId: tm.id, remote: connection.remote, slots: tm.slots, pid: tm.pid },
      `TaskManager ${tm.id} registered (${connection.remote}, ${tm.slots} slot(s))`,
    );
    this.serveRequests();
    for (const listener of this.registrationListeners) listener();
    return tm;
  }

  private route(tm: RegisteredTaskManager, message: ToJobManagerMessage): void {
    if (message.kind === 'heartbeat-response') {
      if (message.metrics) this.routeMetrics(tm, message.metrics);
      return;
    }
    if (message.kind === 'task-metrics') {
      if (message.process) tm.processMetrics = message.process;
      return this.routeMetrics(tm, message.metrics);
    }
    if (
      message.kind === 'ack' ||
      message.kind === 'register-task-manager' ||
      message.kind === 'file-content' ||
      message.kind === 'log-list' ||
      message.kind === 'cpu-profile'
    )
      return;
    this.handlers.get(message.jobId)?.onMessage(tm, message);
  }

  private routeMetrics(tm: RegisteredTaskManager, metrics: readonly TaskMetricsReport[]): void {
    for (const listener of this.metricsListeners) listener(metrics);
    for (const jobId of new Set(metrics.map((m) => m.jobId)))
      this.handlers.get(jobId)?.onMessage(tm, {
        kind: 'task-metrics',
        metrics: metrics.filter((m) => m.jobId === jobId),
      });
  }

  private lose(tm: RegisteredTaskManager, error: SluiceError): void {
    if (this.registered.get(tm.id) !== tm || this.closing) return;
    this.log.warn({ taskManagerId: tm.id, err: error }, `TaskManager ${tm.id} lost: ${error.message}`);
    this.unregister(tm);
    void tm.connection.close('TaskManager considered lost');
    for (const handler of [...this.handlers.values()]) handler.onTaskManagerLost(tm, error);
  }

  private unregister(tm: RegisteredTaskManager): void {
    this.registered.delete(tm.id);
    this.monitor.unmonitorTarget(tm.id);
    tm.freeSlots = 0;
  }
}
