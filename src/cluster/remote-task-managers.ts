/**
 * The TaskManager gateway of one job on a cluster: each deployment attempt takes slots from the
 * registry, sends every TaskManager its part (with the job bundle the first time), forwards the
 * JobMaster's commands as control messages, and turns the TaskManagers' messages and losses back
 * into JobMaster calls.
 */
import { logger } from '../core/log.js';
import type { JobId } from '../core/ids.js';
import type { SluiceError } from '../core/errors.js';
import type { AccumulatorRegistry } from '../api/accumulators.js';
import type { PipelineSubmission, VertexMetrics } from '../api/execution.js';
import type {
  DeployedJob,
  DeploymentAttempt,
  JobMasterGateway,
  TaskManagerGateway,
} from '../coordinator/job-master.js';
import {
  checkAccumulators,
  checkSubtaskState,
  decodeAccumulators,
  encodeDeployPayload,
  type DataEndpoint,
  type DeployPayload,
} from './deploy-payload.js';
import { fromRpcError, RpcProtocolError, type ToJobManagerMessage } from './rpc/index.js';
import type { RegisteredTaskManager, SlotAllocation, TaskManagerRegistry } from './task-manager-registry.js';
import { vertexMetrics, vertexOfOperator } from './task-deployment.js';

/** Where TaskManagers get the job from: its bundle and how the module was run. */
export interface JobSource {
  readonly bundle: Uint8Array;
  /** Which `execute()` call of the module this job is. */
  readonly jobIndex: number;
  readonly args: readonly string[];
  readonly configuration: Readonly<Record<string, string>>;
  readonly parallelism?: number | undefined;
}

/** Timing of a deployment, for the recovery benchmark and logs. */
export interface DeploymentTimings {
  readonly slotsMs: number;
  readonly deployMs: number;
}

/** Deploys one job's attempts over the cluster. */
export class RemoteTaskManagers implements TaskManagerGateway {
  private current: RemoteDeployment | undefined;
  /** The last deployment's timings (slot wait, deploy round trip). */
  lastTimings: DeploymentTimings | undefined;

  constructor(
    private readonly registry: TaskManagerRegistry,
    private readonly source: JobSource,
    private readonly slotRequestTimeoutMs: number,
  ) {}

  deploy(submission: PipelineSubmission, master: JobMasterGateway, attempt: DeploymentAttempt): DeployedJob {
    const deployment = new RemoteDeployment(
      this.registry,
      this.source,
      submission,
      master,
      attempt,
      this.slotRequestTimeoutMs,
      (timings) => (this.lastTimings = timings),
    );
    this.current = deployment;
    this.registry.setJobHandler(submission.jobGraph.jobId, deployment);
    deployment.start();
    return deployment;
  }

  /** The TaskManagers running the current attempt (for the REST API). */
  get taskManagers(): readonly RegisteredTaskManager[] {
    return this.current?.taskManagers ?? [];
  }

  /** Where each subtask of the current attempt runs, by vertex index then subtask. */
  placementOf(vertexIndex: number, subtask: number): RegisteredTaskManager | undefined {
    return this.current?.placementOf(vertexIndex, subtask);
  }
}

type TaskCounters = Readonly<Record<string, number>>;

class RemoteDeployment implements DeployedJob {
  private allocation: SlotAllocation | undefined;
  private released = false;
  private readonly log = logger('job-master');
  private readonly jobId: JobId;
  private readonly counters = new Map<string, TaskCounters>();
  private readonly finalAccumulators: AccumulatorRegistry[] = [];
  private readonly terminal = new Set<string>();
  private readonly total: number;

  constructor(
    private readonly registry: TaskManagerRegistry,
    private readonly source: JobSource,
    private readonly submission: PipelineSubmission,
    private readonly master: JobMasterGateway,
    private readonly attempt: DeploymentAttempt,
    private readonly slotRequestTimeoutMs: number,
    private readonly reportTimings: (timings: DeploymentTimings) => void,
  ) {
    this.jobId = submission.jobGraph.jobId;
    this.total = submission.jobGraph.vertices.reduce((n, v) => n + v.parallelism, 0);
  }

