/** The local file paths file connectors take: a string, a `file://` URI, a URL or a Flink-style Path. */
import * as path from 'node:path';
import { SluiceError } from '../../core/errors.js';

function textOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value instanceof URL) return value.href;
  // A Path-like object (Flink's `new Path(...)`) stands for its own toString().
  const own = (value as { toString?: unknown } | null)?.toString;
  if (typeof own === 'function' && own !== Object.prototype.toString) return String(own.call(value));
  return undefined;
}

/** The absolute local path `value` names; SLUICE_PROGRAM_INVALID naming `what` otherwise. */
export function localPath(value: unknown, what: string): string {
  const text = textOf(value);
  if (text === undefined || text.length === 0)
    throw new SluiceError(
      'SLUICE_PROGRAM_INVALID',
      `${what} needs a path (a string such as '/data/out' or 'file:///data/out'), got ${JSON.stringify(value) ?? String(value)}.`,
    );
  if (/^file:/i.test(text)) return path.resolve(decodeURIComponent(new URL(text).pathname));
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text))
    throw new SluiceError(
      'SLUICE_PROGRAM_INVALID',
      `${what}: only local paths and file:// URIs are supported, got '${text}'.`,
    );
  return path.resolve(text);
}
