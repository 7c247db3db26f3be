/**
 * The FileSource's reader: reads its splits one after the other, a line per `pollNext`, in
 * 64 KB synchronous reads. Its position is the byte offset of the next line, so a restored
 * split neither repeats nor skips a line. A block of a large file starts at the first line
 * beginning at or after its start and ends with the line crossing its end, so that the blocks
 * of a file together read each line once. Lines the format rejects go to the bad-line policy.
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
import { SluiceError } from '../../core/errors.js';
import type { BadLinePolicy } from './bad-line-policy.js';
import { splitPlace, type FileSourceSplit } from './file-source-split.js';
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
  /** Still to skip to the first line beginning at or after the block's start. */
  align: boolean;
  /** The split's end (exclusive), or Infinity to the end of the file. */
  readonly end: number;
  /** The file as error messages name it. */
  readonly place: string;
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
    private readonly badLines: BadLinePolicy = { kind: 'fail' },
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
    if (open.align && !this.align(open)) return this.endOfSplit(open, output);
    // A line beginning at or after the block's end is the next block's first.
    if (open.bufferStart + open.pos >= open.end) return this.endOfSplit(open, output);
    let nl = open.buffer.indexOf(NEWLINE, open.pos);
    while (nl < 0 || nl >= open.bufferEnd) {
      if (open.eof) {
        if (open.pos < open.bufferEnd) {
          // The last line has no line break.
          nl = open.bufferEnd;
          break;
        }
        return this.endOfSplit(open, output);
      }
      this.fill(open);
      nl = open.buffer.indexOf(NEWLINE, open.pos);
    }
    const end = nl > open.pos && open.buffer[nl - 1] === 0x0d ? nl - 1 : nl;
    const line = open.buffer.toString('utf8', open.pos, end);
    const lineNumber = open.lineNumber++;
    open.pos = nl + 1;
    let record: T | typeof SKIP_LINE;
    try {
      record = this.format.readLine(line, open.place, lineNumber);
    } catch (e) {
      this.badLine(open, line, lineNumber, e);
      return 'MORE_AVAILABLE';
    }
    if (record === SKIP_LINE) {
      if (line.trim().length > 0) this.errors?.inc();
    } else (open.output as SourceOutput<T>).collect(record);
    return 'MORE_AVAILABLE';
  }

  /**
   * Moves a block's position to the first line beginning at or after its start: past the first
   * line break at or after the byte before the start (which is the start itself when that byte is
   * a line break). False when no line begins in the rest of the file.
   */
  private align(open: Open): boolean {
    let nl = open.buffer.indexOf(NEWLINE, open.pos);
    while (nl < 0 || nl >= open.bufferEnd) {
      if (open.eof) return false;
      open.pos = open.bufferEnd;
      this.fill(open);
      nl = open.buffer.indexOf(NEWLINE, open.pos);
    }
    open.pos = nl + 1;
    open.align = false;
    return true;
  }

  private endOfSplit(open: Open, output: ReaderOutput<T>): InputStatus {
    this.finish(open, output);
    return this.queue.length > 0 || this.noMoreSplits ? 'MORE_AVAILABLE' : this.afterFinish();
  }

  /** A line the format rejected, handled as the bad-line policy says. */
  private badLine(open: Open, line: string, lineNumber: number, e: unknown): void {
    const policy = this.badLines;
    if (policy.kind === 'fail') {
      if (e instanceof SluiceError) throw e;
      throw new SluiceError(
        'SLUICE_SOURCE_RECORD_INVALID',
        `line ${lineNumber} of ${open.place} cannot be read by the FileSource's format: ${e instanceof Error ? e.message : String(e)}. ` +
          'Fix the file, or skip such lines with setBadLinePolicy(BadLinePolicy.SKIP) or send them to a side output with BadLinePolicy.sideOutput(tag).',
        { cause: e },
      );
    }
    this.errors?.inc();
    if (policy.kind === 'side-output') {
      const { path, blockStart } = open.split;
      this.ctx.emitSideOutput?.(policy.tag, {
        path,
        lineNumber,
        ...(blockStart === undefined ? {} : { blockStart }),
        line,
        error: e instanceof Error ? e.message : String(e),
      });
    }
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
    const align = split.alignToLine === true;
    this.current = {
      split,
      fd,
      output: output.createOutputForSplit?.(split.splitId) ?? output,
      buffer: Buffer.allocUnsafe(READ_SIZE),
      // Aligning reads from the byte before the start: a line break there means a line begins at it.
      bufferStart: align ? split.offset - 1 : split.offset,
      bufferEnd: 0,
      pos: 0,
      lineNumber: split.lineNumber,
      eof: false,
      align,
      end: split.end ?? Infinity,
      place: splitPlace(split),
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
    // Not aligned yet: the split is still as assigned.
    if (open !== undefined)
      splits.push(
        open.align
          ? open.split
          : {
              ...open.split,
              offset: open.bufferStart + open.pos,
              lineNumber: open.lineNumber,
              alignToLine: false,
            },
      );
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
