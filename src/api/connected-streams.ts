/**
 * Two inputs (Flink's ConnectedStreams and BroadcastConnectedStream): `a.connect(b)` and
 * `a.connect(broadcastStream)` build one two-input operator whose inputs keep their own types.
 * `connect` is added to DataStream here, so that this module imports the stream classes and not
 * the other way round.
 */
import { invalidProgram } from '../core/errors.js';
import type { KeySelectorFn } from '../graph/partitioner.js';
import { BroadcastStream } from './broadcast-stream.js';
import {
  BroadcastProcessFunction,
  KeyedBroadcastProcessFunction,
  KeyedCoProcessFunction,
  type CoFlatMapFunction,
  type CoMapFunction,
  type CoProcessFunction,
} from './co-functions.js';
import { DataStream, KeyedStream, SingleOutputStreamOperator } from './datastream.js';
import type { KeySelector } from './functions.js';
import type { KeyCheck } from './hashable-key.js';
import {
  BroadcastProcessOperator,
  KeyedBroadcastProcessOperator,
} from './operators/broadcast-process-operators.js';
import {
  CoFlatMapOperator,
  CoMapOperator,
  CoProcessOperator,
  KeyedCoProcessOperator,
} from './operators/co-operators.js';
import type { OperatorFactory } from './operators/stream-operator.js';
import type { StreamInput } from './stream-builder.js';

declare module './datastream.js' {
  interface DataStream<T> {
    /** Connects a broadcast stream: `process(BroadcastProcessFunction | KeyedBroadcastProcessFunction)`. */
    connect<R>(broadcastStream: BroadcastStream<R>): BroadcastConnectedStream<T, R>;
    /** Connects another stream, of any type: a two-input operator follows (`map`, `flatMap`, `process`). */
    connect<R>(other: DataStream<R>): ConnectedStreams<T, R>;
  }
}

/** The inputs of a two-input operator: the first's producers as input 1, the second's as input 2. */
export function twoInputs(first: readonly StreamInput[], second: readonly StreamInput[]): StreamInput[] {
  return [
    ...first.map((i): StreamInput => ({ ...i, typeNumber: 1 })),
    ...second.map((i): StreamInput => ({ ...i, typeNumber: 2 })),
  ];
}

function requireMethods(fn: unknown, methods: readonly string[], what: string): void {
  for (const m of methods)
    if (typeof (fn as Record<string, unknown> | null)?.[m] !== 'function')
      throw invalidProgram(
        `${what} needs ${methods.map((x) => `${x}()`).join(' and ')}; it has no ${m}() method.`,
      );
}

/** Two streams of possibly different types, processed together by one operator (Flink's ConnectedStreams). */
export class ConnectedStreams<IN1, IN2> {
  /** @internal */
  constructor(
    private readonly first: DataStream<IN1>,
    private readonly second: DataStream<IN2>,
  ) {
    if (first.builder !== second.builder)
      throw invalidProgram('connect() of streams from different environments.');
  }

  getFirstInput(): DataStream<IN1> {
    return this.first;
  }
  getSecondInput(): DataStream<IN2> {
    return this.second;
  }

  /** Keys both inputs (records of equal keys meet in one subtask, with keyed state and timers shared per key). */
  keyBy<K>(
    keySelector1: KeySelector<IN1, K> | ((value: IN1) => K),
    keySelector2: KeySelector<IN2, K> | ((value: IN2) => K),
    ..._check: KeyCheck<K>
  ): ConnectedStreams<IN1, IN2> {
    return new ConnectedStreams(
      this.first.keyBy(keySelector1 as (value: IN1) => string),
      this.second.keyBy(keySelector2 as (value: IN2) => string),
    );
  }

  /** Both inputs are keyed: the operator has keyed state. */
  private keys(): [KeySelectorFn, KeySelectorFn] | undefined {
    const { first, second } = this;
    if (first instanceof KeyedStream && second instanceof KeyedStream)
      return [first.keySelector as KeySelectorFn, second.keySelector as KeySelectorFn];
    if (first instanceof KeyedStream || second instanceof KeyedStream)
      throw invalidProgram(
        'only one of the connected streams is keyed; key both (connected.keyBy(key1, key2), or connect two KeyedStreams) or neither.',
      );
    return undefined;
  }

  private build<R>(name: string, operator: OperatorFactory, keyed: boolean): SingleOutputStreamOperator<R> {
    const keys = keyed ? this.keys() : undefined;
    const t = this.first.builder.addTransformation({
      role: 'operator',
      name,
      inputs: twoInputs(this.first.inputs, this.second.inputs),
      operator,
      ...(keys === undefined ? {} : { keySelector: keys[0] }),
    });
    return new SingleOutputStreamOperator<R>(this.first.builder, t);
  }

  /** Maps each input with its own method (`map1`, `map2`) to one output type. */
  map<R>(fn: CoMapFunction<IN1, IN2, R>): SingleOutputStreamOperator<R> {
    requireMethods(fn, ['map1', 'map2'], 'ConnectedStreams.map() takes a CoMapFunction, which');
    this.keys();
    return this.build('Co-Map', { kind: 'CoMap', create: () => new CoMapOperator(fn) }, false);
  }

