// Regression (issue "Trust the core", point 2): a sink writer that buffers is flushed before each
// checkpoint's barrier (Flink's prepareSnapshotPreBarrier), so a failure right after a completed
// checkpoint loses nothing that checkpoint covers.
import { beforeEach, describe, expect, it } from 'vitest';
import { DataGeneratorSource, RestartStrategies } from 'sluice';
import type { CheckpointListener, Sink, SinkWriter } from 'sluice';
import { runToEnd } from '../support/checkpointing.js';
import { envAt, range } from '../support/helpers.js';

const N = 20_000;

// Sink and function objects are copied per subtask: what they share lives at module level.
let store: number[] = [];
let flushes: boolean[] = [];
let failed = false;

beforeEach(() => {
  store = [];
  flushes = [];
  failed = false;
});

/** Holds records in memory and writes them to `store` only when flushed (or asynchronously). */
class BufferingSink implements Sink<number> {
  constructor(private readonly asyncFlush: boolean) {}

  createWriter(): SinkWriter<number> {
    let buffer: number[] = [];
    const drain = (): void => {
      store.push(...buffer);
      buffer = [];
    };
    return {
      write: (record) => void buffer.push(record),
      flush: (endOfInput) => {
        flushes.push(endOfInput);
        if (!this.asyncFlush) return drain();
        const draining = buffer;
        buffer = [];
        return new Promise<void>((resolve) =>
          setImmediate(() => {
            store.push(...draining);
            resolve();
          }),
        );
      },
      close: () => {},
    };
  }
}

/** Passes records on; fails once, at its first record after the first checkpoint completed. */
class FailAfterCheckpoint implements CheckpointListener {
  private completed = false;

  map(x: number): number {
    if (this.completed && !failed) {
      failed = true;
      throw new Error('injected failure right after a completed checkpoint');
    }
    return x;
  }

  notifyCheckpointComplete(): void {
    this.completed = true;
  }
}

describe('a buffering sink', () => {
  it.each([
    ['a synchronous', false],
    ['an asynchronous', true],
  ])('with %s flush loses nothing a completed checkpoint covers', async (_kind, asyncFlush) => {
    const env = envAt(2);
    env.enableCheckpointing(20);
    env.setRestartStrategy(RestartStrategies.fixedDelay(2, 0));
    const stream = env
      .fromSource(new DataGeneratorSource((i) => i, N, { recordsPerSecond: 40_000 }), 'numbers')
      .map(new FailAfterCheckpoint());
    stream.sinkTo(new BufferingSink(asyncFlush));
    const { result } = await runToEnd(
      env,
      stream.filter(() => false),
    );
    expect(failed).toBe(true);
    expect(result.numRestarts).toBe(1);
    // Flushed before barriers, not only at the end of input.
    expect(flushes.filter((endOfInput) => !endOfInput).length).toBeGreaterThan(0);
    // At least once: every record, some replayed.
    expect(new Set(store)).toEqual(new Set(range(0, N - 1)));
  });
});
