/** The keyed state backend contract, part two: list, map, reducing and aggregating state. */
import { describe, expect, it } from 'vitest';
import { SluiceError } from '../core/errors.js';
import type { AggregateFunction } from './functions.js';
import type { KeyedStateBackend } from './keyed-state-backend.js';
import {
  AggregatingStateDescriptor,
  ListStateDescriptor,
  MapStateDescriptor,
  ReducingStateDescriptor,
} from './state-descriptor.js';

/** Fails unless `fn` throws a SluiceError with `code` whose message contains every fragment. */
export function expectSluiceError(fn: () => unknown, code: string, ...fragments: string[]): void {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  expect(thrown, `expected ${code}`).toBeInstanceOf(SluiceError);
  const error = thrown as SluiceError;
  expect(error.code).toBe(code);
  for (const fragment of fragments) expect(error.message).toContain(fragment);
}

/** Averages numbers: the accumulator is mutated in place and returned, as users often write it. */
const average: AggregateFunction<number, { sum: number; count: number }, number> = {
  createAccumulator: () => ({ sum: 0, count: 0 }),
  add(value, acc) {
    acc.sum += value;
    acc.count += 1;
    return acc;
  },
  getResult: (acc) => acc.sum / acc.count,
  merge: (a, b) => ({ sum: a.sum + b.sum, count: a.count + b.count }),
};

/**
 * Defines describe blocks for the collection and folding state kinds; `backend()` returns a fresh
 * backend owning every key group (the caller disposes it).
 */
