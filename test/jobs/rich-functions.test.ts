// Flink's rich functions in a job: getRuntimeContext() from open(openContext) on, with state, task
// and job facts, metrics and the global job parameters; open(ctx: RuntimeContext) keeps working;
// the function interfaces can be implemented by classes, as in Flink.
import { beforeEach, describe, expect, it } from 'vitest';
import {
  KeyedProcessFunction,
  ParameterTool,
  ProcessFunction,
  RichFilterFunction,
  RichFlatMapFunction,
  RichMapFunction,
  RichReduceFunction,
  RichSinkFunction,
  ValueStateDescriptor,
  type Collector,
  type Counter,
  type FlatMapFunction,
  type KeyedProcessContext,
  type KeySelector,
  type MapFunction,
  type OpenContext,
  type ProcessContext,
  type RuntimeContext,
  type ValueState,
} from 'sluice';
import { PARALLELISMS, envAt, expectSameMultiset, range, throwsWith } from '../support/helpers.js';

// Function objects are copied per subtask; what they observe goes to module level.
let seen: string[] = [];
beforeEach(() => (seen = []));

/** Flink 2.x style: open(OpenContext), then getRuntimeContext() for everything. */
class Tag extends RichMapFunction<number, string> {
  private prefix = '';
  open(_openContext: OpenContext) {
    const info = this.getRuntimeContext().getTaskInfo();
    this.prefix = `${info.getIndexOfThisSubtask()}/${info.getNumberOfParallelSubtasks()}`;
    seen.push(`${this.getRuntimeContext().getJobInfo().getJobName()}: ${info.getTaskNameWithSubtasks()}`);
  }
  map(value: number): string {
    return `${this.prefix}:${value}`;
  }
}

class Words extends RichFlatMapFunction<string, string> {
  flatMap(line: string, out: Collector<string>) {
    const attempt = this.getRuntimeContext().getTaskInfo().getAttemptNumber();
    for (const word of line.split(' ')) out.collect(`${word}@${attempt}`);
  }
}

class NotShort extends RichFilterFunction<string> {
  private min = 0;
  open() {
    this.min = Number(this.getRuntimeContext().getGlobalJobParameters().get('min-length') ?? '0');
  }
  filter(word: string) {
    return word.split('@')[0]!.length >= this.min;
  }
}

/** Keyed state through getRuntimeContext(), declared in open(openContext) as Flink 2.x does. */
class RunningSum extends KeyedProcessFunction<string, [string, number], [string, number]> {
  private sum!: ValueState<number>;
  open(_openContext: OpenContext) {
    this.sum = this.getRuntimeContext().getState(new ValueStateDescriptor<number>('sum'));
  }
  processElement(
    value: [string, number],
    ctx: KeyedProcessContext<string>,
    out: Collector<[string, number]>,
  ) {
    const next = (this.sum.value() ?? 0) + value[1];
    this.sum.update(next);
    out.collect([ctx.getCurrentKey(), next]);
  }
}

