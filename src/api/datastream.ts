/** DataStream, KeyedStream, WindowedStream, and sinks: the fluent half of the DataStream API. */
import { invalidProgram } from '../core/errors.js';
import type { TypeSerializer } from '../core/serializer.js';
import type { KeySelectorFn, PartitionerSpec } from '../graph/partitioner.js';
import type { Transformation } from '../graph/transformation.js';
import { CollectResult } from './collect.js';
import { checkOutputTag, type OutputTag } from './output-tag.js';
import {
  keySelectorFn,
  type Collector,
  type FilterFunction,
  type FlatMapFunction,
  type KeySelector,
  type MapFunction,
  type ReduceFunction,
} from './functions.js';
import { Factories } from './operator-factories.js';
import type { OperatorFactory } from './operators/stream-operator.js';
import type { ProcessFunction } from './process-function.js';
import { sinkOfFunction, type Sink, type SinkFunction, type SinkWriterContext } from './sink.js';
import { PrintSink, toStderr } from './sinks/print-sink.js';
import { DataStreamSink, Settings, checkPositiveInt } from './operator-handle.js';
import { aggregation, type AggregationKind, type FieldRef } from './operators/grouped-reduce-operator.js';
import type { KeyedProcessFunction } from './process-function.js';
import type { KeyCheck } from './hashable-key.js';
import { isWatermarkStrategy, type WatermarkStrategy } from './watermark-strategy.js';
import type { StreamBuilder, StreamInput, TransformationSpec } from './stream-builder.js';
import { BroadcastStream } from './broadcast-stream.js';
import type { MapStateDescriptor } from '../state/state-descriptor.js';
import { GlobalWindows, MergingWindowAssigner, WindowAssigner } from './windowing/window-assigners.js';
import { type DurationLike, toMillis } from '../core/duration.js';
import type { Evictor } from './windowing/evictors.js';
import { CountEvictor } from './windowing/evictors.js';
import { Trigger } from './windowing/trigger.js';
import { CountTrigger, PurgingTrigger } from './windowing/triggers.js';
import type { TimeWindow } from './windowing/time-window.js';
import type { GlobalWindow, Window } from './windowing/window.js';
import type { AggregateFunction } from '../state/functions.js';
import type { ProcessWindowFunction } from './windowing/process-window-function.js';
import {
  AggregateContents,
  EvictingContents,
  ListContents,
  ReduceContents,
  WindowOperator,
  type WindowContents,
  type WindowOptions,
} from './operators/window-operator.js';

/** A stream of records of type T. */
export class DataStream<T> {
  /** @internal */
  constructor(
    /** @internal */ readonly builder: StreamBuilder,
    /** @internal The producers of this stream and how it is partitioned to its consumers. */
    readonly inputs: readonly StreamInput[],
  ) {}

  /** @internal */
  protected apply<R>(spec: Omit<TransformationSpec, 'role' | 'inputs'>): SingleOutputStreamOperator<R> {
    const t = this.builder.addTransformation({ ...spec, role: 'operator', inputs: this.inputs });
    return new SingleOutputStreamOperator<R>(this.builder, t);
  }

  map<R>(fn: MapFunction<T, R> | ((value: T) => R)): SingleOutputStreamOperator<R> {
    return this.apply({ name: 'Map', operator: Factories.map(fn) });
  }

  filter(fn: FilterFunction<T> | ((value: T) => boolean)): SingleOutputStreamOperator<T> {
    return this.apply({ name: 'Filter', operator: Factories.filter(fn) });
  }

  flatMap<R>(
    fn: FlatMapFunction<T, R> | ((value: T, out: Collector<R>) => void),
  ): SingleOutputStreamOperator<R> {
    return this.apply({ name: 'Flat Map', operator: Factories.flatMap(fn) });
  }

  process<R>(fn: Pick<ProcessFunction<T, R>, 'processElement'>): SingleOutputStreamOperator<R> {
    return this.apply({ name: 'Process', operator: Factories.process(fn) });
  }

