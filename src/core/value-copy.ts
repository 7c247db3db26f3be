/** Deep copies of serializable data, as Flink's `TypeSerializer.copy`: what a snapshot keeps of a value user code goes on changing. */

/** Deeper than this, a value is copied the slow way (which also finds cycles). */
const MAX_FAST_DEPTH = 32;

/**
 * A deep copy of `value` that serializes to the same bytes as `value` does now. Plain objects,
 * arrays, Dates, Maps and Sets are copied directly (a spread and a walk: tens of nanoseconds for
 * a small accumulator, where serializing costs several times that); anything else — a registered
 * class, a typed array, an error, an object with no prototype, a cycle — through `slow`, a
 * serializer round trip, which also throws for what cannot be serialized at all.
 *
 * Values that are not data at all (a function in a field) are copied by reference: serializing
 * the copy fails as serializing the original would.
 */
export function copyValue(value: unknown, slow: (value: object) => unknown): unknown {
  return typeof value === 'object' && value !== null ? copyObject(value, slow, 0) : value;
}

function copyObject(value: object, slow: (value: object) => unknown, depth: number): unknown {
  if (depth > MAX_FAST_DEPTH) return slow(value);
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto === Object.prototype) {
    // A spread defines properties (a `__proto__` key stays a key) and V8 clones the shape at once.
    const out: Record<string, unknown> = { ...value };
    for (const k in out) {
      const v = out[k];
      if (typeof v === 'object' && v !== null) out[k] = copyObject(v, slow, depth + 1);
    }
    return out;
  }
  if (proto === Array.prototype) {
    const source = value as readonly unknown[];
    const n = source.length;
    const out = new Array<unknown>(n);
    for (let i = 0; i < n; i++) {
      const v = source[i];
      out[i] = typeof v === 'object' && v !== null ? copyObject(v, slow, depth + 1) : v;
    }
    return out;
  }
  if (proto === Date.prototype) return new Date((value as Date).getTime());
  if (proto === Map.prototype) {
    const out = new Map<unknown, unknown>();
    for (const [k, v] of value as Map<unknown, unknown>)
      out.set(copyChild(k, slow, depth), copyChild(v, slow, depth));
    return out;
  }
  if (proto === Set.prototype) {
    const out = new Set<unknown>();
    for (const v of value as Set<unknown>) out.add(copyChild(v, slow, depth));
    return out;
  }
  return slow(value);
}

function copyChild(v: unknown, slow: (value: object) => unknown, depth: number): unknown {
  return typeof v === 'object' && v !== null ? copyObject(v, slow, depth + 1) : v;
}