export function stateKindsContract(backend: () => KeyedStateBackend): void {
  describe('ListState', () => {
    it('adds, reads in order, replaces and clears', () => {
      const b = backend();
      const list = b.getOrCreateKeyedState(new ListStateDescriptor<number>('l'));
      b.setCurrentKey('k');
      expect(list.get()).toEqual([]);
      list.add(1);
      list.addAll([2, 3]);
      expect(list.get()).toEqual([1, 2, 3]);
      list.update([9, 8]);
      expect(list.get()).toEqual([9, 8]);
      b.setCurrentKey('other');
      expect(list.get()).toEqual([]);
      b.setCurrentKey('k');
      list.clear();
      expect(list.get()).toEqual([]);
    });

    it('stores a copy of what update and addAll are given', () => {
      const b = backend();
      const list = b.getOrCreateKeyedState(new ListStateDescriptor<number>('l'));
      b.setCurrentKey('k');
      const input = [1, 2];
      list.update(input);
      input.push(3);
      expect(list.get()).toEqual([1, 2]);
      list.clear();
      const more = [4];
      list.addAll(more);
      more.push(5);
      list.add(6);
      expect(list.get()).toEqual([4, 6]);
      expect(more).toEqual([4, 5]);
    });

    it('is absent once emptied', () => {
      const b = backend();
      const list = b.getOrCreateKeyedState(new ListStateDescriptor<number>('l'));
      b.setCurrentKey('k');
      list.addAll([]);
      expect(b.numKeys('l')).toBe(0);
      list.add(1);
      expect(b.numKeys('l')).toBe(1);
      list.update([]);
      expect(b.numKeys('l')).toBe(0);
      expect([...b.getKeys('l')]).toEqual([]);
    });

    it('rejects undefined elements', () => {
      const b = backend();
      const list = b.getOrCreateKeyedState(new ListStateDescriptor<number | undefined>('l'));
      b.setCurrentKey('k');
      expectSluiceError(() => list.add(undefined), 'SLUICE_STATE_INVALID_ACCESS', "'l'");
      expectSluiceError(() => list.addAll([1, undefined]), 'SLUICE_STATE_INVALID_ACCESS');
      expectSluiceError(() => list.update([undefined]), 'SLUICE_STATE_INVALID_ACCESS');
      expect(list.get()).toEqual([]);
    });
  });

  describe('MapState', () => {
    it('puts, gets, removes and reports emptiness per key', () => {
      const b = backend();
      const map = b.getOrCreateKeyedState(new MapStateDescriptor<string, number>('m'));
      b.setCurrentKey('k');
      expect(map.isEmpty()).toBe(true);
      map.put('a', 1);
      map.put('b', 2);
      map.put('a', 3);
      expect(map.get('a')).toBe(3);
      expect(map.contains('b')).toBe(true);
      expect(map.contains('z')).toBe(false);
      expect([...map.entries()]).toEqual([
        ['a', 3],
        ['b', 2],
      ]);
      expect([...map.keys()]).toEqual(['a', 'b']);
      expect([...map.values()]).toEqual([3, 2]);
      b.setCurrentKey('other');
      expect(map.isEmpty()).toBe(true);
      expect(map.get('a')).toBeUndefined();
      b.setCurrentKey('k');
      map.remove('a');
      map.remove('never-there');
      expect([...map.keys()]).toEqual(['b']);
    });

    it('finds composite user keys by content and returns the user key', () => {
      const b = backend();
      const map = b.getOrCreateKeyedState(new MapStateDescriptor<readonly [string, number], string>('m'));
      b.setCurrentKey('k');
      map.put(['x', 1], 'x1');
      map.put(['x', 2], 'x2');
      expect(map.get(['x', 1])).toBe('x1');
      expect(map.contains(['x', 2])).toBe(true);
      expect(map.contains(['x', '2'] as unknown as readonly [string, number])).toBe(false);
      expect([...map.keys()]).toEqual([
        ['x', 1],
        ['x', 2],
      ]);
      map.remove(['x', 1]);
      expect([...map.entries()]).toEqual([[['x', 2], 'x2']]);
    });

    it('puts all entries of an iterable, a Map or a plain object', () => {
      const b = backend();
      const map = b.getOrCreateKeyedState(new MapStateDescriptor<string, number>('m'));
      b.setCurrentKey('k');
      map.putAll([['a', 1]]);
      map.putAll(new Map([['b', 2]]));
      map.putAll({ c: 3, a: 4 });
      expect(Object.fromEntries(map.entries())).toEqual({ a: 4, b: 2, c: 3 });
    });

    it('keeps an entry whose value is undefined', () => {
      const b = backend();
      const map = b.getOrCreateKeyedState(new MapStateDescriptor<string, number | undefined>('m'));
      b.setCurrentKey('k');
      map.put('a', undefined);
      expect(map.contains('a')).toBe(true);
      expect(map.isEmpty()).toBe(false);
    });

    it('is absent once emptied or cleared', () => {
      const b = backend();
      const map = b.getOrCreateKeyedState(new MapStateDescriptor<string, number>('m'));
      b.setCurrentKey('k');
      map.put('a', 1);
      expect(b.numKeys('m')).toBe(1);
      map.remove('a');
      expect(map.isEmpty()).toBe(true);
      expect(b.numKeys('m')).toBe(0);
      map.put('a', 1);
      map.clear();
      expect(b.numKeys('m')).toBe(0);
      expect([...map.entries()]).toEqual([]);
    });

    it('rejects an unhashable user key without storing anything', () => {
      const b = backend();
      const map = b.getOrCreateKeyedState(new MapStateDescriptor<unknown, number>('m'));
      b.setCurrentKey('k');
      expectSluiceError(() => map.put(() => 1, 1), 'SLUICE_KEY_NOT_HASHABLE');
      expect(b.numKeys('m')).toBe(0);
    });
  });

  describe('ReducingState', () => {
    it('reduces added values per key, stored value first', () => {
      const b = backend();
      const concat = b.getOrCreateKeyedState(new ReducingStateDescriptor<string>('r', (a, x) => a + x));
      const sum = b.getOrCreateKeyedState(
        new ReducingStateDescriptor<number>('s', { reduce: (a: number, x: number) => a + x }),
      );
      b.setCurrentKey('k');
      expect(concat.get()).toBeUndefined();
      for (const s of ['a', 'b', 'c']) concat.add(s);
      for (const n of [1, 2, 3]) sum.add(n);
      b.setCurrentKey('other');
      concat.add('z');
      expect(sum.get()).toBeUndefined();
      b.setCurrentKey('k');
      expect(concat.get()).toBe('abc');
      expect(sum.get()).toBe(6);
      concat.clear();
      expect(concat.get()).toBeUndefined();
      expect(b.numKeys('r')).toBe(1);
    });

    it('clears on add(undefined), as Flink on add(null)', () => {
      const b = backend();
      const r = b.getOrCreateKeyedState(new ReducingStateDescriptor<number | undefined>('r', (a) => a));
      b.setCurrentKey('k');
      r.add(1);
      r.add(undefined);
      expect(r.get()).toBeUndefined();
      expect(b.numKeys('r')).toBe(0);
    });

    it('rejects a reduce function that returns undefined', () => {
      const b = backend();
      const r = b.getOrCreateKeyedState(
        new ReducingStateDescriptor<number>(
          'r',
          (() => undefined) as unknown as (a: number, b: number) => number,
        ),
      );
      b.setCurrentKey('k');
      r.add(1);
      expectSluiceError(() => r.add(2), 'SLUICE_STATE_INVALID_ACCESS', 'ReduceFunction.reduce', "'r'");
      expect(r.get()).toBe(1);
    });
  });

  describe('AggregatingState', () => {
    it('aggregates per key and reads the result', () => {
      const b = backend();
      const avg = b.getOrCreateKeyedState(new AggregatingStateDescriptor('avg', average));
      b.setCurrentKey('k');
      expect(avg.get()).toBeUndefined();
      avg.add(1);
      avg.add(2);
      b.setCurrentKey('other');
      avg.add(10);
      b.setCurrentKey('k');
      avg.add(6);
      expect(avg.get()).toBe(3);
      avg.clear();
      expect(avg.get()).toBeUndefined();
      avg.add(4);
      expect(avg.get(), 'a fresh accumulator after clear').toBe(4);
      b.setCurrentKey('other');
      expect(avg.get()).toBe(10);
    });

    it('clears on add(undefined), as Flink on add(null)', () => {
      const b = backend();
      const avg = b.getOrCreateKeyedState(
        new AggregatingStateDescriptor<number | undefined, { sum: number; count: number }, number>(
          'avg',
          average as AggregateFunction<number | undefined, { sum: number; count: number }, number>,
        ),
      );
      b.setCurrentKey('k');
      avg.add(1);
      avg.add(undefined);
      expect(avg.get()).toBeUndefined();
      expect(b.numKeys('avg')).toBe(0);
    });

    it('rejects an add that returns undefined (a forgotten return)', () => {
      const b = backend();
      const broken: AggregateFunction<number, number[], number> = {
        createAccumulator: () => [],
        add: ((value: number, acc: number[]) => void acc.push(value)) as unknown as (
          v: number,
          a: number[],
        ) => number[],
        getResult: (acc) => acc.length,
        merge: (a, c) => a.concat(c),
      };
      const state = b.getOrCreateKeyedState(new AggregatingStateDescriptor('broken', broken));
      b.setCurrentKey('k');
      expectSluiceError(
        () => state.add(1),
        'SLUICE_STATE_INVALID_ACCESS',
        'AggregateFunction.add',
        "'broken'",
      );
      expect(state.get()).toBeUndefined();
    });
  });
}
