// A source's uid() is the id its split positions are stored under: a job whose graph differs
// around the source resumes the source from a retained checkpoint (-s) through the uid alone.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataGeneratorSource, RestartStrategies, WatermarkStrategy, type Sink } from 'sluice';
import { decodeMetadata } from '../../src/storage/checkpoint-metadata.js';
import { operatorIdFromUid } from '../../src/graph/operator-ids.js';
import { checkpointDirs, fileUri, waitForCompleted, withTempDir } from '../support/checkpointing.js';
import { envAt, range, rejectsWith } from '../support/helpers.js';

const N = 3_000;

/** What the sinks of the running job saw (writers are created per subtask, so this lives here). */
let seen: number[] = [];
const recording: Sink<number> = {
  createWriter: () => ({ write: (n) => void seen.push(n), flush: () => {}, close: () => {} }),
};
const discard: Sink<unknown> = {
  createWriter: () => ({ write: () => {}, flush: () => {}, close: () => {} }),
};

/**
 * The numbers 0..N-1 from a source at parallelism 1 into `recording`. `variant` 'b' has another
 * pipeline before it (so the source is no longer the graph's first node) and a filter after it.
 */
function numbersJob(settings: {
  variant: 'a' | 'b';
  sourceUid?: string;
  dir?: string;
  restorePath?: string;
}) {
  const env = envAt(1);
  env.enableCheckpointing(20);
  env.setRestartStrategy(RestartStrategies.noRestart());
  if (settings.dir !== undefined) {
    env.getCheckpointConfig().setCheckpointStorage(fileUri(settings.dir));
    env.getCheckpointConfig().setExternalizedCheckpointRetention('RETAIN_ON_CANCELLATION');
  }
  if (settings.restorePath !== undefined)
    env.configuration.setString('execution.state-recovery.path', settings.restorePath);
  if (settings.variant === 'b') env.fromData('unrelated').uid('extra').sinkTo(discard).uid('extra-out');
  const rate = settings.variant === 'a' ? 2_000 : Infinity;
  const source = env.fromSource(
    new DataGeneratorSource((i) => i, N, { recordsPerSecond: rate }),
    WatermarkStrategy.noWatermarks(),
    'numbers',
  );
  if (settings.sourceUid !== undefined) source.uid(settings.sourceUid);
  const numbers = settings.variant === 'b' ? source.filter(() => true).uid('all') : source;
  numbers
    .map((n) => n)
    .sinkTo(recording)
    .uid('out');
  return env;
}

describe("a source's uid", () => {
  it('restores its split positions into a job whose graph differs around it, and only through the uid', () =>
    withTempDir(async (dir) => {
      seen = [];
      const first = numbersJob({ variant: 'a', sourceUid: 'numbers', dir });
      const client = await first.executeAsync();
      try {
        await waitForCompleted(client, 2);
      } finally {
        await client.cancel();
      }
      const jobDir = join(dir, client.jobId);
      const retained = join(jobDir, (await checkpointDirs(jobDir)).at(-1)!);

      // The checkpoint stores the source's split state under the id its uid gives.
      const metadata = decodeMetadata(await readFile(join(retained, '_metadata')), retained);
      const stored = metadata.operators.find((o) => o.uid === 'numbers');
      expect(stored?.operatorId).toBe(operatorIdFromUid('numbers'));
      expect(stored?.subtasks.some((s) => s.operator.length > 0)).toBe(true);

      // Without the uid, the other graph gives the source another id: its state is unclaimed.
      const withoutUid = numbersJob({ variant: 'b', restorePath: retained });
      const error = await rejectsWith(withoutUid.execute(), 'SLUICE_RESTORE_FAILED');
      expect(error.message).toContain("uid 'numbers'");

      // With it, the source resumes where the checkpoint left it: each later number exactly once.
      seen = [];
      await numbersJob({ variant: 'b', sourceUid: 'numbers', restorePath: retained }).execute();
      const resumedAt = Math.min(...seen);
      expect(resumedAt).toBeGreaterThan(0);
      expect([...seen].sort((a, b) => a - b)).toEqual(range(resumedAt, N - 1));
    }));
});
