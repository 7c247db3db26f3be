/** State descriptors: names and functions are checked when the descriptor is built. */
import { describe, expect, it } from 'vitest';
import { SluiceError } from '../core/errors.js';
import type { AggregateFunction } from './functions.js';
import {
  AggregatingStateDescriptor,
  ListStateDescriptor,
  MapStateDescriptor,
  ReducingStateDescriptor,
  ValueStateDescriptor,
} from './state-descriptor.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return e instanceof SluiceError ? e.code : 'not a SluiceError';
  }
  return undefined;
}

describe('state descriptors', () => {
  it('carry their kind and name', () => {
    const sum = (a: number, b: number) => a + b;
    expect(new ValueStateDescriptor('v').kind).toBe('value');
    expect(new ListStateDescriptor('l').kind).toBe('list');
    expect(new MapStateDescriptor('m').kind).toBe('map');
    expect(new ReducingStateDescriptor('r', sum).reduceFunction.reduce(1, 2)).toBe(3);
    const d = new ValueStateDescriptor('count', { defaultValue: 0 });
    expect([d.name, d.defaultValue]).toEqual(['count', 0]);
  });

  it('reject names that are not non-empty strings', () => {
    expect(codeOf(() => new ValueStateDescriptor(''))).toBe('SLUICE_STATE_INVALID_ACCESS');
    expect(codeOf(() => new ListStateDescriptor(undefined as unknown as string))).toBe(
      'SLUICE_STATE_INVALID_ACCESS',
    );
    expect(() => new MapStateDescriptor('')).toThrow(
      /MapStateDescriptor: the state name must be a non-empty string/,
    );
  });

  it('reject missing functions', () => {
    expect(codeOf(() => new ReducingStateDescriptor('r', {} as never))).toBe('SLUICE_STATE_INVALID_ACCESS');
    const partial = {
      createAccumulator: () => 0,
      add: (v: number, a: number) => a + v,
    } as unknown as AggregateFunction<number, number, number>;
    expect(() => new AggregatingStateDescriptor('a', partial)).toThrow(/getResult/);
  });
});
