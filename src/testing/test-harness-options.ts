/** The options of a test harness: which subtask of how many it runs, over how many key groups. */
import { checkParallelism, computeDefaultMaxParallelism } from '../core/key-groups.js';
import { harnessMisuse } from './harness-misuse.js';

/** Where the operator under test runs: which subtask of how many, over how many key groups. */
export interface TestHarnessOptions {
  /** Key groups of keyed state; default as a job's: parallelism × 1.5 rounded up to a power of two, at least 128. */
  readonly maxParallelism?: number;
  /** Parallel subtasks of the operator (default 1). */
  readonly parallelism?: number;
  /** Which subtask this harness is, from 0 (default 0). Its key groups are the ones a job gives it. */
  readonly subtaskIndex?: number;
}

/** The options with their defaults filled in. */
export type ResolvedHarnessOptions = Required<TestHarnessOptions>;

const OPTION_NAMES: ReadonlySet<string> = new Set(['maxParallelism', 'parallelism', 'subtaskIndex']);

/** Checks `options` (for the harness of operator `name`) and fills in the defaults. */
export function resolveHarnessOptions(name: string, options: TestHarnessOptions): ResolvedHarnessOptions {
  if (typeof options !== 'object' || options === null)
    throw harnessMisuse(`test harness options must be an object, got ${String(options)}.`);
  for (const key of Object.keys(options))
    if (!OPTION_NAMES.has(key))
      throw harnessMisuse(
        `test harness options: unknown option '${key}'; the options are ${[...OPTION_NAMES].join(', ')}.`,
      );
  const parallelism = options.parallelism ?? 1;
  const maxParallelism = options.maxParallelism ?? computeDefaultMaxParallelism(parallelism);
  const subtaskIndex = options.subtaskIndex ?? 0;
  checkParallelism(`test harness of '${name}'`, parallelism, maxParallelism);
  if (!Number.isInteger(subtaskIndex) || subtaskIndex < 0 || subtaskIndex >= parallelism)
    throw harnessMisuse(
      `test harness options: subtaskIndex ${String(subtaskIndex)} is not a subtask of parallelism ` +
        `${parallelism}; pick one in [0, ${parallelism - 1}].`,
    );
  return { parallelism, maxParallelism, subtaskIndex };
}
