/**
 * A TaskManager: registers its slots with the JobManager over the control plane, answers its
 * heartbeats, loads job bundles, runs the subtasks deployed to it, and serves and reads the
 * channels that cross to other TaskManagers over the TCP data plane. A JobManager that goes away
 * makes it cancel every task and register again.
 */
import { ProcessMetrics } from '../core/process-metrics.js';
import { randomBytes } from 'node:crypto';
import { availableParallelism, totalmem } from 'node:os';
import { delimiter } from 'node:path';
import { getHeapStatistics } from 'node:v8';
import { SystemClock, type Clock } from '../core/clock.js';
import { Configuration } from '../core/configuration.js';
import { CheckpointingOptions, ClusterOptions } from '../core/config-options.js';
import { SluiceError } from '../core/errors.js';
import type { CheckpointId, JobId, OperatorId } from '../core/ids.js';
import { logger } from '../core/log.js';
import { listLogFiles, logDirectoryOf, readFileTail, readLogFile } from '../core/log-files.js';
import { sampleCpu } from '../runtime/cpu-flame-graph.js';
import type { CheckpointingSubmission, PipelineSubmission } from '../api/execution.js';
import type { OperatorEvent } from '../runtime/stream-operator.js';
import type { JobMasterGateway } from '../coordinator/job-master-gateway.js';
import {
  internalTlsFromConfiguration,
  TcpDataClient,
  TcpDataServer,
  type InternalTls,
  type RemoteChannel,
  type TcpAddress,
} from '../network/tcp-transport.js';
import type { CheckpointFailureReason } from '../protocol/checkpoint-failure-reason.js';
import type {
  OperatorSubtaskState,
  SubtaskCheckpointMetrics,
  TaskCheckpointGateway,
} from '../runtime/checkpoint-gateway.js';
import { isTerminal, type ExecutionState, type Task } from '../runtime/task.js';
import { TaskScheduler } from '../runtime/task-scheduler.js';
import { TaskLocalStateStoresManager } from '../runtime/task-local-state-store.js';
import type { CheckpointStorage } from '../storage/checkpoint-storage.js';
import { createCheckpointStorage } from '../storage/create-checkpoint-storage.js';
import { decodeDeployPayload, encodeAccumulators, type DeployPayload } from './deploy-payload.js';
import { loadJobSubmissions } from './job-bundle.js';
import {
  HeartbeatResponder,
  RegistrationRetry,
  answerHeartbeats,
  connectRpc,
  heartbeatSettings,
  toRpcError,
  type DeployMessage,
  type JobManagerConnection,
  type RpcResponder,
  type TaskManagerFileType,
  type TaskMetricsReport,
  type ToJobManagerMessage,
  type ToTaskManagerMessage,
} from './rpc/index.js';
import { deployTasks, JobTasks, subtaskCounters, subtaskKeys, type TaskGroup } from './task-deployment.js';

/**
 * Largest control message either side accepts: a deploy carries the job bundle and its subtasks'
 * restore state handles, with the inline bytes of small state (the JobManager's registry uses the
 * same limit).
 */
export const MAX_CONTROL_MESSAGE_SIZE = 1024 * 1024 * 1024;

/** How often running tasks' counters are pushed to the JobManager. */
const METRICS_INTERVAL_MS = 1000;

/** Settings of a TaskManager. */
export interface TaskManagerOptions {
  /** The cluster configuration (slots, heartbeat, addresses, secret). */
  readonly configuration: Configuration;
  readonly jobManager: TcpAddress;
  /** `security.cluster.secret`; overrides the configuration's. */
  readonly secret?: string;
  readonly taskManagerId?: string;
  readonly clock?: Clock;
  /** Called when registration gave up (`taskmanager.registration.timeout`); the process exits. */
  readonly onGaveUp?: (error: SluiceError) => void;
  /** Its log and stdout files, served to the JobManager's REST API (a standalone TaskManager has them). */
  readonly files?: { readonly [F in TaskManagerFileType]?: string };
}

/** The TCP channels of one attempt's tasks here, each with its local task (`vertexIndex:subtask`). */
interface AttemptChannels {
  /** Served subpartitions by channel key. */
  readonly served: Map<string, string>;
  readonly subscribed: { readonly remote: RemoteChannel; readonly task: string }[];
}

