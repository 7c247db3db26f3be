// FileSink (issue 16 point 2): part files go in-progress → pending → finished on checkpoint
// completion; across a failure the finished files hold every record exactly once; rolling policies,
// bucket assigners, output file names, JSON lines and the bulk hook.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BasePathBucketAssigner,
  DataGeneratorSource,
  DateTimeBucketAssigner,
  DefaultRollingPolicy,
  FileSink,
  JsonLinesEncoder,
  KeyedProcessFunction,
  OnCheckpointRollingPolicy,
  OutputFileConfig,
  RestartStrategies,
  SimpleStringEncoder,
  ValueStateDescriptor,
  WatermarkStrategy,
  type BulkWriter,
  type Collector,
  type EncoderOutputStream,
  type KeyedProcessContext,
  type RuntimeContext,
  type Source,
  type SourceSplit,
  type ValueState,
} from 'sluice';
import {
  HoldingReader,
  InjectedFailure,
  probe,
  latestCompletedId,
  withTempDir,
} from '../support/checkpointing.js';
import { envAt, expectSameMultiset, throwsWith, waitFor } from '../support/helpers.js';

/** Every file under `dir` (recursively), relative paths. */
function allFiles(dir: string, base = ''): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(dir, base), { withFileTypes: true })) {
    const rel = base === '' ? e.name : join(base, e.name);
    if (e.isDirectory()) out.push(...allFiles(dir, rel));
    else out.push(rel);
  }
  return out;
}

const isHidden = (rel: string): boolean => rel.split('/').some((p) => p.startsWith('.'));

/** The lines of every finished (visible) part file under `dir`. */
function finishedLines(dir: string): string[] {
  return allFiles(dir)
    .filter((f) => !isHidden(f))
    .flatMap((f) =>
      readFileSync(join(dir, f), 'utf8')
        .split('\n')
        .filter((l) => l.length > 0),
    );
}

/** A keyed running count: `key:count` per record, so every line is distinct. */
class RunningCount extends KeyedProcessFunction<number, number, string> {
  private count!: ValueState<number>;
  open(ctx: RuntimeContext): void {
    this.count = ctx.getState(new ValueStateDescriptor<number>('count'));
  }
  processElement(value: number, _ctx: KeyedProcessContext<number>, out: Collector<string>): void {
    const c = (this.count.value() ?? 0) + 1;
    this.count.update(c);
    out.collect(`${value % 7}:${c}:${value}`);
  }
}

/**
 * Every value 0..n-1 exactly once, and per key the running counts 1..k exactly once (the keyed
 * state was restored consistently with the files).
 */
function expectExactlyOnce(lines: readonly string[], n: number): void {
  const values = lines.map((l) => Number(l.split(':')[2]));
  expectSameMultiset(
    values,
    Array.from({ length: n }, (_, i) => i),
  );
  const counts = new Map<string, number[]>();
  for (const l of lines) {
    const [key, c] = l.split(':');
    counts.set(key!, [...(counts.get(key!) ?? []), Number(c)]);
  }
  for (const [, cs] of counts) expect(cs.sort((a, b) => a - b)).toEqual(cs.map((_, i) => i + 1));
}

// Module-level so that the failure happens once whatever the subtask or attempt.
let failed = false;
let emitted = 0;
let seen = 0;
const gate: { release: (() => void) | undefined } = { release: undefined };

afterEach(() => {
  failed = false;
  emitted = 0;
  seen = 0;
  gate.release = undefined;
  probe(undefined);
});

