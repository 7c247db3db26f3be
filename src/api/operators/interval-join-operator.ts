/**
 * The interval join (Flink's IntervalJoinOperator): `left.intervalJoin(right).between(lower, upper)`
 * joins a left record at time t with every right record of its key in [t + lower, t + upper].
 * Each side's records wait in a keyed MapState from timestamp to the records of that time, and an
 * event-time timer removes them once the watermark has passed the last time the other side could
 * still join them: left ones at t + max(upper, 0), right ones at t - min(lower, 0). It is a
 * KeyedCoProcessOperator running an internal function, so buffers and timers are its keyed
 * state: checkpointed, restored and rescaled with the key groups. Keyed timers have no
 * namespaces, so one timer at time c cleans both buckets whose cleanup time is c (the left bucket
 * c - max(upper, 0), the right bucket c + min(lower, 0)): a timer is never early for either.
 */
import { SluiceError } from '../../core/errors.js';
import { MIN_WATERMARK } from '../../core/watermark.js';
import type { KeySelectorFn } from '../../graph/partitioner.js';
import type { ElementTimestamp } from '../../runtime/element-timestamp.js';
import { MapStateDescriptor } from '../../state/state-descriptor.js';
import type { MapState } from '../../state/state.js';
import type { KeyedCoProcessFunction, ProcessJoinContext, ProcessJoinFunction } from '../co-functions.js';
import type { Collector } from '../functions.js';
import type { KeyedProcessContext, OnTimerContext } from '../process-function.js';
import { closeNestedFunction, openNestedFunction } from '../rich-functions.js';
import type { RuntimeContext } from '../runtime-context.js';
import { KeyedCoProcessOperator } from './co-operators.js';

/** The join's bounds, inclusive unless said otherwise. */
export interface IntervalBounds {
  readonly lower: number;
  readonly upper: number;
  readonly lowerExclusive: boolean;
  readonly upperExclusive: boolean;
}

/** The records of one side of a key, by timestamp (Flink's "LEFT_BUFFER" / "RIGHT_BUFFER"). */
type Buffer<T> = MapState<number, T[]>;

class IntervalJoinProcess<K, L, R, OUT> implements ProcessJoinContext {
  slot!: ElementTimestamp;
  private left!: Buffer<L>;
  private right!: Buffer<R>;
  private leftTimestamp = 0;
  private rightTimestamp = 0;
  /** Inclusive bounds: exclusiveness folded in (timestamps are integers of ms). */
  private readonly lower: number;
  private readonly upper: number;

  constructor(
    bounds: IntervalBounds,
    private readonly fn: ProcessJoinFunction<L, R, OUT>,
  ) {
    this.lower = bounds.lowerExclusive ? bounds.lower + 1 : bounds.lower;
    this.upper = bounds.upperExclusive ? bounds.upper - 1 : bounds.upper;
  }

  open(ctx: RuntimeContext): void {
    this.left = ctx.getMapState(new MapStateDescriptor<number, L[]>('LEFT_BUFFER'));
    this.right = ctx.getMapState(new MapStateDescriptor<number, R[]>('RIGHT_BUFFER'));
    openNestedFunction(this.fn, ctx);
  }

  close(): void {
    closeNestedFunction(this.fn);
  }

  processElement1(value: L, ctx: KeyedProcessContext<K>, out: Collector<OUT>): void {
    const t = this.timestampOf(ctx, 'left');
    if (t === undefined) return;
    add(this.left, t, value);
    for (const [rt, records] of this.right.entries())
      if (rt >= t + this.lower && rt <= t + this.upper)
        for (const r of records) this.emit(value, t, r, rt, out);
    ctx.timerService().registerEventTimeTimer(t + Math.max(this.upper, 0));
  }

  processElement2(value: R, ctx: KeyedProcessContext<K>, out: Collector<OUT>): void {
    const t = this.timestampOf(ctx, 'right');
    if (t === undefined) return;
    add(this.right, t, value);
    for (const [lt, records] of this.left.entries())
      if (t >= lt + this.lower && t <= lt + this.upper)
        for (const l of records) this.emit(l, lt, value, t, out);
    ctx.timerService().registerEventTimeTimer(t - Math.min(this.lower, 0));
  }

  /** The record's timestamp, or undefined for a late record (dropped, as Flink). */
  private timestampOf(ctx: KeyedProcessContext<K>, side: string): number | undefined {
    const t = ctx.timestamp();
    if (t === null)
      throw new SluiceError(
        'SLUICE_WINDOW_NO_TIMESTAMP',
        `a ${side} record reached the interval join without a timestamp. Give both streams timestamps ` +
          'with a WatermarkStrategy (env.fromSource(source, strategy, name) or assignTimestampsAndWatermarks).',
      );
    const watermark = ctx.timerService().currentWatermark();
    return watermark !== MIN_WATERMARK && t < watermark ? undefined : t;
  }

  private emit(l: L, lt: number, r: R, rt: number, out: Collector<OUT>): void {
    const slot = this.slot;
    const hadTimestamp = slot.present;
    const previous = slot.value;
    this.leftTimestamp = lt;
    this.rightTimestamp = rt;
    slot.set(Math.max(lt, rt));
    try {
      this.fn.processElement(l, r, this, out);
    } finally {
      slot.value = previous;
      slot.present = hadTimestamp;
    }
  }

  onTimer(timestamp: number, _ctx: OnTimerContext<K>, _out: Collector<OUT>): void {
    this.left.remove(timestamp - Math.max(this.upper, 0));
    this.right.remove(timestamp + Math.min(this.lower, 0));
  }

  // --- ProcessJoinContext ---
  getLeftTimestamp(): number {
    return this.leftTimestamp;
  }
  getRightTimestamp(): number {
    return this.rightTimestamp;
  }
  getTimestamp(): number {
    return Math.max(this.leftTimestamp, this.rightTimestamp);
  }
}

function add<T>(buffer: Buffer<T>, t: number, value: T): void {
  const records = buffer.get(t);
  if (records === undefined) buffer.put(t, [value]);
  else {
    records.push(value);
    buffer.put(t, records);
  }
}

/** Operator of `left.intervalJoin(right).between(lower, upper).process(fn)`. */
export class IntervalJoinOperator<K, L, R, OUT> extends KeyedCoProcessOperator<K, L, R, OUT> {
  constructor(
    bounds: IntervalBounds,
    fn: ProcessJoinFunction<L, R, OUT>,
    leftKey: KeySelectorFn<L, K>,
    rightKey: KeySelectorFn<R, K>,
  ) {
    super(
      new IntervalJoinProcess<K, L, R, OUT>(bounds, fn) as unknown as KeyedCoProcessFunction<K, L, R, OUT>,
      leftKey,
      rightKey,
    );
  }

  override open(): void {
    (this.userFunction as unknown as IntervalJoinProcess<K, L, R, OUT>).slot = this.info.elementTimestamp;
    super.open();
  }
}