/** A job this TaskManager runs subtasks of: its bundle, and the submissions built from it. */
interface JobEntry {
  readonly bundle: Uint8Array;
  /** By `jobIndex:argsJson`, loaded once: the module is evaluated once per job. */
  readonly submissions: Map<string, Promise<PipelineSubmission>>;
  storage: CheckpointStorage | undefined;
  /** The running tasks, by attempt (several after a region failover). */
  tasks: JobTasks | undefined;
  readonly channels: Map<number, AttemptChannels>;
  /** The newest attempt a deploy arrived for. */
  latestAttempt: number;
  /** The newest attempt a full (not partial) deploy arrived for: older deploys never start. */
  fullAttempt: number;
  /** Attempts below this were cancelled: a deployment of one still loading never starts. */
  cancelledBelow: number;
  /** The same for single subtasks (`vertexIndex:subtask`) cancelled by a region failover. */
  readonly subtaskCancelledBelow: Map<string, number>;
}

/**
 * `execution.checkpointing.local-backup.dirs` (Flink's `taskmanager.state.local.root-dirs`): a
 * list separated by commas or the platform's path separator; none: the default root.
 */
function localStateRoots(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .flatMap((d) => d.split(delimiter))
    .map((d) => d.trim())
    .filter((d) => d !== '');
}

/** One TaskManager process's runtime. */
export class TaskManager {
  readonly taskManagerId: string;
  private readonly clock: Clock;
  private readonly secret: string;
  /** `security.ssl.internal.*`, for the RPC and data connections; undefined: plain TCP. */
  private readonly tls: InternalTls | undefined;
  private readonly slots: number;
  private readonly scheduler = new TaskScheduler();
  private readonly jobs = new Map<JobId, JobEntry>();
  private readonly dataServer: TcpDataServer;
  private readonly dataClient: TcpDataClient;
  private readonly registration: RegistrationRetry<JobManagerConnection>;
  private readonly responder: HeartbeatResponder;
  private connection: JobManagerConnection | undefined;
  private stopHeartbeats: (() => void) | undefined;
  private metricsTimer: ReturnType<typeof setInterval> | undefined;
  private readonly processMetrics = new ProcessMetrics();
  private stopped = false;
  /** Task-local state of the subtasks that ran here (local recovery). */
  private readonly localState: TaskLocalStateStoresManager;
  private readonly log = logger('taskmanager');

  constructor(private readonly options: TaskManagerOptions) {
    const config = options.configuration;
    this.clock = options.clock ?? SystemClock;
    this.taskManagerId = options.taskManagerId ?? randomBytes(16).toString('hex');
    const secret = options.secret ?? config.get(ClusterOptions.CLUSTER_SECRET);
    if (secret === undefined || secret === '')
      throw new SluiceError(
        'SLUICE_CONFIG_INVALID_VALUE',
        'a TaskManager needs the cluster secret: set security.cluster.secret (or SLUICE_CLUSTER_SECRET) to the JobManager’s.',
      );
    this.secret = secret;
    this.tls = internalTlsFromConfiguration(config);
    this.slots = config.get(ClusterOptions.NUM_TASK_SLOTS);
    this.localState = new TaskLocalStateStoresManager(
      localStateRoots(config.get(CheckpointingOptions.LOCAL_RECOVERY_TASK_MANAGER_STATE_ROOT_DIRS)),
      this.taskManagerId,
    );
    this.dataServer = new TcpDataServer({
      secret,
      tls: this.tls,
      host: config.get(ClusterOptions.TASK_MANAGER_BIND_HOST),
      port: config.get(ClusterOptions.TASK_MANAGER_DATA_PORT),
      onChannelFailed: (key, error) => this.channelFailed(key, error, 'producer'),
    });
    this.dataClient = new TcpDataClient({
      secret,
      tls: this.tls,
      onChannelFailed: (key, error) => this.channelFailed(key, error, 'consumer'),
    });
    const heartbeat = heartbeatSettings(config);
    this.responder = new HeartbeatResponder({
      timeoutMs: heartbeat.timeoutMs,
      clock: this.clock,
      onJobManagerLost: (reason) => this.jobManagerLost(`the JobManager was lost (${reason})`),
    });
    this.registration = new RegistrationRetry<JobManagerConnection>({
      clock: this.clock,
      attempt: (signal) => this.attemptRegistration(signal),
      onRegistered: (connection) => this.registered(connection),
      onAbandoned: (connection) => void connection.close('registration abandoned'),
      onGaveUp: (error) => options.onGaveUp?.(error),
      deadlineMs: config.get(ClusterOptions.TASK_MANAGER_REGISTRATION_TIMEOUT),
    });
  }