  /**
   * Gives records event timestamps and the stream watermarks from `strategy`, one generator per
   * subtask (Flink's `assignTimestampsAndWatermarks`). Watermarks from upstream are dropped
   * except the end-of-time one; prefer `fromSource(source, strategy, name)`, which generates
   * watermarks per split.
   */
  assignTimestampsAndWatermarks(strategy: WatermarkStrategy<T>): SingleOutputStreamOperator<T> {
    if (!isWatermarkStrategy(strategy))
      throw invalidProgram('assignTimestampsAndWatermarks() takes a WatermarkStrategy.');
    const builder = this.builder;
    return this.apply({
      name: 'Timestamps/Watermarks',
      operator: Factories.timestampsAndWatermarks(strategy, () => builder.autoWatermarkIntervalMs()),
    });
  }

  /** Partitions the stream by key: records with equal keys go to the same subtask. */
  keyBy<K>(selector: KeySelector<T, K> | ((value: T) => K), ..._check: KeyCheck<K>): KeyedStream<T, K> {
    const fn = keySelectorFn(selector);
    return new KeyedStream<T, K>(
      this.builder,
      this.partition({ kind: 'hash', keySelector: fn as KeySelectorFn }),
      fn,
    );
  }

  /** One stream of this stream's and the others' records (same type). */
  union(...others: DataStream<T>[]): DataStream<T> {
    for (const o of others)
      if (o.builder !== this.builder) throw invalidProgram('union() of streams from different environments.');
    return new DataStream<T>(this.builder, [...this.inputs, ...others.flatMap((o) => o.inputs)]);
  }

  /** @internal */
  protected partition(partitioner: PartitionerSpec): StreamInput[] {
    return this.inputs.map((i) => ({ node: i.node, partitioner, sideOutput: i.sideOutput }));
  }

  /** Round-robin over all consumer subtasks. */
  rebalance(): DataStream<T> {
    return new DataStream(this.builder, this.partition({ kind: 'rebalance' }));
  }
  /** Round-robin over a local subset of consumer subtasks (pointwise). */
  rescale(): DataStream<T> {
    return new DataStream(this.builder, this.partition({ kind: 'rescale' }));
  }
  /** Uniformly random consumer subtask. */
  shuffle(): DataStream<T> {
    return new DataStream(this.builder, this.partition({ kind: 'shuffle' }));
  }
  /**
   * Every record to every consumer subtask. With MapStateDescriptors, a BroadcastStream whose
   * broadcast states those are: connect a stream to it (`stream.connect(broadcastStream)`).
   */
  broadcast(): DataStream<T>;
  broadcast(
    ...descriptors: [MapStateDescriptor<unknown, unknown>, ...MapStateDescriptor<unknown, unknown>[]]
  ): BroadcastStream<T>;
  broadcast(...descriptors: MapStateDescriptor<unknown, unknown>[]): DataStream<T> | BroadcastStream<T> {
    const inputs = this.partition({ kind: 'broadcast' });
    if (descriptors.length === 0) return new DataStream(this.builder, inputs);
    return new BroadcastStream<T>(this.builder, inputs, descriptors);
  }
  /** Subtask i to subtask i (same parallelism required); the default between equal parallelisms. */
  forward(): DataStream<T> {
    return new DataStream(this.builder, this.partition({ kind: 'forward' }));
  }
  /** Every record to the first consumer subtask. */
  global(): DataStream<T> {
    return new DataStream(this.builder, this.partition({ kind: 'global' }));
  }

  /** Writes every record to `sink`. */
  sinkTo(sink: Sink<T>): DataStreamSink<T> {
    const t = this.builder.addTransformation({
      role: 'sink',
      name: 'Sink',
      inputs: this.inputs,
      operator: Factories.sink(sink),
    });
    return new DataStreamSink<T>(t);
  }

