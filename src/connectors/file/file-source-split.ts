/** A FileSource split: a file, or a block of a large one, and the position of its next line. */
import type { SourceSplit } from '../../api/source/source.js';

export interface FileSourceSplit extends SourceSplit {
  readonly path: string;
  /** Byte offset of the next line to read (of the block's start, while `alignToLine`). */
  readonly offset: number;
  /**
   * 1-based number of that line (for error messages): in the file for a whole-file split, in
   * the block for a block split.
   */
  readonly lineNumber: number;
  /**
   * End of a block split (exclusive byte offset): the split reads the lines that begin before it,
   * the last one to its line break even past `end`. Absent: to the end of the file.
   */
  readonly end?: number | undefined;
  /**
   * A block not read yet: `offset` is the block's start, maybe mid-line. Its first line is the
   * first one beginning at or after `offset` (the line crossing it is the previous block's).
   */
  readonly alignToLine?: boolean | undefined;
  /** Where the block begins, for error messages (block splits only). */
  readonly blockStart?: number | undefined;
}

/** The split of a whole file. */
export function splitOf(path: string): FileSourceSplit {
  return { splitId: path, path, offset: 0, lineNumber: 1 };
}

/**
 * The splits of a file of `size` bytes: one if it is at most `blockSize`, else one per block of
 * `blockSize` bytes (the last one reading to the end of the file, should it have grown).
 */
export function splitsOf(path: string, size: number, blockSize: number | undefined): FileSourceSplit[] {
  if (blockSize === undefined || size <= blockSize) return [splitOf(path)];
  const splits: FileSourceSplit[] = [];
  for (let start = 0; start < size; start += blockSize) {
    const end = start + blockSize < size ? start + blockSize : undefined;
    splits.push({
      splitId: `${path}@${start}`,
      path,
      offset: start,
      lineNumber: 1,
      end,
      alignToLine: start > 0,
      blockStart: start,
    });
  }
  return splits;
}

/** How a split names the place of its lines in error messages. */
export function splitPlace(split: FileSourceSplit): string {
  return split.blockStart === undefined ? split.path : `${split.path} (block from byte ${split.blockStart})`;
}
