/** What running a job gives back: JobClient, JobExecutionResult, and the executor hook. */
import type { JobId } from '../core/ids.js';
import type { JobGraph } from '../graph/job-graph.js';
import type { OperatorFactory } from './operators/stream-operator.js';

/** Flink's JobStatus. */
export type JobStatus =
  | 'INITIALIZING'
  | 'CREATED'
  | 'RUNNING'
  | 'FAILING'
  | 'FAILED'
  | 'CANCELLING'
  | 'CANCELED'
  | 'FINISHED'
  | 'RESTARTING'
  | 'SUSPENDED'
  | 'RECONCILING';

/** The outcome of a finished job. */
export class JobExecutionResult {
  constructor(
    readonly jobId: JobId,
    /** Wall-clock run time in ms. */
    readonly netRuntime: number,
    /** Merged accumulator values by name. */
    readonly accumulators: Readonly<Record<string, unknown>>,
  ) {}

  getJobID(): JobId {
    return this.jobId;
  }
  /** Run time in milliseconds. */
  getNetRuntime(): number {
    return this.netRuntime;
  }
  getAccumulatorResult<T>(name: string): T | undefined {
    return this.accumulators[name] as T | undefined;
  }
  getAllAccumulatorResults(): Readonly<Record<string, unknown>> {
    return this.accumulators;
  }
}

/** Counters of one job vertex, summed over its subtasks. */
export interface VertexMetrics {
  readonly name: string;
  readonly parallelism: number;
  /** Records that entered the chain (from the network, or emitted by the source reader). */
  readonly recordsIn: number;
  /** Records written to the network. */
  readonly recordsOut: number;
  readonly bytesOut: number;
  /**
   * The most bytes any one input channel of this vertex has held (received, not yet processed)
   * and the most any one output channel has queued unsent: bounded by credit-based flow control.
   */
  readonly maxInputChannelBytes: number;
  readonly maxOutputChannelBytes: number;
}

/** A handle to a submitted job. */
export interface JobClient {
  readonly jobId: JobId;
  readonly jobName: string;
  getJobStatus(): JobStatus;
  /** Cancels the job; resolves when every task has stopped. */
  cancel(): Promise<void>;
  /** Resolves when the job finishes; rejects with the failure (or cancellation). */
  getJobExecutionResult(): Promise<JobExecutionResult>;
  /** Per-vertex counters, for progress displays. */
  getMetrics(): VertexMetrics[];
}

/** Where collected records (executeAndCollect / collectAsync) are delivered in the client. */
export interface CollectTarget {
  push(records: readonly unknown[]): void;
}

/** A submitted pipeline: the job graph plus the client-side ends of its collect sinks. */
export interface PipelineSubmission {
  readonly jobGraph: JobGraph<OperatorFactory>;
  readonly collectTargets: ReadonlyMap<string, CollectTarget>;
  /** `execution.buffer-timeout.interval` in ms (-1 when disabled). */
  readonly bufferTimeoutMs: number;
  readonly segmentSize: number;
  readonly buffersPerChannel: number;
  readonly maxBuffersPerChannel: number;
}

/** Runs submitted pipelines (local inline now; the cluster later). */
export interface PipelineExecutor {
  execute(submission: PipelineSubmission): Promise<JobClient>;
}

let defaultExecutor: PipelineExecutor | undefined;

/** Installs the executor `execute()` uses (the package root installs the local one). */
export function setDefaultPipelineExecutor(executor: PipelineExecutor): void {
  defaultExecutor = executor;
}

/** The installed executor. */
export function getDefaultPipelineExecutor(): PipelineExecutor | undefined {
  return defaultExecutor;
}
