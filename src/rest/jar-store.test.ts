// The jar store keeps uploads in memory, bounded: the oldest go first.
import { describe, expect, it } from 'vitest';
import { JarStore } from './jar-store.js';

describe('JarStore', () => {
  it('drops the oldest bundles once the total would exceed its bound, never the new one', () => {
    const store = new JarStore(10);
    const a = store.add('a.mjs', new Uint8Array(4), 1);
    const b = store.add('b.mjs', new Uint8Array(4), 2);
    const c = store.add('c.mjs', new Uint8Array(4), 3);
    expect(store.get(a.id)).toBeUndefined();
    expect(store.list().map((j) => j.name)).toEqual(['c.mjs', 'b.mjs']);
    const big = store.add('big.mjs', new Uint8Array(20), 4);
    expect(store.list().map((j) => j.id)).toEqual([big.id]);
    expect(store.get(b.id) ?? store.get(c.id)).toBeUndefined();
    expect(store.delete(big.id)).toBe(true);
    expect(store.add('d.mjs', new Uint8Array(10), 5).name).toBe('d.mjs');
    expect(store.list()).toHaveLength(1);
  });
});
