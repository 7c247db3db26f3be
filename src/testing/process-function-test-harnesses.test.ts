/** Each kind of harness: process, map, flatMap, filter functions and sinks (synchronous and asynchronous writers). */
import { describe, expect, it } from 'vitest';
import type { CheckpointedFunction, FunctionInitializationContext } from '../api/checkpointed-function.js';
import type { Collector } from '../api/functions.js';
import { ProcessFunction, type ProcessContext } from '../api/process-function.js';
import type { Sink, SinkWriter, SinkWriterContext, WriterInitContext } from '../api/sink.js';
import { ListStateDescriptor } from '../state/state-descriptor.js';
import type { ListState } from '../state/state.js';
import { ProcessFunctionTestHarnesses } from './process-function-test-harnesses.js';

/** Splits lines into words and reports what its context offers. */
class Words extends ProcessFunction<string, string> {
  processElement(line: string, ctx: ProcessContext, out: Collector<string>): void {
    if (line === 'ctx') {
      out.collect(`timestamp=${ctx.timestamp()} now=${ctx.timerService().currentProcessingTime()}`);
      return;
    }
    if (line === 'timer') ctx.timerService().registerProcessingTimeTimer(10);
    for (const word of line.split(' ')) out.collect(word);
  }
}

/** A controllable promise. */
function gate(): { promise: Promise<void>; open: () => void; fail: (e: Error) => void } {
  let open!: () => void;
  let fail!: (e: Error) => void;
  const promise = new Promise<void>((resolve, reject) => {
    open = resolve;
    fail = reject;
  });
  return { promise, open, fail };
}

/** A sink whose writer logs every call to `log` (shared, not copied with the sink). */
function loggingSink(log: string[], write?: (record: string) => void | Promise<void>): Sink<string> {
  return {
    createWriter(ctx: WriterInitContext): SinkWriter<string> {
      log.push(`create ${ctx.getSubtaskId()}/${ctx.getNumberOfParallelSubtasks()}`);
      return {
        write(record: string, context: SinkWriterContext) {
          log.push(`write ${record} @${context.currentProcessingTime()}`);
          return write?.(record);
        },
        flush(endOfInput: boolean) {
          log.push(`flush ${endOfInput}`);
        },
        close() {
          log.push('close');
        },
      };
    },
  };
}

