/** StreamExecutionEnvironment: where a job's sources come from and where it is executed. */
import { loadConfiguration, type Configuration } from '../core/configuration.js';
import { NetworkOptions, PipelineOptions } from '../core/config-options.js';
import { SluiceError, invalidProgram } from '../core/errors.js';
import { checkParallelism, UPPER_BOUND_MAX_PARALLELISM } from '../core/key-groups.js';
import { TypeRegistry, type Class } from '../core/type-registry.js';
import { buildJobGraph, type JobGraph } from '../graph/job-graph.js';
import { shipStrategyName } from '../graph/partitioner.js';
import { buildStreamGraph } from '../graph/stream-graph.js';
import type { StreamGraph } from '../graph/stream-node.js';
import type { Transformation } from '../graph/transformation.js';
import type { CollectResult } from './collect.js';
import { DataStreamSource } from './data-stream-source.js';
import { getEnvironmentContext } from './environment-context.js';
import {
  getDefaultPipelineExecutor,
  type JobClient,
  type JobExecutionResult,
  type PipelineSubmission,
} from './execution.js';
import { Factories } from './operator-factories.js';
import { checkPositiveInt } from './operator-handle.js';
import type { OperatorFactory } from './operators/stream-operator.js';
import { CollectionSource, NumberSequenceSource } from './source/range-sources.js';
import type { Source, SourceSplit } from './source/source.js';
import type { StreamBuilder, TransformationSpec } from './stream-builder.js';
import { CheckpointConfig, type CheckpointingMode } from './checkpoint-config.js';
import { faultTolerance } from './fault-tolerance-settings.js';
import { chooseStateBackend, stateBackendOf } from './state-backend-choice.js';
import type { StateBackend } from '../state/state-backend.js';
import { ExecutionConfig, type ExecutionSettings } from './execution-config.js';
import { GlobalJobParameters, parametersAsRecord } from './global-job-parameters.js';
import {
  logCheckpointingDisabledInBatch,
  resolveRuntimeMode,
  type RuntimeExecutionMode,
} from './runtime-execution-mode.js';
import { isWatermarkStrategy, type WatermarkStrategy } from './watermark-strategy.js';
import type { RestartStrategyConfiguration } from './restart-strategies.js';

/** Flink's default job name. */
const DEFAULT_JOB_NAME = 'Sluice Streaming Job';

/** The entry point of every job: create sources, then `execute()`. */
export class StreamExecutionEnvironment implements StreamBuilder {
  private transformations: Transformation<OperatorFactory>[] = [];
  private collectTargets = new Map<string, CollectResult<unknown>>();
  private nextId = 0;
  private nextCollectId = 0;
  private parallelism: number;
  private maxParallelism: number;
  private chaining: boolean;
  private bufferTimeoutMs: number;
  private readonly types = new TypeRegistry();
  private readonly executionSettings: ExecutionSettings;

  constructor(readonly configuration: Configuration = loadConfiguration()) {
    const types = this.types;
    this.executionSettings = {
      types,
      globalJobParameters: new GlobalJobParameters(),
      get autoWatermarkIntervalMs(): number {
        return configuration.get(PipelineOptions.AUTO_WATERMARK_INTERVAL);
      },
      set autoWatermarkIntervalMs(ms: number) {
        configuration.set(PipelineOptions.AUTO_WATERMARK_INTERVAL, ms);
      },
    };
    this.parallelism = configuration.get(PipelineOptions.DEFAULT_PARALLELISM);
    this.maxParallelism = configuration.get(PipelineOptions.MAX_PARALLELISM);
    this.chaining = configuration.get(PipelineOptions.OPERATOR_CHAINING);
    this.bufferTimeoutMs = configuration.get(PipelineOptions.BUFFER_TIMEOUT_ENABLED)
      ? configuration.get(PipelineOptions.BUFFER_TIMEOUT)
      : -1;
  }

  /**
   * The environment for this program: with the settings of `sluice run` when launched by it,
   * otherwise from `sluice.yaml` in the working directory (if any) and defaults.
   */
  static getExecutionEnvironment(configuration?: Configuration): StreamExecutionEnvironment {
    const context = getEnvironmentContext();
    const env = new StreamExecutionEnvironment(
      configuration ?? context?.configuration.clone() ?? loadConfiguration(),
    );
    if (context?.parallelism !== undefined) env.setParallelism(context.parallelism);
    return env;
  }

