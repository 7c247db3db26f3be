// Flink's CountWithTimeoutFunction (the Process Function page's example), ported to
// examples/process-function: it emits a key's count once a minute passed without an update —
// in STREAMING when processing time gets there (shown with a test harness's clock), in BATCH
// once at the end of input, where every timer fires.
import { describe, expect, it } from 'vitest';
import { ProcessFunctionTestHarnesses } from 'sluice/testing';
import { CountWithTimeoutFunction } from '../../examples/process-function/count-with-timeout-function.js';
import { multiset } from '../support/helpers.js';
import { runExample } from './run-example.js';

const JOB = 'examples/process-function/count-with-timeout.ts';
const EXPECTED = [
  ['alice', 3],
  ['bob', 2],
  ['carol', 1],
];

describe('CountWithTimeoutFunction', () => {
  it('emits a key’s count once a minute of processing time passed without an update to it', async () => {
    const harness = ProcessFunctionTestHarnesses.forKeyedProcessFunction(
      new CountWithTimeoutFunction(),
      (value: [string, string]) => value[0],
    );
    harness.processElement(['alice', 'login']);
    harness.processElement(['bob', 'login']);
    harness.setProcessingTime(30_000);
    harness.processElement(['alice', 'search']);
    // bob's minute is over; alice's first timer fires too, but she was updated since: no output.
    harness.setProcessingTime(60_000);
    expect(harness.extractOutputValues()).toEqual([['bob', 1]]);
    harness.setProcessingTime(89_999);
    expect(harness.extractOutputValues()).toEqual([['bob', 1]]);
    harness.setProcessingTime(90_000);
    expect(harness.extractOutputValues()).toEqual([
      ['bob', 1],
      ['alice', 2],
    ]);
    expect(harness.numProcessingTimeTimers()).toBe(0);
    await harness.close();
  });

  it('runs as a BATCH job to its end on TaskManagers: every timer fires at the end of input', async () => {
    const r = await runExample(JOB);
    expect(r.code, r.stderr).toBe(0);
    expect(multiset(r.printed)).toEqual(multiset(EXPECTED));
  });

  it('runs the same inline', async () => {
    const r = await runExample(JOB, { inline: true, options: ['-p', '2'] });
    expect(r.code, r.stderr).toBe(0);
    expect(multiset(r.printed)).toEqual(multiset(EXPECTED));
  });
});