describe('ProcessFunctionTestHarnesses', () => {
  it('forProcessFunction runs a ProcessFunction; output keeps the input record timestamp, as in a job', async () => {
    const harness = ProcessFunctionTestHarnesses.forProcessFunction(new Words());
    harness.processElement('to be', 5);
    harness.setProcessingTime(42);
    harness.processElement('ctx', 7);
    harness.processElement('ctx');
    expect(harness.extractOutputValues()).toEqual([
      'to',
      'be',
      'timestamp=7 now=42',
      'timestamp=null now=42',
    ]);
    expect(harness.extractOutputStreamRecords().map((r) => r.timestamp)).toEqual([5, 5, 7, undefined]);
    expect(() => harness.processElement('x', Number.NaN)).toThrow(/timestamp is a number of ms/);
    await harness.close();
  });

  it('forProcessFunction refuses timers on a non-keyed stream, as a job does', async () => {
    const harness = ProcessFunctionTestHarnesses.forProcessFunction(new Words());
    expect(() => harness.processElement('timer')).toThrow(/timers can only be set on a keyed stream/);
    await harness.close();
  });

  it('forMapFunction takes a plain function or an object with map() and hooks', async () => {
    const plain = ProcessFunctionTestHarnesses.forMapFunction((x: number) => x * 2);
    plain.processElements([1, 2]);
    expect(plain.extractOutputValues()).toEqual([2, 4]);
    await plain.close();

    class Scale {
      private factor = 0;
      open(): void {
        this.factor = 10;
      }
      map(x: number): number {
        return x * this.factor;
      }
    }
    const withHooks = ProcessFunctionTestHarnesses.forMapFunction(new Scale());
    withHooks.processElement(3);
    expect(withHooks.extractOutputValues()).toEqual([30]);
    await withHooks.close();
  });

  it('forFlatMapFunction emits zero or more records per record', async () => {
    const harness = ProcessFunctionTestHarnesses.forFlatMapFunction((n: number, out: Collector<number>) => {
      for (let i = 0; i < n; i++) out.collect(i);
    });
    harness.processElements([0, 3, 1]);
    expect(harness.extractOutputValues()).toEqual([0, 1, 2, 0]);
    await harness.close();
  });

  it('forFilterFunction keeps what the function accepts', async () => {
    const harness = ProcessFunctionTestHarnesses.forFilterFunction({ filter: (s: string) => s.length > 2 });
    harness.processElements(['a', 'abc', 'de', 'fghi']);
    expect(harness.extractOutputValues()).toEqual(['abc', 'fghi']);
    await harness.close();
  });

  it('forSink creates the writer on open, writes, flushes at the end of input, closes', async () => {
    const log: string[] = [];
    const harness = ProcessFunctionTestHarnesses.forSink(loggingSink(log), {
      parallelism: 2,
      subtaskIndex: 1,
    });
    harness.processElement('a');
    harness.setProcessingTime(9);
    harness.processElement('b');
    await harness.endInput();
    const snapshot = await harness.snapshot(1, 0); // a task answers checkpoints after its input ended
    expect(snapshot.getStateSize()).toBe(0);
    expect(() => harness.processElement('c')).toThrow(/after endInput\(\)/);
    await expect(harness.endInput()).rejects.toThrow(/called already/);
    await harness.close();
    expect(log).toEqual(['create 1/2', 'write a @0', 'write b @9', 'flush true', 'close']);
    expect(harness.getOutput()).toEqual([]);
  });

  it('forSink flushes the writer before each snapshot, as a task before the barrier', async () => {
    const log: string[] = [];
    const harness = ProcessFunctionTestHarnesses.forSink(loggingSink(log));
    harness.processElement('a');
    await harness.snapshot(1, 0);
    harness.processElement('b');
    await harness.close();
    expect(log).toEqual(['create 0/1', 'write a @0', 'flush false', 'write b @0', 'close']);
  });

  it('forSink holds input behind a pending asynchronous write, as a task does', async () => {
    const log: string[] = [];
    const gates = new Map<string, ReturnType<typeof gate>>();
    const slow2Written = gate();
    const harness = ProcessFunctionTestHarnesses.forSink(
      loggingSink(log, (record) => {
        if (!record.startsWith('slow')) return undefined;
        const g = gate();
        gates.set(record, g);
        if (record === 'slow2') slow2Written.open();
        return g.promise.then(() => void log.push(`done ${record}`));
      }),
    );
    harness.processElements(['a', 'slow1', 'b', 'slow2', 'c']);
    harness.setProcessingTime(5); // timers and time are not input: they do not wait
    expect(log).toEqual(['create 0/1', 'write a @0', 'write slow1 @0']);
    let drained = false;
    const all = harness.processAll().then(() => (drained = true));
    gates.get('slow1')!.open();
    await slow2Written.promise;
    expect(log.slice(3)).toEqual(['done slow1', 'write b @5', 'write slow2 @5']);
    expect(drained).toBe(false);
    gates.get('slow2')!.open();
    await all;
    expect(log.slice(6)).toEqual(['done slow2', 'write c @5']);
    await harness.close();
  });

  it('forSink: a snapshot waits behind a pending write, like the barrier behind records', async () => {
    /** Counts completed writes in operator state. */
    class CountingSink implements Sink<string>, CheckpointedFunction {
      written = 0;
      private state!: ListState<number>;
      initializeState(ctx: FunctionInitializationContext): void {
        this.state = ctx.getOperatorStateStore().getListState(new ListStateDescriptor<number>('written'));
        for (const n of this.state.get()) this.written += n;
      }
      snapshotState(): void {
        this.state.update([this.written]);
      }
      createWriter(): SinkWriter<string> {
        return {
          write: (record) => {
            if (record === 'report') throw new Error(`written=${this.written}`);
            return slow.promise.then(() => void this.written++);
          },
          flush: () => {},
          close: () => {},
        };
      }
    }
    const slow = gate();
    const harness = ProcessFunctionTestHarnesses.forSink(new CountingSink());
    harness.processElement('x');
    const snapshot = harness.snapshot(1, 0);
    slow.open();
    const state = await snapshot;
    await harness.close();

    const restored = ProcessFunctionTestHarnesses.forSink(new CountingSink());
    await restored.initializeState(state);
    expect(() => restored.processElement('report')).toThrow(/threw in write: written=1/);
    await restored.close();
  });

  it('forSink: a failed asynchronous write fails the harness, as it fails the task', async () => {
    const log: string[] = [];
    const harness = ProcessFunctionTestHarnesses.forSink(
      loggingSink(log, (record) => (record === 'bad' ? Promise.reject(new Error('refused')) : undefined)),
    );
    harness.processElements(['bad', 'queued']);
    const snapshot = harness.snapshot(1, 0);
    await expect(harness.processAll()).rejects.toThrow(
      /write of sink 'Sink' \(subtask 1\/1\) failed: refused/,
    );
    await expect(snapshot).rejects.toMatchObject({ code: 'SLUICE_USER_FUNCTION_FAILED' });
    expect(() => harness.processElement('more')).toThrow(/refused/);
    expect(log).toEqual(['create 0/1', 'write bad @0']);
    await harness.close(); // reported already: close cleans up quietly
    expect(log).toEqual(['create 0/1', 'write bad @0']);
  });

  it('forSink: close() reports a failure nothing reported yet', async () => {
    const harness = ProcessFunctionTestHarnesses.forSink(
      loggingSink([], () => Promise.reject(new Error('lost'))),
    );
    harness.processElement('x');
    await expect(harness.close()).rejects.toThrow(/failed: lost/);
  });
});

