/** The contract every keyed state backend runs (as Flink's `StateBackendTestBase`), so none drifts. */
import { afterEach, describe, expect, it } from 'vitest';
import { SluiceError } from '../core/errors.js';
import { assignToKeyGroup, type KeyGroupRange } from '../core/key-groups.js';
import type { KeyedStateBackend } from './keyed-state-backend.js';
import {
  keyedStateSnapshotContract,
  type KeyedStateBackendFactory,
} from './keyed-state-snapshot.contract.js';
import { ListStateDescriptor, MapStateDescriptor, ValueStateDescriptor } from './state-descriptor.js';
import { expectSluiceError, stateKindsContract } from './state-kinds.contract.js';

export type { KeyedStateBackendFactory } from './keyed-state-snapshot.contract.js';

const MAX_PARALLELISM = 128;
const ALL: KeyGroupRange = { start: 0, end: MAX_PARALLELISM - 1 };

/** The first integer key whose key group satisfies `pred`. */
function keyWhere(pred: (keyGroup: number) => boolean): number {
  for (let key = 0; ; key++) if (pred(assignToKeyGroup(key, MAX_PARALLELISM))) return key;
}

/** Defines the contract's describe/it blocks for the backend that `create` builds. */
export function keyedStateBackendContract(name: string, create: KeyedStateBackendFactory): void {
  describe(`${name} (keyed state backend contract)`, () => {
    const open: KeyedStateBackend[] = [];
    afterEach(() => {
      for (const backend of open.splice(0)) backend.dispose();
    });
    function backend(keyGroupRange: KeyGroupRange = ALL): KeyedStateBackend {
      const b = create({ maxParallelism: MAX_PARALLELISM, keyGroupRange });
      open.push(b);
      return b;
    }

    describe('current key', () => {
      it('reports the key and its key group', () => {
        const b = backend();
        b.setCurrentKey(['user', 7]);
        expect(b.getCurrentKey()).toEqual(['user', 7]);
        expect(b.getCurrentKeyGroupIndex()).toBe(assignToKeyGroup(['user', 7], MAX_PARALLELISM));
        expect(b.maxParallelism).toBe(MAX_PARALLELISM);
        expect(b.keyGroupRange).toEqual(ALL);
      });

      it('rejects state access and key queries before a key is set', () => {
        const b = backend();
        const value = b.getOrCreateKeyedState(new ValueStateDescriptor<number>('v'));
        const list = b.getOrCreateKeyedState(new ListStateDescriptor<number>('l'));
        const map = b.getOrCreateKeyedState(new MapStateDescriptor<string, number>('m'));
        const code = 'SLUICE_STATE_INVALID_ACCESS';
        expectSluiceError(() => value.value(), code, "'v'", 'no current key');
        expectSluiceError(() => value.update(1), code, 'no current key');
        expectSluiceError(() => value.clear(), code, 'no current key');
        expectSluiceError(() => list.get(), code, "'l'");
        expectSluiceError(() => map.put('a', 1), code, "'m'");
        expectSluiceError(() => b.getCurrentKey(), code, 'no current key');
        expectSluiceError(() => b.getCurrentKeyGroupIndex(), code, 'no current key');
      });

      it('rejects a key outside its key-group range, naming the group and range, and keeps the old key', () => {
        const range = { start: 0, end: 63 };
        const b = backend(range);
        const inside = keyWhere((kg) => kg <= 63);
        const outside = keyWhere((kg) => kg > 63);
        const outsideGroup = assignToKeyGroup(outside, MAX_PARALLELISM);
        b.setCurrentKey(inside);
        expectSluiceError(
          () => b.setCurrentKey(outside),
          'SLUICE_STATE_INVALID_ACCESS',
          `key group ${outsideGroup}`,
          '[0, 63]',
          'not deterministic',
        );
        expect(b.getCurrentKey()).toBe(inside);
      });

      it('stores keys of a range that does not start at 0', () => {
        const b = backend({ start: 64, end: 127 });
        const state = b.getOrCreateKeyedState(new ValueStateDescriptor<number>('v'));
        const keys: number[] = [];
        for (let k = 0; keys.length < 200; k++) if (assignToKeyGroup(k, MAX_PARALLELISM) >= 64) keys.push(k);
        for (const k of keys) {
          b.setCurrentKey(k);
          state.update(k * 3);
        }
        for (const k of keys) {
          b.setCurrentKey(k);
          expect(state.value()).toBe(k * 3);
        }
        expect(b.numKeys('v')).toBe(200);
      });

      it('rejects a key with no stable hash', () => {
        const b = backend();
        expectSluiceError(() => b.setCurrentKey(undefined), 'SLUICE_KEY_NOT_HASHABLE');
        expectSluiceError(() => b.setCurrentKey({ at: new Map() }), 'SLUICE_KEY_NOT_HASHABLE');
      });
    });

    describe('declaring state', () => {
      it('returns the same state object for the same name', () => {
        const b = backend();
        const first = b.getOrCreateKeyedState(new ValueStateDescriptor<number>('count'));
        expect(b.getOrCreateKeyedState(new ValueStateDescriptor<number>('count'))).toBe(first);
      });

      it('rejects a name declared again with another kind', () => {
        const b = backend();
        b.getOrCreateKeyedState(new ValueStateDescriptor<number>('count'));
        expectSluiceError(
          () => b.getOrCreateKeyedState(new ListStateDescriptor<number>('count')),
          'SLUICE_STATE_INVALID_ACCESS',
          "'count'",
          'value',
          'list',
        );
      });

      it('rejects getKeys and numKeys for an undeclared name, listing the declared ones', () => {
        const b = backend();
        b.getOrCreateKeyedState(new ValueStateDescriptor<number>('count'));
        expectSluiceError(() => b.numKeys('cuont'), 'SLUICE_STATE_INVALID_ACCESS', "'cuont'", "'count'");
        expectSluiceError(() => [...b.getKeys('cuont')], 'SLUICE_STATE_INVALID_ACCESS', "'cuont'");
      });
    });

    describe('ValueState', () => {
      it('is scoped to the current key', () => {
        const b = backend();
        const state = b.getOrCreateKeyedState(new ValueStateDescriptor<string>('v'));
        for (let k = 0; k < 500; k++) {
          b.setCurrentKey(k);
          expect(state.value()).toBeUndefined();
          state.update(`v${k}`);
        }
        for (let k = 499; k >= 0; k--) {
          b.setCurrentKey(k);
          expect(state.value()).toBe(`v${k}`);
        }
        b.setCurrentKey('1');
        expect(state.value(), "'1' and 1 are different keys").toBeUndefined();
      });

      it('keeps states of one key apart', () => {
        const b = backend();
        const a = b.getOrCreateKeyedState(new ValueStateDescriptor<number>('a'));
        const c = b.getOrCreateKeyedState(new ValueStateDescriptor<number>('c'));
        b.setCurrentKey('k');
        a.update(1);
        c.update(2);
        expect([a.value(), c.value()]).toEqual([1, 2]);
      });

      it('returns the default value while unset, without storing it', () => {
        const b = backend();
        const state = b.getOrCreateKeyedState(new ValueStateDescriptor('count', { defaultValue: 0 }));
        b.setCurrentKey('k');
        expect(state.value()).toBe(0);
        expect(b.numKeys('count')).toBe(0);
        state.update(5);
        expect(state.value()).toBe(5);
        state.clear();
        expect(state.value()).toBe(0);
      });

      it('treats update(undefined) as clear', () => {
        const b = backend();
        const state = b.getOrCreateKeyedState(new ValueStateDescriptor<number>('v'));
        b.setCurrentKey('k');
        state.update(1);
        state.update(undefined);
        expect(state.value()).toBeUndefined();
        expect(b.numKeys('v')).toBe(0);
      });

      it('finds composite keys by content and reports the keys with values', () => {
        const b = backend();
        const state = b.getOrCreateKeyedState(new ValueStateDescriptor<string>('v'));
        b.setCurrentKey(['a', 1]);
        state.update('a1');
        b.setCurrentKey({ x: 1, y: 'b' });
        state.update('xy');
        b.setCurrentKey('plain');
        state.update('p');
        b.setCurrentKey(['a', 1]);
        expect(state.value()).toBe('a1');
        b.setCurrentKey({ y: 'b', x: 1 });
        expect(state.value()).toBe('xy');
        b.setCurrentKey(['a', 2]);
        expect(state.value()).toBeUndefined();
        b.setCurrentKey(['a', '1']);
        expect(state.value()).toBeUndefined();
        expect(b.numKeys('v')).toBe(3);
        expect([...b.getKeys('v')]).toEqual(expect.arrayContaining([['a', 1], { x: 1, y: 'b' }, 'plain']));
      });
    });

    stateKindsContract(() => backend());
    keyedStateSnapshotContract(create);

    it('cannot be used after dispose', () => {
      const b = create({ maxParallelism: MAX_PARALLELISM, keyGroupRange: ALL });
      b.getOrCreateKeyedState(new ValueStateDescriptor<number>('v'));
      b.dispose();
      expect(() => b.setCurrentKey('k')).toThrow(SluiceError);
    });
  });
}
