/** Operator state: list semantics, consistent snapshots, restore checks and redistribution on rescale. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JsonSerializer } from '../core/serializer.js';
import { OperatorStateBackend } from './operator-state-backend.js';
import { redistributeOperatorState } from './operator-state-redistribution.js';
import type { OperatorStateSnapshot } from './operator-state-snapshot.js';
import { ListStateDescriptor } from './state-descriptor.js';
import { expectSluiceError } from './state-kinds.contract.js';

const split = new ListStateDescriptor<number>('offsets');
const union = new ListStateDescriptor<string>('watermarks');

/** The old subtasks' backends, each holding `lists[i]` in its split and union states. */
async function snapshotsOf(
  splitLists: readonly (readonly number[])[],
  unionLists: readonly (readonly string[])[],
): Promise<OperatorStateSnapshot[][]> {
  return Promise.all(
    splitLists.map(async (elements, i) => {
      const b = new OperatorStateBackend();
      b.getListState(split).update(elements);
      b.getUnionListState(union).update(unionLists[i] ?? []);
      return [await b.snapshot(1).write()];
    }),
  );
}

function restoredInto(snapshot: OperatorStateSnapshot): {
  split: readonly number[];
  union: readonly string[];
} {
  const b = new OperatorStateBackend();
  b.restore(snapshot);
  return { split: b.getListState(split).get(), union: b.getUnionListState(union).get() };
}

describe('OperatorStateBackend', () => {
  it('keeps list state per subtask: add, addAll, update, clear; no undefined elements', () => {
    const b = new OperatorStateBackend();
    const list = b.getListState(split);
    expect(b.getListState(split)).toBe(list);
    list.add(1);
    list.addAll([2, 3]);
    expect(list.get()).toEqual([1, 2, 3]);
    const input = [7, 8];
    list.update(input);
    input.push(9);
    expect(list.get()).toEqual([7, 8]);
    list.clear();
    expect(list.get()).toEqual([]);
    expectSluiceError(
      () => list.add(undefined as unknown as number),
      'SLUICE_STATE_INVALID_ACCESS',
      "'offsets'",
    );
    expectSluiceError(() => list.addAll([1, undefined as unknown as number]), 'SLUICE_STATE_INVALID_ACCESS');
    expect([...b.stateNames()]).toEqual(['offsets']);
  });

  it('refuses one name as both split and union list state', () => {
    const b = new OperatorStateBackend();
    b.getListState(split);
    expectSluiceError(
      () => b.getUnionListState(new ListStateDescriptor<number>('offsets')),
      'SLUICE_STATE_INVALID_ACCESS',
      "'offsets'",
      'getUnionListState',
    );
  });

  it('writes the lists as of snapshot(), whatever changes after it', async () => {
    const b = new OperatorStateBackend();
    const list = b.getListState(split);
    const names = b.getUnionListState(union);
    list.addAll([1, 2, 3]);
    names.add('a');
    const run = b.snapshot(5);
    list.add(4);
    list.update([9]);
    names.clear();
    expect(run.checkpointId).toBe(5);
    const snapshot = await run.write();
    expect(restoredInto(snapshot)).toEqual({ split: [1, 2, 3], union: ['a'] });
    expect(list.get()).toEqual([9]);
  });

  it('writes back restored states that were not declared, and checks mode and serializer on declaration', async () => {
    const snapshot = (await snapshotsOf([[1, 2]], [['x']]))[0]![0]!;
    const partial = new OperatorStateBackend();
    partial.restore(snapshot);
    partial.getListState(split);
    expect(restoredInto(await partial.snapshot(2).write())).toEqual({ split: [1, 2], union: ['x'] });

    const wrongMode = new OperatorStateBackend();
    wrongMode.restore(snapshot);
    expectSluiceError(
      () => wrongMode.getListState(new ListStateDescriptor<string>('watermarks')),
      'SLUICE_STATE_INVALID_ACCESS',
      'restored as union list state',
    );
    const wrongSerializer = new OperatorStateBackend();
    wrongSerializer.restore(snapshot);
    expectSluiceError(
      () =>
        wrongSerializer.getListState(
          new ListStateDescriptor('offsets', { elementSerializer: new JsonSerializer<number>() }),
        ),
      'SLUICE_STATE_MIGRATION_FAILED',
      'msgpack v1',
      'json v1',
    );
    const declaredFirst = new OperatorStateBackend();
    const list = declaredFirst.getListState(split);
    declaredFirst.restore(snapshot);
    expect(list.get()).toEqual([1, 2]);
  });

  it('captures lists and the objects in them at snapshot(), whatever user code changes afterwards', async () => {
    const b = new OperatorStateBackend();
    const objects = b.getListState(new ListStateDescriptor<{ n: number }>('objects'));
    objects.update([{ n: 1 }, { n: 2 }]);
    const run = b.snapshot(1);
    (objects.get()[0] as { n: number }).n = 100;
    objects.add({ n: 3 });
    const snapshot = await run.write();
    const restored = new OperatorStateBackend();
    restored.restore(snapshot);
    expect(restored.getListState(new ListStateDescriptor<{ n: number }>('objects')).get()).toEqual([
      { n: 1 },
      { n: 2 },
    ]);
  });

  it('declines at write() a list it cannot serialize, and rejects write() after release()', async () => {
    const failing = {
      name: 'failing',
      version: 1,
      serialize: (): Uint8Array => {
        throw new Error('no bytes for you');
      },
      deserialize: (): never => {
        throw new Error('unused');
      },
    };
    const b = new OperatorStateBackend();
    b.getListState(new ListStateDescriptor<number>('bad', { elementSerializer: failing })).add(1);
    await expect(b.snapshot(1).write()).rejects.toThrow('no bytes for you');
    const released = new OperatorStateBackend().snapshot(2);
    released.release();
    await expect(released.write()).rejects.toMatchObject({ code: 'SLUICE_CHECKPOINT_STORAGE_FAILED' });
  });
});

