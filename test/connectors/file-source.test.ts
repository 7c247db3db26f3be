// FileSource (issue 16 point 3): files and directories read line by line, one split per file or
// per block of a large file, positions (byte offsets) restored after a failure, new files found by
// continuous monitoring, bad lines failing with file and line, skipped and counted, or sent to a
// side output.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BadLinePolicy,
  FileSource,
  JsonLinesInputFormat,
  OutputTag,
  type BadLine,
  RestartStrategies,
  TextLineInputFormat,
  WatermarkStrategy,
  type Source,
  type StreamExecutionEnvironment,
  type SourceSplit,
} from 'sluice';
import {
  HoldingReader,
  InjectedFailure,
  latestCompletedId,
  probe,
  runToEnd,
  startJob,
  withTempDir,
} from '../support/checkpointing.js';
import { envAt, expectSameMultiset, waitFor } from '../support/helpers.js';

/** Writes files `name` of `lines` lines each: `<name>:<i>`. */
function writeFiles(dir: string, names: readonly string[], lines: number): string[] {
  const expected: string[] = [];
  for (const name of names) {
    const content: string[] = [];
    for (let i = 0; i < lines; i++) content.push(`${name}:${i}`);
    expected.push(...content);
    writeFileSync(join(dir, name), content.join('\n') + '\n');
  }
  return expected;
}

let seen = 0;
let failed = false;
afterEach(() => {
  seen = 0;
  failed = false;
  probe(undefined);
});

/**
 * Reads `files` in a job on `env` whose readers hold after 1000 records until a checkpoint
 * completed (so it lands mid-file), and which fails once after `failAt` records; the records
 * collected across the failure.
 */
async function readFailingOnceMidway(
  env: StreamExecutionEnvironment,
  files: Source<string, SourceSplit, unknown>,
  failAt: number,
): Promise<string[]> {
  const source: Source<string, SourceSplit, unknown> = {
    getBoundedness: () => files.getBoundedness(),
    createEnumerator: (ctx) => files.createEnumerator(ctx),
    restoreEnumerator: (ctx, state) => files.restoreEnumerator(ctx, state),
    createReader: (ctx) =>
      new HoldingReader(files.createReader(ctx), () => seen < 1000 || latestCompletedId() >= 1),
  };
  const stream = env.fromSource(source, WatermarkStrategy.noWatermarks(), 'files').map((line) => {
    seen++;
    if (!failed && latestCompletedId() >= 1 && seen >= failAt) {
      failed = true;
      throw new InjectedFailure('map');
    }
    return line;
  });
  const collected = stream.collectAsync();
  const client = await env.executeAsync();
  probe(client);
  const records = await collected.toArray();
  await client.getJobExecutionResult();
  expect(failed).toBe(true);
  return records;
}