describe.each(PARALLELISMS)('at parallelism %i', (p) => {
  it('rich map, flatMap and filter functions reach their context with getRuntimeContext()', async () => {
    const env = envAt(p);
    env.getConfig().setGlobalJobParameters(ParameterTool.fromArgs(['--min-length', '3']));
    const result = env
      .fromElements('a bb ccc', 'dddd e')
      .flatMap(new Words())
      .filter(new NotShort())
      .collectAsync();
    await env.execute('rich');
    expectSameMultiset(await result.toArray(), ['ccc@0', 'dddd@0']);
  });

  it('a rich map function sees its own subtask’s facts and the job’s name', async () => {
    const env = envAt(p);
    const result = env.fromSequence(1, 40).rebalance().map(new Tag()).name('tag').collectAsync();
    await env.execute('facts');
    const rows = await result.toArray();
    expect(rows).toHaveLength(40);
    expect(new Set(rows.map((r) => r.split(':')[0]))).toEqual(
      new Set(range(0, p - 1).map((i) => `${i}/${p}`)),
    );
    // The task is the chain the map runs in (with the collect sink at parallelism 1).
    expect(seen.map((s) => s.replace(/ -> Collect Sink/u, '')).sort()).toEqual(
      range(1, p).map((i) => `facts: tag (${i}/${p})`),
    );
  });

  it('a KeyedProcessFunction declares keyed state through getRuntimeContext() in open(openContext)', async () => {
    const env = envAt(p);
    const input: [string, number][] = range(1, 30).map((i) => [`k${i % 3}`, i]);
    const result = env
      .fromCollection(input)
      .keyBy((v) => v[0])
      .process(new RunningSum())
      .collectAsync();
    await env.execute();
    const finals = new Map<string, number>();
    for (const [k, v] of await result.toArray()) finals.set(k, Math.max(finals.get(k) ?? 0, v));
    expect(Object.fromEntries(finals)).toEqual({
      k0: range(1, 30)
        .filter((i) => i % 3 === 0)
        .reduce((a, b) => a + b, 0),
      k1: range(1, 30)
        .filter((i) => i % 3 === 1)
        .reduce((a, b) => a + b, 0),
      k2: range(1, 30)
        .filter((i) => i % 3 === 2)
        .reduce((a, b) => a + b, 0),
    });
  });
});

