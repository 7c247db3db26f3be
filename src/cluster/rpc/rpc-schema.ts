/** Field-by-field checks for decoded control-plane messages: typed values out, or an RpcProtocolError naming the field. */
import { SluiceError } from '../../core/errors.js';

/**
 * A control-plane message that does not have the shape it claims (`SLUICE_RPC_BAD_MESSAGE`).
 * `path` names the offending field (`task-state.subtask`), so a log line says what was wrong.
 */
export class RpcProtocolError extends SluiceError {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super('SLUICE_RPC_BAD_MESSAGE', message);
    this.name = 'RpcProtocolError';
  }
}

/**
 * Checks `value` found at `path` and returns it typed (objects rebuilt with only their declared
 * fields), or throws an RpcProtocolError. Throwing keeps the checks one-liners; parseRpcMessage
 * turns the throw back into a returned value at the boundary.
 */
export type Check<T> = (value: unknown, path: string) => T;

/** A check per declared field of `T`; optional fields get a check that accepts undefined. */
export type FieldChecks<T> = { readonly [K in keyof T]-?: Check<T[K]> };

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Uint8Array) return 'bytes';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.slice(0, 40))}`;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return typeof value;
}

/** Throws the error for a field that is not what it should be. */
export function reject(path: string, expected: string, value: unknown): never {
  throw new RpcProtocolError(
    path,
    `malformed message: ${path} should be ${expected}, got ${describe(value)}`,
  );
}

/** A plain object (MessagePack map), as a record to read fields from. */
export function plainObject(value: unknown, path: string): Readonly<Record<string, unknown>> {
  if (typeof value !== 'object' || value === null) return reject(path, 'an object', value);
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return reject(path, 'an object', value);
  return value as Record<string, unknown>;
}

/** The own field `key` of `object`, undefined when absent (never an inherited property). */
export function field(object: Readonly<Record<string, unknown>>, key: string): unknown {
  return Object.hasOwn(object, key) ? object[key] : undefined;
}

/** Any string. */
export const text: Check<string> = (v, path) => (typeof v === 'string' ? v : reject(path, 'a string', v));

/** A non-empty string of at most 256 characters: an id or a name. */
export const name: Check<string> = (v, path) =>
  typeof v === 'string' && v.length > 0 && v.length <= 256
    ? v
    : reject(path, 'a name (1 to 256 characters)', v);

/** A whole number ≥ 0 (a count, an index, an id). */
export const nat: Check<number> = (v, path) =>
  Number.isSafeInteger(v) && (v as number) >= 0 ? (v as number) : reject(path, 'a whole number ≥ 0', v);

/** A whole number ≥ 1. */
export const positive: Check<number> = (v, path) =>
  Number.isSafeInteger(v) && (v as number) >= 1 ? (v as number) : reject(path, 'a whole number ≥ 1', v);

/** A finite number. */
export const finite: Check<number> = (v, path) =>
  typeof v === 'number' && Number.isFinite(v) ? v : reject(path, 'a finite number', v);

/** A TCP port (0 to 65535). */
export const port: Check<number> = (v, path) =>
  Number.isSafeInteger(v) && (v as number) >= 0 && (v as number) <= 0xffff
    ? (v as number)
    : reject(path, 'a port number', v);

/** Bytes (a MessagePack bin). */
export const bytes: Check<Uint8Array> = (v, path) => (v instanceof Uint8Array ? v : reject(path, 'bytes', v));

/**
 * Opaque plain data, accepted as decoded: whoever reads it defines its shape. MessagePack cannot
 * carry functions or class instances, so what arrives is data and nothing else.
 */
export const data: Check<unknown> = (v) => v;

/** One of `values` (an `as const` union). */
export function oneOf<const V extends string>(values: readonly V[], what: string): Check<V> {
  const set = new Set<string>(values);
  return (v, path) => (typeof v === 'string' && set.has(v) ? (v as V) : reject(path, what, v));
}

/** A string matching `pattern`, typed as `T` (a branded id). */
export function matching<T extends string>(pattern: RegExp, what: string): Check<T> {
  return (v, path) => (typeof v === 'string' && pattern.test(v) ? (v as T) : reject(path, what, v));
}

/** `check`, or undefined when the field is absent. */
/** A boolean. */
export const bool: Check<boolean> = (v, path) =>
  typeof v === 'boolean' ? v : reject(path, 'true or false', v);

export function optional<T>(check: Check<T>): Check<T | undefined> {
  return (v, path) => (v === undefined ? undefined : check(v, path));
}

/** An array whose every element passes `check`. */
export function listOf<T>(check: Check<T>): Check<readonly T[]> {
  return (v, path) => {
    if (!Array.isArray(v)) return reject(path, 'an array', v);
    return v.map((element, i) => check(element, `${path}[${i}]`));
  };
}

/** An object whose every value passes `check` (metric counters by name, say). */
export function recordOf<T>(check: Check<T>): Check<Readonly<Record<string, T>>> {
  return (v, path) => {
    const object = plainObject(v, path);
    return Object.fromEntries(
      Object.entries(object).map(([key, value]) => [key, check(value, `${path}.${key}`)]),
    );
  };
}

/**
 * An object with the declared fields: each is checked and copied; undeclared fields are dropped
 * (a handler never sees what it did not declare) and absent optional fields stay absent.
 */
export function objectOf<T>(fields: FieldChecks<T>): Check<T> {
  const entries = Object.entries(fields as Readonly<Record<string, Check<unknown>>>);
  return (v, path) => {
    const object = plainObject(v, path);
    const out: Record<string, unknown> = {};
    for (const [key, check] of entries) {
      const value = check(field(object, key), `${path}.${key}`);
      if (value !== undefined) out[key] = value;
    }
    return out as T;
  };
}
