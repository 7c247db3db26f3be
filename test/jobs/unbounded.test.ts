// Unbounded jobs run until cancelled: job status, cancellation result, executeAndCollect(limit), and tasks stopping for good.
import { describe, expect, it } from 'vitest';
import { DataGeneratorSource, type Sink } from 'sluice';
import { envAt, rejectsWith, waitFor, whileAnotherJobRuns } from '../support/helpers.js';

let generated = 0;
let written = 0;
const countingSink: Sink<number> = {
  createWriter: () => ({
    write: () => void written++,
    flush() {},
    close() {},
  }),
};

describe.each([1, 2, 3, 4])('at parallelism %i', (p) => {
  it('an unbounded job is RUNNING until cancelled, then CANCELED, and its result rejects', async () => {
    generated = 0;
    written = 0;
    const env = envAt(p);
    env
      .fromSource(
        new DataGeneratorSource((i) => (generated++, i), Infinity, { recordsPerSecond: 1_000 }),
        'forever',
      )
      .sinkTo(countingSink);
    const client = await env.executeAsync('forever');
    expect(client.jobName).toBe('forever');
    expect(client.getJobStatus()).toBe('RUNNING');
    await waitFor(() => written >= 20, 'records to reach the sink');
    expect(client.getJobStatus()).toBe('RUNNING');

    await client.cancel();
    expect(client.getJobStatus()).toBe('CANCELED');
    const error = await rejectsWith(client.getJobExecutionResult(), 'SLUICE_JOB_CANCELLED');
    expect(error.message).toContain('forever');
    // Nothing of the job runs any more, while the scheduler keeps running other jobs.
    const atCancel = generated;
    await whileAnotherJobRuns();
    expect(generated).toBe(atCancel);
    // Cancelling again is a no-op.
    await client.cancel();
    expect(client.getJobStatus()).toBe('CANCELED');
  });
});

it('executeAndCollect(name, limit) returns the first `limit` records of an unbounded stream and stops the job', async () => {
  generated = 0;
  const out = await envAt(2)
    .fromSource(
      new DataGeneratorSource((i) => (generated++, `r${i}`), Infinity, { recordsPerSecond: 1_000 }),
      'gen',
    )
    .map((x) => `${x}!`)
    .executeAndCollect('limited', 25);
  expect(out).toHaveLength(25);
  for (const x of out) expect(x).toMatch(/^r\d+!$/);
  expect(new Set(out).size).toBe(25);
  const atEnd = generated;
  await whileAnotherJobRuns();
  expect(generated).toBe(atEnd);
});

// Regression: the collect sink handed records over only in batches of 1024 (or at the end of
// input), so executeAndCollect(limit) on a slow unbounded stream waited ~1024 records' time, and
// forever when fewer records ever came.
it('executeAndCollect(limit) returns as soon as a slow stream delivered `limit` records', async () => {
  const out = await envAt(1)
    .fromSource(new DataGeneratorSource((i) => i, Infinity, { recordsPerSecond: 20 }), 'slow')
    .executeAndCollect('slow', 3);
  expect(out).toEqual([0, 1, 2]);
}, 5_000);
