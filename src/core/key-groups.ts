/** Key groups: Flink's KeyGroupRangeAssignment, bit for bit (DESIGN.md "Keys and key groups"). */
import { invalidProgram } from './errors.js';
import { murmurMixInt } from './murmur3.js';
import { stableHash } from './stable-hash.js';

/** Smallest default max parallelism (Flink's DEFAULT_LOWER_BOUND_MAX_PARALLELISM). */
export const DEFAULT_LOWER_BOUND_MAX_PARALLELISM = 128;
/** Largest max parallelism (Flink's UPPER_BOUND_MAX_PARALLELISM, 2^15). */
export const UPPER_BOUND_MAX_PARALLELISM = 32768;

/** An inclusive range of key groups `[start, end]`; empty when end < start. */
export interface KeyGroupRange {
  readonly start: number;
  readonly end: number;
}

function roundUpToPowerOfTwo(x: number): number {
  let p = 1;
  while (p < x) p *= 2;
  return p;
}

/** Flink's default: parallelism × 1.5 rounded up to a power of two, clamped to [128, 32768]. */
export function computeDefaultMaxParallelism(parallelism: number): number {
  return Math.min(
    Math.max(
      roundUpToPowerOfTwo(parallelism + Math.floor(parallelism / 2)),
      DEFAULT_LOWER_BOUND_MAX_PARALLELISM,
    ),
    UPPER_BOUND_MAX_PARALLELISM,
  );
}

/** The key group of a key hash (`stableHash(key)`). */
export function computeKeyGroupForKeyHash(keyHash: number, maxParallelism: number): number {
  return murmurMixInt(keyHash) % maxParallelism;
}

/** The key group a key belongs to. */
export function assignToKeyGroup(key: unknown, maxParallelism: number): number {
  return murmurMixInt(stableHash(key)) % maxParallelism;
}

/** The contiguous key-group range owned by subtask `index` of `parallelism`. */
export function computeKeyGroupRangeForOperatorIndex(
  maxParallelism: number,
  parallelism: number,
  index: number,
): KeyGroupRange {
  return {
    start: Math.floor((index * maxParallelism + parallelism - 1) / parallelism),
    end: Math.floor(((index + 1) * maxParallelism - 1) / parallelism),
  };
}

/** The subtask index (of `parallelism`) that owns key group `keyGroup`. */
export function computeOperatorIndexForKeyGroup(
  maxParallelism: number,
  parallelism: number,
  keyGroup: number,
): number {
  return Math.floor((keyGroup * parallelism) / maxParallelism);
}

/** Rejects a parallelism / max parallelism pair that Flink rejects, saying what to change. */
export function checkParallelism(what: string, parallelism: number, maxParallelism: number): void {
  if (!Number.isInteger(parallelism) || parallelism < 1)
    throw invalidProgram(
      `${what}: parallelism must be a positive integer, got ${String(parallelism)}; set it to 1 or more.`,
    );
  if (!Number.isInteger(maxParallelism) || maxParallelism < 1 || maxParallelism > UPPER_BOUND_MAX_PARALLELISM)
    throw invalidProgram(
      `${what}: max parallelism must be an integer in [1, ${UPPER_BOUND_MAX_PARALLELISM}], got ${String(maxParallelism)}.`,
    );
  if (parallelism > maxParallelism)
    throw invalidProgram(
      `${what}: parallelism ${parallelism} is above max parallelism ${maxParallelism}; ` +
        'lower the parallelism or raise setMaxParallelism() (max parallelism is fixed for the life of the state).',
    );
}