  /**
   * Calls `fn` for every record (Flink's legacy `addSink(SinkFunction)`): a function
   * `(record, ctx) => void` or an object with `invoke(record, ctx)`, such as a RichSinkFunction.
   * For buffering, flushing at checkpoints or asynchronous writes, implement a `Sink` and use
   * `sinkTo`.
   */
  addSink(fn: SinkFunction<T> | ((record: T, ctx: SinkWriterContext) => void)): DataStreamSink<T> {
    return this.sinkTo(sinkOfFunction(fn));
  }

  /** Prints every record to stdout, prefixed `subtask> ` when parallel (as Flink). */
  print(sinkIdentifier?: string): DataStreamSink<T> {
    return this.printTo('Print to Std. Out', new PrintSink<T>(sinkIdentifier));
  }

  /** Prints every record to stderr, prefixed `subtask> ` when parallel (Flink's printToErr). */
  printToErr(sinkIdentifier?: string): DataStreamSink<T> {
    return this.printTo('Print to Std. Err', new PrintSink<T>(sinkIdentifier, toStderr));
  }

  private printTo(name: string, sink: PrintSink<T>): DataStreamSink<T> {
    const t = this.builder.addTransformation({
      role: 'sink',
      name,
      inputs: this.inputs,
      operator: Factories.sink(sink, 'Print'),
    });
    return new DataStreamSink<T>(t);
  }

  /**
   * Adds a collect sink and returns the client end; records arrive once the job runs
   * (`env.execute()` / `executeAsync()`).
   */
  collectAsync(): CollectResult<T> {
    const target = new CollectResult<T>();
    const collectId = this.builder.registerCollect(target);
    this.builder.addTransformation({
      role: 'sink',
      name: 'Collect Sink',
      inputs: this.inputs,
      operator: Factories.collect(collectId),
      nonParallel: true,
    });
    return target;
  }

  /**
   * Runs the job and returns every record of this stream (or the first `limit`, cancelling the
   * job then, which makes it usable on unbounded streams).
   */
  async executeAndCollect(jobName?: string, limit?: number): Promise<T[]> {
    if (limit !== undefined) checkPositiveInt('executeAndCollect() limit', limit);
    const result = this.collectAsync();
    const client = await this.builder.executeAsync(jobName);
    const out: T[] = [];
    for await (const record of result) {
      out.push(record);
      if (limit !== undefined && out.length >= limit) {
        await client.cancel();
        return out;
      }
    }
    return out;
  }
}

/** The handle of an operator just added: name it, give it a uid, set its parallelism. */
export class SingleOutputStreamOperator<T> extends DataStream<T> {
  /** @internal */
  constructor(
    builder: StreamBuilder,
    /** @internal */ readonly transformation: Transformation<OperatorFactory>,
  ) {
    super(builder, [{ node: transformation, partitioner: undefined }]);
  }

  /** The operator's name in plans, logs, metrics and errors. */
  name(name: string): this {
    Settings.name(this.transformation, name);
    return this;
  }
  /** A stable id for this operator's state in checkpoints and savepoints; set it on stateful operators. */
  uid(uid: string): this {
    Settings.uid(this.transformation, uid);
    return this;
  }
  /** A longer description of the operator for plans and the web UI. */
  setDescription(description: string): this {
    Settings.description(this.transformation, description);
    return this;
  }
  setParallelism(parallelism: number): this {
    Settings.parallelism(this.transformation, parallelism);
    return this;
  }
  /** The number of key groups of this operator's keyed state (fixed for the life of the state). */
  setMaxParallelism(maxParallelism: number): this {
    Settings.maxParallelism(this.transformation, maxParallelism);
    return this;
  }
  /** Runs this operator in a task of its own, neither chained to its input nor its output. */
  disableChaining(): this {
    this.transformation.chainingStrategy = 'never';
    return this;
  }
  /** Starts a new chain here: not chained to its input, but later operators may chain to it. */
  startNewChain(): this {
    this.transformation.chainingStrategy = 'head';
    return this;
  }
  /**
   * The records the operator emitted to `tag` with `ctx.output(tag, value)` (or its late records,
   * after `sideOutputLateData(tag)`), as a stream of their own: key, process and sink it like any
   * other. Chained to the operator where it can be, as its main output is.
   */
  getSideOutput<X>(tag: OutputTag<X>): DataStream<X> {
    const id = checkOutputTag(tag, 'getSideOutput()').getId();
    const serializer = tag.getTypeSerializer() as TypeSerializer<unknown> | undefined;
    return new DataStream<X>(this.builder, [
      { node: this.transformation, partitioner: undefined, sideOutput: { tagId: id, serializer } },
    ]);
  }

