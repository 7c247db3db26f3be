/** Runs the keyed state backend contract against the heap backend, plus heap-only checks. */
import { describe, expect, expectTypeOf, it } from 'vitest';
import { keyedStateBackendContract } from '../keyed-state-backend.contract.js';
import type { AggregatingState, ListState, MapState, ReducingState, ValueState } from '../state.js';
import {
  AggregatingStateDescriptor,
  ListStateDescriptor,
  MapStateDescriptor,
  ReducingStateDescriptor,
  ValueStateDescriptor,
} from '../state-descriptor.js';
import { HeapKeyedStateBackend } from './heap-keyed-state-backend.js';

keyedStateBackendContract('HeapKeyedStateBackend', (opts) => new HeapKeyedStateBackend(opts));

describe('HeapKeyedStateBackend', () => {
  const all = { maxParallelism: 128, keyGroupRange: { start: 0, end: 127 } };

  it('types each state after its descriptor', () => {
    const b = new HeapKeyedStateBackend<string>(all);
    expectTypeOf(b.getOrCreateKeyedState(new ValueStateDescriptor('v', { defaultValue: 0 }))).toEqualTypeOf<
      ValueState<number>
    >();
    expectTypeOf(b.getOrCreateKeyedState(new ListStateDescriptor<string>('l'))).toEqualTypeOf<
      ListState<string>
    >();
    expectTypeOf(b.getOrCreateKeyedState(new MapStateDescriptor<string, boolean>('m'))).toEqualTypeOf<
      MapState<string, boolean>
    >();
    expectTypeOf(
      b.getOrCreateKeyedState(new ReducingStateDescriptor('r', (a: number, c: number) => a + c)),
    ).toEqualTypeOf<ReducingState<number>>();
    const count = {
      createAccumulator: () => 0,
      add: (_v: string, acc: number) => acc + 1,
      getResult: (acc: number) => `${acc}`,
      merge: (a: number, c: number) => a + c,
    };
    expectTypeOf(b.getOrCreateKeyedState(new AggregatingStateDescriptor('a', count))).toEqualTypeOf<
      AggregatingState<string, string>
    >();
  });

  it('reads keys() and values() of the key current when they are called', () => {
    const b = new HeapKeyedStateBackend(all);
    const map = b.getOrCreateKeyedState(new MapStateDescriptor<string, number>('m'));
    b.setCurrentKey('k1');
    map.put('a', 1);
    const keys = map.keys();
    const values = map.values();
    b.setCurrentKey('k2');
    map.put('b', 2);
    expect([...keys]).toEqual(['a']);
    expect([...values]).toEqual([1]);
  });

  it('keeps each key in the table of its key group', () => {
    const range = { start: 10, end: 20 };
    const b = new HeapKeyedStateBackend({ maxParallelism: 128, keyGroupRange: range });
    const state = b.getOrCreateKeyedState(new ValueStateDescriptor<number>('v'));
    const stored: number[] = [];
    for (let k = 0; stored.length < 100; k++) {
      try {
        b.setCurrentKey(k);
      } catch {
        continue;
      }
      state.update(k);
      stored.push(k);
    }
    const table = b.getStateTable('v');
    let seen = 0;
    for (let kg = range.start; kg <= range.end; kg++) {
      for (const entry of table.entriesInKeyGroup(kg)) {
        b.setCurrentKey(entry.key);
        expect(b.getCurrentKeyGroupIndex()).toBe(kg);
        expect(entry.value).toBe(entry.key);
        seen++;
      }
    }
    expect(seen).toBe(100);
    const inFirst = table.sizeOfKeyGroup(range.start);
    expect(inFirst).toBeGreaterThan(0);
    table.clearKeyGroup(range.start);
    expect(table.sizeOfKeyGroup(range.start)).toBe(0);
    expect(b.numKeys('v')).toBe(100 - inFirst);
  });
});
