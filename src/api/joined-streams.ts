/**
 * Window joins (Flink's JoinedStreams and CoGroupedStreams):
 * `a.join(b).where(k1).equalTo(k2).window(assigner).apply(fn)` and the same with `coGroup`. As in
 * Flink they are a tagged union of both streams, keyed by each side's key and evaluated by a keyed
 * window: when a window fires, the CoGroupFunction gets both sides' records of the key, and a join
 * calls its JoinFunction per pair (the nested loop Flink runs). `join` and `coGroup` are added to
 * DataStream here, so that this module imports the stream classes and not the other way round.
 */
import { invalidProgram } from '../core/errors.js';
import type { CoGroupFunction, FlatJoinFunction, JoinFunction } from './co-functions.js';
import { DataStream, type SingleOutputStreamOperator } from './datastream.js';
import { keySelectorFn, type Collector, type KeySelector } from './functions.js';
import { closeNestedFunction, openNestedFunction } from './rich-functions.js';
import type { RuntimeContext } from './runtime-context.js';
import { ProcessWindowFunction, type ProcessWindowContext } from './windowing/process-window-function.js';
import { WindowAssigner } from './windowing/window-assigners.js';

declare module './datastream.js' {
  interface DataStream<T> {
    /** Joins this stream with `other` per key and window: `.where(k1).equalTo(k2).window(assigner).apply(fn)`. */
    join<R>(other: DataStream<R>): JoinedStreams<T, R>;
    /** Groups this stream and `other` per key and window: `.where(k1).equalTo(k2).window(assigner).apply(fn)`. */
    coGroup<R>(other: DataStream<R>): CoGroupedStreams<T, R>;
  }
}

/** A record of either input on the union the window reads (Flink's TaggedUnion). */
interface Tagged<T1, T2> {
  /** 1: `one` is set, 2: `two` is. */
  readonly t: 1 | 2;
  readonly one?: T1;
  readonly two?: T2;
}

export type KeyFn<T, K> = KeySelector<T, K> | ((value: T) => K);

/** Hands a window's records, split by input, to the CoGroupFunction (Flink's CoGroupWindowFunction). */
class CoGroupWindowFunction<T1, T2, OUT, K> extends ProcessWindowFunction<Tagged<T1, T2>, OUT, K> {
  constructor(private readonly fn: CoGroupFunction<T1, T2, OUT>) {
    super();
  }
  open(ctx: RuntimeContext): void {
    openNestedFunction(this.fn, ctx);
  }
  close(): void {
    closeNestedFunction(this.fn);
  }
  process(
    _key: K,
    _ctx: ProcessWindowContext,
    elements: Iterable<Tagged<T1, T2>>,
    out: Collector<OUT>,
  ): void {
    const one: T1[] = [];
    const two: T2[] = [];
    for (const e of elements) {
      if (e.t === 1) one.push(e.one as T1);
      else two.push(e.two as T2);
    }
    this.fn.coGroup(one, two, out);
  }
}

/** A join as a CoGroupFunction: the function per pair of the window's records (Flink's JoinCoGroupFunction). */
class JoinCoGroupFunction<T1, T2, OUT> implements CoGroupFunction<T1, T2, OUT> {
  constructor(
    private readonly fn: JoinFunction<T1, T2, OUT> | FlatJoinFunction<T1, T2, OUT>,
    private readonly flat: boolean,
  ) {}
  open(ctx: RuntimeContext): void {
    openNestedFunction(this.fn, ctx);
  }
  close(): void {
    closeNestedFunction(this.fn);
  }
  coGroup(first: Iterable<T1>, second: Iterable<T2>, out: Collector<OUT>): void {
    const second2 = [...second];
    for (const a of first)
      for (const b of second2) {
        if (this.flat) (this.fn as FlatJoinFunction<T1, T2, OUT>).join(a, b, out);
        else out.collect((this.fn as JoinFunction<T1, T2, OUT>).join(a, b));
      }
  }
}

/** A function or an object with `method`, as an object with it. */
function asObject<F extends object>(fn: unknown, method: string, what: string): F {
  if (typeof fn === 'function') return { [method]: fn } as F;
  if (typeof (fn as Record<string, unknown> | null)?.[method] !== 'function')
    throw invalidProgram(`${what} takes a function or an object with a ${method}() method.`);
  return fn as F;
}

