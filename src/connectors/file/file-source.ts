/**
 * Reads files and directories (Flink's `FileSource`): one split per file (per block of a large
 * file, with `setBlockSize`), a record per line (bad lines as `setBadLinePolicy` says),
 * positions as byte offsets in checkpoints; with `monitorContinuously(interval)` new files under
 * the paths are picked up as they appear.
 */
import type {
  Boundedness,
  Source,
  SourceReader,
  SourceReaderContext,
  SplitEnumerator,
  SplitEnumeratorContext,
} from '../../api/source/source.js';
import { type DurationLike, toMillis } from '../../core/duration.js';
import { SluiceError } from '../../core/errors.js';
import { type FileEnumeratorState, FileSourceEnumerator } from './file-enumerator.js';
import { FileSourceReader } from './file-source-reader.js';
import type { FileSourceSplit } from './file-source-split.js';
import { localPath } from './local-path.js';
import { isStreamFormat, type StreamFormat } from './stream-format.js';
import { BadLinePolicy, isBadLinePolicy } from './bad-line-policy.js';

/** Files above this size are split into blocks by default (Hadoop's and HDFS's block size). */
const DEFAULT_BLOCK_SIZE = 128 * 1024 * 1024;

export class FileSource<T> implements Source<T, FileSourceSplit, FileEnumeratorState> {
  /** @internal Built by FileSource.forRecordStreamFormat(...).build(). */
  constructor(
    private readonly format: StreamFormat<T>,
    private readonly paths: readonly string[],
    private readonly discoveryIntervalMs: number | undefined,
    private readonly blockSize: number | undefined = DEFAULT_BLOCK_SIZE,
    private readonly badLines: BadLinePolicy = BadLinePolicy.FAIL,
  ) {}

  /** A source of the records `format` reads from the lines of the files under `paths`. */
  static forRecordStreamFormat<T>(format: StreamFormat<T>, ...paths: unknown[]): FileSourceBuilder<T> {
    if (!isStreamFormat(format))
      throw new SluiceError(
        'SLUICE_PROGRAM_INVALID',
        'FileSource.forRecordStreamFormat(format, ...paths) needs a StreamFormat, e.g. new TextLineInputFormat().',
      );
    if (paths.length === 0)
      throw new SluiceError(
        'SLUICE_PROGRAM_INVALID',
        'FileSource.forRecordStreamFormat(format, ...paths) needs at least one file or directory.',
      );
    return new FileSourceBuilder(
      format,
      paths.map((p) => localPath(p, 'FileSource.forRecordStreamFormat()')),
    );
  }

  getBoundedness(): Boundedness {
    return this.discoveryIntervalMs === undefined ? 'BOUNDED' : 'CONTINUOUS_UNBOUNDED';
  }

  createEnumerator(
    ctx: SplitEnumeratorContext<FileSourceSplit>,
  ): SplitEnumerator<FileSourceSplit, FileEnumeratorState> {
    return new FileSourceEnumerator(ctx, this.paths, this.discoveryIntervalMs, undefined, this.blockSize);
  }

  restoreEnumerator(
    ctx: SplitEnumeratorContext<FileSourceSplit>,
    state: FileEnumeratorState,
  ): SplitEnumerator<FileSourceSplit, FileEnumeratorState> {
    return new FileSourceEnumerator(ctx, this.paths, this.discoveryIntervalMs, state, this.blockSize);
  }

  createReader(ctx: SourceReaderContext): SourceReader<T, FileSourceSplit> {
    return new FileSourceReader(ctx, this.format, this.badLines);
  }
}

/** Builds a FileSource (Flink's `FileSourceBuilder`). */
export class FileSourceBuilder<T> {
  private discoveryIntervalMs: number | undefined;
  private blockSize: number | undefined = DEFAULT_BLOCK_SIZE;
  private badLines: BadLinePolicy = BadLinePolicy.FAIL;

  constructor(
    private readonly format: StreamFormat<T>,
    private readonly paths: readonly string[],
  ) {}

  /** Keeps watching the paths for new files every `interval` (ms or a Duration): an unbounded source. */
  monitorContinuously(interval: DurationLike): this {
    const ms = toMillis(interval, 'FileSource.monitorContinuously()');
    if (ms <= 0)
      throw new SluiceError(
        'SLUICE_PROGRAM_INVALID',
        'FileSource.monitorContinuously() needs an interval > 0.',
      );
    this.discoveryIntervalMs = ms;
    return this;
  }

  /** Reads the files there are when the job starts, then ends (the default). */
  processStaticFileSet(): this {
    this.discoveryIntervalMs = undefined;
    return this;
  }

  /**
   * Reads a file above `bytes` as several splits, one per block of `bytes` (default 128 MiB), so
   * that parallel readers share it; `Infinity` keeps one split per file. Each block reads the
   * lines beginning in it, the last one to its end.
   */
  setBlockSize(bytes: number): this {
    if (!(bytes > 0) || (!Number.isSafeInteger(bytes) && bytes !== Infinity))
      throw new SluiceError(
        'SLUICE_PROGRAM_INVALID',
        `FileSource.setBlockSize() needs a whole number of bytes > 0 (or Infinity for one split per file), got ${String(bytes)}.`,
      );
    this.blockSize = bytes === Infinity ? undefined : bytes;
    return this;
  }

  /**
   * What to do with a line the format cannot decode: `BadLinePolicy.FAIL` (the default),
   * `BadLinePolicy.SKIP` (counted in `numRecordsInErrors`), or `BadLinePolicy.sideOutput(tag)`
   * (counted too; read the `BadLine`s with `getSideOutput(tag)` on the source's stream).
   */
  setBadLinePolicy(policy: BadLinePolicy): this {
    if (!isBadLinePolicy(policy))
      throw new SluiceError(
        'SLUICE_PROGRAM_INVALID',
        'FileSource.setBadLinePolicy() needs BadLinePolicy.FAIL, BadLinePolicy.SKIP or BadLinePolicy.sideOutput(tag).',
      );
    this.badLines = policy;
    return this;
  }

  build(): FileSource<T> {
    return new FileSource(this.format, this.paths, this.discoveryIntervalMs, this.blockSize, this.badLines);
  }
}
