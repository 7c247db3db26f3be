/** Sluice's public API: everything a job imports from 'sluice', and nothing else. */
import { getDefaultPipelineExecutor, setDefaultPipelineExecutor } from './api/execution.js';
import { AutoExecutor } from './client/auto-executor.js';

// A plain `node job.js` runs its jobs in local mode (TaskManager processes), or inline under a
// test runner, unless a launcher (`sluice run`) installed another executor.
if (!getDefaultPipelineExecutor()) setDefaultPipelineExecutor(new AutoExecutor());

export { StreamExecutionEnvironment } from './api/environment.js';
export { DataStream, KeyedStream, SingleOutputStreamOperator, WindowedStream } from './api/datastream.js';
export { DataStreamSink } from './api/operator-handle.js';
export { DataStreamSource } from './api/data-stream-source.js';
export { WatermarkStrategy } from './api/watermark-strategy.js';
export { TimeWindow } from './api/windowing/time-window.js';
export {
  WindowAssigner,
  TumblingEventTimeWindows,
  SlidingEventTimeWindows,
  TumblingProcessingTimeWindows,
  SlidingProcessingTimeWindows,
} from './api/windowing/window-assigners.js';
export { ProcessWindowFunction, type ProcessWindowContext } from './api/windowing/process-window-function.js';
export { Watermark, type WatermarkLike } from './api/eventtime/watermark.js';
export {
  AscendingTimestampsWatermarks,
  BoundedOutOfOrdernessWatermarks,
  NoWatermarksGenerator,
  type WatermarkGenerator,
  type WatermarkGeneratorSupplier,
  type WatermarkGeneratorSupplierContext,
  type WatermarkOutput,
} from './api/eventtime/watermark-generator.js';
export type { TimestampAssigner, TimestampAssignerLike } from './api/eventtime/timestamp-assigner.js';
export type { WatermarkStatus } from './core/watermark.js';
export { ExecutionConfig } from './api/execution-config.js';
export { CollectResult } from './api/collect.js';
export {
  CheckpointConfig,
  CheckpointingMode,
  ExternalizedCheckpointRetention,
} from './api/checkpoint-config.js';
export { RuntimeExecutionMode } from './api/runtime-execution-mode.js';
export { GlobalJobParameters } from './api/global-job-parameters.js';
export { AbstractParameterTool, MultipleParameterTool, ParameterTool } from './api/parameter-tool.js';
export { RestartStrategies, type RestartStrategyConfiguration } from './api/restart-strategies.js';
export type {
  CheckpointStats,
  CheckpointStatsSnapshot,
  CheckpointStatus,
  RestoredCheckpointStats,
  SubtaskCheckpointStats,
} from './api/checkpoint-stats.js';
export { JobExecutionResult } from './api/execution.js';
export type { JobCheckpointCounts, JobClient, JobStatus, VertexMetrics } from './api/execution.js';
export type {
  Collector,
  FilterFunction,
  FlatMapFunction,
  KeySelector,
  MapFunction,
  ReduceFunction,
  RichFunction,
} from './api/functions.js';
export { KeyedProcessFunction, ProcessFunction, TimeDomain } from './api/process-function.js';
export {
  AbstractRichFunction,
  RichFilterFunction,
  RichFlatMapFunction,
  RichMapFunction,
  RichReduceFunction,
} from './api/rich-functions.js';
export type {
  KeyedProcessContext,
  OnTimer,
  OnTimerContext,
  ProcessContext,
  TimerService,
} from './api/process-function.js';
export type {
  JobInfo,
  OpenContext,
  RuntimeContext,
  RuntimeExecutionConfig,
  TaskInfo,
} from './api/runtime-context.js';
export { MeterView, OperatorMetricGroup } from './api/metric-group.js';
export type { Gauge, Histogram, Meter, Metric, MetricGroup } from './api/metric-group.js';
export type {
  CheckpointedFunction,
  CheckpointListener,
  FunctionInitializationContext,
  FunctionSnapshotContext,
  OperatorStateStore,
} from './api/checkpointed-function.js';
export { Counter, ListAccumulator } from './api/accumulators.js';
export type { Accumulator } from './core/accumulator.js';
export { RichSinkFunction } from './api/sink.js';
export type { Sink, SinkFunction, SinkWriter, SinkWriterContext, WriterInitContext } from './api/sink.js';
export type {
  CommittingSinkWriter,
  InitContext,
  StatefulSinkWriter,
  SupportsWriterState,
} from './api/sink.js';
export type { CommitRequest, Committer, CommitterInitContext, SupportsCommitter } from './api/committer.js';
export { DeliveryGuarantee, parseDeliveryGuarantee } from './api/delivery-guarantee.js';
export { Boundedness } from './api/source/source.js';
export type {
  InputStatus,
  ReaderOutput,
  Source,
  SourceReader,
  SourceOutput,
  SourceReaderContext,
  SourceSplit,
  SplitEnumerator,
  SplitEnumeratorContext,
} from './api/source/source.js';
export {
  CollectionSource,
  DataGeneratorSource,
  NumberSequenceSource,
  type RangeSource,
  type DataGeneratorOptions,
  type RangeSplit,
} from './api/source/range-sources.js';
export { StaticSplitEnumerator } from './api/source/static-split-enumerator.js';
// Connectors: NATS JetStream and PostgreSQL (JDBC-shaped).
export {
  SimpleStringSchema,
  JsonSerializationSchema,
  JsonDeserializationSchema,
  type DeserializationSchema,
  type SerializationSchema,
} from './connectors/serialization-schemas.js';
export { JetStreamSource, JetStreamSourceBuilder } from './connectors/jetstream/jetstream-source.js';
export { StartingPosition } from './connectors/jetstream/starting-position.js';
export { JetStreamSink, JetStreamSinkBuilder } from './connectors/jetstream/jetstream-sink.js';
export type { JetStreamCommittable } from './connectors/jetstream/jetstream-committable.js';
export type { JetStreamSplit } from './connectors/jetstream/jetstream-split.js';
export type {
  JetStreamRecord,
  JetStreamDeserializationSchema,
} from './connectors/jetstream/jetstream-record.js';
export { JdbcSink, JdbcAtLeastOnceSink, JdbcExactlyOnceSink } from './connectors/jdbc/jdbc-sink.js';
export { JdbcStatement, type JdbcStatementBuilder } from './connectors/jdbc/jdbc-statement.js';
export {
  JdbcExecutionOptions,
  JdbcExecutionOptionsBuilder,
} from './connectors/jdbc/jdbc-execution-options.js';
export {
  JdbcConnectionOptions,
  JdbcConnectionOptionsBuilder,
} from './connectors/jdbc/jdbc-connection-options.js';
export {
  JdbcExactlyOnceOptions,
  JdbcExactlyOnceOptionsBuilder,
} from './connectors/jdbc/jdbc-exactly-once-options.js';
export type { JdbcCommittable } from './connectors/jdbc/jdbc-committable.js';
export {
  AbstractStateDescriptor,
  AggregatingStateDescriptor,
  ListStateDescriptor,
  MapStateDescriptor,
  ReducingStateDescriptor,
  ValueStateDescriptor,
  type AggregatingStateOptions,
  type ListStateOptions,
  type MapStateOptions,
  type ReducingStateOptions,
  type ValueStateOptions,
} from './state/state-descriptor.js';
export {
  StateTtlConfig,
  StateTtlConfigBuilder,
  StateVisibility,
  TtlTimeCharacteristic,
  UpdateType,
  type CleanupStrategies,
  type IncrementalCleanup,
} from './state/ttl/state-ttl-config.js';
export { Duration, Time, type DurationLike } from './core/duration.js';
export type {
  AggregatingState,
  ListState,
  MapState,
  ReducingState,
  State,
  ValueState,
} from './state/state.js';
export type { AggregateFunction } from './state/functions.js';
export {
  EmbeddedLmdbStateBackend,
  HashMapStateBackend,
  type StateBackend,
  type IncrementalSettings,
  type StateBackendSettings,
} from './state/state-backend.js';
export {
  Configuration,
  loadConfiguration,
  type ConfigurationSettings,
  type InfoFn,
  type LoadConfigurationSettings,
  type WarnFn,
} from './core/configuration.js';
export {
  CheckpointingOptions,
  ClusterOptions,
  NetworkOptions,
  PipelineOptions,
  RestartOptions,
  RestOptions,
  StateOptions,
} from './core/config-options.js';
export type { ConfigOption, ConfigOptionWithDefault, OptionType } from './core/config-option.js';
export { SluiceError, ErrorCodes, type ErrorCode, type ErrorClassification } from './core/errors.js';
export {
  MsgpackSerializer,
  JsonSerializer,
  type MsgpackSerializerOptions,
  type ScratchBytes,
  type TypeSerializer,
} from './core/serializer.js';
export type { Class } from './core/type-registry.js';
export type { Brand, JobId, OperatorId } from './core/ids.js';
export type { Cancellable, Clock } from './core/clock.js';
export type { KeyCheck } from './api/hashable-key.js';
