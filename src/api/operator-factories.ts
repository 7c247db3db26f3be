/** The operator factories the DataStream API puts into transformations. */
import type { KeySelectorFn } from '../graph/partitioner.js';
import type { Collector, FilterFunction, FlatMapFunction, MapFunction, ReduceFunction } from './functions.js';
import { GroupedReduceOperator } from './operators/grouped-reduce-operator.js';
import { KeyedProcessOperator } from './operators/keyed-process-operator.js';
import { ProcessOperator } from './operators/process-operator.js';
import { FilterOperator, FlatMapOperator, MapOperator } from './operators/simple-operators.js';
import { SinkWriterOperator } from './operators/sink-writer-operator.js';
import { SourceOperator } from './operators/source-operator.js';
import type { OperatorFactory } from './operators/stream-operator.js';
import type { StreamOperator } from '../runtime/stream-operator.js';
import type { KeyedProcessFunction, ProcessFunction } from './process-function.js';
import type { Sink } from './sink.js';
import { CollectSinkOperator } from './sinks/collect-sink.js';
import type { Source, SourceSplit } from './source/source.js';
import type { WatermarkStrategy } from './watermark-strategy.js';
import { TimestampsAndWatermarksOperator } from './operators/timestamps-and-watermarks-operator.js';

function factory(kind: string, create: () => StreamOperator<never>): OperatorFactory {
  return { kind, create: create };
}

/** Factories by operator kind. */
export const Factories = {
  source: <T, S extends SourceSplit>(
    source: Source<T, S, unknown>,
    strategy?: WatermarkStrategy<T>,
    autoWatermarkIntervalMs?: () => number,
  ): OperatorFactory => ({
    kind: 'Source',
    create: () => new SourceOperator(source, strategy, autoWatermarkIntervalMs),
    source: source,
  }),
  timestampsAndWatermarks: <T>(strategy: WatermarkStrategy<T>, autoWatermarkIntervalMs: () => number) =>
    factory(
      'TimestampsAndWatermarks',
      () => new TimestampsAndWatermarksOperator(strategy, autoWatermarkIntervalMs),
    ),
  map: <T, R>(fn: MapFunction<T, R> | ((value: T) => R)) => factory('Map', () => new MapOperator(fn)),
  filter: <T>(fn: FilterFunction<T> | ((value: T) => boolean)) =>
    factory('Filter', () => new FilterOperator(fn)),
  flatMap: <T, R>(fn: FlatMapFunction<T, R> | ((value: T, out: Collector<R>) => void)) =>
    factory('FlatMap', () => new FlatMapOperator(fn)),
  process: <T, R>(fn: Pick<ProcessFunction<T, R>, 'processElement'>) =>
    factory('Process', () => new ProcessOperator(fn)),
  keyedProcess: <K, T, R>(
    fn: Pick<KeyedProcessFunction<K, T, R>, 'processElement'>,
    key: KeySelectorFn<T, K>,
  ) => factory('KeyedProcess', () => new KeyedProcessOperator(fn, key)),
  reduce: <T, K>(kind: string, fn: ReduceFunction<T> | ((a: T, b: T) => T), key: KeySelectorFn<T, K>) =>
    factory(kind, () => new GroupedReduceOperator(fn, key)),
  sink: <T>(sink: Sink<T>, kind = 'Sink') => factory(kind, () => new SinkWriterOperator(sink)),
  collect: (collectId: string) => factory('CollectSink', () => new CollectSinkOperator(collectId)),
};