  /** Starts the data server and registers with the JobManager (retrying until it answers). */
  async start(): Promise<TcpAddress> {
    const address = await this.dataServer.listen();
    void this.localState.removeLeftoversOfDeadTaskManagers();
    this.log.info(
      { taskManagerId: this.taskManagerId, data: address, slots: this.slots },
      `TaskManager ${this.taskManagerId} with ${this.slots} slot(s), data port ${address.host}:${address.port}`,
    );
    this.registration.start();
    return address;
  }

  /** Whether it is registered with a JobManager now. */
  get isRegistered(): boolean {
    return this.connection !== undefined;
  }

  /** Cancels every task and closes every connection. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.registration.stop();
    this.cancelAll();
    this.disconnect();
    await Promise.all([this.dataServer.close(), this.dataClient.close(), this.localState.shutdown()]);
  }

  // ---- registration ----------------------------------------------------------------------

  private async attemptRegistration(signal: AbortSignal) {
    const config = this.options.configuration;
    const connection = await connectRpc({
      host: this.options.jobManager.host,
      port: this.options.jobManager.port,
      secret: this.secret,
      tls: this.tls,
      maxMessageSize: MAX_CONTROL_MESSAGE_SIZE,
    });
    signal.addEventListener('abort', () => void connection.close('registration abandoned'), { once: true });
    const advertised = config.get(ClusterOptions.TASK_MANAGER_HOST);
    const answer = await connection.ask(
      {
        kind: 'register-task-manager',
        taskManagerId: this.taskManagerId,
        slots: this.slots,
        dataAddress: { host: advertised, port: this.dataServer.address.port },
        pid: process.pid,
        hardware: {
          cpuCores: availableParallelism(),
          physicalMemoryBytes: totalmem(),
          heapBytes: getHeapStatistics().heap_size_limit,
        },
      },
      10_000,
    );
    if (answer.kind === 'registration-accepted') return { kind: 'registered' as const, value: connection };
    void connection.close('registration declined');
    return {
      kind: 'declined' as const,
      reason: answer.kind === 'registration-declined' ? answer.reason : `unexpected ${answer.kind}`,
    };
  }

  private registered(connection: JobManagerConnection): void {
    if (this.stopped) return void connection.close('the TaskManager is stopping');
    // Closed between the JobManager's answer and now: no close event will come, so retry here.
    if (!connection.open) return queueMicrotask(() => this.registration.start());
    this.connection = connection;
    this.log.info({ jobManager: connection.remote }, `registered at the JobManager ${connection.remote}`);
    connection.onMessage((message, responder) => this.onMessage(message, responder));
    this.stopHeartbeats = answerHeartbeats(connection, this.responder, () => this.metricsReports());
    this.processMetrics.start();
    this.metricsTimer = setInterval(() => {
      this.send({
        kind: 'task-metrics',
        metrics: this.metricsReports(),
        process: this.processMetrics.read(),
      });
    }, METRICS_INTERVAL_MS);
    this.metricsTimer.unref();
  }

  private disconnect(): void {
    this.stopHeartbeats?.();
    this.stopHeartbeats = undefined;
    if (this.metricsTimer) clearInterval(this.metricsTimer);
    this.metricsTimer = undefined;
    this.processMetrics.stop();
    const connection = this.connection;
    this.connection = undefined;
    if (connection?.open) void connection.close('the TaskManager disconnects');
  }

  /** Flink: a TaskManager that loses its JobManager fails its tasks and registers anew. */
  private jobManagerLost(why: string): void {
    if (this.stopped || !this.connection) return;
    this.log.warn(`${why}: cancelling all tasks and registering again`);
    this.cancelAll();
    // No JobManager will tell these jobs' ends or restarts here any more.
    for (const jobId of this.jobs.keys()) void this.localState.releaseJob(jobId);
    this.jobs.clear();
    this.disconnect();
    this.registration.start();
  }

  private send(message: ToJobManagerMessage): void {
    const connection = this.connection;
    if (connection?.open) connection.send(message);
  }