describe('FileSource', () => {
  it('reads every line of every visible file under a directory once, in parallel', async () =>
    withTempDir(async (dir) => {
      mkdirSync(join(dir, 'sub'));
      const expected = writeFiles(dir, ['a.txt', 'b.txt', 'sub/c.txt'], 500);
      // Hidden and underscore files are skipped, as Flink's default file filter does.
      writeFileSync(join(dir, '.hidden'), 'x\n');
      writeFileSync(join(dir, '_SUCCESS'), 'x\n');
      // A last line without a line break, and CRLF line breaks.
      writeFileSync(join(dir, 'd.txt'), 'd:0\r\nd:1\r\nd:2');
      const env = envAt(2);
      const source = FileSource.forRecordStreamFormat(new TextLineInputFormat(), dir).build();
      const { records } = await runToEnd(
        env,
        env.fromSource(source, WatermarkStrategy.noWatermarks(), 'files'),
      );
      expectSameMultiset(records, [...expected, 'd:0', 'd:1', 'd:2']);
    }));

  it('resumes each file at its checkpointed byte offset after a failure: nothing twice, nothing skipped', async () =>
    withTempDir(async (dir) => {
      const expected = writeFiles(dir, ['a', 'b', 'c'], 3000);
      const env = envAt(2);
      env.enableCheckpointing(30);
      env.setRestartStrategy(RestartStrategies.fixedDelay(3, 10));
      const files = FileSource.forRecordStreamFormat(
        new TextLineInputFormat(),
        join(dir, 'a'),
        join(dir, 'b'),
        join(dir, 'c'),
      ).build();
      expectSameMultiset(await readFailingOnceMidway(env, files, 2000), expected);
    }));

  it('reads large files as blocks in parallel, restored mid-block after a failure: every line exactly once', async () =>
    withTempDir(async (dir) => {
      // Lines of varying length, so that they straddle the 1000-byte block boundaries.
      const expected: string[] = [];
      for (const name of ['a', 'b']) {
        const lines = Array.from({ length: 1500 }, (_, i) => `${name}:${i}:${'x'.repeat((i * 7) % 23)}`);
        expected.push(...lines);
        writeFileSync(join(dir, name), lines.join('\n') + '\n');
      }
      const env = envAt(2);
      env.enableCheckpointing(30);
      env.setRestartStrategy(RestartStrategies.fixedDelay(3, 10));
      const files = FileSource.forRecordStreamFormat(new TextLineInputFormat(), dir)
        .setBlockSize(1000)
        .build();
      expectSameMultiset(await readFailingOnceMidway(env, files, 1800), expected);
    }));

  it('sends lines the format cannot decode to a side output with BadLinePolicy.sideOutput, counting them', async () =>
    withTempDir(async (dir) => {
      writeFileSync(join(dir, 'events.jsonl'), '{"a":1}\nnot json\n{"a":3}\n{oops\n');
      const env = envAt(1);
      const badLines = new OutputTag<BadLine>('bad-lines');
      const source = FileSource.forRecordStreamFormat(new JsonLinesInputFormat(), dir)
        .setBadLinePolicy(BadLinePolicy.sideOutput(badLines))
        .build();
      const events = env.fromSource(source, WatermarkStrategy.noWatermarks(), 'json');
      const bad = events
        .getSideOutput(badLines)
        .map((b) => `${b.lineNumber}:${b.line}`)
        .collectAsync();
      const { records, result } = await runToEnd(env, events);
      expectSameMultiset(records, [{ a: 1 }, { a: 3 }]);
      expectSameMultiset(await bad.toArray(), ['2:not json', '4:{oops']);
      expect(result.getAccumulatorResult('numRecordsInErrors')).toBe(2);
    }));

  it('picks up new files under a monitored directory', async () =>
    withTempDir(async (dir) => {
      const first = writeFiles(dir, ['one'], 100);
      const env = envAt(1);
      env.enableCheckpointing(50);
      const source = FileSource.forRecordStreamFormat(new TextLineInputFormat(), dir)
        .monitorContinuously(30)
        .build();
      expect(source.getBoundedness()).toBe('CONTINUOUS_UNBOUNDED');
      const job = await startJob(env, env.fromSource(source, WatermarkStrategy.noWatermarks(), 'files'));
      try {
        await waitFor(() => job.records.length >= 100, 'the first file', 20_000);
        // Written under a hidden name, then renamed: the monitor never sees a half-written file.
        const second = writeFiles(dir, ['.two'], 50).map((l) => l.replace('.two', 'two'));
        writeFileSync(join(dir, '.two'), second.join('\n') + '\n');
        renameSync(join(dir, '.two'), join(dir, 'two'));
        await waitFor(() => job.records.length >= 150, 'the second file', 20_000);
        expectSameMultiset(job.records, [...first, ...second]);
      } finally {
        await job.client.cancel();
      }
    }));

  it('fails on a bad JSON line naming the file and the line', async () =>
    withTempDir(async (dir) => {
      writeFileSync(join(dir, 'events.jsonl'), '{"a":1}\n{"a":2}\nnot json\n{"a":4}\n');
      const env = envAt(1);
      const source = FileSource.forRecordStreamFormat(new JsonLinesInputFormat(), dir).build();
      env.fromSource(source, WatermarkStrategy.noWatermarks(), 'json').print();
      const error = (await env.execute().then(
        () => undefined,
        (e: unknown) => e,
      )) as Error & { code?: string };
      expect(error).toBeDefined();
      let text = '';
      for (let e: unknown = error; e instanceof Error; e = e.cause)
        text += ` ${(e as { code?: string }).code} ${e.message}`;
      expect(text).toContain('SLUICE_SOURCE_RECORD_INVALID');
      expect(text).toContain(`line 3 of ${join(dir, 'events.jsonl')}`);
    }));

  it('skips and counts bad JSON lines with ignoreParseErrors', async () =>
    withTempDir(async (dir) => {
      writeFileSync(join(dir, 'a.jsonl'), '{"a":1}\nbroken\n\n{"a":3}\n');
      writeFileSync(join(dir, 'b.jsonl'), '[1,2]\n{oops\n');
      const env = envAt(1);
      const source = FileSource.forRecordStreamFormat(
        new JsonLinesInputFormat({ ignoreParseErrors: true }),
        dir,
      ).build();
      const { records, result } = await runToEnd(
        env,
        env.fromSource(source, WatermarkStrategy.noWatermarks(), 'json'),
      );
      expectSameMultiset(records, [{ a: 1 }, { a: 3 }, [1, 2]]);
      expect(result.getAccumulatorResult('numRecordsInErrors')).toBe(2);
    }));

  it('rejects bad arguments with a message naming what to fix', () => {
    expect(() => FileSource.forRecordStreamFormat(new TextLineInputFormat())).toThrow(/at least one file/);
    expect(() => FileSource.forRecordStreamFormat({} as never, '/tmp')).toThrow(/StreamFormat/);
    expect(() =>
      FileSource.forRecordStreamFormat(new TextLineInputFormat(), '/tmp').monitorContinuously(0),
    ).toThrow(/interval > 0/);
    expect(() => FileSource.forRecordStreamFormat(new TextLineInputFormat(), '/tmp').setBlockSize(0)).toThrow(
      /setBlockSize\(\) needs a whole number of bytes > 0/,
    );
    expect(() =>
      FileSource.forRecordStreamFormat(new TextLineInputFormat(), '/tmp').setBadLinePolicy('skip' as never),
    ).toThrow(/BadLinePolicy.SKIP/);
  });
});
