/**
 * Values as PostgreSQL literals. A batch goes to the server as one SQL text (one round trip, as
 * pgjdbc's batched and rewritten inserts), so parameters are rendered in place: quoted literals
 * are untyped in PostgreSQL and take the type of their column or expression, as parameters do.
 */
import { escapeLiteral } from 'pg';

const NEEDS_ESCAPE = /['\\]/;

function quote(text: string): string {
  return NEEDS_ESCAPE.test(text) ? escapeLiteral(text) : `'${text}'`;
}

function arrayElement(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (Array.isArray(value)) return `{${value.map(arrayElement).join(',')}}`;
  const text =
    typeof value === 'string' ? value : typeof value === 'bigint' ? value.toString() : JSON.stringify(value);
  return `"${text.replace(/[\\"]/g, '\\$&')}"`;
}

/** `value` as SQL: numbers and booleans bare, text quoted, objects as JSON, arrays as array literals. */
export function sqlLiteral(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return quote(value);
    case 'number':
      return Number.isFinite(value) ? String(value) : `'${String(value)}'`;
    case 'bigint':
      return String(value);
    case 'boolean':
      return value ? 'TRUE' : 'FALSE';
    case 'undefined':
      return 'NULL';
    default:
      if (value === null) return 'NULL';
      if (value instanceof Date) return `'${value.toISOString()}'`;
      if (value instanceof Uint8Array) return `'\\x${Buffer.from(value).toString('hex')}'::bytea`;
      if (Array.isArray(value)) return quote(arrayElement(value));
      return quote(JSON.stringify(value));
  }
}
