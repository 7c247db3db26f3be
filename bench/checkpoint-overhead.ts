/**
 * The cost of checkpointing a keyed job with 1 M keys of heap state whose values are objects
 * changed in place: throughput with a checkpoint every second against none, the longest
 * synchronous-phase pause, and the asynchronous phase against a plain serialize + write + fsync.
 */
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  DataGeneratorSource,
  type JobClient,
  type Source,
  type SourceSplit,
  KeyedProcessFunction,
  MsgpackSerializer,
  StreamExecutionEnvironment,
  ValueStateDescriptor,
  type CheckpointStats,
  type Collector,
  type KeyedProcessContext,
  type RuntimeContext,
  type ValueState,
} from '../src/index.js';
import { CountingSink, expectCount, type ComparisonResult, type TimingOptions } from './harness.js';

/** The state of one key: an object the job changes in place, as Flink users write it. */
interface Acc {
  n: number;
  sum: number;
}

/** Keys in an order that spreads consecutive records over the key space (a multiplicative hash). */
const keyOf = (i: number, keys: number): number => (i * 2_654_435_761) % keys;

export class InPlaceSum extends KeyedProcessFunction<number, number, number> {
  private acc!: ValueState<Acc>;

  open(ctx: RuntimeContext): void {
    this.acc = ctx.getState(new ValueStateDescriptor<Acc>('acc'));
  }

  processElement(value: number, _ctx: KeyedProcessContext<number>, out: Collector<number>): void {
    const acc = this.acc.value() ?? { n: 0, sum: 0 };
    acc.n += 1;
    acc.sum += value;
    this.acc.update(acc);
    out.collect(acc.n);
  }
}

/** Completed checkpoints of a run that held every key, oldest first. */
function fullCheckpoints(client: JobClient): CheckpointStats[] {
  return (client.getCheckpointStats()?.history ?? [])
    .filter((c) => c.status === 'COMPLETED' && c.stateSize > 0)
    .reverse();
}

/** Builds the job: `source` → keyBy → the in-place sum over `keys` keys → a counting sink. */
function buildJob(
  source: Source<number>,
  intervalMs: number,
  dir: string,
): { env: StreamExecutionEnvironment; sink: CountingSink<number> } {
  const sink = new CountingSink<number>();
  sink.reset();
  const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(1);
  if (intervalMs > 0) {
    env.enableCheckpointing(intervalMs);
    env.getCheckpointConfig().setCheckpointStorage(pathToFileURL(dir).href);
  }
  env
    .fromSource(source, 'Keys')
    .keyBy((k) => k)
    .process(new InPlaceSum())
    .sinkTo(sink);
  return { env, sink };
}

/** What a throughput run measured. */
interface ThroughputRun {
  readonly recordsPerSecond: number;
  readonly checkpoints: readonly CheckpointStats[];
}

/** Runs the job over `records` records as fast as it goes, checkpointing every `intervalMs` (0: off). */
export async function runThroughput(
  records: number,
  keys: number,
  intervalMs: number,
  dir: string,
): Promise<ThroughputRun> {
  const { env, sink } = buildJob(new DataGeneratorSource((i) => keyOf(i, keys), records), intervalMs, dir);
  const started = performance.now();
  const client = await env.executeAsync('bench: checkpoint-overhead-1m-keys');
  await client.getJobExecutionResult();
  const seconds = (performance.now() - started) / 1000;
  expectCount('checkpoint-overhead sink', sink.count, records);
  return { recordsPerSecond: records / seconds, checkpoints: fullCheckpoints(client) };
}

/**
 * Fills every key once, then keeps the job running with no input until `idle` more checkpoints
 * completed: their asynchronous phases have the event loop to themselves, as the plain loop has.
 */
async function runIdleCheckpoints(keys: number, idle: number, dir: string): Promise<CheckpointStats[]> {
  const source = idleAfterEnd(new DataGeneratorSource((i) => keyOf(i, keys), keys), idle);
  const { env, sink } = buildJob(source, 250, dir);
  const client = await env.executeAsync('bench: checkpoint-async-vs-limit');
  await client.getJobExecutionResult();
  expectCount('checkpoint-async-vs-limit sink', sink.count, keys);
  return fullCheckpoints(client).slice(-idle);
}

/**
 * `source`, but its readers stay open with nothing to read once their input ended, until `n`
 * checkpoints completed after that.
 */
export function idleAfterEnd<S extends SourceSplit>(source: Source<number, S>, n: number): Source<number, S> {
  return {
    getBoundedness: () => source.getBoundedness(),
    createEnumerator: (ctx) => source.createEnumerator(ctx),
    restoreEnumerator: (ctx, state) => source.restoreEnumerator(ctx, state),
    createReader(ctx) {
      const inner = source.createReader(ctx);
      let ended = false;
      let completedSinceEnd = 0;
      let wake: (() => void) | undefined;
      return {
        start: () => inner.start(),
        pollNext(output) {
          if (ended) return completedSinceEnd >= n ? 'END_OF_INPUT' : 'NOTHING_AVAILABLE';
          if (inner.pollNext(output) !== 'END_OF_INPUT') return 'MORE_AVAILABLE';
          ended = true;
          return 'NOTHING_AVAILABLE';
        },
        isAvailable: () => (ended ? new Promise<void>((resolve) => (wake = resolve)) : inner.isAvailable()),
        addSplits: (splits) => inner.addSplits(splits),
        notifyNoMoreSplits: () => inner.notifyNoMoreSplits(),
        snapshotState: (id) => inner.snapshotState(id),
        notifyCheckpointComplete(id) {
          inner.notifyCheckpointComplete?.(id);
          if (ended && ++completedSinceEnd >= n) wake?.();
        },
        close: () => inner.close(),
      };
    },
  };
}