  get taskManagers(): readonly RegisteredTaskManager[] {
    return [...new Set(this.allocation ?? [])];
  }

  placementOf(vertexIndex: number, subtask: number): RegisteredTaskManager | undefined {
    const v = this.submission.jobGraph.vertices[vertexIndex];
    return v && subtask < v.parallelism ? this.allocation?.[subtask] : undefined;
  }

  start(): void {
    void this.run().catch((e: unknown) => {
      if (this.released) return;
      this.master.onDeploymentFailed(e instanceof Error ? e : new Error(String(e)));
    });
  }

  private async run(): Promise<void> {
    const vertices = this.submission.jobGraph.vertices;
    const slots = Math.max(...vertices.map((v) => v.parallelism));
    const t0 = Date.now();
    const allocation = await this.registry.allocate(slots, this.slotRequestTimeoutMs);
    if (this.released) return this.registry.release(allocation);
    this.allocation = allocation;
    const t1 = Date.now();
    const tms = this.taskManagers;
    const endpoints: DataEndpoint[] = tms.map((tm) => ({ taskManagerId: tm.id, ...tm.dataAddress }));
    const placement = vertices.map((v) =>
      Array.from({ length: v.parallelism }, (_, s) => tms.indexOf(allocation[s]!)),
    );
    await Promise.all(
      tms.map(async (tm, self) => {
        const restore = [];
        for (const v of vertices)
          for (let s = 0; s < v.parallelism; s++) {
            const state =
              placement[v.index]![s] === self ? this.attempt.restore?.get(`${v.index}:${s}`) : undefined;
            if (state) restore.push({ vertexIndex: v.index, subtask: s, state });
          }
        const payload: DeployPayload = {
          jobIndex: this.source.jobIndex,
          args: this.source.args,
          configuration: this.source.configuration,
          parallelism: this.source.parallelism,
          vertexIds: vertices.map((v) => v.id),
          endpoints,
          placement,
          self,
          restore,
        };
        const withBundle = !tm.bundles.has(this.jobId);
        const answer = await tm.connection.ask(
          {
            kind: 'deploy',
            jobId: this.jobId,
            attempt: this.attempt.attemptNumber,
            ...(withBundle ? { bundle: this.source.bundle } : {}),
            payload: encodeDeployPayload(payload),
          },
          // Loading the module and decoding restored state can take a while.
          5 * 60_000,
        );
        if (answer.kind !== 'ack')
          throw new Error(`TaskManager ${tm.id} answered deploy with ${answer.kind}`);
        tm.bundles.add(this.jobId);
      }),
    );
    this.reportTimings({ slotsMs: t1 - t0, deployMs: Date.now() - t1 });
  }

  // ---- from the TaskManagers ----

  onMessage(from: RegisteredTaskManager, message: ToJobManagerMessage): void {
    if (this.released) return;
    if (message.kind === 'task-metrics') {
      for (const m of message.metrics)
        if (m.attempt === this.attempt.attemptNumber)
          this.counters.set(`${m.vertexIndex}:${m.subtask}`, m.counters);
      return;
    }
    if (!('attempt' in message) || message.attempt !== this.attempt.attemptNumber) return;
    const master = this.master;
    try {
      switch (message.kind) {
        case 'task-state': {
          const key = `${message.vertexIndex}:${message.subtask}`;
          if (message.state === 'FINISHED' && message.accumulators !== undefined)
            this.finalAccumulators.push(
              decodeAccumulators(checkAccumulators(message.accumulators, 'accumulators')),
            );
          if (['FINISHED', 'CANCELED', 'FAILED'].includes(message.state)) this.terminal.add(key);
          master.onTaskStateChanged(
            message.vertexIndex,
            message.subtask,
            message.state,
            message.error ? fromRpcError(message.error) : undefined,
          );
          if (this.terminal.size === this.total) this.release();
          return;
        }
        case 'task-ended':
          return master.onTaskEnded(message.vertexIndex, message.subtask);
        case 'operator-event':
          return master.onOperatorEvent(message.operatorId, message.subtask, message.event);
        case 'collect':
          return master.onCollect(message.collectId, message.records, message.commit);
        case 'acknowledge-checkpoint':
          return master.acknowledgeCheckpoint(
            message.vertexIndex,
            message.subtask,
            message.checkpointId,
            checkSubtaskState(message.state, 'state'),
            message.metrics,
          );
        case 'decline-checkpoint':
          return master.declineCheckpoint(
            message.vertexIndex,
            message.subtask,
            message.checkpointId,
            message.reason,
            message.error ? fromRpcError(message.error) : undefined,
          );
      }
    } catch (e) {
      if (!(e instanceof RpcProtocolError)) throw e;
      this.log.error(
        { err: e, taskManagerId: from.id },
        `malformed ${message.kind} from TaskManager ${from.id}`,
      );
      master.onDeploymentFailed(e);
    }
  }