describe('redistributeOperatorState', () => {
  const lists = fc.array(fc.array(fc.integer({ min: 0, max: 999 }), { maxLength: 12 }), {
    minLength: 1,
    maxLength: 6,
  });

  it('splits SPLIT_DISTRIBUTE state with none lost or duplicated, evenly, and gives UNION state to all', async () => {
    await fc.assert(
      fc.asyncProperty(lists, fc.integer({ min: 1, max: 6 }), async (old, newParallelism) => {
        const unionLists = old.map((l, i) => l.map((n) => `${i}:${n}`));
        const assigned = redistributeOperatorState(await snapshotsOf(old, unionLists), newParallelism);
        expect(assigned).toHaveLength(newParallelism);
        const restored = assigned.map(restoredInto);
        const sortNumbers = (xs: readonly number[]) => [...xs].sort((a, b) => a - b);
        expect(sortNumbers(restored.flatMap((r) => r.split))).toEqual(sortNumbers(old.flat()));
        if (old.length === newParallelism) expect(restored.map((r) => r.split)).toEqual(old);
        else {
          const sizes = restored.map((r) => r.split.length);
          expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
        }
        for (const r of restored) expect(r.union).toEqual(unionLists.flat());
      }),
      { numRuns: 200 },
    );
  });

  it('rotates the longer runs across states, so small states spread over subtasks', async () => {
    const b = new OperatorStateBackend();
    for (const name of ['s1', 's2', 's3']) b.getListState(new ListStateDescriptor<number>(name)).add(1);
    const assigned = redistributeOperatorState([[await b.snapshot(1).write()], []], 3);
    const counts = assigned.map((snapshot) => {
      const restored = new OperatorStateBackend();
      restored.restore(snapshot);
      return ['s1', 's2', 's3'].map(
        (n) => restored.getListState(new ListStateDescriptor<number>(n)).get().length,
      );
    });
    expect(counts).toEqual([
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ]);
  });

  // StateAssignmentOperationTest#testReDistributeCombinedPartitionableStates
  it('redistributes split and union states of one operator together, each by its own rule, 2 → 3', async () => {
    const s1 = new ListStateDescriptor<string>('s1');
    const u1 = new ListStateDescriptor<string>('u1');
    const s2 = new ListStateDescriptor<string>('s2');
    const u2 = new ListStateDescriptor<string>('u2');
    const old = await Promise.all(
      [
        { s1: ['a0', 'a1', 'a2'], u1: ['x0'], s2: ['b0'], u2: ['y0', 'y1'] },
        { s1: ['a3', 'a4'], u1: ['x1'], s2: ['b1', 'b2'], u2: [] },
      ].map(async (lists) => {
        const b = new OperatorStateBackend();
        b.getListState(s1).update(lists.s1);
        b.getUnionListState(u1).update(lists.u1);
        b.getListState(s2).update(lists.s2);
        b.getUnionListState(u2).update(lists.u2);
        return [await b.snapshot(1).write()];
      }),
    );
    const restored = redistributeOperatorState(old, 3).map((snapshot) => {
      const b = new OperatorStateBackend();
      b.restore(snapshot);
      return {
        s1: b.getListState(s1).get(),
        u1: b.getUnionListState(u1).get(),
        s2: b.getListState(s2).get(),
        u2: b.getUnionListState(u2).get(),
      };
    });
    // s1: 5 elements in runs 2, 2, 1 from subtask 0; the next split state starts where the
    // shorter runs began (subtask 2), as Flink's RoundRobinOperatorStateRepartitioner does.
    expect(restored.map((r) => r.s1)).toEqual([['a0', 'a1'], ['a2', 'a3'], ['a4']]);
    expect(restored.map((r) => r.s2)).toEqual([['b1'], ['b2'], ['b0']]);
    for (const r of restored) {
      expect(r.u1).toEqual(['x0', 'x1']);
      expect(r.u2).toEqual(['y0', 'y1']);
    }
  });

  it('refuses old subtasks that disagree on a state mode', async () => {
    const a = new OperatorStateBackend();
    a.getListState(new ListStateDescriptor<number>('x')).add(1);
    const b = new OperatorStateBackend();
    b.getUnionListState(new ListStateDescriptor<number>('x')).add(2);
    const old = [[await a.snapshot(1).write()], [await b.snapshot(1).write()]];
    expectSluiceError(() => redistributeOperatorState(old, 2), 'SLUICE_CHECKPOINT_CORRUPT', "'x'", 'UNION');
  });
});
