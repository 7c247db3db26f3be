/** The REST backend of jobs run in this process: reads the JobMasters of a LocalExecutor. */
import {
  listLogFiles,
  logDirectoryOf,
  readFileTail,
  readLogFile,
  type LogFileEntry,
} from '../core/log-files.js';
import { processLogFiles } from '../core/log.js';
import { sampleCpu, type CpuSampling, type FlameGraphNode } from '../runtime/cpu-flame-graph.js';
import type { SavepointFormatType } from '../protocol/snapshot-kind.js';
import { randomBytes } from 'node:crypto';
import { availableParallelism, totalmem } from 'node:os';
import { getHeapStatistics } from 'node:v8';
import type { CheckpointStats } from '../api/checkpoint-stats.js';
import type { JobExecutionResult } from '../api/execution.js';
import type { JobId } from '../core/ids.js';
import type { OperatorFactory } from '../api/operators/stream-operator.js';
import type { SavepointOutcome } from '../coordinator/checkpoint-coordinator.js';
import { isJobTerminal, type JobMaster } from '../coordinator/job-master.js';
import type { JobVertex } from '../graph/job-graph.js';
import { shipStrategyName } from '../graph/partitioner.js';
import { FileSystemCheckpointStorage } from '../storage/filesystem/file-system-checkpoint-storage.js';
import type {
  RestBackend,
  RestCheckpoint,
  RestCheckpointConfig,
  RestCheckpointOutcome,
  RestSavepointOutcome,
  RestCheckpointStats,
  RestException,
  RestExecutionConfig,
  RestJob,
  RestJobResult,
  RestSubtaskAck,
  RestTaskLocation,
  RestTaskManager,
  RestVertex,
  JobSubmitRequest,
} from './rest-backend.js';
import { stringifyError } from './rest-values.js';
import { stateBackendName } from '../state/state-backend.js';

/** Where subtask `subtask` of vertex `vertexIndex` of a job runs now, if deployed. */
export type TaskLocator = (
  master: JobMaster,
  vertexIndex: number,
  subtask: number,
) => RestTaskLocation | undefined;

/** Where the backend finds the jobs: a LocalExecutor, or anything listing JobMasters. */
export interface JobMasterSource {
  readonly jobMasters: readonly JobMaster[];
}

/** Runs a submitted job bundle and answers its job id (what POST /jars/:jarid/run calls). */
export type SubmitJob = (request: JobSubmitRequest) => Promise<JobId>;

/**
 * The REST view of the jobs of one process, on its one inline TaskManager. It takes job
 * submissions over REST only when given `submit`: the caller decides how a bundle is loaded and
 * where it runs (a `sluice run` process runs its own job and takes none).
 */
export class LocalRestBackend implements RestBackend {
  /** The inline TaskManager's resource id. */
  readonly taskManagerId = randomBytes(16).toString('hex');
  /** Present only when the backend was given `submit`. */
  readonly submitJob?: SubmitJob;
  private readonly views = new WeakMap<JobMaster, LocalRestJob>();

  constructor(
    private readonly source: JobMasterSource,
    submit?: SubmitJob,
    /** Where a subtask runs; default: the inline TaskManager of this process. */
    private readonly locate?: TaskLocator,
  ) {
    if (submit) this.submitJob = submit;
  }

  jobs(): readonly RestJob[] {
    return this.source.jobMasters.map((m) => this.view(m));
  }

  /** The inline TaskManager is this process: its log and stdout are this process's files. */
  async taskManagerFile(
    taskManagerId: string,
    file: 'log' | 'stdout',
  ): Promise<Uint8Array | 'missing' | 'unknown'> {
    if (taskManagerId !== this.taskManagerId) return 'unknown';
    const path = processLogFiles()[file];
    return (path === undefined ? undefined : await readFileTail(path)) ?? 'missing';
  }

  async taskManagerLogList(taskManagerId: string): Promise<readonly LogFileEntry[] | 'unknown'> {
    if (taskManagerId !== this.taskManagerId) return 'unknown';
    const dir = this.logDirectory();
    return dir === undefined ? [] : listLogFiles(dir);
  }

  async taskManagerLogFile(taskManagerId: string, name: string): Promise<Uint8Array | 'missing' | 'unknown'> {
    if (taskManagerId !== this.taskManagerId) return 'unknown';
    const dir = this.logDirectory();
    return (dir === undefined ? undefined : await readLogFile(dir, name)) ?? 'missing';
  }

  private logDirectory(): string | undefined {
    return logDirectoryOf(processLogFiles());
  }

  /** The inline TaskManager is this process: its CPU is sampled here. */
  sampleCpu(_taskManagerIds: readonly string[], sampling: CpuSampling): Promise<FlameGraphNode> {
    return sampleCpu(sampling);
  }

