// Issue 12 point 1: with the lmdb state backend, a job whose keyed state is ten times the
// TaskManager's heap limit runs to the end with correct results (on the heap it cannot).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { main } from '../fixtures/large-state-job.js';
import { killProcess, spawnTaskManagerProcess, until, useTestClusters } from '../support/cluster.js';

const LARGE_STATE_JOB = fileURLToPath(new URL('../fixtures/large-state-job.ts', import.meta.url));
const clusters = useTestClusters();

const HEAP_MB = 64;
const BYTES = 4096;
// 170,000 × 4 KiB = 680 MiB of state: over ten times the heap limit.
const KEYS = 170_000;

describe('lmdb keyed state larger than the heap', () => {
  it(`runs a job with ${Math.round((KEYS * BYTES) / 2 ** 20)} MiB of state on a TaskManager with a ${HEAP_MB} MiB heap`, async () => {
    expect(KEYS * BYTES).toBeGreaterThan(10 * HEAP_MB * 2 ** 20);
    const args = ['--keys', String(KEYS), '--bytes', String(BYTES)];
    const localDir = mkdtempSync(join(tmpdir(), 'sluice-larger-than-heap-'));
    clusters.defer(() => rmSync(localDir, { recursive: true, force: true }));
    const running = await clusters.start({
      jobFile: LARGE_STATE_JOB,
      args,
      taskManagers: 0,
      slots: 2,
      config: { 'state.backend.local-dir': localDir },
    });
    const { registry, secret } = running.cluster;
    const id = randomBytes(16).toString('hex');
    const tm = spawnTaskManagerProcess({
      jobManager: registry.address,
      secret,
      id,
      defines: { 'taskmanager.numberOfTaskSlots': '2' },
      nodeOptions: [`--max-old-space-size=${HEAP_MB}`],
    });
    clusters.defer(() => killProcess(tm.child));
    await until(() => expect(registry.taskManagers().map((t) => t.id)).toEqual([id]));

    let sawEnvironments = false;
    const watch = setInterval(() => (sawEnvironments ||= readdirSync(localDir).length > 0), 50);
    clusters.defer(() => clearInterval(watch));
    const rows = await main(args);
    clearInterval(watch);
    expect(rows.filter((r) => r.startsWith('bad'))).toEqual([]);
    const expected = Array.from({ length: Math.ceil(KEYS / 1000) }, (_, i) => `ok ${i * 1000}`);
    expect(rows.sort()).toEqual(expected.sort());
    // The state lived under state.backend.local-dir, and went when the tasks ended.
    expect(sawEnvironments).toBe(true);
    await until(() => expect(readdirSync(localDir)).toEqual([]));
  }, 120_000);
});
