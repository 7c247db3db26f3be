/**
 * The TaskManager gateway of one job on a cluster: each deployment attempt takes slots from the
 * registry, sends every TaskManager its part (with the job bundle the first time), forwards the
 * JobMaster's commands as control messages, and turns the TaskManagers' messages and losses back
 * into JobMaster calls.
 */
import { logger } from '../core/log.js';
import type { JobId } from '../core/ids.js';
import type { SluiceError } from '../core/errors.js';
import type { MsgpackSerializer } from '../core/serializer.js';
import type { SavepointTarget } from '../protocol/snapshot-kind.js';
import type { AccumulatorRegistry } from '../core/accumulator.js';
import type { PipelineSubmission, VertexMetrics } from '../api/execution.js';
import type {
  DeployedJob,
  DeploymentAttempt,
  JobMasterGateway,
  SubtaskAddress,
  TaskManagerGateway,
} from '../coordinator/job-master-gateway.js';
import {
  checkAccumulators,
  checkSubtaskState,
  decodeAccumulators,
  encodeDeployPayload,
  type DataEndpoint,
  type DeployPayload,
} from './deploy-payload.js';
import { fromRpcError, RpcProtocolError, type ToJobManagerMessage } from './rpc/index.js';
import type { RegisteredTaskManager, TaskManagerRegistry } from './task-manager-registry.js';
import { collectedRecordsSerializer, vertexMetrics, vertexOfOperator } from './task-deployment.js';

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
  /** The TaskManager id of each slot index of the latest deployment: a restart prefers them. */
  private previousSlots: readonly string[] | undefined;
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
      this.previousSlots,
      (allocation) => (this.previousSlots = allocation.map((tm) => tm.id)),
    );
    this.current = deployment;
    this.registry.setJobHandler(submission.jobGraph.jobId, deployment);
    deployment.start();
    return deployment;
  }

  /**
   * The job ended for good: every TaskManager that loaded it lets go of what it keeps for it
   * between attempts (its task-local state).
   */
  releaseJob(jobId: JobId): void {
    for (const tm of this.registry.taskManagers())
      if (tm.bundles.delete(jobId)) this.registry.send(tm, { kind: 'release-job', jobId });
  }

  /** The counters a subtask's current execution reported last (undefined before its first report). */
  countersOf(vertexIndex: number, subtask: number): Readonly<Record<string, number>> | undefined {
    return this.current?.countersOf(vertexIndex, subtask);
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
  /** The TaskManager of each slot index (subtask i of every vertex runs in slot i). */
  private allocation: RegisteredTaskManager[] | undefined;
  /** TaskManagers of this deployment that were lost; their slots are replaced on a region restart. */
  private readonly lost = new Set<RegisteredTaskManager>();
  private released = false;
  private readonly log = logger('job-master');
  private readonly jobId: JobId;
  /** Where the tasks of each attempt report, by attempt number. */
  private readonly masters = new Map<number, JobMasterGateway>();
  /** The attempt of each subtask's current execution, by vertex index then subtask. */
  private readonly attemptOf: number[][];
  private readonly counters = new Map<string, TaskCounters>();
  private readonly finalAccumulators = new Map<string, AccumulatorRegistry>();
  private readonly terminal = new Set<string>();
  private readonly total: number;
  private readonly collected: MsgpackSerializer<readonly unknown[]>;

  constructor(
    private readonly registry: TaskManagerRegistry,
    private readonly source: JobSource,
    private readonly submission: PipelineSubmission,
    master: JobMasterGateway,
    private readonly attempt: DeploymentAttempt,
    private readonly slotRequestTimeoutMs: number,
    private readonly reportTimings: (timings: DeploymentTimings) => void,
    /** The TaskManager id each slot index had before (a restart): preferred, for local recovery. */
    private readonly preferredSlots: readonly string[] | undefined,
    private readonly reportAllocation: (allocation: readonly RegisteredTaskManager[]) => void,
  ) {
    this.jobId = submission.jobGraph.jobId;
    const vertices = submission.jobGraph.vertices;
    this.total = vertices.reduce((n, v) => n + v.parallelism, 0);
    this.collected = collectedRecordsSerializer(submission);
    this.attemptOf = vertices.map((v) => new Array<number>(v.parallelism).fill(attempt.attemptNumber));
    this.masters.set(attempt.attemptNumber, master);
  }

  get taskManagers(): readonly RegisteredTaskManager[] {
    return [...new Set(this.allocation ?? [])];
  }

  placementOf(vertexIndex: number, subtask: number): RegisteredTaskManager | undefined {
    const v = this.submission.jobGraph.vertices[vertexIndex];
    return v && subtask < v.parallelism ? this.allocation?.[subtask] : undefined;
  }

  countersOf(vertexIndex: number, subtask: number): TaskCounters | undefined {
    return this.counters.get(`${vertexIndex}:${subtask}`);
  }

  start(): void {
    const master = this.masters.get(this.attempt.attemptNumber)!;
    void this.run().catch((e: unknown) => {
      if (this.released) return;
      master.onDeploymentFailed(e instanceof Error ? e : new Error(String(e)));
    });
  }

  private async run(): Promise<void> {
    const vertices = this.submission.jobGraph.vertices;
    const slots = Math.max(...vertices.map((v) => v.parallelism));
    const t0 = Date.now();
    const allocation = await this.registry.allocate(slots, this.slotRequestTimeoutMs, this.preferredSlots);
    if (this.released) return this.registry.release(allocation);
    this.allocation = [...allocation];
    this.reportAllocation(this.allocation);
    const t1 = Date.now();
    await this.sendDeploys(this.attempt, undefined);
    this.reportTimings({ slotsMs: t1 - t0, deployMs: Date.now() - t1 });
  }

  /**
   * Sends attempt `attempt` to the TaskManagers: every subtask, or with `only` those (a region
   * failover), each TaskManager getting its share and the restore state of it.
   */
  private async sendDeploys(attempt: DeploymentAttempt, only: readonly SubtaskAddress[] | undefined) {
    const allocation = this.allocation!;
    const vertices = this.submission.jobGraph.vertices;
    const tms = this.taskManagers;
    const endpoints: DataEndpoint[] = tms.map((tm) => ({ taskManagerId: tm.id, ...tm.dataAddress }));
    const placement = vertices.map((v) =>
      Array.from({ length: v.parallelism }, (_, s) => tms.indexOf(allocation[s]!)),
    );
    const subtasks =
      only ??
      vertices.flatMap((v) =>
        Array.from({ length: v.parallelism }, (_, s) => ({ vertexIndex: v.index, subtask: s })),
      );
    await Promise.all(
      tms.map(async (tm, self) => {
        const mine = subtasks.filter((t) => placement[t.vertexIndex]![t.subtask] === self);
        if (mine.length === 0) return;
        const restore = [];
        for (const t of mine) {
          const state = attempt.restore?.get(`${t.vertexIndex}:${t.subtask}`);
          if (state) restore.push({ ...t, state });
        }
        const payload: DeployPayload = {
          jobIndex: this.source.jobIndex,
          args: this.source.args,
          configuration: this.source.configuration,
          parallelism: this.source.parallelism,
          globalJobParameters: this.submission.globalJobParameters,
          runtimeMode: this.submission.runtimeMode,
          vertexIds: vertices.map((v) => v.id),
          endpoints,
          placement,
          self,
          restore,
          ...(only ? { only: mine } : {}),
        };
        const withBundle = !tm.bundles.has(this.jobId);
        const answer = await tm.connection.ask(
          {
            kind: 'deploy',
            jobId: this.jobId,
            attempt: attempt.attemptNumber,
            ...(withBundle ? { bundle: this.source.bundle } : {}),
            payload: encodeDeployPayload(payload),
          },
          // Loading the module can take a while (tasks read their restore state after the answer).
          5 * 60_000,
        );
        if (answer.kind !== 'ack')
          throw new Error(`TaskManager ${tm.id} answered deploy with ${answer.kind}`);
        tm.bundles.add(this.jobId);
      }),
    );
  }

  /** The current execution of a subtask belongs to `attempt`. */
  private isCurrent(attempt: number, vertexIndex: number, subtask: number): boolean {
    return this.attemptOf[vertexIndex]?.[subtask] === attempt;
  }

  // ---- from the TaskManagers ----

  onMessage(from: RegisteredTaskManager, message: ToJobManagerMessage): void {
    if (this.released) return;
    if (message.kind === 'task-metrics') {
      for (const m of message.metrics)
        if (this.isCurrent(m.attempt, m.vertexIndex, m.subtask))
          this.counters.set(`${m.vertexIndex}:${m.subtask}`, m.counters);
      return;
    }
    if (!('attempt' in message)) return;
    const master = this.masters.get(message.attempt);
    if (!master) return;
    if ('vertexIndex' in message && !this.isCurrent(message.attempt, message.vertexIndex, message.subtask))
      return;
    try {
      switch (message.kind) {
        case 'task-state': {
          const key = `${message.vertexIndex}:${message.subtask}`;
          if (message.state === 'FINISHED' && message.accumulators !== undefined)
            this.finalAccumulators.set(
              key,
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
        case 'operator-event': {
          const vertex = vertexOfOperator(this.submission.jobGraph.vertices, message.operatorId);
          if (!vertex || !this.isCurrent(message.attempt, vertex.index, message.subtask)) return;
          return master.onOperatorEvent(message.operatorId, message.subtask, message.event);
        }
        case 'collect':
          return master.onCollect(
            message.vertexIndex,
            message.subtask,
            message.collectId,
            this.collected.deserialize(message.records, 0, message.records.length),
            message.commit,
          );
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

  /** Every task the lost TaskManager ran fails (the JobMaster restarts their regions, or the job). */
  onTaskManagerLost(tm: RegisteredTaskManager, error: SluiceError): void {
    const allocation = this.allocation;
    if (this.released || !allocation?.includes(tm)) return;
    this.lost.add(tm);
    const failed: { master: JobMasterGateway; vertexIndex: number; subtask: number }[] = [];
    for (const v of this.submission.jobGraph.vertices)
      for (let s = 0; s < v.parallelism; s++) {
        if (allocation[s] !== tm || this.terminal.has(`${v.index}:${s}`)) continue;
        const master = this.masters.get(this.attemptOf[v.index]![s]!);
        if (master) failed.push({ master, vertexIndex: v.index, subtask: s });
      }
    for (const f of failed) f.master.onTaskStateChanged(f.vertexIndex, f.subtask, 'FAILED', error);
  }

  // ---- DeployedJob ----

  cancel(): void {
    if (this.released) return;
    for (const tm of this.taskManagers) this.registry.send(tm, { kind: 'cancel-job', jobId: this.jobId });
    this.release();
  }

  cancelTasks(subtasks: readonly SubtaskAddress[]): void {
    if (this.released) return;
    for (const [tm, tasks] of this.byTaskManager(subtasks))
      this.registry.send(tm, { kind: 'cancel-job', jobId: this.jobId, tasks });
  }

  restartTasks(
    subtasks: readonly SubtaskAddress[],
    master: JobMasterGateway,
    attempt: DeploymentAttempt,
  ): void {
    if (this.released) return;
    this.masters.set(attempt.attemptNumber, master);
    for (const { vertexIndex, subtask } of subtasks) {
      const key = `${vertexIndex}:${subtask}`;
      this.attemptOf[vertexIndex]![subtask] = attempt.attemptNumber;
      this.terminal.delete(key);
      this.counters.delete(key);
      this.finalAccumulators.delete(key);
    }
    // Attempts no subtask runs as any more report nothing.
    for (const n of this.masters.keys())
      if (!this.attemptOf.some((row) => row.includes(n))) this.masters.delete(n);
    void this.redeploy(subtasks, attempt).catch((e: unknown) => {
      if (this.released) return;
      master.onDeploymentFailed(e instanceof Error ? e : new Error(String(e)));
    });
  }

  /** Replaces the slots of lost TaskManagers that the subtasks need, then deploys them. */
  private async redeploy(subtasks: readonly SubtaskAddress[], attempt: DeploymentAttempt): Promise<void> {
    const allocation = this.allocation;
    if (!allocation) throw new Error('a region restarted before its job was deployed');
    const dead = [...new Set(subtasks.map((t) => t.subtask))].filter((s) => this.lost.has(allocation[s]!));
    if (dead.length > 0) {
      const fresh = await this.registry.allocate(dead.length, this.slotRequestTimeoutMs);
      if (this.released) return this.registry.release(fresh);
      dead.forEach((s, i) => (allocation[s] = fresh[i]!));
      this.reportAllocation(allocation);
    }
    await this.sendDeploys(attempt, subtasks);
  }

  /** The listed subtasks grouped by the (live) TaskManager that runs them. */
  private byTaskManager(subtasks: readonly SubtaskAddress[]): Map<RegisteredTaskManager, SubtaskAddress[]> {
    const out = new Map<RegisteredTaskManager, SubtaskAddress[]>();
    for (const t of subtasks) {
      const tm = this.allocation?.[t.subtask];
      if (!tm || this.lost.has(tm)) continue;
      const list = out.get(tm);
      if (list) list.push({ vertexIndex: t.vertexIndex, subtask: t.subtask });
      else out.set(tm, [{ vertexIndex: t.vertexIndex, subtask: t.subtask }]);
    }
    return out;
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
      | { kind: 'finish-all' }
      | { kind: 'end-source-input' },
  ): void {
    // Every task of the job gets these, whatever its attempt; the field names the newest.
    const attempt = Math.max(...this.masters.keys());
    for (const tm of this.taskManagers) this.registry.send(tm, { ...message, jobId: this.jobId, attempt });
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
        attempt: this.attemptOf[vertex.index]![subtask]!,
        operatorId,
        subtask,
        event,
      });
  }

  triggerCheckpoint(
    vertexIndex: number,
    subtask: number,
    checkpointId: number,
    timestamp: number,
    savepoint?: SavepointTarget,
  ): void {
    const tm = this.placementOf(vertexIndex, subtask);
    if (tm)
      this.registry.send(tm, {
        kind: 'trigger-checkpoint',
        jobId: this.jobId,
        attempt: this.attemptOf[vertexIndex]![subtask]!,
        vertexIndex,
        subtask,
        checkpointId,
        timestamp,
        ...(savepoint === undefined ? {} : { savepoint }),
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

  endSourceInput(): void {
    this.sendAll({ kind: 'end-source-input' });
  }

  metrics(): VertexMetrics[] {
    return this.submission.jobGraph.vertices.map((vertex) =>
      vertexMetrics(vertex, (s) => this.counters.get(`${vertex.index}:${s}`)),
    );
  }

  accumulators(): AccumulatorRegistry[] {
    return [...this.finalAccumulators.values()];
  }
}
