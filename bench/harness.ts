/** Bench harness: warm-up, interleaved repeated timing of a subject and its baseline, and the report. */
import type { Sink, SinkWriter } from '../src/index.js';

/**
 * A pass that times itself: `seconds` is the part of it that counts (a cluster job's run without
 * its deployment, say), in place of the wall clock around the whole pass.
 */
export interface TimedPass {
  readonly records: number;
  readonly seconds: number;
}

/**
 * One pass over the benchmark's records; returns how many records it processed (timed by the
 * wall clock around it), or a TimedPass. A subject and its baseline must be timed alike.
 */
export type Pass = () => number | TimedPass | Promise<number | TimedPass>;

/** A Sluice measurement and the hand-written loop that bounds it, run on the same records. */
export interface Comparison {
  /** Stable name of the figure (the `name` of its JSON result). */
  readonly name: string;
  /** What the subject measures, for the human-readable lines. */
  readonly description: string;
  /** What the baseline measures. */
  readonly baselineDescription: string;
  /** The Sluice job: one pass runs the job to its end. */
  readonly subject: Pass;
  /** The plain-TypeScript physical limit of the same work. */
  readonly baseline: Pass;
  /** The ratio this figure aims at (default 0.5: half of the limit; null: none yet). */
  readonly goal?: number | null;
  /** Releases what the passes started (processes, ports); called once, after the last pass. */
  readonly close?: () => Promise<void>;
}

/** How comparisons are timed. */
export interface TimingOptions {
  /** Timed repetitions of each pass, after one untimed warm-up (best one counts). */
  readonly repetitions: number;
  /** A sample repeats its pass until at least this long has elapsed, so fast loops time well. */
  readonly minSampleSeconds: number;
}

/** The outcome of one comparison, in records per second. */
export interface ComparisonResult {
  readonly name: string;
  readonly description: string;
  readonly baselineDescription: string;
  /** `records/s` for the throughput figures; `ms` for durations and `bytes` for sizes (lower is better). */
  readonly unit: 'records/s' | 'ms' | 'bytes';
  /** The ratio aimed at (or the value, see `goalOf`); undefined when there is none. */
  readonly goal: number | undefined;
  /**
   * What the goal bounds: the ratio from below (the default for records/s), the ratio from above
   * (the default for ms), or the value itself from above (a pause in ms, say).
   */
  readonly goalOf?: 'ratio-at-least' | 'ratio-at-most' | 'value-at-most';
  /** How the ratio is formed, when it is not sluice / baseline. */
  readonly ratioOf?: string;
  /** Best sample of the subject. */
  readonly value: number;
  /** Best sample of the baseline. */
  readonly baseline: number;
  /** value / baseline. */
  readonly ratio: number;
  /** Every timed sample, for the spread. */
  readonly subjectSamples: readonly number[];
  readonly baselineSamples: readonly number[];
}

/**
 * Runs `pass` until `minSeconds` have elapsed (at least once); returns records per second, over
 * the wall clock or, for passes that time themselves, over the seconds they report.
 */
async function sample(pass: Pass, minSeconds: number): Promise<number> {
  let records = 0;
  let timed = 0;
  let selfTimed = false;
  const start = performance.now();
  let elapsed = 0;
  do {
    const outcome = await pass();
    if (typeof outcome === 'number') records += outcome;
    else {
      selfTimed = true;
      records += outcome.records;
      timed += outcome.seconds;
    }
    elapsed = (performance.now() - start) / 1000;
  } while (elapsed < minSeconds);
  return records / (selfTimed ? timed : elapsed);
}

/**
 * Warms both passes up once (JIT), then alternates subject and baseline samples so that noise
 * from other tenants of the machine hits both alike, and keeps the best of each: the best
 * sample is the one least disturbed, which is what a limit-relative ratio wants.
 */
