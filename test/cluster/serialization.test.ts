// Faithful serialization on real TaskManager processes: the job module registers its classes at
// its top level, which runs in every process, so records crossing the TCP data plane, keyed state
// restored after a failure and records collected back through the JobManager keep their types.
import { isDeepStrictEqual } from 'node:util';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { TYPES, main, restoredEnough } from '../fixtures/faithful-types-job.js';
import { useTestClusters } from '../support/cluster.js';
import { collectUntil } from '../support/helpers.js';

const JOB = fileURLToPath(new URL('../fixtures/faithful-types-job.ts', import.meta.url));
const clusters = useTestClusters();

describe('on two TaskManager processes', () => {
  it('every supported kind of value crosses TCP, is restored from checkpointed state and collected unchanged', async () => {
    const args = ['all'];
    const running = await clusters.start({ jobFile: JOB, args, taskManagers: 2, slots: 1 });
    await running.waitForTaskManagers(2);
    const { env, result } = main(args);
    const { records, client } = await collectUntil(env, result, restoredEnough, 60_000);
    expect(client.getNumRestarts()).toBeGreaterThanOrEqual(1);
    expect(records.filter((r) => !r.exchangeOk)).toEqual([]);
    expect(records.filter((r) => !r.stateOk)).toEqual([]);
    expect(records.filter((r) => r.restoredState).length).toBeGreaterThan(0);
    // Collected through the JobManager: still the same values, classes included.
    expect(records.filter((r) => !isDeepStrictEqual(r.value, TYPES.all(r.i))).map((r) => r.i)).toEqual([]);
    // The keyed subtasks ran in both processes, so records crossed between them.
    const [master] = running.executor.jobMasters;
    const placement = running.executor.gatewayOf(master!)!;
    expect(new Set([0, 1].map((s) => placement.placementOf(1, s)?.id)).size).toBe(2);
  });
});
