/** The RuntimeContext an operator hands its user function. */
import { SluiceError } from '../../core/errors.js';
import type { JobId } from '../../core/ids.js';
import type { KeyedStateBackend } from '../../state/keyed-state-backend.js';
import type {
  AggregatingStateDescriptor,
  ListStateDescriptor,
  MapStateDescriptor,
  ReducingStateDescriptor,
  ValueStateDescriptor,
} from '../../state/state-descriptor.js';
import type { AggregatingState, ListState, MapState, ReducingState, ValueState } from '../../state/state.js';
import type { Accumulator } from '../../core/accumulator.js';
import { OperatorMetricGroup } from '../metric-group.js';
import { ParameterTool } from '../parameter-tool.js';
import type { JobInfo, RuntimeContext, RuntimeExecutionConfig, TaskInfo } from '../runtime-context.js';
import { DEFAULT_JOB_SETTINGS, type JobSettings, type OperatorSetup } from '../../runtime/stream-operator.js';

/** Flink's TaskInfo of one subtask: the facts as fields and as getters. */
class SubtaskInfo implements TaskInfo {
  readonly taskName: string;
  readonly taskNameWithSubtasks: string;
  readonly indexOfThisSubtask: number;
  readonly numberOfParallelSubtasks: number;
  readonly maxNumberOfParallelSubtasks: number;
  readonly attemptNumber: number;

  constructor(info: OperatorSetup) {
    this.taskName = info.taskName;
    this.taskNameWithSubtasks = `${info.taskName} (${info.subtaskIndex + 1}/${info.parallelism})`;
    this.indexOfThisSubtask = info.subtaskIndex;
    this.numberOfParallelSubtasks = info.parallelism;
    this.maxNumberOfParallelSubtasks = info.maxParallelism;
    this.attemptNumber = info.attemptNumber;
  }

  getTaskName(): string {
    return this.taskName;
  }
  getTaskNameWithSubtasks(): string {
    return this.taskNameWithSubtasks;
  }
  getIndexOfThisSubtask(): number {
    return this.indexOfThisSubtask;
  }
  getNumberOfParallelSubtasks(): number {
    return this.numberOfParallelSubtasks;
  }
  getMaxNumberOfParallelSubtasks(): number {
    return this.maxNumberOfParallelSubtasks;
  }
  getAttemptNumber(): number {
    return this.attemptNumber;
  }
}

/** RuntimeContext backed by the operator's setup. */
export class StreamingRuntimeContext implements RuntimeContext, JobInfo {
  readonly taskInfo: TaskInfo;
  private readonly job: JobSettings;
  private metrics: OperatorMetricGroup | undefined;
  private metricsRegistered = false;
  private parameters: ReadonlyMap<string, string> | undefined;

  constructor(private readonly info: OperatorSetup) {
    this.taskInfo = new SubtaskInfo(info);
    this.job = info.job ?? DEFAULT_JOB_SETTINGS;
  }

  get jobId(): JobId {
    return this.info.jobId;
  }
  getTaskInfo(): TaskInfo {
    return this.taskInfo;
  }
  getJobInfo(): JobInfo {
    return this;
  }
  getJobId(): JobId {
    return this.info.jobId;
  }
  getJobName(): string {
    return this.job.jobName;
  }
  getTaskName(): string {
    return this.info.taskName;
  }
  getIndexOfThisSubtask(): number {
    return this.info.subtaskIndex;
  }
  getNumberOfParallelSubtasks(): number {
    return this.info.parallelism;
  }
  getMaxNumberOfParallelSubtasks(): number {
    return this.info.maxParallelism;
  }
  getAttemptNumber(): number {
    return this.info.attemptNumber;
  }

  private backend(): KeyedStateBackend {
    const backend = this.info.keyedStateBackend;
    if (!backend)
      throw new SluiceError(
        'SLUICE_STATE_INVALID_ACCESS',
        `operator '${this.info.operatorName}' asked for keyed state, but keyed state is only available on a ` +
          'keyed stream: call keyBy() before this operator.',
      );
    return backend;
  }
  getState<T>(descriptor: ValueStateDescriptor<T>): ValueState<T> {
    return this.backend().getOrCreateKeyedState(descriptor);
  }
  getListState<T>(descriptor: ListStateDescriptor<T>): ListState<T> {
    return this.backend().getOrCreateKeyedState(descriptor);
  }
  getMapState<K, V>(descriptor: MapStateDescriptor<K, V>): MapState<K, V> {
    return this.backend().getOrCreateKeyedState(descriptor);
  }
  getReducingState<T>(descriptor: ReducingStateDescriptor<T>): ReducingState<T> {
    return this.backend().getOrCreateKeyedState(descriptor);
  }
  getAggregatingState<IN, ACC, OUT>(
    descriptor: AggregatingStateDescriptor<IN, ACC, OUT>,
  ): AggregatingState<IN, OUT> {
    return this.backend().getOrCreateKeyedState(descriptor);
  }

  addAccumulator<V, R>(name: string, accumulator: Accumulator<V, R>): void {
    const registry = this.info.services.accumulators;
    if (registry.has(name))
      throw new SluiceError(
        'SLUICE_PROGRAM_INVALID',
        `accumulator '${name}' is already registered in this subtask; use another name or getAccumulator().`,
      );
    registry.set(name, accumulator);
  }
  getAccumulator<V, R>(name: string): Accumulator<V, R> | undefined {
    return this.info.services.accumulators.get(name) as Accumulator<V, R> | undefined;
  }

  getMetricGroup(): OperatorMetricGroup {
    // Flink's operator scope: <job_name>.<operator_name>.<subtask_index>.
    this.metrics ??= new OperatorMetricGroup(
      [this.job.jobName, this.info.operatorName, String(this.info.subtaskIndex)],
      {
        '<job_id>': this.info.jobId,
        '<job_name>': this.job.jobName,
        '<task_name>': this.info.taskName,
        '<operator_id>': this.info.operatorId,
        '<operator_name>': this.info.operatorName,
        '<subtask_index>': String(this.info.subtaskIndex),
        '<attempt_num>': String(this.info.attemptNumber),
      },
    );
    if (!this.metricsRegistered) {
      this.metricsRegistered = true;
      const group = this.metrics;
      const operator = `${this.info.operatorName}.`;
      // Flink's vertex scope names a user metric `<subtask>.<operator_name>.<group…>.<name>`.
      this.info.services.registerUserMetrics({
        collect: (into, prefix) => group.collect(into, prefix + operator),
      });
    }
    return this.metrics;
  }

  getGlobalJobParameters(): ReadonlyMap<string, string> {
    this.parameters ??= new Map(Object.entries(this.job.globalJobParameters));
    return this.parameters;
  }

  getExecutionConfig(): RuntimeExecutionConfig {
    const job = this.job;
    return {
      // A fresh ParameterTool each call: its requested-key bookkeeping is the caller's own.
      getGlobalJobParameters: () => ParameterTool.fromMap(job.globalJobParameters),
      getRuntimeMode: () => job.runtimeMode,
    };
  }
}