  job(jobId: string): RestJob | undefined {
    const master = this.source.jobMasters.find((m) => m.jobId === jobId);
    return master && this.view(master);
  }

  taskManagers(): readonly RestTaskManager[] {
    // Slot sharing: a job takes as many slots as its widest vertex has subtasks.
    const used = this.source.jobMasters
      .filter((m) => !isJobTerminal(m.getJobStatus()))
      .reduce((n, m) => n + Math.max(0, ...m.jobGraph.vertices.map((v) => v.parallelism)), 0);
    // In process, the TaskManager is sized to the jobs it runs, and at least to the cores.
    const slots = Math.max(availableParallelism(), used);
    return [
      {
        id: this.taskManagerId,
        path: 'inline://localhost/taskmanager_0',
        dataPort: -1,
        lastHeartbeat: Date.now(),
        slotsNumber: slots,
        freeSlots: slots - used,
        cpuCores: availableParallelism(),
        physicalMemoryBytes: totalmem(),
        heapBytes: getHeapStatistics().heap_size_limit,
      },
    ];
  }

  private view(master: JobMaster): LocalRestJob {
    let view = this.views.get(master);
    if (!view) {
      const inline = { endpoint: 'localhost', taskManagerId: this.taskManagerId };
      const locate = this.locate;
      view = new LocalRestJob(master, locate ? (v, s) => locate(master, v, s) : () => inline);
      this.views.set(master, view);
    }
    return view;
  }
}

/** One JobMaster as a RestJob. */
class LocalRestJob implements RestJob {
  private outcome: { ok: JobExecutionResult } | { error: Error } | undefined;

  constructor(
    private readonly master: JobMaster,
    private readonly locate: (vertexIndex: number, subtask: number) => RestTaskLocation | undefined,
  ) {
    void master.getJobExecutionResult().then(
      (ok) => (this.outcome = { ok }),
      (e: unknown) => (this.outcome = { error: e instanceof Error ? e : new Error(String(e)) }),
    );
  }

  get jobId() {
    return this.master.jobId;
  }
  get name() {
    return this.master.jobName;
  }
  get startTime() {
    return this.master.startTime;
  }
  status() {
    return this.master.getJobStatus();
  }
  endTime() {
    return this.master.endTime;
  }
  statusTimestamps() {
    return this.master.statusTimestamps;
  }

  vertices(): readonly RestVertex[] {
    const states = this.master.taskExecutionStates;
    const metrics = this.master.getMetrics();
    return this.master.jobGraph.vertices.map((v) => ({
      id: v.id,
      name: v.name,
      parallelism: v.parallelism,
      maxParallelism: v.maxParallelism,
      taskStates: states[v.index] ?? new Array<'CREATED'>(v.parallelism).fill('CREATED'),
      metrics: metrics[v.index],
      inputs: v.inputs.map((e) => ({
        sourceId: e.source.id,
        shipStrategy: shipStrategyName(e.streamEdge.partitioner),
      })),
      // During a full restart no execution is current: the attempt being started counts.
      attemptNumbers: Array.from({ length: v.parallelism }, (_, s) => {
        const attempt = this.master.taskAttemptNumbers[v.index]?.[s] ?? -1;
        return attempt >= 0 ? attempt : this.master.currentAttemptNumber;
      }),
      locations: Array.from({ length: v.parallelism }, (_, s) =>
        states[v.index] === undefined ? undefined : this.locate(v.index, s),
      ),
      startTimes: Array.from(
        { length: v.parallelism },
        (_, s) => this.master.taskDeploymentTimestamps[v.index]?.[s] ?? -1,
      ),
      stateTimestamps: Array.from(
        { length: v.parallelism },
        (_, s) => this.master.taskStateTimestamps[v.index]?.[s] ?? this.master.startTime,
      ),
    }));
  }

  numRestarts(): number {
    return this.master.getNumRestarts();
  }

  executionConfig(): RestExecutionConfig {
    return {
      // The environment's default parallelism is not kept in the job graph: its widest vertex
      // stands in for it (equal unless every operator set its own parallelism).
      parallelism: Math.max(1, ...this.master.jobGraph.vertices.map((v) => v.parallelism)),
      restartStrategy: this.master.restartStrategy,
      runtimeMode: this.master.runtimeMode,
      userConfig: this.master.globalJobParameters,
    };
  }

  exceptions(): readonly RestException[] {
    const vertices = this.master.jobGraph.vertices;
    return [...this.master.exceptionHistory].reverse().map((f): RestException => {
      const vertex = f.task && vertices[f.task.vertexIndex];
      // Where the task runs now: the failed attempt's TaskManager may be gone.
      const location = f.task && this.locate(f.task.vertexIndex, f.task.subtask);
      return {
        timestamp: f.timestamp,
        name: f.error.name,
        stacktrace: stringifyError(f.error),
        ...(f.task && vertex
          ? {
              taskName: `${vertex.name} (${f.task.subtask + 1}/${vertex.parallelism})#${f.task.attemptNumber}`,
              ...(location ?? {}),
            }
          : {}),
      };
    });
  }

