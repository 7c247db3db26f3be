// Issue 12 point 3: incremental checkpoints of the hashmap and lmdb backends in a whole job. With a
// failure injected after a completed checkpoint, the restore reads a base and its deltas, and the
// output equals the failure-free run's exactly once; checkpoints after the first write only a part
// of the state.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { expectedRows, main } from '../fixtures/in-place-state-job.js';
import { useTestClusters } from '../support/cluster.js';
import { expectSameMultiset } from '../support/helpers.js';

const JOB = fileURLToPath(new URL('../fixtures/in-place-state-job.ts', import.meta.url));
const RECORDS = 60_000;
const KEYS = 20_000;

let dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  dirs = [];
});

async function checkpointDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-incremental-'));
  dirs.push(dir);
  return dir;
}

const clusters = useTestClusters();

describe.each(['hashmap', 'lmdb'])('incremental checkpoints (%s)', (backend) => {
  it('inline: a failure at a random record at p1-p4 gives the failure-free rows exactly once', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.double({ min: 0.3, max: 0.9, noNaN: true }),
        async (parallelism, fraction) => {
          const dir = await checkpointDir();
          const failAt = Math.floor((fraction * RECORDS) / parallelism);
          const args = [`${RECORDS}`, `${KEYS}`, `${parallelism}`, '20', `${failAt}`, '150000', dir, backend];
          const rows = await main(args);
          expectSameMultiset(rows, expectedRows(RECORDS, KEYS));
          // The job finished: its checkpoints, shared files included, are gone.
          expect(await readdir(dir)).toEqual([]);
        },
      ),
      // An lmdb run reads and writes LMDB six times per record: fewer runs keep the test's time.
      { numRuns: backend === 'lmdb' ? 2 : 4, endOnFailure: true },
    );
  }, 120_000);

  it('on TaskManager processes at p2: restores a chain, and a checkpoint writes less than its state', async () => {
    const dir = await checkpointDir();
    const failAt = Math.floor((0.6 * RECORDS) / 2);
    const args = [`${RECORDS}`, `${KEYS}`, '2', '20', `${failAt}`, '150000', dir, backend];
    const running = await clusters.start({ jobFile: JOB, args, taskManagers: 2, slots: 2 });
    await running.waitForTaskManagers(2);
    const rows = await main(args);
    const [master] = running.executor.jobMasters;
    expect(master!.getJobStatus()).toBe('FINISHED');
    expect(master!.getNumRestarts()).toBe(1);
    const stats = master!.getCheckpointStats()!;
    expect(stats.counts.restored).toBe(1);
    expectSameMultiset(rows, expectedRows(RECORDS, KEYS));
    // A delta: what the checkpoint wrote is less than the state it restores (base plus deltas). The
    // job's keys are still arriving, so deltas are large here; the bench measures a steady state.
    const completed = stats.history.filter((c) => c.status === 'COMPLETED' && c.stateSize > 0);
    expect(completed.some((c) => c.checkpointedSize < c.stateSize)).toBe(true);
  });
});
