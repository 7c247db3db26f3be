/** Key-group assignment (Flink's KeyGroupRangeAssignment): ranges, owners, default max parallelism, validation. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SluiceError } from './errors.js';
import {
  DEFAULT_LOWER_BOUND_MAX_PARALLELISM,
  UPPER_BOUND_MAX_PARALLELISM,
  assignToKeyGroup,
  checkParallelism,
  computeDefaultMaxParallelism,
  computeKeyGroupForKeyHash,
  computeKeyGroupRangeForOperatorIndex,
  computeOperatorIndexForKeyGroup,
} from './key-groups.js';
import { murmurMixInt } from './murmur3.js';
import { stableHash } from './stable-hash.js';

/** maxParallelism in [1, 32768], biased to the edges and powers of two. */
const maxParallelismArb = fc.oneof(
  fc.integer({ min: 1, max: UPPER_BOUND_MAX_PARALLELISM }),
  fc.constantFrom(1, 2, 3, 127, 128, 129, 1000, 4096, 32767, 32768),
  fc.integer({ min: 0, max: 15 }).map((e) => 2 ** e),
);

/** A (maxParallelism, parallelism ≤ maxParallelism) pair. */
const pairArb = maxParallelismArb.chain((maxP) =>
  fc.record({
    maxP: fc.constant(maxP),
    p: fc.oneof(
      fc.integer({ min: 1, max: Math.min(maxP, 64) }),
      fc.integer({ min: 1, max: maxP }),
      fc.constant(maxP),
    ),
  }),
);

const anyKey = fc.oneof(
  fc.string(),
  fc.double(),
  fc.integer(),
  fc.bigInt(),
  fc.tuple(fc.string(), fc.integer()),
  fc.record({ id: fc.string(), n: fc.integer() }),
);

describe('computeKeyGroupRangeForOperatorIndex', () => {
  it('gives contiguous, disjoint ranges that cover [0, maxP-1] exactly', () => {
    fc.assert(
      fc.property(pairArb, ({ maxP, p }) => {
        // Plain checks in the loop (p may be 32768), one assertion on the collected violations.
        const violations: string[] = [];
        let expectedStart = 0;
        for (let i = 0; i < p; i++) {
          const r = computeKeyGroupRangeForOperatorIndex(maxP, p, i);
          // Contiguous with the previous range, so no overlap and no gap.
          if (r.start !== expectedStart)
            violations.push(`subtask ${i} starts at ${r.start}, not ${expectedStart}`);
          // p ≤ maxP: nobody is left empty; and balanced: sizes differ by at most one.
          const size = r.end - r.start + 1;
          if (size !== Math.floor(maxP / p) && size !== Math.ceil(maxP / p))
            violations.push(`subtask ${i} owns ${size} key groups`);
          expectedStart = r.end + 1;
        }
        expect(violations).toEqual([]);
        expect(expectedStart).toBe(maxP); // the last range ends at maxP - 1
      }),
      { numRuns: 300 },
    );
  });

  it('matches the documented formula [ceil(i·maxP/p), ceil((i+1)·maxP/p) − 1]', () => {
    fc.assert(
      fc.property(
        pairArb.chain(({ maxP, p }) => fc.tuple(fc.constant(maxP), fc.constant(p), fc.nat({ max: p - 1 }))),
        ([maxP, p, i]) => {
          const r = computeKeyGroupRangeForOperatorIndex(maxP, p, i);
          expect(r).toEqual({ start: Math.ceil((i * maxP) / p), end: Math.ceil(((i + 1) * maxP) / p) - 1 });
        },
      ),
    );
  });

  it('matches known Flink ranges', () => {
    expect(computeKeyGroupRangeForOperatorIndex(128, 3, 0)).toEqual({ start: 0, end: 42 });
    expect(computeKeyGroupRangeForOperatorIndex(128, 3, 1)).toEqual({ start: 43, end: 85 });
    expect(computeKeyGroupRangeForOperatorIndex(128, 3, 2)).toEqual({ start: 86, end: 127 });
    expect(computeKeyGroupRangeForOperatorIndex(10, 10, 7)).toEqual({ start: 7, end: 7 });
    expect(computeKeyGroupRangeForOperatorIndex(32768, 1, 0)).toEqual({ start: 0, end: 32767 });
  });
});

describe('computeOperatorIndexForKeyGroup', () => {
  it('agrees with the ranges: every key group is owned by exactly the subtask whose range holds it', () => {
    fc.assert(
      fc.property(pairArb, ({ maxP, p }) => {
        const violations: string[] = [];
        let covered = 0;
        for (let i = 0; i < p; i++) {
          const { start, end } = computeKeyGroupRangeForOperatorIndex(maxP, p, i);
          for (let kg = start; kg <= end; kg++) {
            const owner = computeOperatorIndexForKeyGroup(maxP, p, kg);
            if (owner !== i)
              violations.push(`key group ${kg} is in subtask ${i}'s range but owned by ${owner}`);
            covered++;
          }
        }
        expect(violations.slice(0, 5)).toEqual([]);
        expect(covered).toBe(maxP);
      }),
      { numRuns: 300 },
    );
  });

  it('agrees with the ranges for every key group of small max parallelisms', () => {
    for (let maxP = 1; maxP <= 40; maxP++) {
      for (let p = 1; p <= maxP; p++) {
        const owners = new Array<number>(maxP).fill(-1);
        for (let i = 0; i < p; i++) {
          const { start, end } = computeKeyGroupRangeForOperatorIndex(maxP, p, i);
          for (let kg = start; kg <= end; kg++) {
            expect(owners[kg]).toBe(-1);
            owners[kg] = i;
          }
        }
        for (let kg = 0; kg < maxP; kg++)
          expect(computeOperatorIndexForKeyGroup(maxP, p, kg)).toBe(owners[kg]);
      }
    }
  });
});

