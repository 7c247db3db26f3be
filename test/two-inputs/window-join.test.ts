// Window join and coGroup end to end: a tagged union of two event-time streams keyed by each
// side's key, in tumbling and sliding windows; results against a direct computation.
import { describe, expect, it } from 'vitest';
import {
  SlidingEventTimeWindows,
  TumblingEventTimeWindows,
  WatermarkStrategy,
  type Collector,
  type CoGroupFunction,
  type RuntimeContext,
  type StreamExecutionEnvironment,
} from 'sluice';
import { runToEnd } from '../support/checkpointing.js';
import { envAt, expectSameMultiset } from '../support/helpers.js';
import { EVENTS, OUT_OF_ORDERNESS_MS, event, eventSource, type Event } from '../fixtures/event-time-job.js';

const SIZE = 200;

function inputs(env: StreamExecutionEnvironment) {
  env.getConfig().setAutoWatermarkInterval(10);
  const strategy = WatermarkStrategy.forBoundedOutOfOrderness<Event>(
    OUT_OF_ORDERNESS_MS,
  ).withTimestampAssigner((e) => e.time);
  const left = env.fromSource(eventSource(Infinity), strategy, 'left').filter((e) => e.i % 2 === 0);
  const right = env.fromSource(eventSource(6000), strategy, 'right').filter((e) => e.i % 2 === 1);
  return { left, right };
}

/** The windows (starts) of `time`: tumbling when slide = size. */
function starts(time: number, size: number, slide: number): number[] {
  const out: number[] = [];
  for (let s = Math.floor(time / slide) * slide; s > time - size; s -= slide) out.push(s);
  return out;
}

function expectedJoin(size: number, slide: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < EVENTS; i += 2)
    for (let j = 1; j < EVENTS; j += 2) {
      const l = event(i);
      const r = event(j);
      if (l.key !== r.key) continue;
      const shared = starts(l.time, size, slide).filter((s) => starts(r.time, size, slide).includes(s));
      for (const _ of shared) out.push(`${i}-${j}`);
    }
  return out;
}

describe('window join', () => {
  it.each([
    ['tumbling', SIZE, SIZE],
    ['sliding', SIZE, SIZE / 2],
  ])(
    'join(...).where().equalTo().window(%s).apply(JoinFunction) joins the pairs of each key and window',
    async (_, size, slide) => {
      const env = envAt(2);
      const { left, right } = inputs(env);
      const assigner =
        size === slide ? TumblingEventTimeWindows.of(size) : SlidingEventTimeWindows.of(size, slide);
      const joined = left
        .join(right)
        .where((e) => e.key)
        .equalTo((e) => e.key)
        .window(assigner)
        .apply((l: Event, r: Event) => `${l.i}-${r.i}`);
      const { records } = await runToEnd(env, joined);
      const expected = expectedJoin(size, slide);
      expect(expected.length).toBeGreaterThan(100);
      expectSameMultiset(records, expected);
    },
  );

  it('apply(FlatJoinFunction) emits what it collects, with the rich function opened', async () => {
    const env = envAt(2);
    const { left, right } = inputs(env);
    let opened = 0;
    const joined = left
      .join(right)
      .where((e) => e.key)
      .equalTo((e) => e.key)
      .window(TumblingEventTimeWindows.of(SIZE))
      .apply({
        open(_ctx: RuntimeContext) {
          opened++;
        },
        join(l: Event, r: Event, out: Collector<string>) {
          if ((l.i + r.i) % 3 === 0) out.collect(`${l.i}-${r.i}`);
        },
      });
    const { records } = await runToEnd(env, joined);
    expectSameMultiset(
      records,
      expectedJoin(SIZE, SIZE).filter((p) => {
        const [a, b] = p.split('-').map(Number);
        return (a! + b!) % 3 === 0;
      }),
    );
    expect(opened).toBe(2);
  });
});

describe('window coGroup', () => {
  it('hands each key and window both sides records, also when one side has none', async () => {
    const env = envAt(3);
    const { left, right } = inputs(env);
    // The right side only has keys 0..2: windows of keys 3 and 4 have left records only.
    const counts: CoGroupFunction<Event, Event, string> = {
      coGroup(first: Iterable<Event>, second: Iterable<Event>, out: Collector<string>) {
        const l = [...first];
        const r = [...second];
        const key = (l[0] ?? r[0])!.key;
        const window = Math.floor((l[0] ?? r[0])!.time / SIZE) * SIZE;
        out.collect(`${key}@${window}:${l.length}/${r.length}`);
      },
    };
    const grouped = left
      .coGroup(right.filter((e) => e.key < 3))
      .where((e) => e.key)
      .equalTo((e) => e.key)
      .window(TumblingEventTimeWindows.of(SIZE))
      .apply(counts);
    const { records } = await runToEnd(env, grouped);
    const expected = new Map<string, [number, number]>();
    for (let i = 0; i < EVENTS; i++) {
      const e = event(i);
      if (i % 2 === 1 && e.key >= 3) continue;
      const id = `${e.key}@${Math.floor(e.time / SIZE) * SIZE}`;
      const c: [number, number] = expected.get(id) ?? [0, 0];
      c[i % 2] = c[i % 2]! + 1;
      expected.set(id, c);
    }
    expectSameMultiset(
      records,
      [...expected].map(([id, [l, r]]) => `${id}:${l}/${r}`),
    );
    expect(records.some((r) => r.endsWith('/0'))).toBe(true);
  });
});