describe('rich functions', () => {
  it('a function whose open takes the RuntimeContext still gets it, rich or not', async () => {
    class OldStyle extends KeyedProcessFunction<number, number, string> {
      private count!: ValueState<number>;
      open(ctx: RuntimeContext) {
        this.count = ctx.getState(new ValueStateDescriptor<number>('count'));
        seen.push(`same context: ${String(ctx === this.getRuntimeContext())}`);
      }
      processElement(value: number, _ctx: KeyedProcessContext<number>, out: Collector<string>) {
        const n = (this.count.value() ?? 0) + 1;
        this.count.update(n);
        out.collect(`${value}#${n}`);
      }
    }
    const env = envAt(1);
    const result = env
      .fromElements(1, 1, 2)
      .map({
        open: (ctx: RuntimeContext) => void seen.push(`plain ${ctx.getTaskInfo().getTaskName()}`),
        map: (x: number) => x,
      })
      .keyBy((x) => x)
      .process(new OldStyle())
      .collectAsync();
    await env.execute();
    expect(await result.toArray()).toEqual(['1#1', '1#2', '2#1']);
    expect(seen.sort()).toEqual(['plain Collection Source -> Map', 'same context: true']);
  });

  it('getRuntimeContext() before open says where it can be called', () => {
    class TooEarly extends RichMapFunction<number, number> {
      readonly index = this.getRuntimeContext().getIndexOfThisSubtask();
      map(x: number) {
        return x;
      }
    }
    const error = throwsWith(() => new TooEarly(), 'SLUICE_PROGRAM_INVALID');
    expect(error.message).toMatch(/call getRuntimeContext\(\) in open\(\) or later, not in the constructor/u);
  });

  it('a ProcessFunction is rich too, and its records carry no timestamp yet: ctx.timestamp() is null', async () => {
    class Stamp extends ProcessFunction<number, string> {
      processElement(value: number, ctx: ProcessContext, out: Collector<string>) {
        const index = this.getRuntimeContext().getTaskInfo().getIndexOfThisSubtask();
        out.collect(`${value} ts=${String(ctx.timestamp())} subtask=${index}`);
      }
    }
    const env = envAt(1);
    const result = env.fromElements(7).process(new Stamp()).collectAsync();
    await env.execute();
    expect(await result.toArray()).toEqual(['7 ts=null subtask=0']);
  });

  it('a RichReduceFunction reduces per key with its context at hand', async () => {
    class Longest extends RichReduceFunction<string> {
      reduce(a: string, b: string) {
        return b.length > a.length ? b : a;
      }
      open() {
        seen.push(`reduce on ${this.getRuntimeContext().getTaskInfo().getTaskName()}`);
      }
    }
    const env = envAt(1);
    const result = env
      .fromElements('a', 'ccc', 'bb')
      .keyBy(() => 'all')
      .reduce(new Longest())
      .collectAsync();
    await env.execute();
    expect(await result.toArray()).toEqual(['a', 'ccc', 'ccc']);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatch(/^reduce on Keyed Reduce/u);
  });

  it('a RichSinkFunction given to addSink gets its context, open and close, one copy per subtask', async () => {
    class Collect extends RichSinkFunction<number> {
      private received: number[] = [];
      open() {
        seen.push(`open ${this.getRuntimeContext().getTaskInfo().getIndexOfThisSubtask()}`);
      }
      invoke(value: number) {
        this.received.push(value);
      }
      close() {
        const index = this.getRuntimeContext().getTaskInfo().getIndexOfThisSubtask();
        seen.push(`close ${index}: ${this.received.length}`);
      }
    }
    const env = envAt(2);
    env.fromSequence(1, 10).rebalance().addSink(new Collect());
    await env.execute();
    expect(seen.filter((s) => s.startsWith('open')).sort()).toEqual(['open 0', 'open 1']);
    const closed = seen.filter((s) => s.startsWith('close')).sort();
    expect(closed.map((s) => s.slice(0, 7))).toEqual(['close 0', 'close 1']);
    // Each copy received its own records: together, all of them once.
    expect(closed.map((s) => Number(s.split(': ')[1])).reduce((a, b) => a + b, 0)).toBe(10);
  });

  it('counts and gauges in the metric group record their values in the subtask', async () => {
    class Measured extends RichMapFunction<number, number> {
      private counter!: Counter;
      private last = 0;
      open() {
        const group = this.getRuntimeContext().getMetricGroup();
        this.counter = group.counter('numRecords');
        group.gauge('last', () => this.last);
        group.addGroup('shard', 3).counter('inner').inc(2);
      }
      map(x: number) {
        this.counter.inc();
        this.last = x;
        return x;
      }
      close() {
        const group = this.getRuntimeContext().getMetricGroup();
        seen.push(
          `count=${this.counter.getCount()} last=${String(group.gauge('last', () => -1).getValue())}`,
        );
        seen.push(group.getMetricIdentifier('numRecords'));
        seen.push(group.addGroup('shard', 3).getMetricIdentifier('inner'));
        seen.push(group.getAllVariables()['<operator_name>']!);
      }
    }
    const env = envAt(1);
    env
      .fromSequence(1, 25)
      .map(new Measured())
      .name('measured')
      .sinkTo({
        createWriter: () => ({ write() {}, flush() {}, close() {} }),
      });
    await env.execute('metrics');
    // A second gauge of the same name is returned but not registered: the first one is read.
    expect(seen).toEqual([
      'count=25 last=-1',
      'metrics.measured.0.numRecords',
      'metrics.measured.0.shard.3.inner',
      'measured',
    ]);
  });

  it('classes implement Flink’s function interfaces and a KeySelector', async () => {
    class Tokenizer implements FlatMapFunction<string, [string, number]> {
      flatMap(value: string, out: Collector<[string, number]>) {
        for (const token of value.toLowerCase().split(/\W+/u)) if (token.length > 0) out.collect([token, 1]);
      }
    }
    class Double implements MapFunction<[string, number], [string, number]> {
      map(value: [string, number]): [string, number] {
        return [value[0], value[1] * 2];
      }
    }
    class ByWord implements KeySelector<[string, number], string> {
      getKey(value: [string, number]) {
        return value[0];
      }
    }
    const env = envAt(2);
    const result = env
      .fromElements('To be, or not to be')
      .flatMap(new Tokenizer())
      .map(new Double())
      .keyBy(new ByWord())
      .sum(1)
      .collectAsync();
    await env.execute();
    const finals = new Map<string, number>();
    for (const [w, n] of await result.toArray()) finals.set(w, Math.max(finals.get(w) ?? 0, n));
    expect(Object.fromEntries(finals)).toEqual({ to: 4, be: 4, or: 2, not: 2 });
  });
});