  /** Default parallelism of operators that set none (`parallelism.default`). */
  setParallelism(parallelism: number): this {
    checkPositiveInt('setParallelism()', parallelism);
    this.parallelism = parallelism;
    return this;
  }
  getParallelism(): number {
    return this.parallelism;
  }

  /** Number of key groups: the upper bound for rescaling keyed state (`pipeline.max-parallelism`). */
  setMaxParallelism(maxParallelism: number): this {
    if (
      !Number.isInteger(maxParallelism) ||
      maxParallelism < 1 ||
      maxParallelism > UPPER_BOUND_MAX_PARALLELISM
    )
      throw invalidProgram(
        `setMaxParallelism() must be an integer in [1, ${UPPER_BOUND_MAX_PARALLELISM}], got ${String(maxParallelism)}.`,
      );
    this.maxParallelism = maxParallelism;
    return this;
  }
  /** The max parallelism, or -1 when derived per operator from its parallelism. */
  getMaxParallelism(): number {
    return this.maxParallelism;
  }

  /** Runs every operator in a task of its own (for debugging; slower). */
  disableOperatorChaining(): this {
    this.chaining = false;
    return this;
  }

  /** Longest a record waits in a partly filled network buffer, in ms; -1 only sends full buffers. */
  setBufferTimeout(ms: number): this {
    if (!Number.isInteger(ms) || ms < -1)
      throw invalidProgram(`setBufferTimeout() takes -1 or a whole number of ms >= 0, got ${String(ms)}.`);
    this.bufferTimeoutMs = ms;
    return this;
  }
  getBufferTimeout(): number {
    return this.bufferTimeoutMs;
  }

  /**
   * STREAMING (the default), BATCH for bounded jobs, or AUTOMATIC (BATCH when every source is
   * bounded): `execution.runtime-mode`. Flink advises setting it with
   * `-D execution.runtime-mode=BATCH` rather than in code, so one job file runs both ways.
   */
  setRuntimeMode(mode: RuntimeExecutionMode): this {
    this.configuration.setString(PipelineOptions.RUNTIME_MODE.key, String(mode), 'setRuntimeMode()');
    return this;
  }

  // --- types ---

  /**
   * Registers a class of the job's records or state values (Flink: `registerPojoType`), so its
   * instances keep their class — prototype and methods — across exchanges and checkpoints,
   * instead of failing with SLUICE_SERIALIZATION_FAILED. Call it at the module's top level,
   * before `execute()`: every process that runs the job (the TaskManagers too) runs that code.
   *
   * The name (default: the class's own name) is written with every instance, in checkpoints
   * too: keep it the same across job versions (rename a class with `registerType(Renamed,
   * 'OldName')`); two classes need two names.
   */
  registerType(type: Class, name?: string): this {
    this.types.register(type, name);
    return this;
  }

  /** The execution settings (Flink's ExecutionConfig): `registerPojoType`, `setGlobalJobParameters`. */
  getConfig(): ExecutionConfig {
    return new ExecutionConfig(this.executionSettings);
  }

  // --- fault tolerance ---

  /**
   * Turns on checkpointing every `intervalMs` (`execution.checkpointing.interval`), optionally
   * with a mode (`execution.checkpointing.mode`, EXACTLY_ONCE by default).
   */
  enableCheckpointing(intervalMs: number, mode?: CheckpointingMode): this {
    this.getCheckpointConfig().setCheckpointInterval(intervalMs);
    if (mode !== undefined) this.getCheckpointConfig().setCheckpointingConsistencyMode(mode);
    return this;
  }

  /** The checkpoint settings (they write the `execution.checkpointing.*` options). */
  getCheckpointConfig(): CheckpointConfig {
    return new CheckpointConfig(this.configuration);
  }

  /**
   * Sets the keyed state backend (the `state.backend.*` options): `new HashMapStateBackend()`
   * (the default) or `new EmbeddedLmdbStateBackend()` for state larger than memory.
   */
  setStateBackend(backend: StateBackend): this {
    chooseStateBackend(this.configuration, backend);
    return this;
  }

  /** Sets the restart strategy (the `restart-strategy.*` options), e.g. `RestartStrategies.fixedDelay(3, 1000)`. */
  setRestartStrategy(strategy: RestartStrategyConfiguration): this {
    this.configuration.addAll(strategy.options, 'setRestartStrategy()');
    return this;
  }

