// Records per vertex over all attempts: each execution's last report counts, late ones too.
import { describe, expect, it } from 'vitest';
import type { JobId } from '../core/ids.js';
import { AttemptCounters } from './attempt-counters.js';

const jobId = 'a'.repeat(32) as JobId;
const report = (attempt: number, vertexIndex: number, subtask: number, recordsIn: number) => ({
  jobId,
  attempt,
  vertexIndex,
  subtask,
  counters: { recordsIn, recordsOut: 0 },
});

describe('AttemptCounters', () => {
  it('adds up the executions of every attempt, even reports that come after the next attempt started', () => {
    const counters = new AttemptCounters(2);
    counters.record(report(0, 0, 0, 100));
    counters.record(report(0, 0, 1, 120));
    counters.record(report(0, 1, 0, 90));
    // The job restarted: attempt 1 counts from zero.
    counters.record(report(1, 0, 0, 10));
    expect(counters.recordsIn()).toEqual([230, 90]);
    // The cancelled attempt's final counters arrive late; an older, smaller report changes nothing.
    counters.record(report(0, 0, 1, 150));
    counters.record(report(0, 0, 1, 140));
    counters.record(report(1, 0, 0, 60));
    expect(counters.recordsIn()).toEqual([310, 90]);
  });
});
