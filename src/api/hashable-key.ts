/** Compile-time check of keyBy's key type: keys must have a stable hash (see core/stable-hash.ts). */

/**
 * Extra (impossible) argument keyBy demands when its selector may return a key with no stable
 * hash, so the mistake is a type error before anything runs. At run time the first such key
 * fails the job with SLUICE_KEY_NOT_HASHABLE.
 */
export type KeyCheck<K> =
  // `any` or `unknown`: nothing to check.
  0 extends 1 & K
    ? []
    : unknown extends K
      ? []
      : undefined extends K
        ? [error: 'keyBy: the key selector may return undefined, which has no stable hash']
        : [K] extends [symbol | ((...args: never[]) => unknown)]
          ? [error: 'keyBy: functions and symbols have no stable hash; return a string, number or plain data']
          : [];
