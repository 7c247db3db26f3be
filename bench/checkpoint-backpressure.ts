/**
 * Checkpoints of a job under sustained backpressure (issue 13): a source as fast as the network
 * takes its records, `keyBy`, and a slow keyed operator, so every channel holds a full backlog.
 * An aligned checkpoint's barriers queue behind that backlog; an unaligned one's overtake it and
 * store it. The figures are the checkpoints' end-to-end durations in each mode, and the in-flight
 * data the unaligned ones stored.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  DataGeneratorSource,
  KeyedProcessFunction,
  StreamExecutionEnvironment,
  type CheckpointStats,
  type Collector,
  type KeyedProcessContext,
} from '../src/index.js';
import { CountingSink, type ComparisonResult } from './harness.js';

/** Busy time per record in the keyed operator: the job's throughput cap. */
const SLOW_US = 40;
const INTERVAL_MS = 1_000;
/** A mode whose checkpoints do not complete within this long fails the bench. */
const MAX_SECONDS = 60;

type Mode = 'aligned' | 'unaligned' | 'timeout';

/** A keyed operator that spends `SLOW_US` per record (a stand-in for an expensive call). */
class Slow extends KeyedProcessFunction<number, number, number> {
  processElement(value: number, _ctx: KeyedProcessContext<number>, out: Collector<number>): void {
    const until = performance.now() + SLOW_US / 1000;
    while (performance.now() < until);
    out.collect(value);
  }
}

interface ModeRun {
  /** Completed checkpoints, oldest first. */
  readonly checkpoints: readonly CheckpointStats[];
  readonly records: number;
  readonly seconds: number;
}

async function runMode(mode: Mode, seconds: number, dir: string): Promise<ModeRun> {
  const sink = new CountingSink<number>();
  sink.reset();
  const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(2);
  env.enableCheckpointing(INTERVAL_MS);
  const config = env.getCheckpointConfig();
  config.setCheckpointStorage(pathToFileURL(join(dir, mode)).href);
  config.setCheckpointTimeout(120_000);
  if (mode !== 'aligned') config.enableUnalignedCheckpoints();
  // Starts aligned; goes unaligned where aligning takes longer than this.
  if (mode === 'timeout') config.setAlignedCheckpointTimeout(100);
  env
    .fromSource(new DataGeneratorSource((i) => i, Number.MAX_SAFE_INTEGER), 'numbers')
    .keyBy((i) => i % 1_000)
    .process(new Slow())
    .sinkTo(sink);
  const client = await env.executeAsync(`bench: checkpoint-backpressure-${mode}`);
  const started = performance.now();
  const completed = (): CheckpointStats[] =>
    (client.getCheckpointStats()?.history ?? []).filter((c) => c.status === 'COMPLETED').reverse();
  // At least `seconds`, and until 3 checkpoints completed (aligned ones take as long as the backlog).
  while (
    performance.now() - started < seconds * 1000 ||
    (completed().length < 3 && performance.now() - started < MAX_SECONDS * 1000)
  )
    await new Promise((resolve) => setTimeout(resolve, 100));
  const checkpoints = completed();
  await client.cancel();
  return { checkpoints, records: sink.count, seconds: (performance.now() - started) / 1000 };
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? Number.NaN : sorted[Math.floor(sorted.length / 2)]!;
};
const persisted = (c: CheckpointStats): number => c.subtasks.reduce((n, s) => n + (s.persistedData ?? 0), 0);

/** The three figures, from one run of `seconds` per mode. */
export async function checkpointBackpressure(
  seconds: number,
): Promise<{ results: ComparisonResult[]; lines: string[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-backpressure-'));
  try {
    const runs = {} as Record<Mode, ModeRun>;
    for (const mode of ['aligned', 'unaligned', 'timeout'] as const)
      runs[mode] = await runMode(mode, seconds, dir);
    for (const [mode, run] of Object.entries(runs))
      if (run.checkpoints.length === 0)
        throw new Error(
          `checkpoint-backpressure: no checkpoint completed in ${MAX_SECONDS} s in ${mode} mode`,
        );
    const duration = (mode: Mode) => median(runs[mode].checkpoints.map((c) => c.endToEndDurationMs));
    const samples = (mode: Mode) => runs[mode].checkpoints.map((c) => c.endToEndDurationMs);
    const aligned = duration('aligned');
    const unaligned = duration('unaligned');
    const timeout = duration('timeout');
    const inFlight = median(runs.unaligned.checkpoints.map(persisted));
    const what = `p2 keyBy into an operator busy ${SLOW_US} µs per record, checkpoints every ${INTERVAL_MS} ms, median end-to-end duration`;
    const results: ComparisonResult[] = [
      {
        name: 'checkpoint-backpressure-aligned',
        description: `aligned checkpoints under backpressure: ${what}`,
        baselineDescription: 'unaligned checkpoints of the same job',
        unit: 'ms',
        goal: undefined,
        value: aligned,
        baseline: unaligned,
        ratio: aligned / unaligned,
        subjectSamples: samples('aligned'),
        baselineSamples: samples('unaligned'),
      },
      {
        name: 'checkpoint-backpressure-unaligned',
        description: `unaligned checkpoints under backpressure: ${what}`,
        baselineDescription: 'aligned checkpoints of the same job',
        unit: 'ms',
        goal: 10,
        goalOf: 'ratio-at-least',
        ratioOf: 'aligned / unaligned duration',
        value: unaligned,
        baseline: aligned,
        ratio: aligned / unaligned,
        subjectSamples: samples('unaligned'),
        baselineSamples: samples('aligned'),
      },
      {
        name: 'checkpoint-backpressure-timeout',
        description: `aligned checkpoints with a 100 ms aligned-checkpoint-timeout under backpressure: ${what}`,
        baselineDescription: 'aligned checkpoints of the same job',
        unit: 'ms',
        goal: undefined,
        value: timeout,
        baseline: aligned,
        ratio: timeout / aligned,
        subjectSamples: samples('timeout'),
        baselineSamples: samples('aligned'),
      },
      {
        name: 'checkpoint-backpressure-persisted-data',
        description: 'in-flight data an unaligned checkpoint stored (median over its checkpoints)',
        baselineDescription: 'state size of the same checkpoints',
        unit: 'bytes',
        goal: undefined,
        value: inFlight,
        baseline: median(runs.unaligned.checkpoints.map((c) => c.stateSize)),
        ratio: inFlight / median(runs.unaligned.checkpoints.map((c) => c.stateSize)),
        subjectSamples: runs.unaligned.checkpoints.map(persisted),
        baselineSamples: runs.unaligned.checkpoints.map((c) => c.stateSize),
      },
    ];
    const lines = (['aligned', 'unaligned', 'timeout'] as const).map(
      (mode) =>
        `  (${mode}: ${runs[mode].checkpoints.length} checkpoints, durations ms ${samples(mode)
          .map((d) => d.toFixed(0))
          .join(
            ', ',
          )}; ${runs[mode].records.toLocaleString('en')} records in ${runs[mode].seconds.toFixed(1)} s)`,
    );
    return { results, lines };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