  // --- sources ---

  /**
   * A stream of a split-based source: `fromSource(source, watermarkStrategy, name)` as in Flink,
   * or `fromSource(source, name)` (no watermarks). The strategy runs one watermark generator per
   * split. Give it a `uid()` so its split positions restore into later versions of the job.
   */
  fromSource<T>(source: Source<T, SourceSplit, unknown>, name: string): DataStreamSource<T>;
  fromSource<T>(
    source: Source<T, SourceSplit, unknown>,
    watermarkStrategy: WatermarkStrategy<T>,
    name: string,
  ): DataStreamSource<T>;
  fromSource<T>(source: Source<T, SourceSplit, unknown>, a: unknown, b?: unknown): DataStreamSource<T> {
    const flinkForm = typeof a !== 'string' || b !== undefined;
    const name = flinkForm ? b : a;
    if (typeof name !== 'string' || name.length === 0)
      throw invalidProgram(
        'fromSource() needs a source name, e.g. fromSource(source, WatermarkStrategy.noWatermarks(), "clicks").',
      );
    if (!source || typeof source.createReader !== 'function' || typeof source.createEnumerator !== 'function')
      throw invalidProgram(
        `fromSource('${name}'): the first argument is not a Source (createEnumerator/createReader).`,
      );
    if (flinkForm && !isWatermarkStrategy(a))
      throw invalidProgram(
        `fromSource('${name}'): the second argument must be a WatermarkStrategy, e.g. ` +
          'WatermarkStrategy.forBoundedOutOfOrderness(1000).withTimestampAssigner((e) => e.time).',
      );
    const strategy = flinkForm ? (a as WatermarkStrategy<T>) : undefined;
    const t = this.addTransformation({
      role: 'source',
      name,
      inputs: [],
      operator: Factories.source(source, strategy, () => this.autoWatermarkIntervalMs()),
      nonParallel: source.maxSourceParallelism === 1,
      chainingStrategy: 'head',
    });
    return new DataStreamSource<T>(this, t);
  }

