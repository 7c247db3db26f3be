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

class InPlaceSum extends KeyedProcessFunction<number, number, number> {
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

/** What one run of the job measured. */
interface JobRun {
  readonly recordsPerSecond: number;
  /** Completed checkpoints that held every key, oldest first. */
  readonly fullCheckpoints: readonly CheckpointStats[];
}

/** Runs the job once: `records` records over `keys` keys, checkpointing every `intervalMs` (0: off). */
async function runJob(records: number, keys: number, intervalMs: number, dir: string): Promise<JobRun> {
  const sink = new CountingSink<number>();
  sink.reset();
  const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(1);
  if (intervalMs > 0) {
    env.enableCheckpointing(intervalMs);
    env.getCheckpointConfig().setCheckpointStorage(pathToFileURL(dir).href);
  }
  env
    .fromSource(new DataGeneratorSource((i) => keyOf(i, keys), records), 'Keys')
    .keyBy((k) => k)
    .process(new InPlaceSum())
    .sinkTo(sink);
  const started = performance.now();
  const client = await env.executeAsync('bench: checkpoint-overhead-1m-keys');
  await client.getJobExecutionResult();
  const seconds = (performance.now() - started) / 1000;
  expectCount('checkpoint-overhead sink', sink.count, records);
  const stats = client.getCheckpointStats();
  // The keyed subtask's state is full once the first `keys` records went by: later checkpoints.
  const fullCheckpoints = (stats?.history ?? [])
    .filter((c) => c.status === 'COMPLETED' && c.stateSize > 0)
    .reverse()
    .slice(1);
  return { recordsPerSecond: records / seconds, fullCheckpoints };
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
  let length = 0;
  const append = (bytes: Uint8Array): void => {
    if (length + bytes.length + 4 > buffer.length) {
      const grown = new Uint8Array(buffer.length * 2);
      grown.set(buffer.subarray(0, length));
      buffer = grown;
    }
    new DataView(buffer.buffer).setUint32(length, bytes.length);
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
    const withCheckpoints: JobRun[] = [];
    const without: JobRun[] = [];
    const limits: number[] = [];
    await runJob(Math.min(records, keys * 2), keys, 1000, dir); // warm-up
    await runJob(Math.min(records, keys * 2), keys, 0, dir);
    for (let i = 0; i < timing.repetitions; i++) {
      withCheckpoints.push(await runJob(records, keys, 1000, dir));
      without.push(await runJob(records, keys, 0, dir));
      limits.push(await plainCheckpoint(keys, dir));
    }
    const checkpoints = withCheckpoints.flatMap((r) => r.fullCheckpoints);
    if (checkpoints.length === 0)
      throw new Error('checkpoint-overhead: no checkpoint held the full state; give the job more records');
    const subtasks = checkpoints.flatMap((c) => c.subtasks);
    const syncPause = Math.max(...subtasks.map((s) => s.syncDurationMs));
    // The keyed subtask is the one with the state; its asynchronous phase is the one to compare.
    const keyedAsync = checkpoints.map((c) => Math.max(...c.subtasks.map((s) => s.asyncDurationMs)));
    const bestAsync = Math.min(...keyedAsync);
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
        value: syncPause,
        baseline: bestLimit,
        ratio: syncPause / bestLimit,
        subjectSamples: subtasks.map((s) => s.syncDurationMs),
        baselineSamples: limits,
      },
      {
        name: 'checkpoint-async-vs-limit',
        description: 'asynchronous phase of the keyed subtask (sliced, while records flow), best checkpoint',
        baselineDescription: 'a plain loop: serialize the same entries, write one file, fsync',
        unit: 'ms',
        goal: 0.7,
        value: bestAsync,
        baseline: bestLimit,
        // Limit over actual: the share of the ideal the asynchronous phase reaches.
        ratio: bestLimit / bestAsync,
        subjectSamples: keyedAsync,
        baselineSamples: limits,
      },
    ];
    const lines = [
      `checkpoint-overhead-1m-keys: ${checkpoints.length} full-state checkpoints over ${timing.repetitions} runs; ` +
        `state ${(median(checkpoints.map((c) => c.stateSize)) / 2 ** 20).toFixed(1)} MiB; ` +
        `async phase median ${median(keyedAsync).toFixed(0)} ms`,
    ];
    return { results, lines };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