  // ---- messages from the JobManager -------------------------------------------------------

  private onMessage(
    message: ToTaskManagerMessage,
    responder: RpcResponder<ToJobManagerMessage> | undefined,
  ): void {
    switch (message.kind) {
      case 'deploy':
        this.deploy(message).then(
          () => responder?.reply({ kind: 'ack' }),
          (e: unknown) => {
            this.log.error({ err: e, jobId: message.jobId }, 'deployment failed');
            responder?.fail(e);
          },
        );
        return;
      case 'cancel-job':
        this.cancelJob(message.jobId, message.tasks);
        responder?.reply({ kind: 'ack' });
        return;
      case 'release-job':
        this.releaseJob(message.jobId);
        return;
      case 'trigger-checkpoint':
        this.group(message.jobId, message.attempt)?.triggerCheckpoint(
          message.vertexIndex,
          message.subtask,
          message.checkpointId,
          message.timestamp,
          message.savepoint,
        );
        return;
      // These concern every task of the job, whatever attempt it runs as.
      case 'notify-checkpoint-complete':
        this.jobs.get(message.jobId)?.tasks?.notifyCheckpointComplete(message.checkpointId);
        void this.localState.confirmCheckpoint(message.jobId, message.checkpointId);
        return;
      case 'notify-checkpoint-aborted':
        this.jobs.get(message.jobId)?.tasks?.notifyCheckpointAborted(message.checkpointId);
        void this.localState.abortCheckpoint(message.jobId, message.checkpointId);
        return;
      case 'finish-all':
        this.jobs.get(message.jobId)?.tasks?.finishAll();
        return;
      case 'end-source-input':
        this.jobs.get(message.jobId)?.tasks?.endSourceInput();
        return;
      case 'operator-event-to-task':
        this.group(message.jobId, message.attempt)?.sendOperatorEvent(
          message.operatorId,
          message.subtask,
          message.event,
        );
        return;
      case 'request-file':
        this.readFile(message.file).then(
          (content) => responder?.reply({ kind: 'file-content', ...(content ? { content } : {}) }),
          (e: unknown) => responder?.fail(e),
        );
        return;
      case 'request-log-list': {
        const dir = this.logDirectory;
        (dir === undefined ? Promise.resolve([]) : listLogFiles(dir)).then(
          (logs) => responder?.reply({ kind: 'log-list', logs }),
          (e: unknown) => responder?.fail(e),
        );
        return;
      }
      case 'request-log-file': {
        const dir = this.logDirectory;
        (dir === undefined ? Promise.resolve(undefined) : readLogFile(dir, message.name)).then(
          (content) => responder?.reply({ kind: 'file-content', ...(content ? { content } : {}) }),
          (e: unknown) => responder?.fail(e),
        );
        return;
      }
      case 'request-cpu-profile':
        sampleCpu(message).then(
          (graph) => responder?.reply({ kind: 'cpu-profile', graph }),
          (e: unknown) => responder?.fail(e),
        );
        return;
      case 'heartbeat-request':
      case 'registration-accepted':
      case 'registration-declined':
      case 'ack':
        responder?.reply({ kind: 'ack' });
        return;
    }
  }

  /** The end of its log or stdout file; undefined when it keeps none. */
  private readFile(file: TaskManagerFileType): Promise<Uint8Array | undefined> {
    const path = this.options.files?.[file];
    return path === undefined ? Promise.resolve(undefined) : readFileTail(path);
  }

  /** The directory its log and stdout files are in; undefined when it keeps no files. */
  private get logDirectory(): string | undefined {
    return logDirectoryOf(this.options.files ?? {});
  }

  private group(jobId: JobId, attempt: number): TaskGroup | undefined {
    return this.jobs.get(jobId)?.tasks?.group(attempt);
  }

