// The exactly-once sinks through a SIGKILLed TaskManager (issue 16 point 6), in cluster mode: one
// job writes numbers → keyBy → running count into a FileSink, JdbcSink.exactlyOnceSink and an
// EXACTLY_ONCE JetStreamSink at once; a TaskManager process is killed once checkpoints completed
// and output was committed. Afterwards the finished part files, the table and the stream each
// hold every record exactly once, and no prepared transaction of the sink is left in PostgreSQL
// (those the killed process prepared were committed or rolled back by the restarted job).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { JobClient } from '../../src/api/execution.js';
import { main, type Counted } from '../fixtures/connector-sinks-job.js';
import { firstJobMaster, until, useTestClusters } from '../support/cluster.js';
import { requireServer } from '../support/external-servers.js';
import {
  createSinkTargets,
  expectExactlyOnce,
  finishedRecords,
  streamMessages,
} from '../support/sink-targets.js';

const JOB = fileURLToPath(new URL('../fixtures/connector-sinks-job.ts', import.meta.url));
const available = (await requireServer('postgres')) && (await requireServer('nats'));
const clusters = useTestClusters();

describe.runIf(available)('exactly-once sinks through a SIGKILLed TaskManager', () => {
  it('FileSink, JdbcSink.exactlyOnceSink and JetStreamSink each hold every record exactly once', async () => {
    const records = 4000;
    const dir = mkdtempSync(join(tmpdir(), 'sluice-sinks-kill-'));
    clusters.defer(() => rmSync(dir, { recursive: true, force: true }));
    const { pg, table, nc, jsm, stream, prefix } = await createSinkTargets('killed', (c) =>
      clusters.defer(c),
    );
    const args = [join(dir, 'out'), table, stream, prefix, String(records)];

    const running = await clusters.start({ jobFile: JOB, args, taskManagers: 2, slots: 2 });
    await running.waitForTaskManagers(2);
    let client: JobClient | undefined;
    const done = main(args, (c) => (client = c));
    const master = await firstJobMaster(running);
    const rows = async () =>
      Number((await pg.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0]!.n);
    // Mid-job: checkpoints completed and their rows committed, most records still to come.
    await until(async () => {
      expect(client?.getCheckpointStats()?.counts.completed ?? 0).toBeGreaterThanOrEqual(2);
      expect(await rows()).toBeGreaterThan(0);
    });
    const victim = running.cluster.taskManagerProcesses[0]!;
    victim.child.kill('SIGKILL');
    expect(await rows()).toBeLessThan(records);
    await done;
    expect(master.getJobStatus()).toBe('FINISHED');
    expect(master.getNumRestarts()).toBeGreaterThanOrEqual(1);

    // FileSink: the finished part files.
    expectExactlyOnce(finishedRecords(join(dir, 'out')), records, 'FileSink');
    // JdbcSink.exactlyOnceSink: the rows, and no prepared transaction left behind.
    const { rows: stored } = await pg.query<Counted>(`SELECT k, c, n FROM ${table}`);
    expectExactlyOnce(stored, records, 'JdbcSink.exactlyOnceSink');
    const { rows: prepared } = await pg.query(`SELECT gid FROM pg_prepared_xacts WHERE gid LIKE $1`, [
      `${prefix}:%`,
    ]);
    expect(prepared).toEqual([]);
    // JetStreamSink: the messages in the stream (replays inside the duplicate window dropped).
    const messages = await streamMessages<Counted>(nc, jsm, stream);
    expectExactlyOnce(messages, records, 'JetStreamSink');
  }, 60_000);
});