/**
 * Counts its records in operator state (a CheckpointedFunction) under every function interface,
 * reporting the running count as output, or to `report` when it runs as a sink (a function, so the
 * copy the harness runs shares it).
 */
class Counting implements CheckpointedFunction {
  private count = 0;
  private state!: ListState<number>;
  constructor(private readonly report: (count: number) => void) {}
  initializeState(ctx: FunctionInitializationContext): void {
    this.state = ctx.getOperatorStateStore().getListState(new ListStateDescriptor<number>('count'));
    for (const n of this.state.get()) this.count += n;
  }
  snapshotState(): void {
    this.state.update([this.count]);
  }
  processElement(_value: string, _ctx: ProcessContext, out: Collector<number>): void {
    out.collect(++this.count);
  }
  map(): number {
    return ++this.count;
  }
  flatMap(_value: string, out: Collector<number>): void {
    out.collect(++this.count);
  }
  filter(): boolean {
    return ++this.count % 2 === 0;
  }
  createWriter(): SinkWriter<string> {
    return {
      write: () => this.report(++this.count),
      flush: () => {},
      close: () => {},
    };
  }
}

const harnessKinds = {
  process: (fn: Counting) => ProcessFunctionTestHarnesses.forProcessFunction<string, number>(fn),
  map: (fn: Counting) => ProcessFunctionTestHarnesses.forMapFunction<string, number>(fn),
  flatMap: (fn: Counting) => ProcessFunctionTestHarnesses.forFlatMapFunction<string, number>(fn),
  filter: (fn: Counting) => ProcessFunctionTestHarnesses.forFilterFunction<string>(fn),
  sink: (fn: Counting) => ProcessFunctionTestHarnesses.forSink<string>(fn),
} as const;

describe.each(Object.entries(harnessKinds))('the %s harness', (kind, create) => {
  it('restores operator state from a snapshot into a fresh harness', async () => {
    const log: number[] = [];
    const harness = create(new Counting((n) => log.push(n)));
    harness.processElements(['a', 'b', 'c']);
    const snapshot = await harness.snapshot(1, 0);
    harness.processElement('after the snapshot');
    await harness.close();

    const restored = create(new Counting((n) => log.push(n)));
    await restored.initializeState(snapshot);
    restored.processElements(['d', 'e']);
    const seen = kind === 'sink' ? log : restored.extractOutputValues();
    const expected = {
      process: [4, 5],
      map: [4, 5],
      flatMap: [4, 5],
      filter: ['d'],
      sink: [1, 2, 3, 4, 4, 5],
    };
    expect(seen).toEqual(expected[kind as keyof typeof expected]);
    await restored.close();
  });
});
