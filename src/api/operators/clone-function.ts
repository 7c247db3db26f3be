/**
 * Copies a user function object for one parallel instance, as Flink deserializes a fresh copy
 * per subtask: fields a function sets in `open()` (state handles, counters) must not be shared
 * between subtasks running in the same process.
 */

function cloneValue(value: unknown, seen: Map<object, unknown>): unknown {
  if (value === null || typeof value !== 'object') return value;
  const known = seen.get(value);
  if (known !== undefined) return known;
  if (value instanceof Map) {
    const copy = new Map();
    seen.set(value, copy);
    for (const [k, v] of value) copy.set(k, cloneValue(v, seen));
    return copy;
  }
  if (value instanceof Set) {
    const copy = new Set();
    seen.set(value, copy);
    for (const v of value) copy.add(cloneValue(v, seen));
    return copy;
  }
  if (value instanceof Date) return new Date(value.getTime());
  if (ArrayBuffer.isView(value)) return value;
  const copy: Record<string | symbol, unknown> = Array.isArray(value)
    ? ([] as unknown as Record<string, unknown>)
    : (Object.create(Object.getPrototypeOf(value) as object | null) as Record<string, unknown>);
  seen.set(value, copy);
  for (const key of Reflect.ownKeys(value)) {
    const desc = Object.getOwnPropertyDescriptor(value, key)!;
    if ('value' in desc) desc.value = cloneValue(desc.value, seen);
    Object.defineProperty(copy, key, desc);
  }
  return copy;
}

/**
 * A deep copy of a function object (same prototype, own fields copied); plain functions are
 * returned as they are, since a closure cannot be copied (and should then not keep state).
 */
export function cloneFunction<T>(fn: T): T {
  if (fn === null || typeof fn !== 'object') return fn;
  return cloneValue(fn, new Map()) as T;
}
