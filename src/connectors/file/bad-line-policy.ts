/**
 * What the FileSource does with a line its format cannot decode (the format throws for it): fail
 * the job naming the file and line (the default), skip it counting it in the source's
 * `numRecordsInErrors`, or send it, counted too, to a side output of the source's stream.
 */
import { SluiceError } from '../../core/errors.js';
import { OutputTag } from '../../api/output-tag.js';

/** A line the format could not decode, as the side-output policy emits it. */
export interface BadLine {
  /** The file. */
  readonly path: string;
  /** Its line number (in the block, for a block of a large file: see `blockStart`). */
  readonly lineNumber: number;
  /** Where the block of a large file begins; absent for a whole-file split. */
  readonly blockStart?: number;
  /** The line, without its line break. */
  readonly line: string;
  /** Why the format rejected it. */
  readonly error: string;
}

/** One of `BadLinePolicy.FAIL`, `BadLinePolicy.SKIP`, `BadLinePolicy.sideOutput(tag)`. */
export type BadLinePolicy =
  | { readonly kind: 'fail' }
  | { readonly kind: 'skip' }
  | { readonly kind: 'side-output'; readonly tag: OutputTag<BadLine> };

export const BadLinePolicy = {
  /** Fail the job with SLUICE_SOURCE_RECORD_INVALID naming the file and line (the default). */
  FAIL: { kind: 'fail' } as BadLinePolicy,
  /** Skip the line, counting it in `numRecordsInErrors`. */
  SKIP: { kind: 'skip' } as BadLinePolicy,
  /** Emit a `BadLine` to `tag` (read it with `getSideOutput(tag)` on the source's stream), counted in `numRecordsInErrors`. */
  sideOutput(tag: OutputTag<BadLine>): BadLinePolicy {
    if (!(tag instanceof OutputTag))
      throw new SluiceError(
        'SLUICE_PROGRAM_INVALID',
        'BadLinePolicy.sideOutput(tag) needs an OutputTag, e.g. new OutputTag<BadLine>("bad-lines").',
      );
    return { kind: 'side-output', tag };
  },
};

/** Whether `policy` is one of BadLinePolicy's. */
export function isBadLinePolicy(policy: unknown): policy is BadLinePolicy {
  const kind = (policy as { kind?: unknown } | null)?.kind;
  return (
    kind === 'fail' ||
    kind === 'skip' ||
    (kind === 'side-output' && (policy as { tag?: unknown }).tag instanceof OutputTag)
  );
}