  /** The serializer this operator's records cross the network with (msgpack by default). */
  setSerializer(serializer: TypeSerializer<T>): this {
    this.transformation.serializer = serializer;
    return this;
  }
}

/** A stream partitioned by key: keyed state and timers, rolling aggregations. */
export class KeyedStream<T, K> extends DataStream<T> {
  /** @internal */
  constructor(
    builder: StreamBuilder,
    inputs: readonly StreamInput[],
    /** @internal */ readonly keySelector: KeySelectorFn<T, K>,
  ) {
    super(builder, inputs);
  }

  private keyed<R>(name: string, operator: OperatorFactory): SingleOutputStreamOperator<R> {
    return this.apply({ name, operator, keySelector: this.keySelector as KeySelectorFn });
  }

  /** @internal Adds a keyed operator on this stream (used by WindowedStream). */
  windowOperator<R>(name: string, operator: OperatorFactory): SingleOutputStreamOperator<R> {
    return this.keyed(name, operator);
  }

  /**
   * Cuts each key's records into the windows `assigner` puts them in (Flink's
   * `keyBy(...).window(TumblingEventTimeWindows.of(size))`); evaluate them with reduce, aggregate
   * or process.
   */
  window<W extends Window = TimeWindow>(
    assigner: WindowAssigner<T, W> | WindowAssigner<unknown, W>,
  ): WindowedStream<T, K, W> {
    if (!(assigner instanceof WindowAssigner))
      throw invalidProgram(
        'window() takes a window assigner such as TumblingEventTimeWindows.of(size), EventTimeSessionWindows.withGap(gap) or GlobalWindows.create().',
      );
    return new WindowedStream<T, K, W>(this, assigner);
  }

  /**
   * Windows of `size` records per key (Flink's countWindow): each fires when full and starts over;
   * with `slide`, a window of the last `size` records fires every `slide` records.
   */
  countWindow(size: number, slide?: number): WindowedStream<T, K, GlobalWindow> {
    const windowed = this.window<GlobalWindow>(GlobalWindows.create());
    if (slide === undefined) return windowed.trigger(PurgingTrigger.of(CountTrigger.of<GlobalWindow>(size)));
    return windowed.evictor(CountEvictor.of(size)).trigger(CountTrigger.of<GlobalWindow>(slide));
  }

  /** Processes each record with keyed state and timers of its key. */
  override process<R>(
    fn: Pick<KeyedProcessFunction<K, T, R>, 'processElement'>,
  ): SingleOutputStreamOperator<R> {
    return this.keyed('KeyedProcess', Factories.keyedProcess(fn, this.keySelector));
  }

  /** Emits, per record, the running reduction of its key's records. */
  reduce(fn: ReduceFunction<T> | ((a: T, b: T) => T)): SingleOutputStreamOperator<T> {
    return this.keyed('Keyed Reduce', Factories.reduce('Reduce', fn, this.keySelector));
  }

  private aggregate(kind: AggregationKind, field: FieldRef): SingleOutputStreamOperator<T> {
    return this.keyed(
      `Keyed Aggregation`,
      Factories.reduce(kind, aggregation<T>(kind, field), this.keySelector),
    );
  }

