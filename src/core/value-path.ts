/** Where in a value something is (`record.user.onClick`): for serialization errors that name the field to fix. */

/** What a search found: the path of the value, or of the reference that closes a cycle. */
export interface Found {
  readonly path: string;
  readonly value: unknown;
  /** Set when the path leads back to one of its own ancestors. */
  readonly cycleTo?: string;
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/u;

function member(path: string, key: string): string {
  return IDENTIFIER.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

function mapKey(key: unknown): string {
  if (typeof key === 'string') return JSON.stringify(key);
  if (typeof key === 'number' || typeof key === 'boolean' || typeof key === 'bigint') return String(key);
  return '…';
}

/**
 * The first value under `root` (depth first, in serialization order) for which `match` is true,
 * or the first reference back to an ancestor (a cycle), with its path from `rootName`. Looks
 * into arrays, plain objects and class instances (own enumerable fields), Map keys and values,
 * and Set elements. Only runs when serialization already failed, so it is not tuned for speed.
 */
export function findInValue(
  root: unknown,
  rootName: string,
  match: (value: unknown) => boolean,
): Found | undefined {
  const ancestors = new Map<object, string>();
  const visit = (value: unknown, path: string): Found | undefined => {
    if (match(value)) return { path, value };
    if (value === null || typeof value !== 'object') return undefined;
    const seenAt = ancestors.get(value);
    if (seenAt !== undefined) return { path, value, cycleTo: seenAt };
    ancestors.set(value, path);
    try {
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          const found = visit(value[i], `${path}[${i}]`);
          if (found) return found;
        }
      } else if (value instanceof Map) {
        for (const [k, v] of value) {
          const found = visit(k, `${path}.keys()[${mapKey(k)}]`) ?? visit(v, `${path}.get(${mapKey(k)})`);
          if (found) return found;
        }
      } else if (value instanceof Set) {
        let i = 0;
        for (const element of value) {
          const found = visit(element, `${path}.values()[${i++}]`);
          if (found) return found;
        }
      } else if (!ArrayBuffer.isView(value) && !(value instanceof Date) && !(value instanceof RegExp)) {
        for (const key of Object.keys(value)) {
          const found = visit((value as Record<string, unknown>)[key], member(path, key));
          if (found) return found;
        }
      }
      return undefined;
    } finally {
      ancestors.delete(value);
    }
  };
  return visit(root, rootName);
}
