/** Sluice's public API: everything a job imports from 'sluice', and nothing else. */
import { getDefaultPipelineExecutor, setDefaultPipelineExecutor } from './api/execution.js';
import { AutoExecutor } from './client/auto-executor.js';

// A plain `node job.js` runs its jobs in local mode (TaskManager processes), or inline under a
// test runner, unless a launcher (`sluice run`) installed another executor.
if (!getDefaultPipelineExecutor()) setDefaultPipelineExecutor(new AutoExecutor());

export { StreamExecutionEnvironment } from './api/environment.js';
export { DataStream, KeyedStream, SingleOutputStreamOperator, WindowedStream } from './api/datastream.js';
export { ConnectedStreams, BroadcastConnectedStream } from './api/connected-streams.js';
export { BroadcastStream } from './api/broadcast-stream.js';
export { IntervalJoin, IntervalJoined } from './api/interval-join.js';
export { CoGroupedStreams, JoinedStreams } from './api/joined-streams.js';
export {
  BroadcastProcessFunction,
  CoProcessFunction,
  KeyedBroadcastProcessFunction,
  KeyedCoProcessFunction,
  ProcessJoinFunction,
  RichCoFlatMapFunction,
  RichCoMapFunction,
  type BroadcastContext,
  type BroadcastReadOnlyContext,
  type BroadcastState,
  type CoFlatMapFunction,
  type CoGroupFunction,
  type CoMapFunction,
  type FlatJoinFunction,
  type JoinFunction,
  type KeyedBroadcastContext,
  type KeyedBroadcastOnTimerContext,
  type KeyedBroadcastReadOnlyContext,
  type KeyedStateFunction,
  type ProcessJoinContext,
  type ReadOnlyBroadcastState,
} from './api/co-functions.js';
export { DataStreamSink } from './api/operator-handle.js';
export { DataStreamSource } from './api/data-stream-source.js';
export { WatermarkStrategy } from './api/watermark-strategy.js';
export { TimeWindow } from './api/windowing/time-window.js';
export { Window, GlobalWindow } from './api/windowing/window.js';
export {
  Trigger,
  TriggerResult,
  type TriggerContext,
  type OnMergeContext,
  type PartitionedStateStore,
} from './api/windowing/trigger.js';
export {
  EventTimeTrigger,
  ProcessingTimeTrigger,
  CountTrigger,
  PurgingTrigger,
  ContinuousEventTimeTrigger,
  ContinuousProcessingTimeTrigger,
  NeverTrigger,
  EndOfStreamTrigger,
} from './api/windowing/triggers.js';
export {
  CountEvictor,
  TimeEvictor,
  DeltaEvictor,
  TimestampedValue,
  type Evictor,
  type EvictorContext,
  type DeltaFunction,
} from './api/windowing/evictors.js';
export {
  SessionWindows,
  EventTimeSessionWindows,
  ProcessingTimeSessionWindows,
  type SessionWindowTimeGapExtractor,
} from './api/windowing/session-windows.js';
export {
  WindowAssigner,
  MergingWindowAssigner,
  FixedTimeWindows,
  GlobalWindows,
  type WindowAssignerContext,
  TumblingEventTimeWindows,
  SlidingEventTimeWindows,
  TumblingProcessingTimeWindows,
  SlidingProcessingTimeWindows,
} from './api/windowing/window-assigners.js';
export {
  ProcessWindowFunction,
  type ProcessWindowContext,
  type KeyedStateStore,
} from './api/windowing/process-window-function.js';
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
export { OutputTag } from './api/output-tag.js';
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
export { FileSink, RowFormatBuilder, BulkFormatBuilder } from './connectors/file/file-sink.js';
export type { FileSinkCommittable } from './connectors/file/part-file.js';
export type { FileWriterState } from './connectors/file/file-writer.js';
export { SimpleStringEncoder, JsonLinesEncoder } from './connectors/file/encoders.js';
export type { Encoder, EncoderOutputStream } from './connectors/file/encoders.js';
export type { BulkWriter, BulkWriterFactory } from './connectors/file/bulk-format.js';
export {
  DefaultRollingPolicy,
  DefaultRollingPolicyBuilder,
  OnCheckpointRollingPolicy,
} from './connectors/file/rolling-policy.js';
export type { PartFileInfo, RollingPolicy } from './connectors/file/rolling-policy.js';
export { BasePathBucketAssigner, DateTimeBucketAssigner } from './connectors/file/bucket-assigner.js';
export type { BucketAssigner, BucketAssignerContext } from './connectors/file/bucket-assigner.js';
export { OutputFileConfig, OutputFileConfigBuilder } from './connectors/file/output-file-config.js';
export { FileSource, FileSourceBuilder } from './connectors/file/file-source.js';
export type { FileSourceSplit } from './connectors/file/file-source-split.js';
export { BadLinePolicy } from './connectors/file/bad-line-policy.js';
export type { BadLine } from './connectors/file/bad-line-policy.js';
export type { FileEnumeratorState } from './connectors/file/file-enumerator.js';
export { TextLineInputFormat, JsonLinesInputFormat, SKIP_LINE } from './connectors/file/stream-format.js';
export type { JsonLinesOptions, StreamFormat } from './connectors/file/stream-format.js';
export { Boundedness } from './api/source/source.js';
export type {
  InputStatus,
  ReaderOutput,
  Source,
  SourceReader,
  SourceOutput,
  SourceReaderContext,
  SourceReaderMetricGroup,
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
export { NexmarkSource } from './connectors/nexmark/nexmark-source.js';
export type {
  NexmarkConfiguration,
  ResolvedNexmarkConfiguration,
} from './connectors/nexmark/nexmark-configuration.js';
export { eventDateTime } from './connectors/nexmark/nexmark-model.js';
export type { Auction, Bid, NexmarkEvent, Person } from './connectors/nexmark/nexmark-model.js';
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
export {
  TypeSerializerSchemaCompatibility,
  type PreviousSerializer,
  type SchemaCompatibilityType,
  type StateMigration,
  type TypeSerializerSnapshot,
} from './core/serializer-compatibility.js';
export { SavepointFormatTypes, type SavepointFormatType } from './protocol/snapshot-kind.js';
export type { Class } from './core/type-registry.js';
export type { Brand, JobId, OperatorId } from './core/ids.js';
export type { Cancellable, Clock } from './core/clock.js';
export type { KeyCheck } from './api/hashable-key.js';

// Types the public declarations above mention (so a consumer can name them too).
export type { BaseBroadcastContext } from './api/co-functions.js';
export type { KeyFn } from './api/joined-streams.js';
export type { StateDescriptor } from './state/state-descriptor.js';
export type { StateFor } from './state/keyed-state-backend.js';
export type { BulkWriterFactoryLike } from './connectors/file/bulk-format.js';
export type { FileWriter, FileWriterSettings } from './connectors/file/file-writer.js';
export type { InProgressFileState } from './connectors/file/part-file.js';
export type {
  JdbcExactlyOnceWriter,
  JdbcExactlyOnceWriterSettings,
} from './connectors/jdbc/jdbc-exactly-once-writer.js';
export type { JdbcBatch } from './connectors/jdbc/jdbc-batch.js';
export type { PgConnection, PgSession } from './connectors/jdbc/pg-connection.js';
export type { SqlTemplate } from './connectors/jdbc/sql-template.js';
export type { TransactionIdPattern } from './connectors/jdbc/jdbc-transaction-id.js';
export type { JetStreamEnumeratorState } from './connectors/jetstream/jetstream-split-enumerator.js';