  /** Running sum of `field` (an array index, a property, or the record when omitted). */
  sum(field?: number | string): SingleOutputStreamOperator<T> {
    return this.aggregate('sum', field);
  }
  /** Running minimum of `field`; other fields keep the key's first record's values (as Flink). */
  min(field?: number | string): SingleOutputStreamOperator<T> {
    return this.aggregate('min', field);
  }
  /** Running maximum of `field`; other fields keep the key's first record's values (as Flink). */
  max(field?: number | string): SingleOutputStreamOperator<T> {
    return this.aggregate('max', field);
  }
  /** The record with the smallest `field` so far (the first one on ties). */
  minBy(field?: number | string): SingleOutputStreamOperator<T> {
    return this.aggregate('minBy', field);
  }
  /** The record with the largest `field` so far (the first one on ties). */
  maxBy(field?: number | string): SingleOutputStreamOperator<T> {
    return this.aggregate('maxBy', field);
  }
}

/**
 * `keyedStream.window(assigner)`: the assigner's default trigger unless `trigger(t)` sets another,
 * an optional evictor, allowed lateness 0 unless `allowedLateness(ms)` sets more; records too late
 * for every window are dropped, or go to `sideOutputLateData(tag)`.
 */
export class WindowedStream<T, K, W extends Window = TimeWindow> {
  private windowTrigger: Trigger<T, W> | undefined;
  private windowEvictor: Evictor<T, W> | undefined;
  private lateness = 0;
  private lateDataOutputTag: OutputTag<T> | undefined;

  /** @internal */
  constructor(
    private readonly input: KeyedStream<T, K>,
    private readonly assigner: WindowAssigner<T, W>,
  ) {}

  /** Fires windows with `trigger` instead of the assigner's default (Flink's WindowedStream.trigger). */
  trigger(trigger: Trigger<T, W>): this {
    if (!(trigger instanceof Trigger))
      throw invalidProgram(
        'trigger() takes a Trigger, such as CountTrigger.of(n) or EventTimeTrigger.create().',
      );
    if (this.assigner instanceof MergingWindowAssigner && !trigger.canMerge())
      throw invalidProgram(
        `A merging window assigner (${this.assigner.toString()}) cannot be used with a trigger that does not support merging (${trigger.toString()}).`,
      );
    this.windowTrigger = trigger;
    return this;
  }

  /** Removes records from each window before and/or after its function runs; the window then keeps every record. */
  evictor(evictor: Evictor<T, W>): this {
    if (
      typeof (evictor as Partial<Evictor<T, W>> | null)?.evictBefore !== 'function' ||
      typeof evictor.evictAfter !== 'function'
    )
      throw invalidProgram('evictor() takes an Evictor, such as CountEvictor.of(n) or TimeEvictor.of(ms).');
    if (this.assigner instanceof MergingWindowAssigner)
      throw invalidProgram(
        `Cannot use a merging WindowAssigner (${this.assigner.toString()}) with an Evictor.`,
      );
    this.windowEvictor = evictor;
    return this;
  }

  /**
   * Keeps event-time windows `lateness` ms past their end: a late record within it updates its
   * window and fires it again; the window's state goes after that (Flink's allowedLateness).
   */
  allowedLateness(lateness: DurationLike): this {
    this.lateness = toMillis(lateness, 'allowedLateness()');
    return this;
  }

  /** Sends records too late for all their windows to the side output `outputTag` instead of dropping them. */
  sideOutputLateData(outputTag: OutputTag<T>): this {
    this.lateDataOutputTag = checkOutputTag(outputTag, 'sideOutputLateData()') as OutputTag<T>;
    return this;
  }