  private async deploy(message: DeployMessage): Promise<void> {
    const payload = decodeDeployPayload(message.payload);
    let job = this.jobs.get(message.jobId);
    if (!job) {
      if (!message.bundle)
        throw new SluiceError(
          'SLUICE_INTERNAL_ASSERTION',
          `TaskManager ${this.taskManagerId} has no bundle for job ${message.jobId}; the JobManager must send it with the first deployment`,
        );
      job = {
        bundle: message.bundle,
        submissions: new Map(),
        storage: undefined,
        tasks: undefined,
        channels: new Map(),
        latestAttempt: -1,
        fullAttempt: -1,
        cancelledBelow: 0,
        subtaskCancelledBelow: new Map(),
      };
      this.jobs.set(message.jobId, job);
    }
    job.latestAttempt = Math.max(job.latestAttempt, message.attempt);
    if (!payload.only) job.fullAttempt = Math.max(job.fullAttempt, message.attempt);
    const submission = await this.submissionOf(job, payload);
    // Stopped, cancelled or superseded while the module loaded: start nothing.
    if (
      this.stopped ||
      this.jobs.get(message.jobId) !== job ||
      message.attempt < job.cancelledBelow ||
      message.attempt < job.fullAttempt
    )
      return;
    // A region failover replaces only its subtasks (minus any cancelled again meanwhile).
    const only =
      payload.only &&
      subtaskKeys(
        payload.only.filter(
          (t) => (job.subtaskCancelledBelow.get(`${t.vertexIndex}:${t.subtask}`) ?? 0) <= message.attempt,
        ),
      );
    this.cancelTasks(job, only);
    const cp = submission.checkpointing;
    if (cp && !job.storage) job.storage = createCheckpointStorage(cp.storage);
    const { endpoints, placement, self } = payload;
    const master = this.masterGateway(message.jobId, message.attempt);
    const channels: AttemptChannels = { served: new Map(), subscribed: [] };
    const group = deployTasks({
      jobId: message.jobId,
      submission,
      attemptNumber: message.attempt,
      scheduler: this.scheduler,
      clock: this.clock,
      isLocal: (v, s) => placement[v]?.[s] === self && (!only || only.has(`${v}:${s}`)),
      remote: {
        serve: (key, subpartition, producer) => {
          this.dataServer.register(key, subpartition);
          channels.served.set(key, `${producer.vertexIndex}:${producer.subtask}`);
        },
        subscribe: (channel, producer, key, credits, consumer) => {
          const endpoint = endpoints[placement[producer.vertexIndex]![producer.subtask]!]!;
          channels.subscribed.push({
            remote: this.dataClient.connectRemote(channel, endpoint, key, credits),
            task: `${consumer.vertexIndex}:${consumer.subtask}`,
          });
        },
      },
      master,
      checkpointing:
        cp && job.storage
          ? this.checkpointGateway(message.jobId, message.attempt, cp, job.storage)
          : undefined,
      restore: new Map(payload.restore.map((r) => [`${r.vertexIndex}:${r.subtask}`, r.state])),
      localState: (v, s) => {
        const local = cp?.localRecovery;
        const vertex = submission.jobGraph.vertices[v];
        return local && vertex && this.localState.storeFor(message.jobId, vertex.id, s, local);
      },
    });
    // Every subtask of a partial deployment was cancelled again while the module loaded.
    if (group.all().length === 0) return;
    job.tasks ??= new JobTasks(submission);
    job.tasks.add(group);
    job.channels.set(message.attempt, channels);
    group.start();
    this.log.info(
      { jobId: message.jobId, attempt: message.attempt, tasks: group.all().length },
      `deployed ${group.all().length} task(s) of job ${message.jobId} (attempt ${message.attempt})`,
    );
  }

  /** Loads the job module (once per job) and checks it built the graph the JobManager has. */
  private submissionOf(job: JobEntry, payload: DeployPayload): Promise<PipelineSubmission> {
    const key = `${payload.jobIndex}:${JSON.stringify(payload.args)}`;
    let loaded = job.submissions.get(key);
    if (!loaded) {
      const configuration = new Configuration().addAll(payload.configuration, 'the JobManager');
      loaded = loadJobSubmissions(job.bundle, {
        configuration,
        argv: payload.args,
        count: payload.jobIndex + 1,
        parallelism: payload.parallelism,
      }).then((all) => all[payload.jobIndex]!);
      job.submissions.set(key, loaded);
      loaded.catch(() => job.submissions.delete(key));
    }
    return loaded.then((submission) => {
      const ids = submission.jobGraph.vertices.map((v) => v.id);
      if (ids.length !== payload.vertexIds.length || ids.some((id, i) => id !== payload.vertexIds[i]))
        throw new SluiceError(
          'SLUICE_PROGRAM_INVALID',
          `the job module built a different job graph in TaskManager ${this.taskManagerId} than in the JobManager ` +
            `(vertices ${ids.join(', ')} instead of ${payload.vertexIds.join(', ')}): build the job the same way in ` +
            'every process (no randomness, time or environment in its shape).',
        );
      // The JobManager's parameters and mode win: the module may have computed them differently here.
      return {
        ...submission,
        ...(payload.globalJobParameters ? { globalJobParameters: payload.globalJobParameters } : {}),
        ...(payload.runtimeMode ? { runtimeMode: payload.runtimeMode } : {}),
      };
    });
  }

