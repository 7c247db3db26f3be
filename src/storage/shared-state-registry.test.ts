/** SharedStateRegistry: Flink's SharedStateRegistryTest and IncrementalRemoteKeyedStateHandleTest scenarios. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SharedStateRegistry } from './shared-state-registry.js';
import type { FileStateHandle } from './state-handle.js';

const file = (name: string): FileStateHandle => ({
  kind: 'file',
  path: `shared/${name}`,
  size: 1,
  checksum: 0,
  scope: 'shared',
});

const paths = (files: readonly FileStateHandle[]) => files.map((f) => f.path).sort();

describe('SharedStateRegistry', () => {
  it('testRegistryNormal: a file goes when the last checkpoint using it goes, not before', () => {
    const registry = new SharedStateRegistry();
    registry.registerCheckpoint(0, [file('a'), file('b')]);
    registry.registerCheckpoint(1, [file('b'), file('c')]);
    expect(registry.referenceCount('shared/b')).toBe(2);
    expect(paths(registry.unregisterCheckpoint(0))).toEqual(['shared/a']);
    expect(registry.isRegistered('shared/b')).toBe(true);
    expect(paths(registry.unregisterCheckpoint(1))).toEqual(['shared/b', 'shared/c']);
    expect(registry.registeredFiles()).toEqual([]);
  });

  it('testSharedStateDeRegistration: subsuming in any order deletes each file exactly once', () => {
    const registry = new SharedStateRegistry();
    // Three chains over one base: base+d1, base+d1+d2, base+d1+d2+d3.
    registry.registerCheckpoint(1, [file('base'), file('d1')]);
    registry.registerCheckpoint(2, [file('base'), file('d1'), file('d2')]);
    registry.registerCheckpoint(3, [file('base'), file('d1'), file('d2'), file('d3')]);
    expect(registry.unregisterCheckpoint(2)).toEqual([]);
    expect(registry.unregisterCheckpoint(1)).toEqual([]);
    expect(paths(registry.unregisterCheckpoint(3))).toEqual([
      'shared/base',
      'shared/d1',
      'shared/d2',
      'shared/d3',
    ]);
  });

  it('testSharedStateReRegistration: registering a checkpoint again or an unknown unregister changes nothing', () => {
    const registry = new SharedStateRegistry();
    registry.registerCheckpoint(1, [file('a'), file('a')]);
    registry.registerCheckpoint(1, [file('a'), file('b')]);
    expect(registry.referenceCount('shared/a')).toBe(1);
    expect(registry.isRegistered('shared/b')).toBe(false);
    expect(registry.unregisterCheckpoint(7)).toEqual([]);
    expect(paths(registry.unregisterCheckpoint(1))).toEqual(['shared/a']);
    expect(registry.unregisterCheckpoint(1)).toEqual([]);
  });

  it('testSharedStateRegistrationOnRestore: a rebuild from the retained checkpoints counts as the originals did', () => {
    const retained = [
      { checkpointId: 4, files: [file('base'), file('d4')] },
      { checkpointId: 5, files: [file('base'), file('d4'), file('d5')] },
    ];
    const registry = SharedStateRegistry.rebuild(retained);
    expect(registry.registeredCheckpoints()).toEqual([4, 5]);
    expect(registry.referenceCount('shared/base')).toBe(2);
    expect(registry.unregisterCheckpoint(4)).toEqual([]);
    expect(paths(registry.unregisterCheckpoint(5))).toEqual(['shared/base', 'shared/d4', 'shared/d5']);
  });

  it('refuses to count a file that is not shared', () => {
    const registry = new SharedStateRegistry();
    expect(() => registry.registerCheckpoint(1, [{ ...file('x'), scope: 'exclusive' }])).toThrow(
      /only shared files are registered/u,
    );
  });

  it('deletes a file exactly when no registered checkpoint refers to it (any order)', () => {
    const names = ['a', 'b', 'c', 'd', 'e'];
    const checkpoint = fc.uniqueArray(fc.constantFrom(...names), { maxLength: names.length });
    fc.assert(
      fc.property(
        fc.array(checkpoint, { minLength: 1, maxLength: 8 }),
        fc.func(fc.nat()),
        (checkpoints, order) => {
          const registry = new SharedStateRegistry();
          checkpoints.forEach((files, id) => registry.registerCheckpoint(id, files.map(file)));
          const ids = checkpoints.map((_, id) => id).sort((x, y) => order(x) - order(y) || x - y);
          const live = new Set(ids);
          const deleted = new Set<string>();
          for (const id of ids) {
            live.delete(id);
            for (const f of registry.unregisterCheckpoint(id)) {
              expect(deleted.has(f.path)).toBe(false);
              deleted.add(f.path);
            }
            const used = new Set([...live].flatMap((l) => checkpoints[l]!.map((n) => `shared/${n}`)));
            for (const path of deleted) expect(used.has(path)).toBe(false);
            expect(paths(registry.registeredFiles())).toEqual([...used].sort());
          }
          expect(deleted).toEqual(new Set(checkpoints.flat().map((n) => `shared/${n}`)));
        },
      ),
    );
  });
});