/**
 * The least any checkpoint of this state must do: serialize the same 1 M keys and values with the
 * same serializer, write them to one file and fsync it. Returns milliseconds.
 */
async function plainCheckpoint(keys: number, dir: string): Promise<number> {
  const serializer = new MsgpackSerializer<unknown>();
  const values: Acc[] = Array.from({ length: keys }, (_, k) => ({ n: 5, sum: k * 5 }));
  const started = performance.now();
  let buffer = new Uint8Array(1 << 20);
  let view = new DataView(buffer.buffer);
  let length = 0;
  const append = (bytes: Uint8Array): void => {
    if (length + bytes.length + 4 > buffer.length) {
      const grown = new Uint8Array(buffer.length * 2);
      grown.set(buffer.subarray(0, length));
      buffer = grown;
      view = new DataView(buffer.buffer);
    }
    view.setUint32(length, bytes.length);
    buffer.set(bytes, length + 4);
    length += bytes.length + 4;
  };
  for (let k = 0; k < keys; k++) {
    append(serializer.serialize(k));
    append(serializer.serialize(values[k]));
  }
  const file = await open(join(dir, `plain-${Math.random()}`), 'wx');
  try {
    await file.writeFile(buffer.subarray(0, length));
    await file.sync();
  } finally {
    await file.close();
  }
  return performance.now() - started;
}

const median = (xs: readonly number[]): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

/** The three checkpoint figures, with their report lines. */
export async function checkpointOverhead(
  records: number,
  keys: number,
  timing: TimingOptions,
): Promise<{ results: ComparisonResult[]; lines: string[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-chk-'));
  try {
    const withCheckpoints: ThroughputRun[] = [];
    const without: ThroughputRun[] = [];
    const idle: CheckpointStats[] = [];
    const limits: number[] = [];
    await runThroughput(Math.min(records, keys * 2), keys, 1000, dir); // warm-up
    await runThroughput(Math.min(records, keys * 2), keys, 0, dir);
    for (let i = 0; i < timing.repetitions; i++) {
      withCheckpoints.push(await runThroughput(records, keys, 1000, dir));
      without.push(await runThroughput(records, keys, 0, dir));
      idle.push(...(await runIdleCheckpoints(keys, 2, dir)));
      limits.push(await plainCheckpoint(keys, dir));
    }
    const underLoad = withCheckpoints.flatMap((r) => r.checkpoints);
    const subtasks = [...underLoad, ...idle].flatMap((c) => c.subtasks);
    const syncPause = Math.max(...subtasks.map((s) => s.syncDurationMs));
    // The keyed subtask holds the state: its asynchronous phase is the longest.
    const asyncOf = (c: CheckpointStats): number => Math.max(...c.subtasks.map((s) => s.asyncDurationMs));
    const idleAsync = idle.map(asyncOf);
    const loadedAsync = underLoad.map(asyncOf);
    const bestAsync = Math.min(...idleAsync);
    const bestLimit = Math.min(...limits);
    const throughputWith = withCheckpoints.map((r) => r.recordsPerSecond);
    const throughputWithout = without.map((r) => r.recordsPerSecond);
    const bestWith = Math.max(...throughputWith);
    const bestWithout = Math.max(...throughputWithout);
    const results: ComparisonResult[] = [
      {
        name: 'checkpoint-overhead-1m-keys',
        description: `keyed job, ${keys.toLocaleString('en')} keys of objects changed in place, checkpoint every 1 s (filesystem)`,
        baselineDescription: 'the same job with checkpointing off',
        unit: 'records/s',
        goal: 0.95,
        value: bestWith,
        baseline: bestWithout,
        ratio: bestWith / bestWithout,
        subjectSamples: throughputWith,
        baselineSamples: throughputWithout,
      },
      {
        name: 'checkpoint-sync-pause-1m-keys',
        description: 'longest synchronous-phase pause of any subtask in any checkpoint of those runs',
        baselineDescription: 'a stop-the-world snapshot: serialize + write + fsync of the whole state',
        unit: 'ms',
        goal: 2,
        goalOf: 'value-at-most',
        value: syncPause,
        baseline: bestLimit,
        ratio: syncPause / bestLimit,
        subjectSamples: subtasks.map((s) => s.syncDurationMs),
        baselineSamples: limits,
      },
      {
        name: 'checkpoint-async-vs-limit',
        description:
          'asynchronous phase of the keyed subtask, 1 M keys, no records flowing (best checkpoint)',
        baselineDescription: 'a plain loop: serialize the same entries, write one file, fsync',
        unit: 'ms',
        goal: 0.7,
        goalOf: 'ratio-at-least',
        ratioOf: 'baseline / sluice',
        value: bestAsync,
        baseline: bestLimit,
        // Limit over actual: the share of the ideal the asynchronous phase reaches.
        ratio: bestLimit / bestAsync,
        subjectSamples: idleAsync,
        baselineSamples: limits,
      },
    ];
    const perRun = withCheckpoints.map((r) => r.checkpoints.length).join(', ');
    const lines = [
      `  (checkpoints completed under load per run: ${perRun}; state ${(median(underLoad.map((c) => c.stateSize)) / 2 ** 20).toFixed(1)} MiB; ` +
        `trigger to completion, ms: ${underLoad.map((c) => c.endToEndDurationMs.toFixed(0)).join(', ')}; ` +
        `their asynchronous phase, sliced between records, ms: ${loadedAsync.map((x) => x.toFixed(0)).join(', ')})`,
    ];
    return { results, lines };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
