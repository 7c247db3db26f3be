// FileSourceReader over blocks of a file: every line read exactly once whatever the block size
// (lines straddling block boundaries, empty lines, CRLF, a last line without a line break, a line
// longer than several blocks), also when a split is restored from a snapshot taken mid-block;
// and the bad-line policies.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Counter } from '../../api/accumulators.js';
import { OutputTag } from '../../api/output-tag.js';
import type { SourceReaderContext } from '../../api/source/source.js';
import { SluiceError } from '../../core/errors.js';
import { BadLinePolicy, type BadLine } from './bad-line-policy.js';
import { splitsOf, type FileSourceSplit } from './file-source-split.js';
import { FileSourceReader } from './file-source-reader.js';
import { JsonLinesInputFormat, TextLineInputFormat, type StreamFormat } from './stream-format.js';

const dir = mkdtempSync(join(tmpdir(), 'file-source-reader-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const LINES = ['a', '', 'bb', 'ccc\r', 'dddd', 'x'.repeat(37), 'é€', '', '', 'last-but-one', 'end'];
const file = join(dir, 'lines.txt');
// The last line has no line break; 'ccc\r' is a CRLF line, read as 'ccc'.
writeFileSync(file, LINES.join('\n'));
const EXPECTED = LINES.map((l) => l.replace(/\r$/, ''));
const SIZE = Buffer.byteLength(LINES.join('\n'));

function context(sideOutput: unknown[] = [], errors = new Counter()): SourceReaderContext {
  return {
    getIndexOfSubtask: () => 0,
    currentParallelism: () => 1,
    sendSplitRequest: () => {},
    sendSourceEventToCoordinator: () => {},
    clock: { now: () => 0 } as never,
    metricGroup: () => ({ getNumRecordsInErrorsCounter: () => errors }),
    emitSideOutput: (_tag, value) => sideOutput.push(value),
  };
}

/** Reads `splits` until the end, or until `limit` records came; returns them and the reader's snapshot. */
function read<T>(
  splits: readonly FileSourceSplit[],
  format: StreamFormat<T> = new TextLineInputFormat() as never,
  limit = Infinity,
  ctx = context(),
  policy?: BadLinePolicy,
): { records: T[]; snapshot: FileSourceSplit[] } {
  const reader = new FileSourceReader<T>(ctx, format, policy);
  const records: T[] = [];
  reader.addSplits(splits);
  reader.notifyNoMoreSplits();
  const output = { collect: (r: T) => records.push(r) };
  while (records.length < limit && reader.pollNext(output) !== 'END_OF_INPUT');
  const snapshot = reader.snapshotState();
  reader.close();
  return { records, snapshot };
}

describe('FileSourceReader over blocks', () => {
  it('splits a file above the block size at byte offsets, and only such a file', () => {
    expect(splitsOf(file, SIZE, undefined)).toHaveLength(1);
    expect(splitsOf(file, SIZE, SIZE)).toHaveLength(1);
    const blocks = splitsOf(file, SIZE, 10);
    expect(blocks.map((s) => s.offset)).toEqual([0, 10, 20, 30, 40, 50, 60, 70].filter((o) => o < SIZE));
    expect(blocks.at(-1)!.end).toBeUndefined();
    expect(new Set(blocks.map((s) => s.splitId)).size).toBe(blocks.length);
  });

  it('reads every line exactly once, in order, for every block size', () => {
    for (let blockSize = 1; blockSize <= SIZE + 1; blockSize++)
      expect(read(splitsOf(file, SIZE, blockSize)).records, `block size ${blockSize}`).toEqual(EXPECTED);
  });

  it('restored from a snapshot taken after any number of records, reads the rest exactly once', () => {
    for (const blockSize of [1, 2, 3, 5, 7, 16, 40]) {
      const splits = splitsOf(file, SIZE, blockSize);
      for (let k = 0; k <= EXPECTED.length; k++) {
        const first = read(splits, undefined, k);
        const rest = read(first.snapshot);
        expect([...first.records, ...rest.records], `block size ${blockSize}, after ${k}`).toEqual(EXPECTED);
      }
    }
  });
});

describe('FileSourceReader bad-line policies', () => {
  const json = join(dir, 'events.jsonl');
  writeFileSync(json, '{"a":1}\nnot json\n{"a":3}\n{oops\n');
  const splits = splitsOf(json, 40, undefined);

  it('FAIL (the default) fails with SLUICE_SOURCE_RECORD_INVALID naming file and line', () => {
    let error: unknown;
    try {
      read(splits, new JsonLinesInputFormat());
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SluiceError);
    expect((error as SluiceError).code).toBe('SLUICE_SOURCE_RECORD_INVALID');
    expect((error as Error).message).toContain(`line 2 of ${json}`);
    expect((error as Error).message).toContain('BadLinePolicy');
  });

  it('SKIP skips and counts them; a side output gets each bad line with its place and error, counted too', () => {
    const skipped = new Counter();
    const skip = read(splits, new JsonLinesInputFormat(), Infinity, context([], skipped), BadLinePolicy.SKIP);
    expect(skip.records).toEqual([{ a: 1 }, { a: 3 }]);
    expect(skipped.getLocalValue()).toBe(2);

    const bad: BadLine[] = [];
    const counted = new Counter();
    const tag = new OutputTag<BadLine>('bad-lines');
    const side = read(
      splits,
      new JsonLinesInputFormat(),
      Infinity,
      context(bad, counted),
      BadLinePolicy.sideOutput(tag),
    );
    expect(side.records).toEqual([{ a: 1 }, { a: 3 }]);
    expect(bad.map(({ path, lineNumber, line }) => ({ path, lineNumber, line }))).toEqual([
      { path: json, lineNumber: 2, line: 'not json' },
      { path: json, lineNumber: 4, line: '{oops' },
    ]);
    expect(bad[0]!.error).toMatch(/not JSON/);
    expect(counted.getLocalValue()).toBe(2);
  });

  it('names the block of a large file in messages and bad lines', () => {
    const bad: BadLine[] = [];
    const blocks = splitsOf(json, 40, 20);
    read(
      blocks,
      new JsonLinesInputFormat(),
      Infinity,
      context(bad),
      BadLinePolicy.sideOutput(new OutputTag('b')),
    );
    expect(bad.map((b) => [b.line, b.blockStart])).toEqual([
      ['not json', 0],
      ['{oops', 20],
    ]);
  });
});
