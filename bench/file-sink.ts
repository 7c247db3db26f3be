/**
 * `filesink-vs-plain`: records/s into the FileSink (checkpoints every second: in-progress files
 * synced at each barrier, renamed and the directory synced on commit) vs a plain script writing
 * the same lines to a file in 64 KB writes, synced every second, renamed and synced at the end.
 */
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  BasePathBucketAssigner,
  FileSink,
  SimpleStringEncoder,
  StreamExecutionEnvironment,
} from '../src/index.js';
import { expectCount, type Comparison } from './harness.js';

/** The line of record `i` (shared by the job and the baseline). */
export function lineOf(i: number): string {
  return `${i},p${i % 50},${i * 2}`;
}

const CHECKPOINT_MS = 1000;

function countLines(dir: string): number {
  let n = 0;
  for (const f of fs.readdirSync(dir)) {
    if (f.startsWith('.')) continue;
    const bytes = fs.readFileSync(path.join(dir, f));
    for (let i = 0; i < bytes.length; i++) if (bytes[i] === 0x0a) n++;
  }
  return n;
}

async function runJob(records: number, dir: string): Promise<number> {
  fs.rmSync(dir, { recursive: true, force: true });
  const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(1);
  env.enableCheckpointing(CHECKPOINT_MS);
  env
    .fromSequence(0, records - 1)
    .map(lineOf)
    .sinkTo(
      FileSink.forRowFormat(dir, new SimpleStringEncoder<string>())
        .withBucketAssigner(new BasePathBucketAssigner())
        .build(),
    );
  await env.execute('bench: filesink');
  expectCount('filesink finished lines', countLines(dir), records);
  return records;
}

function syncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  fs.fsyncSync(fd);
  fs.closeSync(fd);
}

function runPlain(records: number, dir: string): number {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const hidden = path.join(dir, '.part-0.inprogress');
  const fd = fs.openSync(hidden, 'wx');
  let chunk = '';
  let lastSync = Date.now();
  for (let i = 0; i < records; i++) {
    chunk += `${lineOf(i)}\n`;
    if (chunk.length >= 64 * 1024) {
      fs.writeSync(fd, chunk);
      chunk = '';
      const now = Date.now();
      if (now - lastSync >= CHECKPOINT_MS) {
        fs.fsyncSync(fd);
        lastSync = now;
      }
    }
  }
  fs.writeSync(fd, chunk);
  fs.fsyncSync(fd);
  fs.closeSync(fd);
  fs.renameSync(hidden, path.join(dir, 'part-0'));
  syncDir(dir);
  expectCount('plain finished lines', countLines(dir), records);
  return records;
}

export function fileSinkVsPlain(records: number): Comparison {
  const root = fs.mkdtempSync(path.join(tmpdir(), 'sluice-bench-filesink-'));
  return {
    name: 'filesink-vs-plain',
    description: `fromSequence → map to a CSV line → FileSink (row format), checkpoints every ${CHECKPOINT_MS} ms, parallelism 1, ${records} records`,
    baselineDescription:
      'plain script: same lines, 64 KB writes, fsync every second, rename + directory fsync at the end',
    goal: 0.7,
    subject: () => runJob(records, path.join(root, 'sink')),
    baseline: () => runPlain(records, path.join(root, 'plain')),
    close: () => {
      fs.rmSync(root, { recursive: true, force: true });
      return Promise.resolve();
    },
  };
}
