/** RuntimeContext: what a function sees of the parallel instance it runs in. */
import type { JobId } from '../core/ids.js';
import type {
  AggregatingStateDescriptor,
  ListStateDescriptor,
  MapStateDescriptor,
  ReducingStateDescriptor,
  ValueStateDescriptor,
} from '../state/state-descriptor.js';
import type { AggregatingState, ListState, MapState, ReducingState, ValueState } from '../state/state.js';
import type { Accumulator } from '../core/accumulator.js';
import type { GlobalJobParameters } from './global-job-parameters.js';
import type { MetricGroup } from './metric-group.js';

/** Facts about the parallel instance (Flink's TaskInfo): as fields, and as Flink 2.x's getters. */
export interface TaskInfo {
  readonly taskName: string;
  readonly taskNameWithSubtasks: string;
  readonly indexOfThisSubtask: number;
  readonly numberOfParallelSubtasks: number;
  readonly maxNumberOfParallelSubtasks: number;
  readonly attemptNumber: number;
  getTaskName(): string;
  /** `<task name> (<index + 1>/<parallelism>)`, as Flink's. */
  getTaskNameWithSubtasks(): string;
  /** 0-based. */
  getIndexOfThisSubtask(): number;
  getNumberOfParallelSubtasks(): number;
  /** The max parallelism (number of key groups) of the operator. */
  getMaxNumberOfParallelSubtasks(): number;
  /** 0 on the first run, then how many times the job restarted. */
  getAttemptNumber(): number;
}

/** Facts about the job (Flink's JobInfo). */
export interface JobInfo {
  getJobId(): JobId;
  getJobName(): string;
}

/** What a function reads of the job's execution settings (Flink 1.x's `getExecutionConfig()`). */
export interface RuntimeExecutionConfig {
  /**
   * The job's global parameters, as a ParameterTool over their `toMap()` (which is what reaches
   * the tasks), so Flink 1.x's `(ParameterTool) getExecutionConfig().getGlobalJobParameters()`
   * ports as `getGlobalJobParameters() as ParameterTool`.
   */
  getGlobalJobParameters(): GlobalJobParameters;
  /** `execution.runtime-mode` as the job runs it. */
  getRuntimeMode(): 'STREAMING' | 'BATCH';
}

/**
 * What a function sees of the subtask it runs in: task and job facts, keyed state (on keyed
 * streams), accumulators, metrics and the global job parameters. Rich functions get it from
 * `getRuntimeContext()`; every function also gets it as the argument of `open`.
 */
export interface RuntimeContext {
  readonly jobId: JobId;
  readonly taskInfo: TaskInfo;
  /** Flink 2.x: `getRuntimeContext().getTaskInfo().getIndexOfThisSubtask()` and the other facts. */
  getTaskInfo(): TaskInfo;
  getJobInfo(): JobInfo;
  getTaskName(): string;
  getIndexOfThisSubtask(): number;
  getNumberOfParallelSubtasks(): number;
  getMaxNumberOfParallelSubtasks(): number;
  getAttemptNumber(): number;
  /** Keyed value state, scoped to the current key (keyed streams only). */
  getState<T>(descriptor: ValueStateDescriptor<T>): ValueState<T>;
  getListState<T>(descriptor: ListStateDescriptor<T>): ListState<T>;
  getMapState<K, V>(descriptor: MapStateDescriptor<K, V>): MapState<K, V>;
  getReducingState<T>(descriptor: ReducingStateDescriptor<T>): ReducingState<T>;
  getAggregatingState<IN, ACC, OUT>(
    descriptor: AggregatingStateDescriptor<IN, ACC, OUT>,
  ): AggregatingState<IN, OUT>;
  /** Registers an accumulator under `name`; its merged value lands in the JobExecutionResult. */
  addAccumulator<V, R>(name: string, accumulator: Accumulator<V, R>): void;
  getAccumulator<V, R>(name: string): Accumulator<V, R> | undefined;
  /**
   * This operator subtask's metrics. A placeholder until metrics are reported: counters count
   * and gauges are read in the subtask, but nothing exports them yet.
   */
  getMetricGroup(): MetricGroup;
  /** The job's global parameters (`env.getConfig().setGlobalJobParameters(...)`), as strings (Flink 2.x). */
  getGlobalJobParameters(): ReadonlyMap<string, string>;
  /** Flink 1.x's way to the global parameters: `getExecutionConfig().getGlobalJobParameters()`. */
  getExecutionConfig(): RuntimeExecutionConfig;
}

/**
 * What `open` receives (Flink 2.x's OpenContext). In Sluice it is the function's RuntimeContext
 * as well, so both `open(openContext: OpenContext)` with `getRuntimeContext()` and the older
 * `open(ctx: RuntimeContext)` work.
 */
export type OpenContext = RuntimeContext;
