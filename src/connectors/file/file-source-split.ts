/** A FileSource split: one file, and the byte offset and line number of its next line. */
import type { SourceSplit } from '../../api/source/source.js';

export interface FileSourceSplit extends SourceSplit {
  readonly path: string;
  /** Byte offset of the next line to read. */
  readonly offset: number;
  /** 1-based number of that line (for error messages). */
  readonly lineNumber: number;
}

export function splitOf(path: string): FileSourceSplit {
  return { splitId: path, path, offset: 0, lineNumber: 1 };
}
