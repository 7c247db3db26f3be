/** The errors keyed state raises on misuse, worded so the reader knows what to change. */
import type { KeyGroupRange } from '../core/key-groups.js';
import { invariant, SluiceError } from '../core/errors.js';

/** A short, safe rendering of a key for messages (keys may be large or not JSON-friendly). */
export function describeKey(key: unknown): string {
  let text: string;
  try {
    text =
      typeof key === 'string'
        ? JSON.stringify(key)
        : (JSON.stringify(key, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)) ?? String(key));
  } catch {
    text = String(key);
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** The state name or descriptor name is not a non-empty string. */
export function invalidStateName(what: string, name: unknown): SluiceError {
  return new SluiceError(
    'SLUICE_STATE_INVALID_ACCESS',
    `${what}: the state name must be a non-empty string, got ${describeKey(name)}; ` +
      'give every state a name that is unique within its operator (it identifies the state in checkpoints).',
  );
}

/** A descriptor was given something that is not the function it needs. */
export function invalidStateFunction(what: string, name: string, expected: string): SluiceError {
  return new SluiceError('SLUICE_STATE_INVALID_ACCESS', `${what} '${name}': expected ${expected}.`);
}

/** Keyed state (or the current key) was read while no key is set. */
export function noCurrentKey(what: string): SluiceError {
  return new SluiceError(
    'SLUICE_STATE_INVALID_ACCESS',
    `${what}: there is no current key. Keyed state can only be used while processing a record or timer ` +
      'of a keyed stream (after keyBy()); it cannot be used in open(), close() or on a non-keyed stream.',
  );
}

/** A key hashes to a key group that this backend (this subtask) does not own. */
export function keyGroupOutOfRange(
  key: unknown,
  keyGroup: number,
  range: KeyGroupRange,
  maxParallelism: number,
): SluiceError {
  return new SluiceError(
    'SLUICE_STATE_INVALID_ACCESS',
    `key ${describeKey(key)} is in key group ${keyGroup}, outside this subtask's key-group range ` +
      `[${range.start}, ${range.end}] (max parallelism ${maxParallelism}). The record reached the wrong ` +
      'subtask: either the key selector is not deterministic (it must return the same key for the same ' +
      'record every time, in every process: no random values, clocks or object identity), or records ' +
      'were partitioned by something other than the key group (a partitioning bug).',
  );
}

/** A state name was declared twice with different kinds. */
export function incompatibleRedeclaration(name: string, existingKind: string, newKind: string): SluiceError {
  return new SluiceError(
    'SLUICE_STATE_INVALID_ACCESS',
    `state '${name}' is already declared as ${existingKind} state and cannot be declared again as ` +
      `${newKind} state; give the new state another name (a name identifies one state in checkpoints).`,
  );
}

/** A state name that was never declared was asked for. */
export function unknownState(name: string, known: Iterable<string>): SluiceError {
  const names = [...known].map((n) => `'${n}'`).join(', ') || '(none)';
  return new SluiceError(
    'SLUICE_STATE_INVALID_ACCESS',
    `no keyed state named '${name}' has been declared; declared states: ${names}.`,
  );
}

/**
 * A user function returned undefined where the state needs a value. Storing it would silently
 * drop the state (undefined means absent), which is how a forgotten `return acc` shows up.
 */
export function functionReturnedUndefined(stateName: string, fn: string, what: string): SluiceError {
  return new SluiceError(
    'SLUICE_STATE_INVALID_ACCESS',
    `state '${stateName}': ${fn} returned undefined; it must return the ${what} ` +
      '(return it even when the function updates it in place).',
  );
}

/** A list state was given `undefined` as an element. */
export function undefinedListElement(stateName: string): SluiceError {
  return new SluiceError(
    'SLUICE_STATE_INVALID_ACCESS',
    `list state '${stateName}': undefined cannot be a list element (it cannot be told apart ` +
      'from a missing one in checkpoints); use null or leave the element out.',
  );
}

/** Throws unless `keyGroupRange` is a range of key groups of a job with `maxParallelism`. */
export function checkKeyGroupSetup(maxParallelism: number, keyGroupRange: KeyGroupRange): void {
  invariant(
    Number.isInteger(maxParallelism) && maxParallelism >= 1,
    `max parallelism is a positive integer (got ${maxParallelism})`,
  );
  invariant(
    Number.isInteger(keyGroupRange.start) &&
      Number.isInteger(keyGroupRange.end) &&
      keyGroupRange.start >= 0 &&
      keyGroupRange.end < maxParallelism,
    `key-group range [${keyGroupRange.start}, ${keyGroupRange.end}] lies within [0, ${maxParallelism - 1}]`,
  );
}

/** An untyped caller passed something that is not a state descriptor. */
export function notAStateDescriptor(descriptor: unknown): SluiceError {
  return new SluiceError(
    'SLUICE_STATE_INVALID_ACCESS',
    `state '${String((descriptor as { name?: unknown }).name)}': not a state descriptor; ` +
      'declare state with ValueStateDescriptor, ListStateDescriptor, MapStateDescriptor, ' +
      'ReducingStateDescriptor or AggregatingStateDescriptor.',
  );
}