  /** Reduces each window's records as they arrive; emits the reduction, or hands it to `windowFunction`. */
  reduce(fn: ReduceFunction<T> | ((a: T, b: T) => T)): SingleOutputStreamOperator<T>;
  reduce<R>(
    fn: ReduceFunction<T> | ((a: T, b: T) => T),
    windowFunction: Pick<ProcessWindowFunction<T, R, K, W>, 'process'>,
  ): SingleOutputStreamOperator<R>;
  reduce<R>(
    fn: ReduceFunction<T> | ((a: T, b: T) => T),
    windowFunction?: Pick<ProcessWindowFunction<T, R, K, W>, 'process'>,
  ): SingleOutputStreamOperator<R> {
    if (typeof fn !== 'function' && typeof (fn as Partial<ReduceFunction<T>>)?.reduce !== 'function')
      throw invalidProgram('WindowedStream.reduce() takes a function or an object with a reduce() method.');
    return this.build('Reduce', new ReduceContents<T>(fn), windowFunction);
  }

  /** Folds each window's records into an accumulator as they arrive (Flink's AggregateFunction). */
  aggregate<ACC, V>(fn: AggregateFunction<T, ACC, V>): SingleOutputStreamOperator<V>;
  aggregate<ACC, V, R>(
    fn: AggregateFunction<T, ACC, V>,
    windowFunction: Pick<ProcessWindowFunction<V, R, K, W>, 'process'>,
  ): SingleOutputStreamOperator<R>;
  aggregate<ACC, V, R>(
    fn: AggregateFunction<T, ACC, V>,
    windowFunction?: Pick<ProcessWindowFunction<V, R, K, W>, 'process'>,
  ): SingleOutputStreamOperator<R> {
    for (const method of ['createAccumulator', 'add', 'getResult'] as const)
      if (typeof (fn as Partial<AggregateFunction<T, ACC, V>>)?.[method] !== 'function')
        throw invalidProgram(
          `WindowedStream.aggregate() takes an AggregateFunction; it has no ${method}() method.`,
        );
    if (this.assigner instanceof MergingWindowAssigner && typeof fn.merge !== 'function')
      throw invalidProgram(
        `WindowedStream.aggregate() on merging windows (${this.assigner.toString()}) needs an AggregateFunction with merge(a, b).`,
      );
    return this.build('Aggregate', new AggregateContents<T, ACC, V>(fn), windowFunction);
  }

  /** Keeps every record of a window and hands them all to `windowFunction` when it fires. */
  process<R>(
    windowFunction: Pick<ProcessWindowFunction<T, R, K, W>, 'process'>,
  ): SingleOutputStreamOperator<R> {
    return this.build('Process', new ListContents<T>(), windowFunction);
  }

  private build<ACC, V, R>(
    what: string,
    contents: WindowContents<T, ACC, V>,
    windowFunction: Pick<ProcessWindowFunction<V, R, K, W>, 'process'> | undefined,
  ): SingleOutputStreamOperator<R> {
    if (windowFunction !== undefined && typeof windowFunction?.process !== 'function')
      throw invalidProgram(
        'A window function must be a ProcessWindowFunction (an object with a process() method).',
      );
    const assigner = this.assigner;
    const key = this.input.keySelector;
    const options: WindowOptions<T, W> = {
      trigger: this.windowTrigger,
      evictor: this.windowEvictor,
      allowedLateness: this.lateness,
      lateDataOutputTag: this.lateDataOutputTag,
    };
    const evicting = options.evictor !== undefined;
    const stored = evicting ? new EvictingContents<T, ACC, V>(contents) : contents;
    const trigger = options.trigger ?? assigner.getDefaultTrigger();
    const name = `${evicting ? 'Evicting' : ''}Window(${assigner.toString()}, ${trigger.toString()}${
      evicting ? `, ${String(options.evictor.constructor.name)}` : ''
    }, ${what})`;
    return this.input.windowOperator<R>(name, {
      kind: 'Window',
      create: () =>
        new WindowOperator<K, T, unknown, V, R, W>(
          assigner,
          stored,
          windowFunction as ProcessWindowFunction<V, R, K, W> | undefined,
          key,
          options,
        ),
    });
  }
}