describe('FileSink exactly-once', () => {
  it.each([1, 3])(
    'a user function failing after a checkpoint leaves every record exactly once (parallelism %i)',
    async (p) =>
      withTempDir(async (dir) => {
        const N = 3000;
        const env = envAt(p);
        env.enableCheckpointing(40);
        env.setRestartStrategy(RestartStrategies.fixedDelay(3, 10));
        const sink = FileSink.forRowFormat(dir, new SimpleStringEncoder<string>())
          .withRollingPolicy(DefaultRollingPolicy.builder().withMaxPartSize(2048).build())
          .withBucketAssigner(new BasePathBucketAssigner())
          .build();
        const generator = new DataGeneratorSource(
          (i) => {
            emitted++;
            return i;
          },
          N,
          { recordsPerSecond: 4000 },
        ) as Source<number, SourceSplit, unknown>;
        // After a third of the records the readers wait for two completed checkpoints.
        const held: Source<number, SourceSplit, unknown> = {
          getBoundedness: () => generator.getBoundedness(),
          createEnumerator: (ctx) => generator.createEnumerator(ctx),
          restoreEnumerator: (ctx, state) => generator.restoreEnumerator(ctx, state),
          createReader: (ctx) =>
            new HoldingReader(generator.createReader(ctx), () => emitted < N / 3 || latestCompletedId() >= 2),
        };
        env
          .fromSource(held, WatermarkStrategy.noWatermarks(), 'gen')
          .keyBy((v) => v % 7)
          .process(new RunningCount())
          .map((line) => {
            // Fails once, after checkpoints completed and their files were committed.
            if (!failed && latestCompletedId() >= 2 && ++seen >= N / 2) {
              failed = true;
              throw new InjectedFailure('map');
            }
            return line;
          })
          .sinkTo(sink);
        const client = await env.executeAsync();
        probe(client);
        await client.getJobExecutionResult();
        expect(failed).toBe(true);
        expectExactlyOnce(finishedLines(dir), N);
        const files = allFiles(dir);
        // Finished files are named part-<uid>-<n>; what the failed attempt began was cleaned up.
        expect(files.filter((f) => !isHidden(f)).every((f) => /^part-[0-9a-f-]+-\d+$/.test(f))).toBe(true);
        expect(files.filter((f) => !isHidden(f)).length).toBeGreaterThan(p);
        expect(files.filter(isHidden)).toEqual([]);
      }),
  );

  it('keeps output invisible while the checkpoint that covers it is pending', async () =>
    withTempDir(async (dir) => {
      const env = envAt(1);
      env.enableCheckpointing(100);
      const sink = FileSink.forRowFormat(dir, new SimpleStringEncoder<number>())
        .withRollingPolicy(OnCheckpointRollingPolicy.build())
        .withBucketAssigner(new BasePathBucketAssigner())
        .build();
      const numbers = env.fromSource(
        new DataGeneratorSource((i) => i, Infinity, { recordsPerSecond: 500 }),
        WatermarkStrategy.noWatermarks(),
        'gen',
      );
      numbers.sinkTo(sink);
      // A second sink holds checkpoint 1 back (its pre-barrier flush does not settle) until released.
      numbers.sinkTo({
        createWriter: () => ({
          write: () => {},
          flush: (endOfInput: boolean) => {
            if (endOfInput || gate.release !== undefined) return;
            return new Promise<void>((resolve) => (gate.release = resolve));
          },
          close: () => {},
        }),
      });
      const client = await env.executeAsync();
      probe(client);
      try {
        // Checkpoint 1's barrier passed the FileSink: its file is closed and pending, still hidden.
        await waitFor(
          () => gate.release !== undefined && allFiles(dir).some((f) => statSync(join(dir, f)).size > 0),
          'a pending part file with data',
          20_000,
        );
        expect(allFiles(dir).every(isHidden)).toBe(true);
        expect(allFiles(dir).some((f) => /^\.part-[0-9a-f-]+-0\.inprogress\.[0-9a-f-]+$/.test(f))).toBe(true);
        expect(latestCompletedId()).toBe(0);
        expect(finishedLines(dir)).toEqual([]);
        gate.release!();
        await waitFor(() => finishedLines(dir).length > 0, 'a finished part file', 20_000);
        const visible = finishedLines(dir).map(Number);
        // The first finished file holds exactly what came before barrier 1: a prefix of the stream.
        expect(visible).toEqual(visible.map((_, i) => i));
        expect(latestCompletedId()).toBeGreaterThanOrEqual(1);
      } finally {
        gate.release?.();
        await client.cancel();
      }
    }));
});

