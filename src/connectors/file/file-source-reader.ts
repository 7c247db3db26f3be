/**
 * The FileSource's reader: reads its splits one after the other, a line per `pollNext`, in
 * 64 KB synchronous reads. Its position is the byte offset of the next line, so a restored
 * split neither repeats nor skips a line.
 */
import * as fs from 'node:fs';
import type { Counter } from '../../api/accumulators.js';
import type {
  InputStatus,
  ReaderOutput,
  SourceOutput,
  SourceReader,
  SourceReaderContext,
} from '../../api/source/source.js';
import type { FileSourceSplit } from './file-source-split.js';
import { SKIP_LINE, type StreamFormat } from './stream-format.js';

const READ_SIZE = 64 * 1024;
const NEWLINE = 0x0a;

/** The split being read: its file, its read buffer and the position of the next line. */
interface Open {
  readonly split: FileSourceSplit;
  readonly fd: number;
  readonly output: SourceOutput<unknown>;
  buffer: Buffer;
  /** File offset of buffer[0]. */
  bufferStart: number;
  /** End of valid data in buffer. */
  bufferEnd: number;
  /** Index in buffer of the next line's first byte. */
  pos: number;
  lineNumber: number;
  eof: boolean;
}

export class FileSourceReader<T> implements SourceReader<T, FileSourceSplit> {
  private readonly queue: FileSourceSplit[] = [];
  private current: Open | undefined;
  private noMoreSplits = false;
  private requested = false;
  private waiter: (() => void) | undefined;
  private readonly errors: Counter | undefined;

  constructor(
    private readonly ctx: SourceReaderContext,
    private readonly format: StreamFormat<T>,
  ) {
    this.errors = ctx.metricGroup?.().getNumRecordsInErrorsCounter();
  }

  start(): void {
    this.request();
  }

  private request(): void {
    if (this.requested || this.noMoreSplits) return;
    this.requested = true;
    this.ctx.sendSplitRequest();
  }

  pollNext(output: ReaderOutput<T>): InputStatus {
    const open = this.current ?? this.openNext(output);
    if (open === undefined) {
      if (this.noMoreSplits) return 'END_OF_INPUT';
      this.request();
      return 'NOTHING_AVAILABLE';
    }
    let nl = open.buffer.indexOf(NEWLINE, open.pos);
    while (nl < 0 || nl >= open.bufferEnd) {
      if (open.eof) {
        if (open.pos < open.bufferEnd) {
          // The last line has no line break.
          nl = open.bufferEnd;
          break;
        }
        this.finish(open, output);
        return this.queue.length > 0 || this.noMoreSplits ? 'MORE_AVAILABLE' : this.afterFinish();
      }
      this.fill(open);
      nl = open.buffer.indexOf(NEWLINE, open.pos);
    }
    const end = nl > open.pos && open.buffer[nl - 1] === 0x0d ? nl - 1 : nl;
    const line = open.buffer.toString('utf8', open.pos, end);
    const lineNumber = open.lineNumber++;
    open.pos = nl + 1;
    const record = this.format.readLine(line, open.split.path, lineNumber);
    if (record === SKIP_LINE) {
      if (line.trim().length > 0) this.errors?.inc();
    } else (open.output as SourceOutput<T>).collect(record);
    return 'MORE_AVAILABLE';
  }

  private afterFinish(): InputStatus {
    this.request();
    return 'NOTHING_AVAILABLE';
  }

  /** Moves unread bytes to the front and reads more of the file after them. */
  private fill(open: Open): void {
    const rest = open.bufferEnd - open.pos;
    if (rest === open.buffer.length) {
      // A line longer than the buffer: grow it.
      const bigger = Buffer.allocUnsafe(open.buffer.length * 2);
      open.buffer.copy(bigger, 0, open.pos, open.bufferEnd);
      open.buffer = bigger;
    } else open.buffer.copy(open.buffer, 0, open.pos, open.bufferEnd);
    open.bufferStart += open.pos;
    open.pos = 0;
    open.bufferEnd = rest;
    const n = fs.readSync(open.fd, open.buffer, rest, open.buffer.length - rest, open.bufferStart + rest);
    open.bufferEnd += n;
    if (n === 0) open.eof = true;
  }

  private openNext(output: ReaderOutput<T>): Open | undefined {
    const split = this.queue.shift();
    if (split === undefined) return undefined;
    const fd = fs.openSync(split.path, 'r');
    this.current = {
      split,
      fd,
      output: output.createOutputForSplit?.(split.splitId) ?? output,
      buffer: Buffer.allocUnsafe(READ_SIZE),
      bufferStart: split.offset,
      bufferEnd: 0,
      pos: 0,
      lineNumber: split.lineNumber,
      eof: false,
    };
    return this.current;
  }

  private finish(open: Open, output: ReaderOutput<T>): void {
    fs.closeSync(open.fd);
    this.current = undefined;
    output.releaseOutputForSplit?.(open.split.splitId);
  }

  isAvailable(): Promise<void> {
    if (this.queue.length > 0 || this.current !== undefined || this.noMoreSplits) return Promise.resolve();
    return new Promise((resolve) => (this.waiter = resolve));
  }

  addSplits(splits: readonly FileSourceSplit[]): void {
    this.requested = false;
    this.queue.push(...splits);
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  notifyNoMoreSplits(): void {
    this.noMoreSplits = true;
    this.requested = false;
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  snapshotState(): FileSourceSplit[] {
    const splits: FileSourceSplit[] = [];
    const open = this.current;
    if (open !== undefined)
      splits.push({
        splitId: open.split.splitId,
        path: open.split.path,
        offset: open.bufferStart + open.pos,
        lineNumber: open.lineNumber,
      });
    return [...splits, ...this.queue];
  }

  close(): void {
    if (this.current !== undefined) fs.closeSync(this.current.fd);
    this.current = undefined;
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }
}