/** Builds the tagged union, keyed window and window function of a join or coGroup. */
function windowedCoGroup<T1, T2, K, OUT>(
  first: DataStream<T1>,
  second: DataStream<T2>,
  key1: (value: T1) => K,
  key2: (value: T2) => K,
  assigner: WindowAssigner,
  fn: CoGroupFunction<T1, T2, OUT>,
): SingleOutputStreamOperator<OUT> {
  if (first.builder !== second.builder)
    throw invalidProgram('join()/coGroup() of streams from different environments.');
  const one = first.map((v): Tagged<T1, T2> => ({ t: 1, one: v }));
  const two = second.map((v): Tagged<T1, T2> => ({ t: 2, two: v }));
  return one
    .union(two)
    .keyBy((e: Tagged<T1, T2>) => (e.t === 1 ? key1(e.one as T1) : key2(e.two as T2)) as string)
    .window(assigner)
    .process(new CoGroupWindowFunction<T1, T2, OUT, string>(fn));
}

function checkAssigner(assigner: WindowAssigner): void {
  if (!(assigner instanceof WindowAssigner))
    throw invalidProgram(
      'window() takes a window assigner such as TumblingEventTimeWindows.of(size) or SlidingEventTimeWindows.of(size, slide).',
    );
}

/**
 * The `where(k1).equalTo(k2).window(assigner).apply(fn)` chain of a join and a coGroup of `first`
 * and `second`: `coGroupOf` makes what apply() is given into the function run over each window.
 */
function whereEqualToWindow<T1, T2, K>(
  first: DataStream<T1>,
  second: DataStream<T2>,
  keySelector: KeyFn<T1, K>,
  coGroupOf: (fn: unknown) => CoGroupFunction<T1, T2, unknown>,
): {
  equalTo(keySelector: KeyFn<T2, K>): {
    window(assigner: WindowAssigner): { apply(fn: unknown): SingleOutputStreamOperator<unknown> };
  };
} {
  const key1 = keySelectorFn(keySelector);
  return {
    equalTo: (keySelector2) => {
      const key2 = keySelectorFn(keySelector2);
      return {
        window: (assigner) => {
          checkAssigner(assigner);
          return {
            apply: (fn) => windowedCoGroup(first, second, key1, key2, assigner, coGroupOf(fn)),
          };
        },
      };
    },
  };
}

/** `a.coGroup(b)` (Flink's CoGroupedStreams). */
export class CoGroupedStreams<T1, T2> {
  /** @internal */
  constructor(
    private readonly first: DataStream<T1>,
    private readonly second: DataStream<T2>,
  ) {}

  /** The first input's key. */
  where<K>(keySelector: KeyFn<T1, K>): {
    equalTo(keySelector: KeyFn<T2, K>): {
      window(assigner: WindowAssigner): {
        apply<OUT>(
          fn:
            | CoGroupFunction<T1, T2, OUT>
            | ((first: Iterable<T1>, second: Iterable<T2>, out: Collector<OUT>) => void),
        ): SingleOutputStreamOperator<OUT>;
      };
    };
  } {
    return whereEqualToWindow(this.first, this.second, keySelector, (fn) =>
      asObject<CoGroupFunction<T1, T2, unknown>>(fn, 'coGroup', 'coGroup(...).apply()'),
    ) as never;
  }
}

/** `a.join(b)` (Flink's JoinedStreams). */
export class JoinedStreams<T1, T2> {
  /** @internal */
  constructor(
    private readonly first: DataStream<T1>,
    private readonly second: DataStream<T2>,
  ) {}

  /** The first input's key. */
  where<K>(keySelector: KeyFn<T1, K>): {
    equalTo(keySelector: KeyFn<T2, K>): {
      window(assigner: WindowAssigner): {
        /**
         * A JoinFunction `join(first, second)` returning the joined record, or a FlatJoinFunction
         * `join(first, second, out)` emitting any number (told apart by their number of parameters).
         */
        apply<OUT>(
          fn:
            | JoinFunction<T1, T2, OUT>
            | FlatJoinFunction<T1, T2, OUT>
            | ((first: T1, second: T2) => OUT)
            | ((first: T1, second: T2, out: Collector<OUT>) => void),
        ): SingleOutputStreamOperator<OUT>;
      };
    };
  } {
    return whereEqualToWindow(this.first, this.second, keySelector, (fn) => {
      const join = asObject<JoinFunction<T1, T2, unknown>>(fn, 'join', 'join(...).apply()');
      // A FlatJoinFunction takes the collector as its third parameter.
      return new JoinCoGroupFunction<T1, T2, unknown>(join, join.join.length >= 3);
    }) as never;
  }
}

DataStream.prototype.join = function join<T, R>(
  this: DataStream<T>,
  other: DataStream<R>,
): JoinedStreams<T, R> {
  if (!(other instanceof DataStream)) throw invalidProgram('join() takes a DataStream.');
  return new JoinedStreams<T, R>(this, other);
};

DataStream.prototype.coGroup = function coGroup<T, R>(
  this: DataStream<T>,
  other: DataStream<R>,
): CoGroupedStreams<T, R> {
  if (!(other instanceof DataStream)) throw invalidProgram('coGroup() takes a DataStream.');
  return new CoGroupedStreams<T, R>(this, other);
};