  /** Task callbacks, as messages to the JobManager. */
  private masterGateway(jobId: JobId, attempt: number): JobMasterGateway {
    const address = (vertexIndex: number, subtask: number) => ({ jobId, attempt, vertexIndex, subtask });
    return {
      onTaskStateChanged: (vertexIndex: number, subtask: number, state: ExecutionState, error?: Error) => {
        const task = this.group(jobId, attempt)?.tasks[vertexIndex]?.[subtask];
        const accumulators =
          state === 'FINISHED' && task ? { accumulators: encodeAccumulators(task.accumulators) } : {};
        // Final counters first, so the JobManager's figures are complete once the task is.
        if (task && isTerminal(state))
          this.send({ kind: 'task-metrics', metrics: [this.reportOf(jobId, attempt, task)] });
        this.send({
          kind: 'task-state',
          ...address(vertexIndex, subtask),
          state,
          ...(error ? { error: toRpcError(error) } : {}),
          ...accumulators,
        });
        if (isTerminal(state)) this.releaseIfDone(jobId, attempt);
      },
      onTaskEnded: (vertexIndex: number, subtask: number) =>
        this.send({ kind: 'task-ended', ...address(vertexIndex, subtask) }),
      onOperatorEvent: (operatorId: OperatorId, subtask: number, event: OperatorEvent) =>
        this.send({ kind: 'operator-event', jobId, attempt, operatorId, subtask, event }),
      onCollect: (vertexIndex, subtask, collectId, records, commit) => {
        const serializer = this.group(jobId, attempt)?.collected;
        if (!serializer) return;
        this.send({
          kind: 'collect',
          ...address(vertexIndex, subtask),
          collectId,
          records: serializer.serialize(records).slice(),
          ...(commit ? { commit } : {}),
        });
      },
      acknowledgeCheckpoint: (vertexIndex, subtask, checkpointId, state, metrics) =>
        this.send({
          kind: 'acknowledge-checkpoint',
          ...address(vertexIndex, subtask),
          checkpointId,
          state,
          metrics,
        }),
      declineCheckpoint: (vertexIndex, subtask, checkpointId, reason, error) =>
        this.send({
          kind: 'decline-checkpoint',
          ...address(vertexIndex, subtask),
          checkpointId,
          reason,
          ...(error ? { error: toRpcError(error) } : {}),
        }),
      onDeploymentFailed: () => {},
    };
  }

  private checkpointGateway(
    jobId: JobId,
    attempt: number,
    settings: Pick<CheckpointingSubmission, 'mode' | 'unaligned' | 'alignedCheckpointTimeoutMs'>,
    storage: CheckpointStorage,
  ): (vertexIndex: number, subtask: number) => TaskCheckpointGateway {
    return (vertexIndex, subtask) => ({
      mode: settings.mode,
      unaligned: settings.unaligned === true,
      alignedCheckpointTimeoutMs: settings.alignedCheckpointTimeoutMs ?? 0,
      storage,
      location: (checkpointId) => storage.locationOf(jobId, checkpointId as CheckpointId),
      acknowledgeCheckpoint: (
        checkpointId: number,
        state: readonly OperatorSubtaskState[],
        metrics: SubtaskCheckpointMetrics,
      ) =>
        this.send({
          kind: 'acknowledge-checkpoint',
          jobId,
          attempt,
          vertexIndex,
          subtask,
          checkpointId,
          state,
          metrics,
        }),
      declineCheckpoint: (checkpointId: number, reason: CheckpointFailureReason, error?: Error) =>
        this.send({
          kind: 'decline-checkpoint',
          jobId,
          attempt,
          vertexIndex,
          subtask,
          checkpointId,
          reason,
          ...(error ? { error: toRpcError(error) } : {}),
        }),
    });
  }

