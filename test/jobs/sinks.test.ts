// Sinks at parallelism 1-4: a custom Sink, an asynchronous Sink with backpressure, and print() with Flink's subtask prefixes.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type {
  CommittingSinkWriter,
  Committer,
  Sink,
  SinkWriter,
  SupportsCommitter,
  WriterInitContext,
} from 'sluice';
import { PARALLELISMS, envAt, expectSameMultiset, range, rejectsWith } from '../support/helpers.js';

const N = 2_000;

// Sink objects are copied per subtask (as Flink deserializes one per subtask): what writers
// record must live outside the sink object, here at module level.
interface Written {
  subtask: number;
  parallelism: number;
  record: number;
}
let written: Written[] = [];
let events: [subtask: number, event: string][] = [];
let inFlight = new Map<number, number>();
let maxInFlight = 0;

beforeEach(() => {
  written = [];
  events = [];
  inFlight = new Map();
  maxInFlight = 0;
});

/** Writes synchronously into `written`, logging its life-cycle calls into `events`. */
class ArraySink implements Sink<number> {
  createWriter(ctx: WriterInitContext): SinkWriter<number> {
    const subtask = ctx.getSubtaskId();
    const parallelism = ctx.getNumberOfParallelSubtasks();
    events.push([subtask, 'create']);
    return {
      write: (record) => void written.push({ subtask, parallelism, record }),
      flush: (endOfInput) => void events.push([subtask, `flush ${endOfInput}`]),
      close: () => void events.push([subtask, 'close']),
    };
  }
}

/** Like ArraySink, but each write completes a tick later; counts writes pending at once. */
class AsyncArraySink implements Sink<number> {
  createWriter(ctx: WriterInitContext): SinkWriter<number> {
    const subtask = ctx.getSubtaskId();
    const parallelism = ctx.getNumberOfParallelSubtasks();
    return {
      write: (record) => {
        const pending = (inFlight.get(subtask) ?? 0) + 1;
        inFlight.set(subtask, pending);
        maxInFlight = Math.max(maxInFlight, pending);
        return new Promise<void>((resolve) =>
          setImmediate(() => {
            written.push({ subtask, parallelism, record });
            inFlight.set(subtask, inFlight.get(subtask)! - 1);
            resolve();
          }),
        );
      },
      flush: async (endOfInput) => {
        await new Promise((resolve) => setImmediate(resolve));
        events.push([subtask, `flush ${endOfInput} after ${inFlight.get(subtask) ?? 0} pending`]);
      },
      close: () => void events.push([subtask, 'close']),
    };
  }
}

/** The life-cycle events of one subtask's writer, in order. */
function eventsOf(subtask: number): string[] {
  return events.filter(([s]) => s === subtask).map(([, e]) => e);
}

/** Asserts each subtask received an increasing sequence (the order its input delivered). */
function expectIncreasingPerSubtask(): void {
  const bySubtask = new Map<number, number[]>();
  for (const w of written) bySubtask.set(w.subtask, [...(bySubtask.get(w.subtask) ?? []), w.record]);
  for (const records of bySubtask.values())
    for (let i = 1; i < records.length; i++) expect(records[i]!).toBeGreaterThan(records[i - 1]!);
}

