// Every window type end to end on both state backends: sliding windows,
// tumbling and sliding count windows, global windows with the end-of-stream trigger and processing-
// time sessions (BATCH, where processing-time timers fire at the end of input); allowed lateness
// with the late-data side output; and event-time session windows across a failure, restored
// exactly once.
import { describe, expect, it } from 'vitest';
import {
  EmbeddedLmdbStateBackend,
  EventTimeSessionWindows,
  GlobalWindows,
  OutputTag,
  ProcessingTimeSessionWindows,
  ProcessWindowFunction,
  RichMapFunction,
  SlidingEventTimeWindows,
  TumblingEventTimeWindows,
  WatermarkStrategy,
  type AggregateFunction,
  type Collector,
  type DataStream,
  type GlobalWindow,
  type ProcessWindowContext,
  type RuntimeContext,
  type Source,
  type SourceSplit,
  type StreamExecutionEnvironment,
  type TimeWindow,
} from 'sluice';
import { runToEnd, withTempDir } from '../support/checkpointing.js';
import { failureMidInput } from '../support/event-time-failure.js';
import { envAt, expectSameMultiset } from '../support/helpers.js';
import {
  EVENTS,
  KEYS,
  OUT_OF_ORDERNESS_MS,
  event,
  eventSource,
  type Event,
} from '../fixtures/event-time-job.js';

const BACKENDS = ['hashmap', 'lmdb'] as const;
/** Sessions of a key: its events come about every 50 ms ± 49, so a 40 ms gap splits some and not others. */
const GAP = 40;

interface CountSum {
  count: number;
  sum: number;
}
const countAndSum: AggregateFunction<Event, CountSum, CountSum> = {
  createAccumulator: () => ({ count: 0, sum: 0 }),
  add: (e, acc) => {
    acc.count++;
    acc.sum += e.i;
    return acc;
  },
  getResult: (acc) => ({ count: acc.count, sum: acc.sum }),
  merge: (a, b) => ({ count: a.count + b.count, sum: a.sum + b.sum }),
};

/** `kind key [start,end) count sum` per firing of a time window. */
class TimeLabel extends ProcessWindowFunction<CountSum, string, number, TimeWindow> {
  constructor(private readonly kind: string) {
    super();
  }
  process(
    key: number,
    ctx: ProcessWindowContext<TimeWindow>,
    elements: Iterable<CountSum>,
    out: Collector<string>,
  ) {
    const w = ctx.window();
    for (const { count, sum } of elements)
      out.collect(`${this.kind} ${key} [${w.getStart()},${w.getEnd()}) ${count} ${sum}`);
  }
}

/** `kind key count [sum]` per firing of a global window. */
class GlobalLabel extends ProcessWindowFunction<Event, string, number, GlobalWindow> {
  constructor(
    private readonly kind: string,
    private readonly withSum: boolean,
  ) {
    super();
  }
  process(
    key: number,
    _ctx: ProcessWindowContext<GlobalWindow>,
    elements: Iterable<Event>,
    out: Collector<string>,
  ) {
    const all = [...elements];
    const sum = this.withSum ? ` ${all.reduce((s, e) => s + e.i, 0)}` : '';
    out.collect(`${this.kind} ${key} ${all.length}${sum}`);
  }
}

/** The events of each key, in event-time order. */
function eventsByKey(): Map<number, Event[]> {
  const byKey = new Map<number, Event[]>();
  for (let i = 0; i < EVENTS; i++) {
    const e = event(i);
    byKey.set(e.key, [...(byKey.get(e.key) ?? []), e]);
  }
  for (const list of byKey.values()) list.sort((a, b) => a.time - b.time);
  return byKey;
}

/** Sessions computed directly: a key's event joins the session whose last event is at most GAP before it. */
function expectedSessions(kind = 'session'): string[] {
  const out: string[] = [];
  for (const [key, events] of eventsByKey()) {
    let session: Event[] = [];
    const close = () => {
      const start = session[0]!.time;
      const end = session[session.length - 1]!.time + GAP;
      out.push(`${kind} ${key} [${start},${end}) ${session.length} ${session.reduce((s, e) => s + e.i, 0)}`);
    };
    for (const e of events) {
      if (session.length > 0 && e.time - session[session.length - 1]!.time > GAP) {
        close();
        session = [];
      }
      session.push(e);
    }
    close();
  }
  return out;
}

function expectedSliding(): string[] {
  const windows = new Map<string, CountSum>();
  for (let i = 0; i < EVENTS; i++) {
    const e = event(i);
    for (let start = Math.floor(e.time / 500) * 500; start > e.time - 1000; start -= 500) {
      const id = `sliding ${e.key} [${start},${start + 1000})`;
      const w = windows.get(id) ?? { count: 0, sum: 0 };
      windows.set(id, { count: w.count + 1, sum: w.sum + e.i });
    }
  }
  return [...windows].map(([id, { count, sum }]) => `${id} ${count} ${sum}`);
}

/** Count windows hold whichever records came first, so only their sizes are certain. */
function expectedCounts(): string[] {
  const out: string[] = [];
  for (const [key, events] of eventsByKey()) {
    const n = events.length;
    for (let f = 0; f < Math.floor(n / 25); f++) out.push(`count ${key} 25`);
    for (let seen = 2; seen <= n; seen += 2) out.push(`scount ${key} ${Math.min(seen, 4)}`);
    out.push(`global ${key} ${n} ${events.reduce((s, e) => s + e.i, 0)}`);
  }
  return out;
}

const strategy = () =>
  WatermarkStrategy.forBoundedOutOfOrderness<Event>(OUT_OF_ORDERNESS_MS).withTimestampAssigner((e) => e.time);

