/** What every harness does: lifecycle, output, operator state through checkpoints, misuse errors. */
import { describe, expect, it } from 'vitest';
import { SluiceError } from '../core/errors.js';
import type {
  CheckpointedFunction,
  CheckpointListener,
  FunctionInitializationContext,
  FunctionSnapshotContext,
} from '../api/checkpointed-function.js';
import type { Collector } from '../api/functions.js';
import type { RuntimeContext } from '../api/runtime-context.js';
import { ListStateDescriptor } from '../state/state-descriptor.js';
import type { ListState } from '../state/state.js';
import { AbstractStreamOperatorTestHarness } from './abstract-stream-operator-test-harness.js';
import { ProcessFunctionTestHarnesses } from './process-function-test-harnesses.js';
import { StreamRecord } from './stream-record.js';

/**
 * Numbers records per subtask and keeps the next number in operator list state (a
 * CheckpointedFunction), plus a union list of every number seen; records hooks it went through.
 */
class Numbering implements CheckpointedFunction, CheckpointListener {
  next = 0;
  restored: boolean | undefined;
  union: number[] = [];
  readonly calls: string[] = [];
  private nextState!: ListState<number>;
  private unionState!: ListState<number>;

  initializeState(ctx: FunctionInitializationContext): void {
    this.calls.push('initializeState');
    this.restored = ctx.isRestored();
    this.nextState = ctx.getOperatorStateStore().getListState(new ListStateDescriptor<number>('next'));
    this.unionState = ctx.getOperatorStateStore().getUnionListState(new ListStateDescriptor<number>('all'));
    for (const n of this.nextState.get()) this.next = Math.max(this.next, n);
    this.union = [...this.unionState.get()];
  }
  open(_ctx: RuntimeContext): void {
    this.calls.push('open');
  }
  flatMap(value: string, out: Collector<string>): void {
    if (value === 'calls') for (const call of this.calls) out.collect(call);
    else if (value === 'state')
      out.collect(`restored=${this.restored} next=${this.next} union=${this.union.join(',')}`);
    else {
      this.union.push(this.next);
      out.collect(`${this.next++}:${value}`);
    }
  }
  snapshotState(ctx: FunctionSnapshotContext): void {
    this.calls.push(`snapshotState ${ctx.getCheckpointId()}`);
    this.nextState.update([this.next]);
    this.unionState.update(this.union);
  }
  notifyCheckpointComplete(checkpointId: number): void {
    this.calls.push(`complete ${checkpointId}`);
  }
  notifyCheckpointAborted(checkpointId: number): void {
    this.calls.push(`aborted ${checkpointId}`);
  }
  close(): void {
    closed.push(this.next);
  }
}
/** `next` of every Numbering that closed (close() cannot emit, so it reports here). */
const closed: number[] = [];

function numbering(options?: { parallelism?: number; subtaskIndex?: number }) {
  return ProcessFunctionTestHarnesses.forFlatMapFunction<string, string>(new Numbering(), options);
}

function misuse(fn: () => unknown, message: RegExp): void {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  expect(thrown).toBeInstanceOf(SluiceError);
  expect(thrown).toMatchObject({ code: 'SLUICE_TESTING_HARNESS_MISUSE' });
  expect((thrown as Error).message).toMatch(message);
}

