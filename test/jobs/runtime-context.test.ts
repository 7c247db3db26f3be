// What functions see of their parallel instance (RuntimeContext, WriterInitContext) and accumulators merged into the job result, at parallelism 1-4.
import { beforeEach, describe, expect, it } from 'vitest';
import {
  Counter,
  KeyedProcessFunction,
  ListAccumulator,
  type Collector,
  type KeyedProcessContext,
  type RuntimeContext,
  type Sink,
  type WriterInitContext,
} from 'sluice';
import { PARALLELISMS, envAt, range } from '../support/helpers.js';

interface Facts {
  fn: string;
  index: number;
  parallelism: number;
  maxParallelism: number;
  attempt: number;
  taskName: string;
  taskNameWithSubtasks: string;
}
// Function objects are copied per subtask; what they observe goes to module level.
let seen: Facts[] = [];
beforeEach(() => (seen = []));

function facts(fn: string, ctx: RuntimeContext): Facts {
  return {
    fn,
    index: ctx.getIndexOfThisSubtask(),
    parallelism: ctx.getNumberOfParallelSubtasks(),
    maxParallelism: ctx.getMaxNumberOfParallelSubtasks(),
    attempt: ctx.getAttemptNumber(),
    taskName: ctx.getTaskName(),
    taskNameWithSubtasks: ctx.taskInfo.taskNameWithSubtasks,
  };
}

describe.each(PARALLELISMS)('at parallelism %i', (p) => {
  it('each subtask’s functions see its index, the parallelism and the task’s name', async () => {
    const env = envAt(p);
    class Keyed extends KeyedProcessFunction<number, number, number> {
      open(ctx: RuntimeContext) {
        seen.push(facts('keyed', ctx));
      }
      processElement(x: number, _ctx: KeyedProcessContext<number>, out: Collector<number>) {
        out.collect(x);
      }
    }
    const result = env
      .fromSequence(1, 100)
      .map({
        open: (ctx: RuntimeContext) => void seen.push(facts('map', ctx)),
        map: (x: number) => x,
      })
      .name('facts')
      .keyBy((x) => x % 10)
      .process(new Keyed())
      .name('keyed facts')
      .setParallelism(p + 1)
      .collectAsync();
    const vertices = env.getJobGraph().vertices;
    await env.execute();
    expect(await result.toArray()).toHaveLength(100);

    const mapTask = vertices.find((v) => v.chain.some((n) => n.name === 'facts'))!.name;
    const keyedTask = vertices.find((v) => v.chain.some((n) => n.name === 'keyed facts'))!.name;
    expect(mapTask).toBe('Sequence Source -> facts');
    const expected = (fn: string, n: number, task: string): Facts[] =>
      range(0, n - 1).map((index) => ({
        fn,
        index,
        parallelism: n,
        maxParallelism: 128,
        attempt: 0,
        taskName: task,
        taskNameWithSubtasks: `${task} (${index + 1}/${n})`,
      }));
    const byFnThenIndex = (a: Facts, b: Facts) => a.fn.localeCompare(b.fn) || a.index - b.index;
    expect([...seen].sort(byFnThenIndex)).toEqual(
      [...expected('map', p, mapTask), ...expected('keyed', p + 1, keyedTask)].sort(byFnThenIndex),
    );
  });

  it('a sink writer learns its subtask id and the sink’s parallelism', async () => {
    const writers: [number, number, number][] = [];
    const sink: Sink<number> = {
      createWriter: (ctx: WriterInitContext) => {
        writers.push([ctx.getSubtaskId(), ctx.getNumberOfParallelSubtasks(), ctx.getAttemptNumber()]);
        return { write() {}, flush() {}, close() {} };
      },
    };
    const env = envAt(p);
    env.fromSequence(1, 10).sinkTo(sink);
    await env.execute();
    expect(writers.sort((a, b) => a[0] - b[0])).toEqual(range(0, p - 1).map((i) => [i, p, 0]));
  });

  it('accumulators added in open() are merged over all subtasks into the job result', async () => {
    // Function objects are copied per subtask, so each subtask registers accumulators of its own.
    class CountRecords {
      private readonly records = new Counter();
      private readonly subtasks = new ListAccumulator<number>();
      open(ctx: RuntimeContext) {
        ctx.addAccumulator('records', this.records);
        ctx.addAccumulator('subtasks', this.subtasks);
        this.subtasks.add(ctx.getIndexOfThisSubtask());
      }
      map(x: number) {
        this.records.add(1);
        return x;
      }
    }
    class SumEvens {
      private readonly evens = new Counter();
      open(ctx: RuntimeContext) {
        ctx.addAccumulator('even sum', this.evens);
      }
      filter(x: number) {
        if (x % 2 === 0) this.evens.add(x);
        return true;
      }
    }
    const env = envAt(p);
    env
      .fromSequence(1, 1_000)
      .map(new CountRecords())
      .filter(new SumEvens())
      .sinkTo({ createWriter: () => ({ write() {}, flush() {}, close() {} }) });
    const result = await env.execute();
    expect(result.getAccumulatorResult<number>('records')).toBe(1_000);
    expect(result.getAccumulatorResult<number[]>('subtasks')!.sort()).toEqual(range(0, p - 1));
    expect(result.getAccumulatorResult<number>('even sum')).toBe(
      range(1, 500).reduce((a, b) => a + b * 2, 0),
    );
    expect(result.getAccumulatorResult('missing')).toBeUndefined();
    expect(Object.keys(result.getAllAccumulatorResults()).sort()).toEqual([
      'even sum',
      'records',
      'subtasks',
    ]);
    expect(result.getNetRuntime()).toBeGreaterThanOrEqual(0);
  });
});