/**
 * The event-time windows of every kind but sessions over the events, as labelled strings.
 * Sessions run on both backends in their own job below, with a failure and a restore.
 */
function allWindowTypes(env: StreamExecutionEnvironment): DataStream<string> {
  // Paced, with frequent watermarks, so that sessions close as the input goes (as in a real job)
  // rather than all being in flight at once.
  env.getConfig().setAutoWatermarkInterval(20);
  const keyed = env.fromSource(eventSource(3000), strategy(), 'events').keyBy((e) => e.key);
  const sliding = keyed
    .window(SlidingEventTimeWindows.of(1000, 500))
    .aggregate(countAndSum, new TimeLabel('sliding'));
  const countsWithKey = keyed.countWindow(25).process(new GlobalLabel('count', false));
  const slidingCounts = keyed.countWindow(4, 2).process(new GlobalLabel('scount', false));
  const global = keyed
    .window(GlobalWindows.createWithEndOfStreamTrigger())
    .process(new GlobalLabel('global', true));
  return sliding.union(countsWithKey, slidingCounts, global);
}

describe.each(BACKENDS)('every window type (%s)', (backend) => {
  it('gives each window type its results, from state kept in the backend', async () => {
    const env = envAt(2);
    if (backend === 'lmdb') env.setStateBackend(new EmbeddedLmdbStateBackend());
    const { records } = await runToEnd(env, allWindowTypes(env), 50_000);
    expectSameMultiset(records, [...expectedSliding(), ...expectedCounts()]);
  });

  it('processing-time sessions in BATCH: one session per key, fired at the end of input', async () => {
    const env = envAt(2).setRuntimeMode('BATCH');
    if (backend === 'lmdb') env.setStateBackend(new EmbeddedLmdbStateBackend());
    const stream = env
      .fromSource(eventSource(Infinity), WatermarkStrategy.noWatermarks<Event>(), 'events')
      .keyBy((e) => e.key)
      .window(ProcessingTimeSessionWindows.withGap(3_600_000))
      .aggregate(countAndSum)
      .map((c) => `${c.count} ${c.sum}`);
    const { records } = await runToEnd(env, stream);
    expectSameMultiset(
      records,
      [...eventsByKey().values()].map((es) => `${es.length} ${es.reduce((s, e) => s + e.i, 0)}`),
    );
    expect(records).toHaveLength(KEYS);
  });
});

describe('allowed lateness end to end', () => {
  it('re-fires windows for late records within the lateness and side-outputs later ones, across the network', async () => {
    const env = envAt(2);
    const late = new OutputTag<[string, number]>('late');
    // Punctuated watermarks, one per record, from one source subtask: which records are late is certain.
    const punctuated = WatermarkStrategy.forGenerator<[string, number]>(() => ({
      onEvent: (_e, timestamp, output) => output.emitWatermark(timestamp),
      onPeriodicEmit: () => {},
    })).withTimestampAssigner((e) => e[1]);
    const data: [string, number][] = [
      ['a', 3],
      ['b', 4],
      ['a', 20], // watermark 20: [0,10) fires for a and b
      ['a', 5], // late by 15 < 30: a's [0,10) fires again
      ['b', 45], // watermark 45: [0,10) is cleaned up (9 + 30 <= 45)
      ['a', 6], // too late: side output
      ['b', 7], // too late: side output
    ];
    const windows = env
      .fromData(...data)
      .assignTimestampsAndWatermarks(punctuated)
      .setParallelism(1)
      .keyBy((e) => e[0])
      .window(TumblingEventTimeWindows.of(10))
      .allowedLateness(30)
      .sideOutputLateData(late)
      .process(
        new (class extends ProcessWindowFunction<[string, number], string, string> {
          process(
            k: string,
            ctx: ProcessWindowContext,
            elements: Iterable<[string, number]>,
            out: Collector<string>,
          ) {
            out.collect(`${k}@${ctx.window().getStart()}: ${[...elements].map((e) => e[1]).join(',')}`);
          }
        })(),
      );
    const lateRecords = windows
      .getSideOutput(late)
      .keyBy((e) => e[0])
      .map((e) => `late ${e[0]} ${e[1]}`);
    const { records } = await runToEnd(env, windows.union(lateRecords));
    expectSameMultiset(records, [
      'a@0: 3',
      'b@0: 4',
      'a@0: 3,5',
      'a@20: 20',
      'b@40: 45',
      'late a 6',
      'late b 7',
    ]);
  });
});

/** Calls `check` on each event with the subtask's attempt number (where the failure is injected). */
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

function sessionJob(
  env: StreamExecutionEnvironment,
  source: Source<Event, SourceSplit, unknown>,
  check: (e: Event, attempt: number) => void,
): DataStream<string> {
  return env
    .fromSource(source, strategy(), 'events')
    .uid('events')
    .map(new Checked(check))
    .uid('checked')
    .keyBy((e) => e.key)
    .window(EventTimeSessionWindows.withGap(GAP))
    .aggregate(countAndSum, new TimeLabel('session'))
    .uid('sessions');
}

describe.each(BACKENDS)('session windows with checkpoints and a failure (%s)', (backend) => {
  it(
    'restore open sessions and their merging state, and give every session exactly once',
    () =>
      withTempDir(async (dir) => {
        const env = envAt(2);
        const scenario = failureMidInput(env, backend, dir, 'before the session windows');
        const { records, result } = await runToEnd(
          env,
          sessionJob(env, scenario.source, scenario.check),
          40_000,
        );
        expect(scenario.fired()).toBe(true);
        expect(result.checkpoints.lastRestoredCheckpointId).toBeGreaterThan(0);
        expectSameMultiset(records, expectedSessions());
      }),
    120_000,
  );
});