  /** Emits zero or more records per record of either input (`flatMap1`, `flatMap2`). */
  flatMap<R>(fn: CoFlatMapFunction<IN1, IN2, R>): SingleOutputStreamOperator<R> {
    requireMethods(
      fn,
      ['flatMap1', 'flatMap2'],
      'ConnectedStreams.flatMap() takes a CoFlatMapFunction, which',
    );
    this.keys();
    return this.build('Co-Flat Map', { kind: 'CoFlatMap', create: () => new CoFlatMapOperator(fn) }, false);
  }

  /**
   * Processes both inputs with a CoProcessFunction, or — when both are keyed — a
   * KeyedCoProcessFunction with keyed state and timers shared by both inputs per key.
   */
  process<R>(
    fn:
      | Pick<CoProcessFunction<IN1, IN2, R>, 'processElement1' | 'processElement2'>
      | Pick<KeyedCoProcessFunction<unknown, IN1, IN2, R>, 'processElement1' | 'processElement2'>,
  ): SingleOutputStreamOperator<R> {
    requireMethods(
      fn,
      ['processElement1', 'processElement2'],
      'ConnectedStreams.process() takes a CoProcessFunction, which',
    );
    const keys = this.keys();
    if (keys === undefined) {
      if (fn instanceof KeyedCoProcessFunction)
        throw invalidProgram(
          'a KeyedCoProcessFunction needs keyed inputs: connected.keyBy(key1, key2).process(fn), or connect two KeyedStreams.',
        );
      return this.build(
        'Co-Process',
        { kind: 'CoProcess', create: () => new CoProcessOperator(fn as CoProcessFunction<IN1, IN2, R>) },
        false,
      );
    }
    const [key1, key2] = keys;
    return this.build(
      'Co-Keyed-Process',
      {
        kind: 'KeyedCoProcess',
        create: () =>
          new KeyedCoProcessOperator(fn as KeyedCoProcessFunction<unknown, IN1, IN2, R>, key1, key2),
      },
      true,
    );
  }
}

/** A stream connected to a broadcast stream (Flink's BroadcastConnectedStream). */
export class BroadcastConnectedStream<IN1, IN2> {
  /** @internal */
  constructor(
    private readonly first: DataStream<IN1>,
    private readonly broadcastStream: BroadcastStream<IN2>,
  ) {
    if (first.builder !== broadcastStream.builder)
      throw invalidProgram('connect() of streams from different environments.');
  }

  getFirstInput(): DataStream<IN1> {
    return this.first;
  }

  /**
   * Processes the stream with the broadcast state the broadcast side writes: a
   * BroadcastProcessFunction, or on a keyed stream a KeyedBroadcastProcessFunction (keyed state,
   * timers, `applyToKeyedState`).
   */
  process<R>(
    fn:
      | Pick<BroadcastProcessFunction<IN1, IN2, R>, 'processElement' | 'processBroadcastElement'>
      | Pick<
          KeyedBroadcastProcessFunction<unknown, IN1, IN2, R>,
          'processElement' | 'processBroadcastElement'
        >,
  ): SingleOutputStreamOperator<R> {
    requireMethods(
      fn,
      ['processElement', 'processBroadcastElement'],
      'BroadcastConnectedStream.process() takes a (Keyed)BroadcastProcessFunction, which',
    );
    const { first, broadcastStream } = this;
    const descriptors = broadcastStream.descriptors;
    const keyed = first instanceof KeyedStream;
    if (!keyed && fn instanceof KeyedBroadcastProcessFunction)
      throw invalidProgram(
        'a KeyedBroadcastProcessFunction needs a keyed stream: stream.keyBy(key).connect(broadcastStream).process(fn).',
      );
    if (keyed && fn instanceof BroadcastProcessFunction)
      throw invalidProgram(
        'a keyed stream connected to a broadcast stream takes a KeyedBroadcastProcessFunction, not a BroadcastProcessFunction.',
      );
    const key = keyed ? (first.keySelector as KeySelectorFn) : undefined;
    const operator: OperatorFactory =
      key === undefined
        ? {
            kind: 'BroadcastProcess',
            create: () =>
              new BroadcastProcessOperator(fn as BroadcastProcessFunction<IN1, IN2, R>, descriptors),
          }
        : {
            kind: 'KeyedBroadcastProcess',
            create: () =>
              new KeyedBroadcastProcessOperator(
                fn as KeyedBroadcastProcessFunction<unknown, IN1, IN2, R>,
                key,
                descriptors,
              ),
          };
    const t = first.builder.addTransformation({
      role: 'operator',
      name: keyed ? 'Co-Process-Broadcast-Keyed' : 'Co-Process-Broadcast',
      inputs: twoInputs(first.inputs, broadcastStream.inputs),
      operator,
      ...(key === undefined ? {} : { keySelector: key }),
    });
    return new SingleOutputStreamOperator<R>(first.builder, t);
  }
}

DataStream.prototype.connect = function connect<T, R>(
  this: DataStream<T>,
  other: DataStream<R> | BroadcastStream<R>,
): never {
  if (other instanceof BroadcastStream) return new BroadcastConnectedStream<T, R>(this, other) as never;
  if (!(other instanceof DataStream))
    throw invalidProgram('connect() takes a DataStream or a BroadcastStream (stream.broadcast(descriptor)).');
  return new ConnectedStreams<T, R>(this, other) as never;
};