describe('FileSink formats and layout', () => {
  it('writes JSON lines into date-time buckets with the configured names at the end of a bounded job', async () =>
    withTempDir(async (dir) => {
      const env = envAt(2);
      const sink = FileSink.forRowFormat(
        `file://${dir}`,
        new JsonLinesEncoder<{ id: number; name: string }>(),
      )
        .withBucketAssigner(new DateTimeBucketAssigner("'day='yyyy-MM-dd", 'UTC'))
        .withOutputFileConfig(
          OutputFileConfig.builder().withPartPrefix('out').withPartSuffix('.jsonl').build(),
        )
        .build();
      env
        .fromSequence(1, 100)
        .map((id) => ({ id, name: `n${id}` }))
        .sinkTo(sink);
      await env.execute();
      const files = allFiles(dir);
      const day = new Date().toISOString().slice(0, 10);
      expect(files.length).toBeGreaterThan(0);
      for (const f of files)
        expect(f).toMatch(new RegExp(`^day=\\d{4}-\\d{2}-\\d{2}/out-[0-9a-f-]+-\\d+\\.jsonl$`));
      expect(files.some((f) => f.startsWith(`day=${day}`))).toBe(true);
      const records = finishedLines(dir).map((l) => JSON.parse(l) as { id: number });
      expectSameMultiset(
        records,
        Array.from({ length: 100 }, (_, i) => ({ id: i + 1, name: `n${i + 1}` })),
      );
    }));

  it('buckets by a custom function and rolls by size', async () =>
    withTempDir(async (dir) => {
      const env = envAt(1);
      const sink = FileSink.forRowFormat(dir, new SimpleStringEncoder<number>())
        .withBucketAssigner((v: number) => (v % 2 === 0 ? 'even' : 'odd'))
        .withRollingPolicy(
          DefaultRollingPolicy.builder().withMaxPartSize(100).withRolloverInterval(60_000).build(),
        )
        .build();
      env.fromSequence(1, 200).sinkTo(sink);
      await env.execute();
      const even = allFiles(join(dir, 'even'));
      expect(even.length).toBeGreaterThan(3);
      for (const f of even) expect(statSync(join(dir, 'even', f)).size).toBeLessThan(100 + 5);
      expectSameMultiset(
        finishedLines(join(dir, 'odd')).map(Number),
        Array.from({ length: 100 }, (_, i) => 2 * i + 1),
      );
      expectSameMultiset(
        finishedLines(join(dir, 'even')).map(Number),
        Array.from({ length: 100 }, (_, i) => 2 * i + 2),
      );
    }));

  it('writes bulk-format part files through the BulkWriter factory, rolled at checkpoints', async () =>
    withTempDir(async (dir) => {
      class CsvBulkWriter implements BulkWriter<number> {
        private rows: number[] = [];
        constructor(private readonly out: EncoderOutputStream) {
          out.write('value\n');
        }
        addElement(e: number): void {
          this.rows.push(e);
        }
        flush(): void {
          this.out.write(this.rows.map((r) => `${r}\n`).join(''));
          this.rows = [];
        }
        finish(): void {
          this.out.write('#end\n');
        }
      }
      const env = envAt(1);
      env.enableCheckpointing(30);
      const sink = FileSink.forBulkFormat(dir, {
        create: (out: EncoderOutputStream) => new CsvBulkWriter(out),
      })
        .withBucketAssigner(new BasePathBucketAssigner())
        .build();
      env
        .fromSource(
          new DataGeneratorSource((i) => i, 500, { recordsPerSecond: 2000 }),
          WatermarkStrategy.noWatermarks(),
          'gen',
        )
        .sinkTo(sink);
      await env.execute();
      const files = allFiles(dir);
      expect(files.length).toBeGreaterThan(1);
      const values: number[] = [];
      for (const f of files) {
        const lines = readFileSync(join(dir, f), 'utf8').trimEnd().split('\n');
        expect(lines[0]).toBe('value');
        expect(lines.at(-1)).toBe('#end');
        values.push(...lines.slice(1, -1).map(Number));
      }
      expectSameMultiset(
        values,
        Array.from({ length: 500 }, (_, i) => i),
      );
    }));

  it('rejects bad configuration with a message naming what to fix', () => {
    throwsWith(() => FileSink.forRowFormat('', new SimpleStringEncoder()), 'SLUICE_PROGRAM_INVALID');
    throwsWith(
      () => FileSink.forRowFormat('s3://bucket/x', new SimpleStringEncoder()),
      'SLUICE_PROGRAM_INVALID',
    );
    throwsWith(() => FileSink.forRowFormat('/tmp/x', {} as never), 'SLUICE_PROGRAM_INVALID');
    throwsWith(() => DefaultRollingPolicy.builder().withMaxPartSize(0), 'SLUICE_PROGRAM_INVALID');
    throwsWith(() => new DateTimeBucketAssigner('yyyy-QQ'), 'SLUICE_PROGRAM_INVALID');
    throwsWith(() => OutputFileConfig.builder().withPartPrefix('a/b'), 'SLUICE_PROGRAM_INVALID');
    throwsWith(
      () => FileSink.forRowFormat('/tmp/x', new SimpleStringEncoder()).withRollingPolicy({} as never),
      'SLUICE_PROGRAM_INVALID',
    );
  });
});
