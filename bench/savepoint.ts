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
  KeyedProcessFunction,
  StreamExecutionEnvironment,
  ValueStateDescriptor,
  type CheckpointStats,
  type Collector,
  type KeyedProcessContext,
  type RuntimeContext,
  type Source,
  type SourceSplit,
  type ValueState,
} from '../src/index.js';
import { CountingSink, type ComparisonResult } from './harness.js';

interface Acc {
  n: number;
  last: number;
}

class Count extends KeyedProcessFunction<number, number, number> {
  private acc!: ValueState<Acc>;
  open(ctx: RuntimeContext): void {
    this.acc = ctx.getState(new ValueStateDescriptor<Acc>('acc'));
  }
  processElement(value: number, _ctx: KeyedProcessContext<number>, out: Collector<number>): void {
    const acc = this.acc.value() ?? { n: 0, last: 0 };
    acc.n += 1;
    acc.last = value;
    this.acc.update(acc);
    out.collect(acc.n);
  }
}

/** `source`, whose readers stay open (nothing to read) once their input ended. */
function stayOpen<S extends SourceSplit>(source: Source<number, S>): Source<number, S> {
  return {
    getBoundedness: () => source.getBoundedness(),
    createEnumerator: (ctx) => source.createEnumerator(ctx),
    restoreEnumerator: (ctx, state) => source.restoreEnumerator(ctx, state),
    createReader(ctx) {
      const inner = source.createReader(ctx);
      let ended = false;
      return {
        start: () => inner.start(),
        pollNext(output) {
          if (ended) return 'NOTHING_AVAILABLE';
          if (inner.pollNext(output) !== 'END_OF_INPUT') return 'MORE_AVAILABLE';
          ended = true;
          return 'NOTHING_AVAILABLE';
        },
        isAvailable: () => (ended ? new Promise<void>(() => {}) : inner.isAvailable()),
        addSplits: (splits) => inner.addSplits(splits),
        notifyNoMoreSplits: () => inner.notifyNoMoreSplits(),
        snapshotState: (id) => inner.snapshotState(id),
        close: () => inner.close(),
      };
    },
  };
}

function job(parallelism: number, source: Source<number>, dir: string, sink: CountingSink<number>) {
  const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(parallelism);
  env.enableCheckpointing(500);
  env.getCheckpointConfig().setCheckpointStorage(pathToFileURL(join(dir, 'checkpoints')).href);
  env
    .fromSource(source, 'keys')
    .uid('keys')
    .keyBy((k) => k)
    .process(new Count())
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
    const env = job(2, stayOpen(new DataGeneratorSource((i) => i, keys)), dir, sink);
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
    const what = `${keys.toLocaleString('en')} keys of ValueState<{ n, last }>, hashmap, parallelism 2`;
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