  // ---- cancellation and clean-up ----------------------------------------------------------

  /** Cancels a job's tasks here: all of them, or with `tasks` those subtasks (a region failover). */
  private cancelJob(jobId: JobId, tasks?: readonly { vertexIndex: number; subtask: number }[]): void {
    const job = this.jobs.get(jobId);
    if (!job) return;
    if (!tasks) {
      job.cancelledBelow = job.latestAttempt + 1;
      return this.cancelTasks(job, undefined);
    }
    const keys = subtaskKeys(tasks);
    for (const key of keys) job.subtaskCancelledBelow.set(key, job.latestAttempt + 1);
    this.cancelTasks(job, keys);
  }

  /** The job ended for good: nothing of it stays here, its task-local state included. */
  private releaseJob(jobId: JobId): void {
    const job = this.jobs.get(jobId);
    if (job) {
      job.cancelledBelow = job.latestAttempt + 1;
      this.cancelTasks(job, undefined);
      this.jobs.delete(jobId);
    }
    void this.localState.releaseJob(jobId);
  }

  /** Cancels the listed subtasks (or all) in every attempt, and drops their channels. */
  private cancelTasks(job: JobEntry, subtasks: ReadonlySet<string> | undefined): void {
    job.tasks?.cancel(subtasks);
    for (const attempt of [...job.channels.keys()]) this.releaseChannels(job, attempt, subtasks);
  }

  private cancelAll(): void {
    for (const job of this.jobs.values()) this.cancelTasks(job, undefined);
  }

  /** Drops the TCP channels of an attempt's tasks here (the listed ones, or all). */
  private releaseChannels(job: JobEntry, attempt: number, subtasks?: ReadonlySet<string>): void {
    const channels = job.channels.get(attempt);
    if (!channels) return;
    for (const [key, task] of channels.served)
      if (!subtasks || subtasks.has(task)) {
        this.dataServer.unregister(key, 'the producing task was cancelled');
        channels.served.delete(key);
      }
    const kept = channels.subscribed.filter((c) => {
      if (subtasks && !subtasks.has(c.task)) return true;
      c.remote.release();
      return false;
    });
    channels.subscribed.splice(0, channels.subscribed.length, ...kept);
    if (channels.served.size === 0 && channels.subscribed.length === 0) job.channels.delete(attempt);
  }

  /** Every task of the attempt is terminal: drop its channels and tasks. */
  private releaseIfDone(jobId: JobId, attempt: number): void {
    const job = this.jobs.get(jobId);
    const group = job?.tasks?.group(attempt);
    if (!job || !group) return;
    if (!group.all().every((t) => isTerminal(t.state))) return;
    job.tasks!.remove(group);
    // Finished producers unregister only after their consumers read end-of-partition, which the
    // data server's own bookkeeping handles; here only what is left is released.
    this.releaseChannels(job, attempt);
  }

  /** A data channel broke before its end: the task on this side fails, and with it the job attempt. */
  private channelFailed(key: string, error: SluiceError, side: 'producer' | 'consumer'): void {
    const [jobId, attempt, edgeIndex, pair] = key.split('/');
    const group = this.group(jobId as JobId, Number(attempt));
    const edge = group?.submission.jobGraph.edges[Number(edgeIndex)];
    if (!group || !edge || pair === undefined) return;
    const [producer, consumer] = pair.split('-').map(Number);
    const task =
      side === 'producer'
        ? group.tasks[edge.source.index]?.[producer!]
        : group.tasks[edge.target.index]?.[consumer!];
    task?.fail(error);
  }

  // ---- metrics ----------------------------------------------------------------------------

  private metricsReports(): TaskMetricsReport[] {
    const reports: TaskMetricsReport[] = [];
    for (const [jobId, job] of this.jobs)
      for (const group of job.tasks?.attempts ?? [])
        for (const task of group.all()) reports.push(this.reportOf(jobId, group.attemptNumber, task));
    return reports;
  }

  private reportOf(jobId: JobId, attempt: number, task: Task): TaskMetricsReport {
    const { vertex, subtaskIndex } = task.deployment;
    return {
      jobId,
      attempt,
      vertexIndex: vertex.index,
      subtask: subtaskIndex,
      counters: { ...subtaskCounters(task) },
    };
  }
}