  onTaskManagerLost(tm: RegisteredTaskManager, error: SluiceError): void {
    if (this.released || !this.allocation?.includes(tm)) return;
    const subtask = this.allocation.indexOf(tm);
    const vertex = this.submission.jobGraph.vertices.find((v) => subtask < v.parallelism)!;
    this.master.onTaskStateChanged(vertex.index, subtask, 'FAILED', error);
  }

  // ---- DeployedJob ----

  cancel(): void {
    if (this.released) return;
    for (const tm of this.taskManagers) this.registry.send(tm, { kind: 'cancel-job', jobId: this.jobId });
    this.release();
  }

  private release(): void {
    if (this.released) return;
    this.released = true;
    this.registry.removeJobHandler(this.jobId, this);
    if (this.allocation) this.registry.release(this.allocation);
  }

  private sendAll(
    message:
      | { kind: 'notify-checkpoint-complete'; checkpointId: number }
      | { kind: 'notify-checkpoint-aborted'; checkpointId: number }
      | { kind: 'finish-all' },
  ): void {
    for (const tm of this.taskManagers)
      this.registry.send(tm, { ...message, jobId: this.jobId, attempt: this.attempt.attemptNumber });
  }

  sendOperatorEvent(
    operatorId: Parameters<DeployedJob['sendOperatorEvent']>[0],
    subtask: number,
    event: Parameters<DeployedJob['sendOperatorEvent']>[2],
  ): void {
    const vertex = vertexOfOperator(this.submission.jobGraph.vertices, operatorId);
    const tm = vertex && this.placementOf(vertex.index, subtask);
    if (tm)
      this.registry.send(tm, {
        kind: 'operator-event-to-task',
        jobId: this.jobId,
        attempt: this.attempt.attemptNumber,
        operatorId,
        subtask,
        event,
      });
  }

  triggerCheckpoint(vertexIndex: number, subtask: number, checkpointId: number, timestamp: number): void {
    const tm = this.placementOf(vertexIndex, subtask);
    if (tm)
      this.registry.send(tm, {
        kind: 'trigger-checkpoint',
        jobId: this.jobId,
        attempt: this.attempt.attemptNumber,
        vertexIndex,
        subtask,
        checkpointId,
        timestamp,
      });
  }

  notifyCheckpointComplete(checkpointId: number): void {
    this.sendAll({ kind: 'notify-checkpoint-complete', checkpointId });
  }

  notifyCheckpointAborted(checkpointId: number): void {
    this.sendAll({ kind: 'notify-checkpoint-aborted', checkpointId });
  }

  finishAll(): void {
    this.sendAll({ kind: 'finish-all' });
  }

  metrics(): VertexMetrics[] {
    return this.submission.jobGraph.vertices.map((vertex) =>
      vertexMetrics(vertex, (s) => this.counters.get(`${vertex.index}:${s}`)),
    );
  }

  accumulators(): AccumulatorRegistry[] {
    return this.finalAccumulators;
  }
}
