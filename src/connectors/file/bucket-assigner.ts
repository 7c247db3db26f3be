/**
 * Which bucket (sub-directory of the FileSink's base path) a record goes to (Flink's
 * `BucketAssigner`, `DateTimeBucketAssigner`, `BasePathBucketAssigner`). A custom assigner is an
 * object with `getBucketId(element, context)`, or a plain function of the same shape.
 */
import { SluiceError } from '../../core/errors.js';

/** What an assigner sees besides the record (Flink's `BucketAssigner.Context`). */
export interface BucketAssignerContext {
  currentProcessingTime(): number;
  currentWatermark(): number;
  /** The record's event timestamp, or null when it has none. */
  timestamp(): number | null;
}

export interface BucketAssigner<T = unknown> {
  /** The bucket's path relative to the base path ('' = the base path itself). */
  getBucketId(element: T, context: BucketAssignerContext): string;
}

/** Every record in the base path itself. */
export class BasePathBucketAssigner<T = unknown> implements BucketAssigner<T> {
  getBucketId(): string {
    return '';
  }
}

const FIELDS: Record<string, (d: Date, utc: boolean) => number> = {
  yyyy: (d, u) => (u ? d.getUTCFullYear() : d.getFullYear()),
  MM: (d, u) => (u ? d.getUTCMonth() : d.getMonth()) + 1,
  dd: (d, u) => (u ? d.getUTCDate() : d.getDate()),
  HH: (d, u) => (u ? d.getUTCHours() : d.getHours()),
  mm: (d, u) => (u ? d.getUTCMinutes() : d.getMinutes()),
  ss: (d, u) => (u ? d.getUTCSeconds() : d.getSeconds()),
};

/**
 * Buckets by the processing time a record is written, formatted with a Java-style pattern
 * (default `yyyy-MM-dd--HH`, one bucket an hour, as Flink). Supports `yyyy MM dd HH mm ss` and
 * quoted text; the zone is the machine's unless `'UTC'` is given.
 */
export class DateTimeBucketAssigner<T = unknown> implements BucketAssigner<T> {
  private readonly parts: (string | { field: string; width: number })[];
  private readonly utc: boolean;
  private cachedSecond = Number.NaN;
  private cachedId = '';

  constructor(
    readonly formatString: string = 'yyyy-MM-dd--HH',
    readonly zoneId?: string,
  ) {
    if (zoneId !== undefined && !/^(utc|z|gmt)$/i.test(zoneId))
      throw new SluiceError(
        'SLUICE_PROGRAM_INVALID',
        `DateTimeBucketAssigner: zone '${zoneId}' is not supported; give 'UTC' or leave it out for the machine's zone.`,
      );
    this.utc = zoneId !== undefined;
    this.parts = parsePattern(formatString);
  }

  getBucketId(_element: T, context: BucketAssignerContext): string {
    const now = context.currentProcessingTime();
    const second = Math.floor(now / 1000);
    // Buckets change at most once a second: format only then.
    if (second !== this.cachedSecond) {
      this.cachedSecond = second;
      const d = new Date(now);
      this.cachedId = this.parts
        .map((p) =>
          typeof p === 'string' ? p : String(FIELDS[p.field]!(d, this.utc)).padStart(p.width, '0'),
        )
        .join('');
    }
    return this.cachedId;
  }
}

function parsePattern(pattern: string): (string | { field: string; width: number })[] {
  const parts: (string | { field: string; width: number })[] = [];
  let i = 0;
  while (i < pattern.length) {
    if (pattern[i] === "'") {
      const end = pattern.indexOf("'", i + 1);
      if (end < 0) throw badPattern(pattern, 'an unclosed quote');
      parts.push(pattern.slice(i + 1, end));
      i = end + 1;
      continue;
    }
    const field = Object.keys(FIELDS).find((f) => pattern.startsWith(f, i));
    if (field !== undefined) {
      parts.push({ field, width: field.length });
      i += field.length;
    } else if (/[a-zA-Z]/.test(pattern[i]!)) {
      throw badPattern(pattern, `the letter '${pattern[i]}' (supported: yyyy MM dd HH mm ss, 'quoted text')`);
    } else {
      parts.push(pattern[i]!);
      i++;
    }
  }
  return parts;
}

function badPattern(pattern: string, what: string): SluiceError {
  return new SluiceError(
    'SLUICE_PROGRAM_INVALID',
    `DateTimeBucketAssigner: pattern '${pattern}' has ${what}.`,
  );
}
