// The progress of a job: full vertex names, records over every attempt, lines that fit the terminal.
import { describe, expect, it } from 'vitest';
import type { VertexMetrics } from '../api/execution.js';
import { AttemptTotals, progressBlock, progressLine, type ProgressState } from './progress.js';

const metrics = (records: readonly number[]): VertexMetrics[] =>
  ['clicks -> a rather long enrichment step', 'running count', 'Collect Sink'].map((name, i) => ({
    name,
    parallelism: 3,
    recordsIn: records[i]!,
    recordsOut: 0,
    bytesOut: 0,
    maxInputChannelBytes: 0,
    maxOutputChannelBytes: 0,
  }));

const state = (records: readonly number[]): ProgressState => ({
  jobName: 'click-counts',
  status: 'RUNNING',
  elapsedMs: 6000,
  vertices: metrics(records).map((m) => ({ name: m.name, records: m.recordsIn })),
  rate: 48_200,
  checkpoints: { completed: 5, latest: 6 },
  restarts: 1,
});

describe('progress', () => {
  it('keeps the records of restarted attempts in the totals', () => {
    const totals = new AttemptTotals();
    totals.sample(metrics([150_000, 140_000, 130_000]));
    // A restart: the counters start again (a region restart resets only some subtasks).
    expect(totals.sample(metrics([0, 20_000, 0])).map((v) => v.records)).toEqual([150_000, 140_000, 130_000]);
    expect(totals.sample(metrics([160_000, 170_000, 165_000])).map((v) => v.records)).toEqual([
      310_000, 290_000, 295_000,
    ]);
    // While nothing is deployed, the last figures stay.
    expect(totals.sample([]).map((v) => v.records)).toEqual([310_000, 290_000, 295_000]);
  });

  it('takes exact totals from the executor when it counts every execution', () => {
    const totals = new AttemptTotals(() => [336_000, 330_000, 328_000]);
    expect(totals.sample(metrics([186_000, 185_000, 184_000])).map((v) => v.records)).toEqual([
      336_000, 330_000, 328_000,
    ]);
  });

  it('shows full vertex names on one line for logs and pipes', () => {
    expect(progressLine(state([310_000, 300_000, 299_000]))).toBe(
      '[sluice] click-counts RUNNING 6.0s | clicks -> a rather long enrichment step 310.0k → running count 300.0k → ' +
        'Collect Sink 299.0k | 48.2k records/s | checkpoints 5 (last #6) | restarts 1 (counts include replayed records)',
    );
  });

  it('breaks a terminal block between items, never inside a name', () => {
    const block = progressBlock(state([310_000, 300_000, 299_000]), 60);
    expect(block).toEqual([
      '[sluice] click-counts RUNNING 6.0s · 48.2k records/s ·',
      'checkpoints 5 (last #6) ·',
      'restarts 1 (counts include replayed records)',
      '  clicks -> a rather long enrichment step 310.0k →',
      '  running count 300.0k → Collect Sink 299.0k',
    ]);
    for (const line of block) expect(line.length).toBeLessThanOrEqual(60);
  });
});
