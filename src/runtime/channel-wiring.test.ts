/** Channel wiring: which consumer subtasks each producer subtask talks to, for all-to-all and pointwise partitioners. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PartitionerSpec } from '../graph/partitioner.js';
import { consumersOf, producersOf } from './channel-wiring.js';

const ALL: readonly PartitionerSpec[] = [
  { kind: 'forward' },
  { kind: 'rebalance' },
  { kind: 'rescale' },
  { kind: 'shuffle' },
  { kind: 'broadcast' },
  { kind: 'global' },
  { kind: 'hash', keySelector: (v: unknown) => v },
];
const pointwise = (p: PartitionerSpec): boolean => p.kind === 'forward' || p.kind === 'rescale';
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

const caseArb = fc.record({
  partitioner: fc.constantFrom(...ALL),
  p: fc.integer({ min: 1, max: 8 }),
  c: fc.integer({ min: 1, max: 8 }),
});

describe('consumersOf / producersOf', () => {
  it('are inverse relations for every partitioner and p, c in 1..8', () => {
    fc.assert(
      fc.property(caseArb, ({ partitioner, p, c }) => {
        for (let i = 0; i < p; i++)
          for (let j = 0; j < c; j++)
            expect(producersOf(partitioner, j, p, c).includes(i)).toBe(
              consumersOf(partitioner, i, p, c).includes(j),
            );
      }),
      { numRuns: 400 },
    );
  });

  it('connect every producer and every consumer, with ascending indexes in range', () => {
    fc.assert(
      fc.property(caseArb, ({ partitioner, p, c }) => {
        for (let i = 0; i < p; i++) {
          const cs = consumersOf(partitioner, i, p, c);
          expect(cs.length).toBeGreaterThan(0);
          expect([...cs].sort((a, b) => a - b)).toEqual(cs);
          expect(new Set(cs).size).toBe(cs.length);
          for (const j of cs) expect(j >= 0 && j < c).toBe(true);
        }
        for (let j = 0; j < c; j++) expect(producersOf(partitioner, j, p, c).length).toBeGreaterThan(0);
      }),
      { numRuns: 400 },
    );
  });

  it('connect everything to everything for all-to-all partitioners', () => {
    fc.assert(
      fc.property(caseArb, ({ partitioner, p, c }) => {
        if (pointwise(partitioner)) return;
        for (let i = 0; i < p; i++) expect(consumersOf(partitioner, i, p, c)).toEqual(range(c));
        for (let j = 0; j < c; j++) expect(producersOf(partitioner, j, p, c)).toEqual(range(p));
      }),
      { numRuns: 400 },
    );
  });

  it('connect pointwise partitioners with max(p, c) contiguous channels', () => {
    fc.assert(
      fc.property(caseArb, ({ partitioner, p, c }) => {
        if (!pointwise(partitioner)) return;
        let channels = 0;
        for (let i = 0; i < p; i++) {
          const cs = consumersOf(partitioner, i, p, c);
          channels += cs.length;
          expect(cs.at(-1)! - cs[0]! + 1).toBe(cs.length); // contiguous
          if (p >= c) expect(cs.length).toBe(1);
        }
        for (let j = 0; j < c; j++) {
          const ps = producersOf(partitioner, j, p, c);
          expect(ps.at(-1)! - ps[0]! + 1).toBe(ps.length);
          if (c >= p) expect(ps.length).toBe(1);
          // Balanced: every consumer reads floor or ceil of p/c producers.
          if (p >= c) expect([Math.floor(p / c), Math.ceil(p / c)]).toContain(ps.length);
        }
        expect(channels).toBe(Math.max(p, c));
      }),
      { numRuns: 400 },
    );
  });

  it('pairs subtasks one to one for forward with equal parallelism', () => {
    for (let i = 0; i < 5; i++) {
      expect(consumersOf({ kind: 'forward' }, i, 5, 5)).toEqual([i]);
      expect(producersOf({ kind: 'forward' }, i, 5, 5)).toEqual([i]);
    }
  });

  it('fans in pointwise for p=4, c=2', () => {
    const r: PartitionerSpec = { kind: 'rescale' };
    expect(range(4).map((i) => consumersOf(r, i, 4, 2))).toEqual([[0], [0], [1], [1]]);
    expect(range(2).map((j) => producersOf(r, j, 4, 2))).toEqual([
      [0, 1],
      [2, 3],
    ]);
  });

  it('fans out pointwise for p=2, c=4', () => {
    const r: PartitionerSpec = { kind: 'rescale' };
    expect(range(2).map((i) => consumersOf(r, i, 2, 4))).toEqual([
      [0, 1],
      [2, 3],
    ]);
    expect(range(4).map((j) => producersOf(r, j, 2, 4))).toEqual([[0], [0], [1], [1]]);
  });

  it('fans out unevenly for p=2, c=3 as Flink does (ceil boundaries)', () => {
    const r: PartitionerSpec = { kind: 'rescale' };
    expect(range(2).map((i) => consumersOf(r, i, 2, 3))).toEqual([[0, 1], [2]]);
  });

  it('fans in unevenly for p=5, c=3 as Flink does (consumer j reads [floor(j·p/c), floor((j+1)·p/c)))', () => {
    const r: PartitionerSpec = { kind: 'rescale' };
    expect(range(3).map((j) => producersOf(r, j, 5, 3))).toEqual([[0], [1, 2], [3, 4]]);
  });
});
