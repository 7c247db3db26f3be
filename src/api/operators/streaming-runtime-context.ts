/** The RuntimeContext an operator hands its user function. */
import { SluiceError } from '../../core/errors.js';
import type { KeyedStateBackend } from '../../state/keyed-state-backend.js';
import type {
  AggregatingStateDescriptor,
  ListStateDescriptor,
  MapStateDescriptor,
  ReducingStateDescriptor,
  ValueStateDescriptor,
} from '../../state/state-descriptor.js';
import type { AggregatingState, ListState, MapState, ReducingState, ValueState } from '../../state/state.js';
import type { Accumulator } from '../accumulators.js';
import type { RuntimeContext, TaskInfo } from '../runtime-context.js';
import type { OperatorSetup } from './stream-operator.js';

/** RuntimeContext backed by the operator's setup. */
export class StreamingRuntimeContext implements RuntimeContext {
  readonly taskInfo: TaskInfo;

  constructor(private readonly info: OperatorSetup) {
    this.taskInfo = {
      taskName: info.taskName,
      taskNameWithSubtasks: `${info.taskName} (${info.subtaskIndex + 1}/${info.parallelism})`,
      indexOfThisSubtask: info.subtaskIndex,
      numberOfParallelSubtasks: info.parallelism,
      maxNumberOfParallelSubtasks: info.maxParallelism,
      attemptNumber: info.attemptNumber,
    };
  }

  get jobId() {
    return this.info.jobId;
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
}