  /** The numbers `from..to`, inclusive, read in parallel. */
  fromSequence(from: number, to: number): DataStreamSource<number> {
    if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from > to)
      throw invalidProgram(
        `fromSequence(${String(from)}, ${String(to)}): needs two safe integers with from <= to.`,
      );
    return this.fromSource(new NumberSequenceSource(from, to), 'Sequence Source');
  }

  /** The given elements, in order (parallelism 1; Flink 1.19's name for fromElements). */
  fromData<T>(...elements: T[]): DataStreamSource<T> {
    return this.fromCollection(elements);
  }

  /** The given elements, in order (parallelism 1). */
  fromElements<T>(...elements: T[]): DataStreamSource<T> {
    return this.fromCollection(elements);
  }

  /** The elements of a collection, in order (parallelism 1). */
  fromCollection<T>(elements: Iterable<T>): DataStreamSource<T> {
    if (elements == null || typeof elements[Symbol.iterator] !== 'function')
      throw invalidProgram('fromCollection() needs an array or another iterable.');
    return this.fromSource(new CollectionSource([...elements]), 'Collection Source');
  }

  // --- StreamBuilder ---

  /** @internal */
  addTransformation(spec: TransformationSpec): Transformation<OperatorFactory> {
    const t: Transformation<OperatorFactory> = {
      id: this.nextId++,
      role: spec.role,
      kind: spec.operator.kind,
      name: spec.name,
      uid: undefined,
      parallelism: undefined,
      nonParallel: spec.nonParallel ?? false,
      maxParallelism: undefined,
      chainingStrategy: spec.chainingStrategy ?? 'always',
      inputs: spec.inputs,
      keySelector: spec.keySelector,
      serializer: spec.serializer,
      operator: spec.operator,
    };
    this.transformations.push(t);
    return t;
  }

  /** @internal `pipeline.auto-watermark-interval` in ms (read when a source or assigner opens). */
  autoWatermarkIntervalMs(): number {
    return this.executionSettings.autoWatermarkIntervalMs;
  }

  /** @internal */
  registerCollect(target: CollectResult<unknown>): string {
    const id = `collect-${this.nextCollectId++}`;
    this.collectTargets.set(id, target);
    return id;
  }

  // --- execution ---

  private jobName(jobName: string | undefined): string {
    return jobName ?? this.configuration.get(PipelineOptions.NAME) ?? DEFAULT_JOB_NAME;
  }

  /** @internal The resolved stream graph of the program so far (validates it). */
  getStreamGraph(jobName?: string): StreamGraph<OperatorFactory> {
    if (this.maxParallelism > 0) checkParallelism('the environment', this.parallelism, this.maxParallelism);
    return buildStreamGraph(this.transformations, {
      jobName: this.jobName(jobName),
      defaultParallelism: this.parallelism,
      maxParallelism: this.maxParallelism,
      chainingEnabled: this.chaining,
    });
  }

  /** @internal The chained job graph of the program so far. */
  getJobGraph(jobName?: string): JobGraph<OperatorFactory> {
    return buildJobGraph(this.getStreamGraph(jobName));
  }

  /** The plan as JSON, in the shape of Flink's `getExecutionPlan()`. */
  getExecutionPlan(): string {
    const graph = this.getStreamGraph();
    return JSON.stringify(
      {
        nodes: graph.nodes.map((n) => ({
          id: n.id,
          type: n.transformation.kind,
          pact:
            n.transformation.role === 'source'
              ? 'Data Source'
              : n.transformation.role === 'sink'
                ? 'Data Sink'
                : 'Operator',
          contents: n.name,
          parallelism: n.parallelism,
          predecessors: n.inEdges.map((e) => ({
            id: e.source.id,
            ship_strategy: shipStrategyName(e.partitioner),
            side: 'second',
          })),
        })),
      },
      null,
      2,
    );
  }

  /** Submits the job and returns at once with a client for it. */
  async executeAsync(jobName?: string): Promise<JobClient> {
    const capture = getEnvironmentContext()?.captureSubmission;
    const executor = getDefaultPipelineExecutor();
    if (!capture && !executor)
      throw new SluiceError(
        'SLUICE_PROGRAM_INVALID',
        "no executor is installed: import StreamExecutionEnvironment from 'sluice' (the package root).",
      );
    const runtimeMode = resolveRuntimeMode(
      this.configuration.get(PipelineOptions.RUNTIME_MODE),
      this.transformations,
    );
    const jobGraph = this.getJobGraph(jobName);
    const targets = this.collectTargets;
    const batch = runtimeMode === 'BATCH';
    if (batch && !capture && this.getCheckpointConfig().isCheckpointingEnabled())
      logCheckpointingDisabledInBatch();
    const submission: PipelineSubmission = {
      jobGraph,
      collectTargets: targets,
      bufferTimeoutMs: this.bufferTimeoutMs,
      segmentSize: this.configuration.get(NetworkOptions.MEMORY_SEGMENT_SIZE),
      buffersPerChannel: Math.max(1, this.configuration.get(NetworkOptions.NETWORK_BUFFERS_PER_CHANNEL)),
      floatingBuffersPerGate: this.configuration.get(NetworkOptions.NETWORK_FLOATING_BUFFERS_PER_GATE),
      maxBuffersPerChannel: this.configuration.get(NetworkOptions.NETWORK_MAX_BUFFERS_PER_CHANNEL),
      // BATCH needs no checkpoints: the job runs, and restarts, as if checkpointing were off.
      ...faultTolerance(this.configuration, { checkpointing: !batch }),
      runtimeMode,
      globalJobParameters: parametersAsRecord(this.executionSettings.globalJobParameters),
      stateBackend: stateBackendOf(this.configuration, !capture),
      types: this.types.copy(),
    };
    // As Flink, executing clears the program: the environment can build and run the next job.
    this.transformations = [];
    this.collectTargets = new Map();
    if (capture) {
      capture(submission);
      // A process loading the job (TaskManager, JobManager): nothing after execute() may run here.
      return new Promise<JobClient>(() => {});
    }
    const client = await executor!.execute(submission);
    client.getJobExecutionResult().then(
      () => targets.forEach((t) => t.close()),
      (e: unknown) => targets.forEach((t) => t.close(e)),
    );
    getEnvironmentContext()?.onJobSubmitted?.(client);
    return client;
  }

  /** Runs the job to its end and returns its result (rejects if it fails). */
  async execute(jobName?: string): Promise<JobExecutionResult> {
    const client = await this.executeAsync(jobName);
    return client.getJobExecutionResult();
  }
}
