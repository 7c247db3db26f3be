/**
 * Record formats of the FileSource (Flink's `StreamFormat`s `TextLineInputFormat`, and JSON
 * lines): how one line of a file becomes a record. Positions are byte offsets of line starts, so
 * a split restores at the first line its checkpoint had not emitted.
 */
import { SluiceError } from '../../core/errors.js';

/** Returned by `readLine` for a line that is skipped (counted in `numRecordsInErrors`). */
export const SKIP_LINE: unique symbol = Symbol('skip line');

/** A line-based record format. */
export interface StreamFormat<T> {
  /** The record of `line` (without its line break), or SKIP_LINE; throws for a line it rejects. */
  readLine(line: string, file: string, lineNumber: number): T | typeof SKIP_LINE;
}

/** Each line as a string (Flink's `TextLineInputFormat`; UTF-8, `\n` or `\r\n` line breaks). */
export class TextLineInputFormat implements StreamFormat<string> {
  constructor(readonly charsetName: string = 'UTF-8') {
    if (!/^utf-?8$/i.test(charsetName))
      throw new RangeError(`TextLineInputFormat: only UTF-8 is supported, got '${charsetName}'.`);
  }

  readLine(line: string): string {
    return line;
  }
}

/** Options of JsonLinesInputFormat. */
export interface JsonLinesOptions {
  /**
   * Skip lines that are not JSON, counting them in the source's `numRecordsInErrors` metric,
   * instead of failing the job (as Flink's `json.ignore-parse-errors`). Default false.
   */
  readonly ignoreParseErrors?: boolean;
}

/** Each non-empty line parsed as JSON (JSON lines). A bad line fails the job naming file and line. */
export class JsonLinesInputFormat<T = unknown> implements StreamFormat<T> {
  readonly ignoreParseErrors: boolean;

  constructor(options: JsonLinesOptions = {}) {
    this.ignoreParseErrors = options.ignoreParseErrors === true;
  }

  readLine(line: string, file: string, lineNumber: number): T | typeof SKIP_LINE {
    if (line.trim().length === 0) return SKIP_LINE;
    try {
      return JSON.parse(line) as T;
    } catch (e) {
      if (this.ignoreParseErrors) return SKIP_LINE;
      throw new SluiceError(
        'SLUICE_SOURCE_RECORD_INVALID',
        `line ${lineNumber} of ${file} is not JSON (${(e as Error).message}): ${JSON.stringify(line.slice(0, 200))}. ` +
          'Fix the file, or skip such lines with new JsonLinesInputFormat({ ignoreParseErrors: true }) or the ' +
          "FileSource's setBadLinePolicy(BadLinePolicy.SKIP), or send them to a side output with BadLinePolicy.sideOutput(tag).",
      );
    }
  }
}

/** Whether `format` is a StreamFormat (has `readLine`). */
export function isStreamFormat(format: unknown): format is StreamFormat<unknown> {
  return typeof (format as StreamFormat<unknown> | null)?.readLine === 'function';
}
