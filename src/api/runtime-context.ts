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
import type { Accumulator } from './accumulators.js';

/** Facts about the parallel instance (Flink's TaskInfo). */
export interface TaskInfo {
  readonly taskName: string;
  readonly taskNameWithSubtasks: string;
  readonly indexOfThisSubtask: number;
  readonly numberOfParallelSubtasks: number;
  readonly maxNumberOfParallelSubtasks: number;
  readonly attemptNumber: number;
}

/** Handed to `open(ctx)`: task facts, keyed state (on keyed streams), accumulators. */
export interface RuntimeContext {
  readonly jobId: JobId;
  readonly taskInfo: TaskInfo;
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
}