  checkpointConfig(): RestCheckpointConfig | undefined {
    const cp = this.master.checkpointing;
    if (!cp) return undefined;
    return {
      mode: cp.mode,
      intervalMs: cp.intervalMs,
      timeoutMs: cp.timeoutMs,
      minPauseMs: cp.minPauseMs,
      maxConcurrent: cp.maxConcurrent,
      tolerableFailures: cp.tolerableFailures,
      unaligned: cp.unaligned === true,
      alignedCheckpointTimeoutMs: cp.alignedCheckpointTimeoutMs ?? 0,
      retention: cp.retention,
      stateBackend: stateBackendName(this.master.stateBackend),
      checkpointStorage:
        this.master.checkpointStorage instanceof FileSystemCheckpointStorage
          ? 'FileSystemCheckpointStorage'
          : 'JobManagerCheckpointStorage',
    };
  }

  checkpointStats(): RestCheckpointStats | undefined {
    const snapshot = this.master.getCheckpointStats();
    const coordinator = this.master.checkpointCoordinator;
    if (!snapshot || !coordinator) return undefined;
    const retained = new Set<number>(coordinator.completedCheckpoints.map((c) => c.checkpointId));
    const vertices = this.master.jobGraph.vertices;
    const convert = (c: CheckpointStats): RestCheckpoint => ({
      ...c,
      subtasks: c.subtasks.flatMap((s) => placeAck(s, vertices)),
      discarded: c.status === 'COMPLETED' && !retained.has(c.id),
    });
    return {
      counts: snapshot.counts,
      latestCompleted: snapshot.latestCompleted && convert(snapshot.latestCompleted),
      latestSavepoint: snapshot.latestSavepoint && convert(snapshot.latestSavepoint),
      latestFailed: snapshot.latestFailed && convert(snapshot.latestFailed),
      latestRestored: snapshot.latestRestored,
      history: snapshot.history.map(convert),
    };
  }

  async triggerCheckpoint(): Promise<RestCheckpointOutcome> {
    const outcome = await this.master.triggerCheckpointNow();
    return outcome.kind === 'completed' ? outcome : { kind: 'failed', error: outcome.error };
  }

  defaultSavepointDirectory(): string | undefined {
    return this.master.defaultSavepointDirectory;
  }

  async triggerSavepoint(
    targetDirectory: string,
    formatType?: SavepointFormatType,
  ): Promise<RestSavepointOutcome> {
    return restSavepointOutcome(await this.master.triggerSavepointNow(targetDirectory, formatType));
  }

  async stopWithSavepoint(
    targetDirectory: string,
    drain: boolean,
    formatType?: SavepointFormatType,
  ): Promise<RestSavepointOutcome> {
    return restSavepointOutcome(await this.master.stopWithSavepointNow(targetDirectory, drain, formatType));
  }

  cancel(): Promise<void> {
    return this.master.cancel();
  }

  result(): RestJobResult | undefined {
    const outcome = this.outcome;
    const status = this.master.getJobStatus();
    if (!outcome || (status !== 'FINISHED' && status !== 'FAILED' && status !== 'CANCELED')) return undefined;
    const endTime = this.master.endTime ?? Date.now();
    return {
      status,
      netRuntimeMs: 'ok' in outcome ? outcome.ok.netRuntime : endTime - this.master.startTime,
      accumulators: 'ok' in outcome ? outcome.ok.accumulators : {},
      failure: 'error' in outcome ? outcome.error : undefined,
      startTime: this.master.startTime,
      endTime,
    };
  }
}

/** A savepoint's outcome as the REST handlers take it. */
function restSavepointOutcome(outcome: SavepointOutcome): RestSavepointOutcome {
  return outcome.kind === 'completed'
    ? { kind: 'completed', location: outcome.location }
    : { kind: 'failed', error: outcome.error };
}

/** Places an acknowledgement (keyed `vertexIndex:subtask` by the coordinator) in its vertex. */
function placeAck(
  ack: CheckpointStats['subtasks'][number],
  vertices: readonly JobVertex<OperatorFactory>[],
): RestSubtaskAck[] {
  const [vertexIndex, subtask] = ack.taskKey.split(':').map(Number);
  const vertex = vertexIndex === undefined ? undefined : vertices[vertexIndex];
  if (!vertex || subtask === undefined || !Number.isInteger(subtask)) return [];
  return [{ ...ack, vertexId: vertex.id, subtaskIndex: subtask }];
}