describe('a test harness', () => {
  it('initializes and opens the function once, on first use or on open()', async () => {
    const harness = numbering();
    harness.open();
    harness.open();
    harness.processElement('calls');
    expect(harness.extractOutputValues()).toEqual(['initializeState', 'open']);
    await harness.close();
  });

  it('runs its own copy of the function, as each subtask of a job does', async () => {
    const fn = new Numbering();
    const harness = ProcessFunctionTestHarnesses.forFlatMapFunction<string, string>(fn);
    harness.processElements(['a', 'b']);
    expect(harness.extractOutputValues()).toEqual(['0:a', '1:b']);
    expect(fn.next).toBe(0);
    await harness.close();
  });

  it('captures output as it was emitted, and lets the test clear it', async () => {
    const reused = { n: 0 };
    const harness = ProcessFunctionTestHarnesses.forMapFunction((n: number) => {
      reused.n = n; // one object for every record, changed after it was emitted
      return reused;
    });
    harness.processElements([1, 2, new StreamRecord(3)]);
    expect(harness.extractOutputValues()).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    expect(harness.getOutput()).toEqual([
      new StreamRecord({ n: 1 }),
      new StreamRecord({ n: 2 }),
      new StreamRecord({ n: 3 }),
    ]);
    expect(harness.extractOutputStreamRecords()[0]!.getValue()).toEqual({ n: 1 });
    harness.getOutput().splice(0, 1);
    expect(harness.extractOutputValues()).toEqual([{ n: 2 }, { n: 3 }]);
    harness.clearOutput();
    expect(harness.getOutput()).toEqual([]);
    await harness.close();
  });

  it('keeps the prototype of emitted class instances', async () => {
    class Point {
      constructor(
        readonly x: number,
        readonly y: number,
      ) {}
      norm(): number {
        return Math.abs(this.x) + Math.abs(this.y);
      }
    }
    const harness = ProcessFunctionTestHarnesses.forMapFunction((x: number) => new Point(x, -x));
    harness.processElement(2);
    const [point] = harness.extractOutputValues();
    expect(point).toBeInstanceOf(Point);
    expect(point!.norm()).toBe(4);
    await harness.close();
  });

  it('snapshots operator state through snapshotState and restores it with isRestored()', async () => {
    const harness = numbering();
    harness.processElements(['a', 'b']);
    const snapshot = await harness.snapshot(1, 1000);
    harness.notifyOfCompletedCheckpoint(1);
    harness.processElement('c');
    harness.processElement('calls');
    expect(harness.extractOutputValues()).toEqual([
      '0:a',
      '1:b',
      '2:c',
      'initializeState',
      'open',
      'snapshotState 1',
      'complete 1',
    ]);
    await harness.close();

    const restored = numbering();
    await restored.initializeState(snapshot);
    restored.processElements(['state', 'd']);
    expect(restored.extractOutputValues()).toEqual(['restored=true next=2 union=0,1', '2:d']);
    await restored.close();

    const fresh = numbering();
    fresh.initializeEmptyState();
    fresh.processElement('state');
    expect(fresh.extractOutputValues()).toEqual(['restored=false next=0 union=']);
    await fresh.close();
  });

  it('redistributes operator state to another parallelism: split lists divided, union lists whole', async () => {
    const snapshots = [];
    for (let index = 0; index < 2; index++) {
      const harness = numbering({ parallelism: 2, subtaskIndex: index });
      harness.processElements(index === 0 ? ['a', 'b', 'c'] : ['d']);
      snapshots.push(await harness.snapshot(1, 0));
      await harness.close();
    }
    const merged = AbstractStreamOperatorTestHarness.repackageState(...snapshots);
    expect(merged.checkpointId).toBe(1);
    const restored = numbering();
    await restored.initializeState(merged);
    restored.processElement('state');
    // One subtask gets both split elements (3 and 1) and takes the larger; the union is whole.
    expect(restored.extractOutputValues()).toEqual(['restored=true next=3 union=0,1,2,0']);
    await restored.close();
  });

  it('passes checkpoint notifications to a CheckpointListener; an aborted snapshot rejects', async () => {
    const harness = numbering();
    const aborted = harness.snapshot(4, 0);
    harness.notifyOfAbortedCheckpoint(4);
    await expect(aborted).rejects.toThrow(/checkpoint 4 was aborted/);
    harness.notifyOfCompletedCheckpoint(5);
    harness.processElement('calls');
    expect(harness.extractOutputValues()).toEqual([
      'initializeState',
      'open',
      'snapshotState 4',
      'aborted 4',
      'complete 5',
    ]);
    await harness.close();
  });

  it('rejects a snapshot whose synchronous phase throws, naming the hook', async () => {
    class FailingSnapshot implements CheckpointedFunction {
      map(x: number): number {
        return x;
      }
      initializeState(): void {}
      snapshotState(): void {
        throw new Error('disk full');
      }
    }
    const harness = ProcessFunctionTestHarnesses.forMapFunction(new FailingSnapshot());
    await expect(harness.snapshot(1, 0)).rejects.toThrow(/threw in snapshotState: disk full/);
    harness.processElement(1);
    expect(harness.extractOutputValues()).toEqual([1]);
    await harness.close();
  });

  it('closes the function once; close() again does nothing; calls after it fail clearly', async () => {
    closed.length = 0;
    const harness = numbering();
    harness.processElement('a');
    await harness.close();
    await harness.close();
    expect(closed).toEqual([1]);
    misuse(() => harness.processElement('b'), /processElement\(\) after close\(\)/);
    await expect(harness.snapshot(1, 0)).rejects.toThrow(/snapshot\(\) after close\(\)/);
    misuse(() => harness.setProcessingTime(5), /after close\(\)/);
  });

  it('does not call close() of a function that never opened', async () => {
    closed.length = 0;
    await numbering().close();
    expect(closed).toEqual([]);
  });

  it('refuses to restore after it opened, or twice', async () => {
    const source = numbering();
    const snapshot = await source.snapshot(1, 0);
    await source.close();

    const opened = numbering();
    opened.processElement('a');
    await expect(opened.initializeState(snapshot)).rejects.toThrow(/after the harness opened/);
    await opened.close();

    const twice = numbering();
    await twice.initializeState(snapshot);
    await expect(twice.initializeState(snapshot)).rejects.toThrow(/initialized already/);
    misuse(() => twice.initializeEmptyState(), /initialized already/);
    await twice.close();
  });

  it('refuses calls while initializeState() is still restoring', async () => {
    const source = numbering();
    const snapshot = await source.snapshot(1, 0);
    await source.close();
    const harness = numbering();
    const restoring = harness.initializeState(snapshot);
    misuse(() => harness.processElement('a'), /still restoring; await initializeState\(\) first/);
    await expect(harness.close()).rejects.toThrow(/still restoring/);
    await restoring;
    harness.processElement('state');
    expect(harness.extractOutputValues()).toEqual(['restored=true next=0 union=']);
    await harness.close();
  });

  it('fails when the function cannot take its restored state, as the task would', async () => {
    class Fragile implements CheckpointedFunction {
      map(x: number): number {
        return x;
      }
      initializeState(ctx: FunctionInitializationContext): void {
        if (ctx.isRestored()) throw new Error('incompatible state');
      }
      snapshotState(): void {}
    }
    const source = ProcessFunctionTestHarnesses.forMapFunction(new Fragile());
    const snapshot = await source.snapshot(1, 0);
    await source.close();
    const harness = ProcessFunctionTestHarnesses.forMapFunction(new Fragile());
    await expect(harness.initializeState(snapshot)).rejects.toThrow(
      /threw in initializeState: incompatible state/,
    );
    expect(() => harness.processElement(1)).toThrow(/incompatible state/);
    await harness.close();
  });

  it('refuses what initializeState() cannot restore', async () => {
    const harness = numbering();
    await expect(harness.initializeState({} as never)).rejects.toThrow(/takes what snapshot\(\)/);
    await harness.close();
  });

  it('takes checkpoint ids that are positive and increasing', async () => {
    const harness = numbering();
    await expect(harness.snapshot(0, 0)).rejects.toThrow(/integers from 1 that increase.*pass 1 or more/);
    await harness.snapshot(2, 0);
    await expect(harness.snapshot(2, 0)).rejects.toThrow(/the last one was 2\); pass 3 or more/);
    await expect(harness.snapshot(1.5, 0)).rejects.toThrow(/integers from 1/);
    await expect(harness.snapshot(3, Number.NaN)).rejects.toThrow(/timestamp is a number/);
    await harness.snapshot(3, 0);
    await harness.close();
  });

  it('moves processing time only forward', async () => {
    const harness = numbering();
    harness.setProcessingTime(10);
    misuse(() => harness.setProcessingTime(9), /processing time is 10 already and never goes back/);
    misuse(() => harness.setProcessingTime(Number.POSITIVE_INFINITY), /finite number/);
    expect(harness.getProcessingTime()).toBe(10);
    await harness.close();
  });

  it('rejects harness options it cannot take', () => {
    const fn = (x: number) => x;
    misuse(
      () => ProcessFunctionTestHarnesses.forMapFunction(fn, { subtaskIndex: 2, parallelism: 2 }),
      /subtaskIndex 2/,
    );
    misuse(
      () => ProcessFunctionTestHarnesses.forMapFunction(fn, { paralelism: 2 } as never),
      /unknown option 'paralelism'/,
    );
    expect(() =>
      ProcessFunctionTestHarnesses.forMapFunction(fn, { parallelism: 4, maxParallelism: 2 }),
    ).toThrow(/parallelism 4 is above max parallelism 2/);
    misuse(() => ProcessFunctionTestHarnesses.forProcessFunction({} as never), /processElement\(\) method/);
    misuse(() => ProcessFunctionTestHarnesses.forSink(null as never), /createWriter\(\) method/);
  });

  it('gives the function the subtask it runs as', async () => {
    class WhereAmI {
      private ctx!: RuntimeContext;
      open(ctx: RuntimeContext): void {
        this.ctx = ctx;
      }
      flatMap(_x: number, out: Collector<string>): void {
        out.collect(this.ctx.taskInfo.taskNameWithSubtasks);
        out.collect(String(this.ctx.getMaxNumberOfParallelSubtasks()));
      }
    }
    const harness = ProcessFunctionTestHarnesses.forFlatMapFunction(new WhereAmI(), {
      parallelism: 3,
      subtaskIndex: 2,
    });
    harness.processElement(0);
    expect(harness.extractOutputValues()).toEqual(['Flat Map (3/3)', '128']);
    await harness.close();
  });
});
