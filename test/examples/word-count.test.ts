// Flink's WordCount, ported to examples/wordcount: run to its end as users run it, inline and on
// TaskManager processes, STREAMING (a running count per word) and BATCH (one final count per
// word), on its built-in text and on files.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WordCountData } from '../../examples/wordcount/util/word-count-data.js';
import { multiset } from '../support/helpers.js';
import { runExample } from './run-example.js';

const JOB = 'examples/wordcount/word-count.ts';
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** How often each word occurs in `lines`, counted independently of the job. */
function wordCounts(lines: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of lines)
    for (const word of line.toLowerCase().split(/[^a-z0-9_]+/u))
      if (word !== '') counts.set(word, (counts.get(word) ?? 0) + 1);
  return counts;
}

/** STREAMING's output: every count of every word, 1 to its total. */
function runningCounts(counts: Map<string, number>): [string, number][] {
  return [...counts].flatMap(([word, n]) =>
    Array.from({ length: n }, (_, i): [string, number] => [word, i + 1]),
  );
}

const COUNTS = wordCounts(WordCountData.WORDS);

describe('the WordCount example', () => {
  it('prints a running count per word in STREAMING, inline', async () => {
    const r = await runExample(JOB, { inline: true });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Executing example with default input data.');
    expect(multiset(r.printed)).toEqual(multiset(runningCounts(COUNTS)));
    expect(COUNTS.get('to')).toBe(15);
  });

  it('prints one final count per word in BATCH on TaskManagers, ignoring checkpointing with Flink’s INFO line', async () => {
    const r = await runExample(JOB, {
      options: ['-p', '2', '-D', 'execution.checkpointing.interval=100ms'],
      args: ['--execution-mode', 'batch'],
    });
    expect(r.code, r.stderr).toBe(0);
    expect(multiset(r.printed)).toEqual(multiset([...COUNTS]));
    expect(r.stdout).toMatch(/^1> \[/mu);
    expect(r.stdout).toMatch(/^2> \[/mu);
    expect(r.stderr).toContain(
      'Disabled Checkpointing. Checkpointing is not supported and not needed when executing jobs in BATCH mode.',
    );
  });

  it('counts the words of --input files and directories, AUTOMATIC choosing BATCH for them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-wordcount-'));
    dirs.push(dir);
    const lines = ['The quick brown fox', 'jumps over the lazy dog', 'THE END', 'the end, again'];
    writeFileSync(join(dir, 'a.txt'), `${lines[0]}\n${lines[1]}\n`);
    mkdirSync(join(dir, 'more'));
    writeFileSync(join(dir, 'more', 'b.txt'), lines[2]!);
    const single = join(tmpdir(), `sluice-wordcount-${process.pid}.txt`);
    writeFileSync(single, lines[3]!);
    dirs.push(single);
    const r = await runExample(JOB, {
      inline: true,
      args: ['--input', dir, '--input', single, '--execution-mode', 'AUTOMATIC'],
    });
    expect(r.code, r.stderr).toBe(0);
    expect(multiset(r.printed)).toEqual(multiset([...wordCounts(lines)]));
    expect(r.stdout).not.toContain('Executing example with default input data.');
  });

  it('says what is missing when asked for a FileSink', async () => {
    const r = await runExample(JOB, { inline: true, args: ['--output', '/tmp/out'] });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--output needs a FileSink, which Sluice does not have yet');
  });
});