export async function compare(c: Comparison, options: TimingOptions): Promise<ComparisonResult> {
  const subjectSamples: number[] = [];
  const baselineSamples: number[] = [];
  try {
    await c.subject();
    await c.baseline();
    for (let i = 0; i < options.repetitions; i++) {
      subjectSamples.push(await sample(c.subject, options.minSampleSeconds));
      baselineSamples.push(await sample(c.baseline, options.minSampleSeconds));
    }
  } finally {
    await c.close?.();
  }
  const value = Math.max(...subjectSamples);
  const baseline = Math.max(...baselineSamples);
  return {
    name: c.name,
    description: c.description,
    baselineDescription: c.baselineDescription,
    unit: 'records/s',
    goal: c.goal === null ? undefined : (c.goal ?? 0.5),
    value,
    baseline,
    ratio: value / baseline,
    subjectSamples,
    baselineSamples,
  };
}

/** Throws unless a pass processed what it should have: a broken job must not look fast. */
export function expectCount(what: string, actual: number, expected: number): void {
  if (actual !== expected) throw new Error(`${what}: counted ${actual} records, expected ${expected}.`);
}

function figure(value: number, unit: ComparisonResult['unit']): string {
  if (unit === 'records/s') return `${(value / 1e6).toFixed(2)} M records/s`;
  if (unit === 'bytes') return `${(value / 2 ** 20).toFixed(2)} MiB`;
  return value < 10 ? `${value.toFixed(2)} ms` : `${value.toFixed(0)} ms`;
}

function spread(samples: readonly number[], unit: ComparisonResult['unit']): string {
  const label = unit === 'ms' ? 'ms' : unit === 'bytes' ? 'MiB' : 'M/s';
  const show = (s: number): string =>
    unit === 'ms'
      ? s.toFixed(s < 10 ? 2 : 0)
      : unit === 'bytes'
        ? (s / 2 ** 20).toFixed(3)
        : (s / 1e6).toFixed(2);
  return `samples, ${label}: ${samples.map(show).join(', ')}`;
}

/** The human-readable lines of one result. */
export function formatResult(r: ComparisonResult): string {
  const goalOf = r.goalOf ?? (r.unit === 'records/s' ? 'ratio-at-least' : 'ratio-at-most');
  const ratioGoal =
    r.goal === undefined || goalOf === 'value-at-most'
      ? ''
      : `; goal ${goalOf === 'ratio-at-most' ? '<=' : '>='} ${r.goal}`;
  const valueGoal = r.goal !== undefined && goalOf === 'value-at-most' ? `; goal <= ${r.goal} ${r.unit}` : '';
  return [
    `${r.name}: ${r.description}`,
    `  sluice   ${figure(r.value, r.unit).padStart(20)}   (${spread(r.subjectSamples, r.unit)}${valueGoal})`,
    `  baseline ${figure(r.baseline, r.unit).padStart(20)}   (${spread(r.baselineSamples, r.unit)})  ${r.baselineDescription}`,
    `  ratio    ${r.ratio.toFixed(3).padStart(20)}   (${r.ratioOf ?? 'sluice / baseline'}${ratioGoal})`,
  ].join('\n');
}

/** The machine-readable summary: one JSON object on one line (the last line of stdout). */
export function formatJson(bench: string, results: readonly ComparisonResult[]): string {
  return JSON.stringify({
    bench,
    results: results.map((r) => ({
      name: r.name,
      // Sub-millisecond durations keep their precision (a synchronous phase is well under 1 ms).
      value: r.unit === 'ms' && r.value < 10 ? Number(r.value.toFixed(3)) : Math.round(r.value),
      unit: r.unit,
      baseline: Math.round(r.baseline),
      ratio: Number(r.ratio.toFixed(4)),
    })),
  });
}

/** Records counted by CountingSink writers, shared by all subtasks (sinks are copied per subtask). */
let counted = 0;

/** A sink whose writers only count records (into a module-level counter). */
export class CountingSink<T> implements Sink<T> {
  /** Starts a new count; call before each job. */
  reset(): void {
    counted = 0;
  }
  /** Records written since the last reset, over all subtasks. */
  get count(): number {
    return counted;
  }
  createWriter(): SinkWriter<T> {
    return {
      write: () => {
        counted++;
      },
      flush: () => {},
      close: () => {},
    };
  }
}