describe('computeDefaultMaxParallelism', () => {
  it.each([
    [1, 128],
    [2, 128],
    [85, 128], // 85 + 42 = 127
    [86, 256], // 86 + 43 = 129
    [100, 256],
    [200, 512],
    [1000, 2048],
    [21845, 32768],
    [21846, 32768],
    [30000, 32768],
    [32768, 32768],
  ])('parallelism %i → %i', (p, expected) => {
    expect(computeDefaultMaxParallelism(p)).toBe(expected);
  });

  it('is roundUpToPowerOfTwo(p + p/2) clamped to [128, 32768]', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40000 }), (p) => {
        const want = p + Math.floor(p / 2);
        let pow = 1;
        while (pow < want) pow *= 2;
        const expected = Math.min(
          Math.max(pow, DEFAULT_LOWER_BOUND_MAX_PARALLELISM),
          UPPER_BOUND_MAX_PARALLELISM,
        );
        const got = computeDefaultMaxParallelism(p);
        expect(got).toBe(expected);
        // The default never rejects the parallelism it was derived from.
        if (p <= UPPER_BOUND_MAX_PARALLELISM) expect(got).toBeGreaterThanOrEqual(p);
      }),
    );
  });
});

describe('assignToKeyGroup', () => {
  it('is in [0, maxP) and equals murmurMixInt(stableHash(key)) mod maxP', () => {
    fc.assert(
      fc.property(anyKey, maxParallelismArb, (key, maxP) => {
        const kg = assignToKeyGroup(key, maxP);
        expect(Number.isInteger(kg)).toBe(true);
        expect(kg).toBeGreaterThanOrEqual(0);
        expect(kg).toBeLessThan(maxP);
        expect(kg).toBe(murmurMixInt(stableHash(key)) % maxP);
        expect(computeKeyGroupForKeyHash(stableHash(key), maxP)).toBe(kg);
      }),
      { numRuns: 500 },
    );
  });

  it('computeKeyGroupForKeyHash is in [0, maxP) for every int hash, extremes included', () => {
    for (const h of [0, -1, 1, 2147483647, -2147483648]) {
      for (const maxP of [1, 7, 128, 32768]) {
        const kg = computeKeyGroupForKeyHash(h, maxP);
        expect(kg).toBeGreaterThanOrEqual(0);
        expect(kg).toBeLessThan(maxP);
      }
    }
  });

  it('pins key groups of a few keys (persisted semantics: changing them breaks savepoints)', () => {
    expect(assignToKeyGroup('hello', 128)).toBe(126);
    expect(assignToKeyGroup('hello', 32768)).toBe(23550);
    expect(assignToKeyGroup(42, 128)).toBe(127);
    expect(assignToKeyGroup(42, 32768)).toBe(11775);
    expect(assignToKeyGroup('user-1', 128)).toBe(20);
    expect(assignToKeyGroup(['user', 7], 32768)).toBe(7015);
  });

  it('spreads keys over all key groups', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 5000; i++) seen.add(assignToKeyGroup(`key-${i}`, 128));
    expect(seen.size).toBe(128);
  });
});

describe('checkParallelism', () => {
  function messageOf(fn: () => void): string {
    try {
      fn();
    } catch (e) {
      expect(e).toBeInstanceOf(SluiceError);
      expect((e as SluiceError).code).toBe('SLUICE_PROGRAM_INVALID');
      return (e as SluiceError).message;
    }
    throw new Error('expected checkParallelism to throw');
  }

  it('accepts valid pairs', () => {
    expect(() => checkParallelism("operator 'x'", 1, 1)).not.toThrow();
    expect(() => checkParallelism("operator 'x'", 4, 128)).not.toThrow();
    expect(() => checkParallelism("operator 'x'", 32768, 32768)).not.toThrow();
  });

  it('rejects parallelism above max parallelism, saying what to change', () => {
    const msg = messageOf(() => checkParallelism("operator 'counts'", 200, 128));
    expect(msg).toContain("operator 'counts'");
    expect(msg).toContain('parallelism 200 is above max parallelism 128');
    expect(msg).toContain('lower the parallelism or raise setMaxParallelism()');
  });

  it.each([0, -1, 1.5, NaN])('rejects parallelism %s', (p) => {
    const msg = messageOf(() => checkParallelism("operator 'm'", p, 128));
    expect(msg).toContain("operator 'm'");
    expect(msg).toContain(`parallelism must be a positive integer, got ${String(p)}`);
  });

  it.each([0, -5, 2.5, 32769])('rejects max parallelism %s, naming the allowed range', (maxP) => {
    const msg = messageOf(() => checkParallelism("operator 'm'", 1, maxP));
    expect(msg).toContain(`max parallelism must be an integer in [1, 32768], got ${String(maxP)}`);
  });
});
