/**
 * Savepoints (issue 14): a keyed job holding 1 M keys takes a checkpoint and then a savepoint of
 * the same state (duration and size, savepoint / checkpoint), and the savepoint is restored into
 * the same job at parallelism 4 (rescaled from 2) and at 2 (time from submission to the end of a
 * job whose source has nothing left to read, so the restore is nearly all of it).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  DataGeneratorSource,
  StreamExecutionEnvironment,
  type CheckpointStats,
  type Source,
} from '../src/index.js';
import { idleAfterEnd, InPlaceSum } from './checkpoint-overhead.js';
import { CountingSink, type ComparisonResult } from './harness.js';

function job(parallelism: number, source: Source<number>, dir: string, sink: CountingSink<number>) {
  const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(parallelism);
  env.enableCheckpointing(500);
  env.getCheckpointConfig().setCheckpointStorage(pathToFileURL(join(dir, 'checkpoints')).href);
  env
    .fromSource(source, 'keys')
    .uid('keys')
    .keyBy((k) => k)
    .process(new InPlaceSum())
    .uid('count')
    .sinkTo(sink);
  return env;
}

const completed = (history: readonly CheckpointStats[]) => history.filter((c) => c.status === 'COMPLETED');

/** The two figures over `keys` keys; `restores` timed restores of each kind (best counts). */
export async function savepointFigures(
  keys: number,
  restores: number,
): Promise<{ results: ComparisonResult[]; lines: string[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-savepoint-'));
  try {
    const sink = new CountingSink<number>();
    sink.reset();
    // Its readers stay open once every key was read (no checkpoint count ends them).
    const env = job(2, idleAfterEnd(new DataGeneratorSource((i) => i, keys), Infinity), dir, sink);
    const client = await env.executeAsync('bench: savepoint-vs-checkpoint-1m-keys');
    // Every key in state, then a checkpoint that started after the last record.
    while (sink.count < keys) await new Promise((resolve) => setTimeout(resolve, 20));
    const after = Date.now();
    let checkpoint: CheckpointStats | undefined;
    while (checkpoint === undefined) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      checkpoint = completed(client.getCheckpointStats()!.history).find(
        (c) => !c.isSavepoint && c.triggerTimestamp > after,
      );
    }
    const path = await client.triggerSavepoint(join(dir, 'savepoints'));
    const savepoint = completed(client.getCheckpointStats()!.history).find(
      (c) => c.isSavepoint && c.externalPath === path,
    )!;
    await client.cancel();

    const restore = async (parallelism: number): Promise<number> => {
      const restoredSink = new CountingSink<number>();
      restoredSink.reset();
      const restored = job(parallelism, new DataGeneratorSource((i) => i, keys), dir, restoredSink);
      restored.configuration.setString('execution.state-recovery.path', path);
      const started = performance.now();
      const c = await restored.executeAsync(`bench: restore at p${parallelism}`);
      await c.getJobExecutionResult();
      if (restoredSink.count !== 0)
        throw new Error(
          `restore at p${parallelism}: the restored source read ${restoredSink.count} records again`,
        );
      return performance.now() - started;
    };
    const same: number[] = [];
    const rescaled: number[] = [];
    await restore(2); // warm-up
    for (let i = 0; i < restores; i++) {
      rescaled.push(await restore(4));
      same.push(await restore(2));
    }
    const bestSame = Math.min(...same);
    const bestRescaled = Math.min(...rescaled);
    const what = `${keys.toLocaleString('en')} keys of ValueState<{ n, sum }>, hashmap, parallelism 2`;
    const results: ComparisonResult[] = [
      {
        name: 'savepoint-vs-checkpoint-1m-keys',
        description: `savepoint (canonical, full) duration, ${what}`,
        baselineDescription: 'a checkpoint of the same state (trigger to completion)',
        unit: 'ms',
        goal: undefined,
        value: savepoint.endToEndDurationMs,
        baseline: checkpoint.endToEndDurationMs,
        ratio: savepoint.endToEndDurationMs / checkpoint.endToEndDurationMs,
        subjectSamples: [savepoint.endToEndDurationMs],
        baselineSamples: [checkpoint.endToEndDurationMs],
      },
      {
        name: 'savepoint-vs-checkpoint-1m-keys-size',
        description: `savepoint size, ${what}`,
        baselineDescription: 'the checkpoint of the same state',
        unit: 'bytes',
        goal: undefined,
        value: savepoint.stateSize,
        baseline: checkpoint.stateSize,
        ratio: savepoint.stateSize / checkpoint.stateSize,
        subjectSamples: [savepoint.stateSize],
        baselineSamples: [checkpoint.stateSize],
      },
      {
        name: 'restore-rescale-2-to-4-vs-same',
        description: `restoring that savepoint at parallelism 4: submission to the end of a job with nothing left to read, ${keys.toLocaleString('en')} keys`,
        baselineDescription: 'the same at parallelism 2 (the parallelism it was taken at)',
        unit: 'ms',
        goal: undefined,
        value: bestRescaled,
        baseline: bestSame,
        ratio: bestRescaled / bestSame,
        subjectSamples: rescaled,
        baselineSamples: same,
      },
    ];
    return { results, lines: [] };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
