// Keyed event-time windows end to end: a bounded-out-of-orderness source over more splits than
// readers at parallelism 2, keyBy, tumbling event-time windows aggregated incrementally into a
// ProcessWindowFunction, results crossing the network with the window's maxTimestamp; with and
// without an injected failure (exactly-once: the same results), on both state backends.
import { describe, expect, it } from 'vitest';
import {
  ProcessFunction,
  ProcessWindowFunction,
  RichMapFunction,
  TumblingEventTimeWindows,
  WatermarkStrategy,
  type AggregateFunction,
  type Collector,
  type DataStream,
  type ProcessContext,
  type ProcessWindowContext,
  type RuntimeContext,
  type Source,
  type SourceSplit,
  type StreamExecutionEnvironment,
} from 'sluice';
import { runToEnd, withTempDir } from '../support/checkpointing.js';
import { failureMidInput } from '../support/event-time-failure.js';
import { envAt, expectSameMultiset, rejectsWith, throwsWith } from '../support/helpers.js';
import {
  BUCKET_MS,
  EVENTS,
  OUT_OF_ORDERNESS_MS,
  event,
  eventSource,
  type Event,
} from '../fixtures/event-time-job.js';

/** One window's result: its key, start, how many events and the sum of their indexes, and the timestamp it carried downstream. */
interface WindowSum {
  readonly key: number;
  readonly start: number;
  readonly count: number;
  readonly sum: number;
  readonly timestamp: number | null;
}

/** The expected results, computed directly from the events. */
function expectedSums(): WindowSum[] {
  const sums = new Map<string, WindowSum>();
  for (let i = 0; i < EVENTS; i++) {
    const e = event(i);
    const start = Math.floor(e.time / BUCKET_MS) * BUCKET_MS;
    const id = `${e.key}/${start}`;
    const s = sums.get(id);
    sums.set(id, {
      key: e.key,
      start,
      count: (s?.count ?? 0) + 1,
      sum: (s?.sum ?? 0) + e.i,
      timestamp: start + BUCKET_MS - 1,
    });
  }
  return [...sums.values()];
}

/** Count and sum of `i`, accumulated in place (the state must keep checkpoints apart from later adds). */
const countAndSum: AggregateFunction<Event, { count: number; sum: number }, { count: number; sum: number }> =
  {
    createAccumulator: () => ({ count: 0, sum: 0 }),
    add: (e, acc) => {
      acc.count++;
      acc.sum += e.i;
      return acc;
    },
    getResult: (acc) => ({ count: acc.count, sum: acc.sum }),
    merge: (a, b) => ({ count: a.count + b.count, sum: a.sum + b.sum }),
  };

/** Labels each window's aggregate with its key and start. */
class Label extends ProcessWindowFunction<{ count: number; sum: number }, WindowSum, number> {
  process(
    key: number,
    ctx: ProcessWindowContext,
    elements: Iterable<{ count: number; sum: number }>,
    out: Collector<WindowSum>,
  ): void {
    for (const { count, sum } of elements)
      out.collect({ key, start: ctx.window().getStart(), count, sum, timestamp: null });
  }
}

/** Puts the timestamp each result arrived with into it. */
class StampReader extends ProcessFunction<WindowSum, WindowSum> {
  processElement(w: WindowSum, ctx: ProcessContext, out: Collector<WindowSum>): void {
    out.collect({ ...w, timestamp: ctx.timestamp() });
  }
}

/** Calls `check` on each event with the subtask's attempt number (where a test injects its failure). */
class Checked extends RichMapFunction<Event, Event> {
  private attempt = 0;
  constructor(private readonly check: (e: Event, attempt: number) => void) {
    super();
  }
  open(ctx: RuntimeContext): void {
    this.attempt = ctx.getAttemptNumber();
  }
  map(e: Event): Event {
    this.check(e, this.attempt);
    return e;
  }
}

function windowJob(
  env: StreamExecutionEnvironment,
  source: Source<Event, SourceSplit, unknown>,
  check: (e: Event, attempt: number) => void = () => {},
): DataStream<WindowSum> {
  const strategy = WatermarkStrategy.forBoundedOutOfOrderness<Event>(
    OUT_OF_ORDERNESS_MS,
  ).withTimestampAssigner((e) => e.time);
  return env
    .fromSource(source, strategy, 'events')
    .uid('events')
    .map(new Checked(check))
    .uid('checked')
    .keyBy((e) => e.key)
    .window(TumblingEventTimeWindows.of(BUCKET_MS))
    .aggregate(countAndSum, new Label())
    .uid('windows')
    .rebalance()
    .process(new StampReader())
    .uid('stamps');
}

describe('keyed event-time windows end to end', () => {
  it('sums per key per tumbling window at parallelism 2, each window once, stamped with its maxTimestamp', async () => {
    const env = envAt(2);
    const { records } = await runToEnd(env, windowJob(env, eventSource(Infinity)));
    expectSameMultiset(records, expectedSums());
  });

  it('in BATCH mode, the final watermark fires every window once at the end', async () => {
    const env = envAt(2).setRuntimeMode('BATCH');
    const { records } = await runToEnd(env, windowJob(env, eventSource(Infinity)));
    expectSameMultiset(records, expectedSums());
  });

  describe.each(['hashmap', 'lmdb'] as const)('with checkpoints and a failure (%s)', (backend) => {
    it('gives the same results exactly once', () =>
      withTempDir(async (dir) => {
        const env = envAt(2);
        const scenario = failureMidInput(env, backend, dir, 'before the windows');
        const { records, result } = await runToEnd(
          env,
          windowJob(env, scenario.source, scenario.check),
          40_000,
        );
        expect(scenario.fired()).toBe(true);
        expect(result.checkpoints.lastRestoredCheckpointId).toBeGreaterThan(0);
        expectSameMultiset(records, expectedSums());
      }));
  });

  it('fails a job whose records reach an event-time window without timestamps, saying to assign them', async () => {
    const env = envAt(2);
    const stream = env
      .fromSequence(1, 100)
      .keyBy((n) => n % 3)
      .window(TumblingEventTimeWindows.of(10))
      .reduce((a, b) => a + b);
    const error = await rejectsWith(runToEnd(env, stream), 'SLUICE_WINDOW_NO_TIMESTAMP');
    expect(error.message).toMatch(/assignTimestampsAndWatermarks/);
  });

  it('rejects what is not a window assigner or a window function before the job runs', () => {
    const keyed = envAt(1)
      .fromSequence(1, 10)
      .keyBy((n) => n % 2);
    throwsWith(() => keyed.window({} as never), 'SLUICE_PROGRAM_INVALID');
    const windowed = keyed.window(TumblingEventTimeWindows.of(10));
    throwsWith(() => windowed.aggregate({ add: () => 0 } as never), 'SLUICE_PROGRAM_INVALID');
    throwsWith(() => windowed.reduce({} as never), 'SLUICE_PROGRAM_INVALID');
    throwsWith(() => windowed.reduce((a, b) => a + b, {} as never), 'SLUICE_PROGRAM_INVALID');
  });
});
