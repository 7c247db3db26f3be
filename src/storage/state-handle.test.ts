/** Checks the state handle helpers: sizes, key-group byte ranges and the relative-path rule. */
import { describe, expect, it } from 'vitest';
import {
  keyGroupBounds,
  keyGroupRangeSize,
  relativePathProblem,
  stateSize,
  type KeyedStateHandle,
} from './state-handle.js';

describe('state handles', () => {
  const file = { kind: 'file', path: 'a', size: 100, checksum: 0, scope: 'exclusive' } as const;
  const keyed: KeyedStateHandle = { keyGroupRange: { start: 4, end: 6 }, offsets: [0, 10, 10], handle: file };

  it('measures inline, file, keyed and operator handles', () => {
    expect(stateSize({ kind: 'inline', data: new Uint8Array(7) })).toBe(7);
    expect(stateSize(file)).toBe(100);
    expect(stateSize(keyed)).toBe(100);
    expect(stateSize({ name: 'o', mode: 'UNION', handle: file })).toBe(100);
  });

  it('counts key groups, with an empty range counting none', () => {
    expect(keyGroupRangeSize({ start: 4, end: 6 })).toBe(3);
    expect(keyGroupRangeSize({ start: 4, end: 3 })).toBe(0);
  });

  it('gives the byte range of each key group, the last ending at the end of the blob', () => {
    expect(keyGroupBounds(keyed, 4)).toEqual({ start: 0, end: 10 });
    expect(keyGroupBounds(keyed, 5)).toEqual({ start: 10, end: 10 });
    expect(keyGroupBounds(keyed, 6)).toEqual({ start: 10, end: 100 });
    expect(keyGroupBounds(keyed, 3)).toBeUndefined();
    expect(keyGroupBounds(keyed, 7)).toBeUndefined();
  });

  it('accepts only plain relative paths', () => {
    for (const ok of ['a', 'shared/3f2a', 'x/y/z.bin']) expect(relativePathProblem(ok)).toBeUndefined();
    for (const bad of ['', '/etc/passwd', '../x', 'shared/../../x', 'a//b', './a', 'a\\b', 'C:/x'])
      expect(relativePathProblem(bad), bad).toBeDefined();
  });
});
