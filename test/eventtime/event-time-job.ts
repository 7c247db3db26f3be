/**
 * The event-time job of the end-to-end tests: a bounded-out-of-orderness source over more splits
 * than readers, keyBy, and a KeyedProcessFunction counting per key per 1000 ms event-time bucket
 * with event-time timers, emitting at each bucket's end; then a rebalance and a ProcessFunction
 * that reads the timestamp each count carries across the network.
 */
import {
  DataGeneratorSource,
  KeyedProcessFunction,
  MapStateDescriptor,
  ProcessFunction,
  StaticSplitEnumerator,
  TimeDomain,
  WatermarkStrategy,
  type Collector,
  type DataStream,
  type KeyedProcessContext,
  type MapState,
  type OnTimerContext,
  type ProcessContext,
  type RuntimeContext,
  type Source,
  type SourceSplit,
  type StreamExecutionEnvironment,
} from 'sluice';
import { splitRange, type RangeSplit } from '../../src/api/source/range-sources.js';
import { HoldingReader } from '../support/checkpointing.js';

/** Events, keys, buckets and out-of-orderness of the job. */
export const EVENTS = 3000;
export const KEYS = 5;
export const BUCKET_MS = 1000;
export const OUT_OF_ORDERNESS_MS = 50;
/** Splits of the source: more than readers, so each reader reads several in turn. */
export const SPLITS = 6;

/** One event: its index, key and event time (out of order by less than OUT_OF_ORDERNESS_MS). */
export interface Event {
  readonly i: number;
  readonly key: number;
  readonly time: number;
}

/** Event `i`: times rise 10 ms per event, each up to 49 ms early. */
export function event(i: number): Event {
  return { i, key: (i * 7) % KEYS, time: 10 * i + 1000 - ((i * 7919) % OUT_OF_ORDERNESS_MS) };
}

/** What the job emits per key and bucket, with the timestamp the record carried downstream. */
export interface BucketCount {
  readonly key: number;
  readonly bucket: number;
  readonly count: number;
  readonly timestamp: number | null;
}

/** The expected output, computed directly: each bucket's count once, timestamped with the bucket's last ms. */
export function expectedCounts(): BucketCount[] {
  const counts = new Map<string, BucketCount>();
  for (let i = 0; i < EVENTS; i++) {
    const e = event(i);
    const bucket = Math.floor(e.time / BUCKET_MS) * BUCKET_MS;
    const id = `${e.key}/${bucket}`;
    const c = counts.get(id);
    counts.set(id, { key: e.key, bucket, count: (c?.count ?? 0) + 1, timestamp: bucket + BUCKET_MS - 1 });
  }
  return [...counts.values()];
}

/** Counts per key per bucket in MapState; a bucket's event-time timer emits and clears it. */
export class BucketCounter extends KeyedProcessFunction<number, Event, BucketCount> {
  /** The highest watermark any record met (all subtasks, attempts): it shows watermarks flowed before the end. */
  static highestWatermarkSeen = Number.MIN_SAFE_INTEGER;
  private counts!: MapState<number, number>;
  constructor(private readonly beforeEach: (e: Event, attempt: number) => void = () => {}) {
    super();
  }
  private attempt = 0;
  open(ctx: RuntimeContext): void {
    this.attempt = ctx.getAttemptNumber();
    this.counts = ctx.getMapState(new MapStateDescriptor<number, number>('counts'));
  }
  processElement(e: Event, ctx: KeyedProcessContext<number>, _out: Collector<BucketCount>): void {
    this.beforeEach(e, this.attempt);
    const watermark = ctx.timerService().currentWatermark();
    if (watermark > BucketCounter.highestWatermarkSeen) BucketCounter.highestWatermarkSeen = watermark;
    if (ctx.timestamp() !== e.time) throw new Error(`record ${e.i} has timestamp ${ctx.timestamp()}`);
    if (e.time <= ctx.timerService().currentWatermark())
      throw new Error(
        `record ${e.i} at ${e.time} is late: watermark ${ctx.timerService().currentWatermark()}`,
      );
    const bucket = Math.floor(e.time / BUCKET_MS) * BUCKET_MS;
    this.counts.put(bucket, (this.counts.get(bucket) ?? 0) + 1);
    ctx.timerService().registerEventTimeTimer(bucket + BUCKET_MS - 1);
  }
  onTimer(timestamp: number, ctx: OnTimerContext<number>, out: Collector<BucketCount>): void {
    if (ctx.timeDomain() !== TimeDomain.EVENT_TIME) throw new Error(`timer in ${ctx.timeDomain()}`);
    const bucket = timestamp - BUCKET_MS + 1;
    out.collect({ key: ctx.getCurrentKey(), bucket, count: this.counts.get(bucket) ?? 0, timestamp: null });
    this.counts.remove(bucket);
  }
}

/** Puts the timestamp each count arrived with into it. */
class StampReader extends ProcessFunction<BucketCount, BucketCount> {
  processElement(c: BucketCount, ctx: ProcessContext, out: Collector<BucketCount>): void {
    out.collect({ ...c, timestamp: ctx.timestamp() });
  }
}

/**
 * A generator source of `event(i)` whose enumerator makes SPLITS splits whatever the parallelism;
 * `onEmit` is called per record, and its readers emit nothing while `held()`.
 */
export function eventSource(
  recordsPerSecond: number,
  onEmit: () => void = () => {},
  held: () => boolean = () => false,
): Source<Event, SourceSplit, unknown> {
  const inner = new DataGeneratorSource(
    (i) => {
      onEmit();
      return event(i);
    },
    EVENTS,
    { recordsPerSecond },
  ) as Source<Event, SourceSplit, unknown>;
  return {
    getBoundedness: () => inner.getBoundedness(),
    createEnumerator: (ctx) => new StaticSplitEnumerator(ctx, splitRange(0, EVENTS - 1, SPLITS)),
    restoreEnumerator: (ctx, state) => new StaticSplitEnumerator(ctx, state as RangeSplit[]),
    createReader: (ctx) => new HoldingReader(inner.createReader(ctx), () => !held()),
  };
}

/** Builds the job on `env`; returns the stream to collect. */
export function bucketCountJob(
  env: StreamExecutionEnvironment,
  source: Source<Event, SourceSplit, unknown>,
  counter: BucketCounter = new BucketCounter(),
): DataStream<BucketCount> {
  const strategy = WatermarkStrategy.forBoundedOutOfOrderness<Event>(
    OUT_OF_ORDERNESS_MS,
  ).withTimestampAssigner((e) => e.time);
  return env
    .fromSource(source, strategy, 'events')
    .uid('events')
    .keyBy((e) => e.key)
    .process(counter)
    .uid('bucket-counter')
    .rebalance()
    .process(new StampReader())
    .uid('stamps');
}
