// Regression (issue "Trust the core", point 1): objects in keyed state changed in place after a
// barrier must not leak into that checkpoint; with failures at random points, at p1-p4, inline and
// on TaskManager processes, the output equals the failure-free run's.
import fc from 'fast-check';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { expectedRows, main } from '../fixtures/in-place-state-job.js';
import { useTestClusters } from '../support/cluster.js';
import { expectSameMultiset } from '../support/helpers.js';

const JOB = fileURLToPath(new URL('../fixtures/in-place-state-job.ts', import.meta.url));
const RECORDS = 60_000;
const KEYS = 20_000;

describe('state objects changed in place', () => {
  it('inline: a failure at a random record at p1-p4 gives the failure-free rows exactly once', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.double({ min: 0.3, max: 0.9, noNaN: true }),
        async (parallelism, fraction) => {
          // The failing subtask sees about RECORDS / parallelism records.
          const failAt = Math.floor((fraction * RECORDS) / parallelism);
          const rows = await main([`${RECORDS}`, `${KEYS}`, `${parallelism}`, '20', `${failAt}`, '150000']);
          expectSameMultiset(rows, expectedRows(RECORDS, KEYS));
        },
      ),
      { numRuns: 6, endOnFailure: true },
    );
  });

  const clusters = useTestClusters();

  // A failure at a different point of the run at each parallelism.
  it.each([
    [1, 0.8],
    [2, 0.35],
    [3, 0.5],
    [4, 0.65],
  ])(
    'on TaskManager processes at p%i: a failure after %f of the input gives the failure-free rows exactly once',
    async (parallelism, fraction) => {
      const failAt = Math.floor((fraction * RECORDS) / parallelism);
      const args = [`${RECORDS}`, `${KEYS}`, `${parallelism}`, '20', `${failAt}`, '150000'];
      const running = await clusters.start({ jobFile: JOB, args, taskManagers: 2, slots: 2 });
      await running.waitForTaskManagers(2);
      const rows = await main(args);
      const [master] = running.executor.jobMasters;
      expect(master!.getJobStatus()).toBe('FINISHED');
      expect(master!.getNumRestarts()).toBe(1);
      // Restored from a checkpoint taken while the objects were being changed, not from scratch.
      expect(master!.getCheckpointStats()!.counts.restored).toBe(1);
      expectSameMultiset(rows, expectedRows(RECORDS, KEYS));
    },
  );
});