describe.each(PARALLELISMS)('at parallelism %i', (p) => {
  it('a custom sink receives every record exactly once, in order per subtask', async () => {
    const env = envAt(p);
    env.fromSequence(1, N).sinkTo(new ArraySink()).name('array sink');
    await env.execute();
    expectSameMultiset(
      written.map((w) => w.record),
      range(1, N),
    );
    expectIncreasingPerSubtask();
    expect(new Set(written.map((w) => w.parallelism))).toEqual(new Set([p]));
    // Each writer is created, flushed once at the end of input, then closed.
    for (let s = 0; s < p; s++) expect(eventsOf(s)).toEqual(['create', 'flush true', 'close']);
  });

  it('a rebalanced custom sink gets the ordered source’s records in order per subtask', async () => {
    const env = envAt(p);
    const xs = range(1, 500);
    env
      .fromElements(...xs)
      .rebalance()
      .sinkTo(new ArraySink());
    await env.execute();
    expectSameMultiset(
      written.map((w) => w.record),
      xs,
    );
    expectIncreasingPerSubtask();
    expect(new Set(written.map((w) => w.subtask)).size).toBe(p);
  });

  it('an async sink gets every record once, in order, one pending write per subtask at a time', async () => {
    const env = envAt(p);
    env.fromSequence(1, 600).sinkTo(new AsyncArraySink()).name('async sink');
    await env.execute();
    expectSameMultiset(
      written.map((w) => w.record),
      range(1, 600),
    );
    expectIncreasingPerSubtask();
    expect(maxInFlight).toBe(1);
    // flush(true) runs after the last write settled; close after flush's own promise settled.
    for (let s = 0; s < p; s++) expect(eventsOf(s)).toEqual(['flush true after 0 pending', 'close']);
  });
});

/** A two-phase-commit sink whose committables are every record written, and whose commits fail. */
class RefusingSink implements Sink<number>, SupportsCommitter<number[]> {
  createWriter(): CommittingSinkWriter<number, number[]> {
    let records: number[] = [];
    return {
      write: (record) => void records.push(record),
      flush: () => {},
      prepareCommit: () => {
        const committable = records;
        records = [];
        return committable.length === 0 ? [] : [committable];
      },
      close: () => {},
    };
  }
  createCommitter(): Committer<number[]> {
    return {
      commit: (requests) => {
        for (const r of requests) r.signalFailedWithKnownReason(new Error('the target refused it'));
      },
      close: () => {},
    };
  }
}

describe('a two-phase-commit sink whose commit fails', () => {
  it('fails the job naming the committable, quoted in part when it is long', async () => {
    const env = envAt(1);
    env.fromSequence(1, 5_000).sinkTo(new RefusingSink()).name('refusing');
    const error = await rejectsWith(env.execute(), 'SLUICE_SINK_COMMIT_FAILED');
    expect(error.message).toMatch(
      /^sink 'refusing' could not commit \[1,2,3,.*… \(\d+ characters\) of the end of input: the target refused it$/su,
    );
    expect(error.message.length).toBeLessThan(500);
  });
});

describe('print()', () => {
  let lines: string[];
  beforeEach(() => {
    lines = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
  });
  afterEach(() => vi.restoreAllMocks());

  it('at parallelism 1 writes each record as a line without a prefix', async () => {
    const env = envAt(1);
    env.fromElements('a', 'b', 'c').print();
    env.fromElements({ x: 1 }, [1, 'two']).print();
    await env.execute();
    expect([...lines].sort()).toEqual(['[1,"two"]\n', 'a\n', 'b\n', 'c\n', '{"x":1}\n']);
  });

  it.each([2, 3, 4])('at parallelism %i prefixes each line with the subtask number "N> "', async (p) => {
    const env = envAt(p);
    env.fromSequence(1, 200).print();
    await env.execute();
    const parsed = lines.map((line) => /^(\d+)> (\d+)\n$/.exec(line));
    for (const [i, m] of parsed.entries()) expect(m, `line ${JSON.stringify(lines[i])}`).not.toBeNull();
    expectSameMultiset(
      parsed.map((m) => Number(m![2])),
      range(1, 200),
    );
    expect(new Set(parsed.map((m) => Number(m![1])))).toEqual(new Set(range(1, p)));
  });

  it('print(identifier) prefixes "identifier> " at parallelism 1 and "identifier:N> " above', async () => {
    const one = envAt(1);
    one.fromElements('x').print('solo');
    await one.execute();
    expect(lines).toEqual(['solo> x\n']);
    lines.length = 0;
    const two = envAt(2);
    two.fromElements('y', 'z').rebalance().print('duo');
    await two.execute();
    expect([...lines].sort()).toEqual(['duo:1> y\n', 'duo:2> z\n']);
  });
});
