// The interval join end to end: every pair of equal keys within the bounds (inclusive and
// exclusive), output stamped with the later timestamp; exactly once across a failure and a
// restore from a checkpoint, on both state backends.
import { describe, expect, it } from 'vitest';
import {
  ProcessFunction,
  ProcessJoinFunction,
  WatermarkStrategy,
  type Collector,
  type ProcessContext,
  type ProcessJoinContext,
  type RuntimeContext,
  type Source,
  type SourceSplit,
  type StreamExecutionEnvironment,
} from 'sluice';
import { runToEnd, withTempDir } from '../support/checkpointing.js';
import { failureMidInput } from '../support/event-time-failure.js';
import { envAt, expectSameMultiset, throwsWith } from '../support/helpers.js';
import { EVENTS, OUT_OF_ORDERNESS_MS, event, eventSource, type Event } from '../fixtures/event-time-job.js';

interface Pair {
  readonly l: number;
  readonly r: number;
  readonly ts: number | null;
}

class PairUp extends ProcessJoinFunction<Event, Event, Pair> {
  private attempt = 0;
  constructor(private readonly check: (e: Event, attempt: number) => void = () => {}) {
    super();
  }
  open(ctx: RuntimeContext): void {
    this.attempt = ctx.getAttemptNumber();
  }
  processElement(l: Event, r: Event, ctx: ProcessJoinContext, out: Collector<Pair>): void {
    this.check(l, this.attempt);
    if (ctx.getLeftTimestamp() !== l.time || ctx.getRightTimestamp() !== r.time)
      throw new Error(
        `pair ${l.i}/${r.i} has timestamps ${ctx.getLeftTimestamp()}/${ctx.getRightTimestamp()}`,
      );
    out.collect({ l: l.i, r: r.i, ts: null });
  }
}

/** Puts the timestamp each pair arrived with into it. */
class Stamp extends ProcessFunction<Pair, Pair> {
  processElement(p: Pair, ctx: ProcessContext, out: Collector<Pair>): void {
    out.collect({ ...p, ts: ctx.timestamp() });
  }
}

interface Bounds {
  readonly lower: number;
  readonly upper: number;
  readonly lowerExclusive?: boolean;
  readonly upperExclusive?: boolean;
}

/** Even events on the left, odd ones on the right, joined by key within `b`, computed directly. */
function expectedPairs(b: Bounds): Pair[] {
  const pairs: Pair[] = [];
  for (let i = 0; i < EVENTS; i += 2)
    for (let j = 1; j < EVENTS; j += 2) {
      const l = event(i);
      const r = event(j);
      if (l.key !== r.key) continue;
      const d = r.time - l.time;
      const aboveLower = b.lowerExclusive === true ? d > b.lower : d >= b.lower;
      const belowUpper = b.upperExclusive === true ? d < b.upper : d <= b.upper;
      if (aboveLower && belowUpper) pairs.push({ l: i, r: j, ts: Math.max(l.time, r.time) });
    }
  return pairs;
}

function joinJob(
  env: StreamExecutionEnvironment,
  first: Source<Event, SourceSplit, unknown>,
  second: Source<Event, SourceSplit, unknown>,
  b: Bounds,
  fn: PairUp = new PairUp(),
) {
  const strategy = WatermarkStrategy.forBoundedOutOfOrderness<Event>(
    OUT_OF_ORDERNESS_MS,
  ).withTimestampAssigner((e) => e.time);
  const left = env
    .fromSource(first, strategy, 'left')
    .uid('left')
    .filter((e) => e.i % 2 === 0)
    .uid('evens')
    .keyBy((e) => e.key);
  const right = env
    .fromSource(second, strategy, 'right')
    .uid('right')
    .filter((e) => e.i % 2 === 1)
    .uid('odds')
    .keyBy((e) => e.key);
  let joined = left.intervalJoin(right).between(b.lower, b.upper);
  if (b.lowerExclusive === true) joined = joined.lowerBoundExclusive();
  if (b.upperExclusive === true) joined = joined.upperBoundExclusive();
  return joined.process(fn).uid('interval-join').rebalance().process(new Stamp());
}

describe('intervalJoin', () => {
  it.each([
    { lower: -60, upper: 40 },
    { lower: -50, upper: 50, lowerExclusive: true, upperExclusive: true },
    { lower: 0, upper: 120 },
    { lower: -120, upper: -10 },
  ])('joins every pair of a key within %o, stamped with the later timestamp', async (b) => {
    const env = envAt(2);
    env.getConfig().setAutoWatermarkInterval(10);
    const { records } = await runToEnd(env, joinJob(env, eventSource(Infinity), eventSource(8000), b));
    const expected = expectedPairs(b);
    expect(expected.length).toBeGreaterThan(100);
    expectSameMultiset(records, expected);
  });

  it('refuses bounds that hold no time, and processing time', () => {
    const env = envAt(1);
    const a = env.fromCollection([1]).keyBy((n) => n);
    const b = env.fromCollection([2]).keyBy((n) => n);
    throwsWith(() => a.intervalJoin(b).between(10, -10), 'SLUICE_PROGRAM_INVALID');
    throwsWith(() => a.intervalJoin(b).inProcessingTime(), 'SLUICE_PROGRAM_INVALID');
    throwsWith(
      () =>
        a
          .intervalJoin(b)
          .between(5, 5)
          .lowerBoundExclusive()
          .process(new PairUp() as never),
      'SLUICE_PROGRAM_INVALID',
    );
  });

  describe.each(['hashmap', 'lmdb'] as const)('with checkpoints and a failure (%s)', (backend) => {
    it('joins every pair exactly once', () =>
      withTempDir(async (dir) => {
        const env = envAt(2);
        const scenario = failureMidInput(env, backend, dir, 'in the interval join');
        const b = { lower: -60, upper: 60 };
        const { records, result } = await runToEnd(
          env,
          joinJob(env, scenario.source, eventSource(3000), b, new PairUp(scenario.check)),
          40_000,
        );
        expect(scenario.fired()).toBe(true);
        expect(result.checkpoints.lastRestoredCheckpointId).toBeGreaterThan(0);
        expectSameMultiset(records, expectedPairs(b));
      }));
  });
});
