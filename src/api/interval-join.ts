/**
 * `keyedA.intervalJoin(keyedB).between(lower, upper).process(fn)` (Flink's KeyedStream.IntervalJoin):
 * joins each record of A at time t with the records of B of its key in [t + lower, t + upper], in
 * event time. `intervalJoin` is added to KeyedStream here, so that this module imports the stream
 * classes and not the other way round.
 */
import { Duration } from '../core/duration.js';
import { invalidProgram } from '../core/errors.js';
import type { KeySelectorFn } from '../graph/partitioner.js';
import type { ProcessJoinFunction } from './co-functions.js';
import { twoInputs } from './connected-streams.js';
import { KeyedStream, SingleOutputStreamOperator } from './datastream.js';
import { IntervalJoinOperator, type IntervalBounds } from './operators/interval-join-operator.js';

declare module './datastream.js' {
  interface KeyedStream<T, K> {
    /** Joins this stream's records with `other`'s of the same key whose times lie in an interval around theirs. */
    intervalJoin<R>(other: KeyedStream<R, K>): IntervalJoin<T, R, K>;
  }
}

/** A bound in ms: a number (may be negative) or a Duration. */
function boundMillis(bound: number | Duration, what: string): number {
  const ms = bound instanceof Duration ? bound.toMillis() : bound;
  if (typeof ms !== 'number' || !Number.isFinite(ms))
    throw invalidProgram(
      `intervalJoin().between() needs the ${what} bound as a finite number of ms or a Duration, got ${String(bound)}.`,
    );
  return ms;
}

/** `keyedA.intervalJoin(keyedB)`: give the interval with `between`. */
export class IntervalJoin<T1, T2, K> {
  /** @internal */
  constructor(
    private readonly left: KeyedStream<T1, K>,
    private readonly right: KeyedStream<T2, K>,
  ) {}

  /** The join is in event time (the only time it supports, as in Flink). */
  inEventTime(): this {
    return this;
  }

  /** Flink refuses processing time for interval joins; so does Sluice. */
  inProcessingTime(): never {
    throw invalidProgram('an interval join runs in event time only; remove inProcessingTime().');
  }

  /** Joins a record at time t with the other side's records in [t + lowerBound, t + upperBound] (ms or Durations). */
  between(lowerBound: number | Duration, upperBound: number | Duration): IntervalJoined<T1, T2, K> {
    const lower = boundMillis(lowerBound, 'lower');
    const upper = boundMillis(upperBound, 'upper');
    if (lower > upper)
      throw invalidProgram(
        `intervalJoin().between(${lower}, ${upper}): the lower bound must not be above the upper bound.`,
      );
    return new IntervalJoined(this.left, this.right, lower, upper);
  }
}

/** An interval join with its bounds: make them exclusive, then `process(ProcessJoinFunction)`. */
export class IntervalJoined<T1, T2, K> {
  private lowerExclusive = false;
  private upperExclusive = false;

  /** @internal */
  constructor(
    private readonly left: KeyedStream<T1, K>,
    private readonly right: KeyedStream<T2, K>,
    private readonly lower: number,
    private readonly upper: number,
  ) {}

  lowerBoundExclusive(): this {
    this.lowerExclusive = true;
    return this;
  }

  upperBoundExclusive(): this {
    this.upperExclusive = true;
    return this;
  }

  /** Calls `fn.processElement(left, right, ctx, out)` for each joined pair; output carries the later of their timestamps. */
  process<OUT>(
    fn: Pick<ProcessJoinFunction<T1, T2, OUT>, 'processElement'>,
  ): SingleOutputStreamOperator<OUT> {
    if (typeof (fn as Partial<ProcessJoinFunction<T1, T2, OUT>> | null)?.processElement !== 'function')
      throw invalidProgram(
        'IntervalJoined.process() takes a ProcessJoinFunction (an object with processElement(left, right, ctx, out)).',
      );
    const bounds: IntervalBounds = {
      lower: this.lower,
      upper: this.upper,
      lowerExclusive: this.lowerExclusive,
      upperExclusive: this.upperExclusive,
    };
    if (bounds.lower + (bounds.lowerExclusive ? 1 : 0) > bounds.upper - (bounds.upperExclusive ? 1 : 0))
      throw invalidProgram(
        `intervalJoin().between(${bounds.lower}, ${bounds.upper}) with exclusive bounds holds no time at all.`,
      );
    const { left, right } = this;
    if (left.builder !== right.builder)
      throw invalidProgram('intervalJoin() of streams from different environments.');
    const leftKey = left.keySelector;
    const rightKey = right.keySelector;
    const t = left.builder.addTransformation({
      role: 'operator',
      name: 'Interval Join',
      inputs: twoInputs(left.inputs, right.inputs),
      operator: {
        kind: 'IntervalJoin',
        create: () =>
          new IntervalJoinOperator<K, T1, T2, OUT>(
            bounds,
            fn as ProcessJoinFunction<T1, T2, OUT>,
            leftKey,
            rightKey,
          ),
      },
      keySelector: leftKey as KeySelectorFn,
    });
    return new SingleOutputStreamOperator<OUT>(left.builder, t);
  }
}

KeyedStream.prototype.intervalJoin = function intervalJoin<T, R, K>(
  this: KeyedStream<T, K>,
  other: KeyedStream<R, K>,
): IntervalJoin<T, R, K> {
  if (!(other instanceof KeyedStream))
    throw invalidProgram('intervalJoin() takes a KeyedStream: key the other stream with keyBy() first.');
  return new IntervalJoin<T, R, K>(this, other);
};
