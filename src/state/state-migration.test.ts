/**
 * State evolution at restore, on both keyed backends and operator list state: a newer serializer
 * version migrates every restored value (from a full snapshot or an incremental chain, declared
 * before or after restore), equal versions restore as they are, and a serializer with no way
 * from the stored one fails the restore naming the operator and the state.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { SluiceError } from '../core/errors.js';
import { TypeSerializerSchemaCompatibility } from '../core/serializer-compatibility.js';
import { JsonSerializer, MsgpackSerializer, type TypeSerializer } from '../core/serializer.js';
import { HeapKeyedStateBackend } from './heap/heap-keyed-state-backend.js';
import type { KeyedStateBackend } from './keyed-state-backend.js';
import type { KeyedSnapshotRun, KeyedStateSnapshot } from './keyed-state-snapshot.js';
import { LmdbKeyedStateBackend } from './lmdb/lmdb-keyed-state-backend.js';
import { OperatorStateBackend } from './operator-state-backend.js';
import {
  AggregatingStateDescriptor,
  ListStateDescriptor,
  MapStateDescriptor,
  ReducingStateDescriptor,
  ValueStateDescriptor,
} from './state-descriptor.js';
import { StateTtlConfig } from './ttl/state-ttl-config.js';

const localDir = mkdtempSync(join(tmpdir(), 'sluice-state-migration-'));
afterAll(() => rmSync(localDir, { recursive: true, force: true }));

const OWNER = "operator 'enrich' (uid 'enrich-v1')";
const all = { maxParallelism: 128, keyGroupRange: { start: 0, end: 127 } };
const KEYS = 40;

/** A JSON serializer under its own name and version, with the evolution hooks given. */
function serializer<T>(
  name: string,
  version: number,
  hooks: Pick<TypeSerializer<T>, 'migrate' | 'resolveSchemaCompatibility'> = {},
): TypeSerializer<T> {
  const json = new JsonSerializer<T>();
  return {
    name,
    version,
    serialize: (value) => json.serialize(value),
    deserialize: (bytes, start, end) => json.deserialize(bytes, start, end),
    ...hooks,
  };
}

interface Amount {
  readonly amount: number;
}

/** Version 1 of the job's state: plain numbers. */
const v1 = (): TypeSerializer<number> => serializer<number>('amount', 1);
/** Version 2: `{ amount }` objects, migrated from version 1's numbers. */
const v2 = (): TypeSerializer<Amount> =>
  serializer<Amount>('amount', 2, {
    migrate(old, fromVersion) {
      expect(fromVersion).toBe(1);
      return { amount: old as number };
    },
  });

/** Every keyed state kind, declared with `s` for the values. */
function declare<T>(b: KeyedStateBackend<number>, s: TypeSerializer<T>, add: (a: T, b: T) => T) {
  return {
    value: b.getOrCreateKeyedState(new ValueStateDescriptor<T>('value', { serializer: s })),
    list: b.getOrCreateKeyedState(new ListStateDescriptor<T>('list', { elementSerializer: s })),
    map: b.getOrCreateKeyedState(new MapStateDescriptor<string, T>('map', { valueSerializer: s })),
    reducing: b.getOrCreateKeyedState(new ReducingStateDescriptor<T>('reducing', add, { serializer: s })),
    aggregating: b.getOrCreateKeyedState(
      new AggregatingStateDescriptor<T, T, T>(
        'aggregating',
        {
          createAccumulator: () => undefined as unknown as T,
          add: (value, acc) => (acc === undefined ? value : add(acc, value)),
          getResult: (acc) => acc,
          merge: add,
        },
        { accumulatorSerializer: s },
      ),
    ),
  };
}
const declareV1 = (b: KeyedStateBackend<number>) => declare(b, v1(), (x, y) => x + y);
const declareV2 = (b: KeyedStateBackend<number>) =>
  declare<Amount>(b, v2(), (x, y) => ({ amount: x.amount + y.amount }));

/** Writes key k's version-1 values: k, [k, k + 1], { a: k }, k + 1 (reduced), 2k (aggregated). */
function writeV1(b: KeyedStateBackend<number>, keys: Iterable<number>, plus = 0): void {
  const s = declareV1(b);
  for (const k of keys) {
    b.setCurrentKey(k);
    s.value.update(k + plus);
    s.list.update([k + plus, k + 1]);
    s.map.put('a', k + plus);
    s.reducing.clear();
    s.reducing.add(k + plus);
    s.reducing.add(1);
    s.aggregating.clear();
    s.aggregating.add(k + plus);
    s.aggregating.add(k);
  }
}

/** Every key's state as version 2 reads it. */
function readV2(b: KeyedStateBackend<number>) {
  const s = declareV2(b);
  const out: unknown[] = [];
  for (let k = 0; k < KEYS; k++) {
    b.setCurrentKey(k);
    out.push([
      s.value.value(),
      s.list.get(),
      Object.fromEntries(s.map.entries()),
      s.reducing.get(),
      s.aggregating.get(),
    ]);
  }
  return out;
}

/** What readV2 gives for version-1 values written by writeV1 (key k's value raised by plus(k)). */
function migratedV2(plus: (k: number) => number = () => 0) {
  return Array.from({ length: KEYS }, (_, k) => [
    { amount: k + plus(k) },
    [{ amount: k + plus(k) }, { amount: k + 1 }],
    { a: { amount: k + plus(k) } },
    { amount: k + plus(k) + 1 },
    { amount: 2 * k + plus(k) },
  ]);
}

const BACKENDS = ['hashmap', 'lmdb'] as const;
type Backend = (typeof BACKENDS)[number];

const open: KeyedStateBackend<number>[] = [];
afterEach(() => {
  for (const b of open.splice(0)) b.dispose();
});

function backend(kind: Backend, incremental = false): KeyedStateBackend<number> {
  const options = { ...all, owner: OWNER, ...(incremental ? { incremental: { maxDeltaRatio: 100 } } : {}) };
  const b =
    kind === 'hashmap'
      ? new HeapKeyedStateBackend<number>(options)
      : new LmdbKeyedStateBackend<number>({ ...options, localDir });
  open.push(b);
  return b;
}

/** The snapshot to restore from: a written base alone, or the base's chain plus a delta. */
function chainOf(run: KeyedSnapshotRun, written: KeyedStateSnapshot, base?: KeyedStateSnapshot) {
  if (run.baseCheckpointId === undefined) return written;
  expect(base, 'a delta builds on a completed snapshot').toBeDefined();
  return {
    ...base!,
    deltas: [...(base!.deltas ?? []), { offsets: written.offsets, data: written.data }],
  };
}

/** Version-1 state of KEYS keys: a full snapshot, or a chain whose delta changed the even keys. */
async function snapshotV1(kind: Backend, chain: boolean): Promise<KeyedStateSnapshot> {
  const b = backend(kind, chain);
  writeV1(
    b,
    Array.from({ length: KEYS }, (_, k) => k),
  );
  const first = b.snapshot(1);
  const base = await first.write();
  if (!chain) return base;
  b.notifyCheckpointComplete?.(1);
  writeV1(
    b,
    Array.from({ length: KEYS / 2 }, (_, i) => 2 * i),
    100,
  );
  const second = b.snapshot(2);
  const snapshot = chainOf(second, await second.write(), base);
  expect(snapshot.deltas).toHaveLength(1);
  return snapshot;
}
const plusEven = (k: number) => (k % 2 === 0 ? 100 : 0);

function expectMigrationFailure(run: () => unknown, ...parts: string[]): SluiceError {
  let error: unknown;
  try {
    run();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(SluiceError);
  const e = error as SluiceError;
  expect(e.code, e.message).toBe('SLUICE_STATE_MIGRATION_FAILED');
  for (const part of parts) expect(e.message).toContain(part);
  return e;
}

describe.each(BACKENDS)('state evolution, written by %s', (from) => {
  describe.each(BACKENDS)('restored into %s', (to) => {
    it.each([
      ['a full snapshot', false],
      ['an incremental chain', true],
    ])(
      'migrates every value of every state kind from %s, declared after or before restore',
      async (_, chain) => {
        const snapshot = await snapshotV1(from, chain);
        const expected = migratedV2(chain ? plusEven : undefined);

        const after = backend(to);
        after.restore([snapshot]);
        expect(readV2(after)).toEqual(expected);

        const before = backend(to);
        declareV2(before);
        before.restore([snapshot]);
        expect(readV2(before)).toEqual(expected);

        // The migrated state is written with version 2 from then on: it restores as it is.
        const again = await before.snapshot(3).write();
        const restored = backend(from);
        restored.restore([again]);
        expect(readV2(restored)).toEqual(expected);
      },
    );
  });

  it('restores equal versions as they are, and migrates only what was written by the older one', async () => {
    const snapshot = await snapshotV1(from, false);
    const same = backend(from);
    same.restore([snapshot]);
    const s = declareV1(same);
    same.setCurrentKey(7);
    expect([s.value.value(), s.list.get(), s.reducing.get()]).toEqual([7, [7, 8], 8]);
  });

  it('starts a new incremental base once a state is migrated (the chain before holds the old format)', async () => {
    const snapshot = await snapshotV1(from, false);
    const b = backend(from, true);
    b.restore([snapshot]);
    // A snapshot before the state is declared writes it as restored (version 1), and completes.
    const first = b.snapshot(5);
    await first.write();
    expect(first.baseCheckpointId).toBeUndefined();
    b.notifyCheckpointComplete?.(5);
    expect(readV2(b)).toEqual(migratedV2());
    const second = b.snapshot(6);
    const written = await second.write();
    expect(second.baseCheckpointId, 'a new base after the migration').toBeUndefined();
    b.notifyCheckpointComplete?.(6);
    const s = declareV2(b);
    b.setCurrentKey(3);
    s.value.update({ amount: -3 });
    const third = b.snapshot(7);
    const chain = chainOf(third, await third.write(), written);
    expect(third.baseCheckpointId).toBe(6);
    for (const into of BACKENDS) {
      const restored = backend(into);
      restored.restore([chain]);
      const expected = migratedV2();
      expected[3]![0] = { amount: -3 };
      expect(readV2(restored)).toEqual(expected);
    }
  });

  it('fails the restore naming the operator, the state and both serializers when there is no way from the stored one', async () => {
    const snapshot = await snapshotV1(from, false);
    const newer = await (async () => {
      const b = backend(from);
      b.restore([snapshot]);
      readV2(b);
      return b.snapshot(2).write();
    })();
    for (const to of BACKENDS) {
      // A newer version than the job's.
      const older = backend(to);
      older.restore([newer]);
      expectMigrationFailure(
        () => declareV1(older),
        "state 'value' of operator 'enrich' (uid 'enrich-v1')",
        'amount v2',
        'amount v1',
        'newer',
      );
      // The same name, a newer version without migrate().
      const noMigrate = backend(to);
      noMigrate.restore([snapshot]);
      expectMigrationFailure(
        () => declare(noMigrate, serializer<number>('amount', 2), (x, y) => x + y),
        "state 'value'",
        'has no migrate(oldValue, fromVersion)',
      );
      // Another name, without resolveSchemaCompatibility().
      const renamed = backend(to);
      renamed.restore([snapshot]);
      expectMigrationFailure(
        () => declare(renamed, serializer<number>('euros', 1), (x, y) => x + y),
        'written with amount v1',
        "the serializer's name changed",
      );
      // Declared incompatible by the serializer, with its reason.
      const refused = backend(to);
      declare(
        refused,
        serializer<number>('euros', 1, {
          resolveSchemaCompatibility: () => TypeSerializerSchemaCompatibility.incompatible('cents are gone'),
        }),
        (x, y) => x + y,
      );
      expectMigrationFailure(() => refused.restore([snapshot]), 'cents are gone');
      // A migration that throws.
      const throwing = backend(to);
      throwing.restore([snapshot]);
      expectMigrationFailure(
        () =>
          declare(
            throwing,
            serializer<number>('amount', 2, {
              migrate: () => {
                throw new Error('bad value');
              },
            }),
            (x, y) => x + y,
          ),
        'its migration threw: bad value',
      );
    }
  });
});

describe('resolveSchemaCompatibility (the general form)', () => {
  it.each(BACKENDS)(
    'reads state the default serializer wrote with the migration’s previous serializer (%s)',
    async (kind) => {
      const b = backend(kind);
      const counts = b.getOrCreateKeyedState(new ValueStateDescriptor<number>('count'));
      for (let k = 0; k < KEYS; k++) {
        b.setCurrentKey(k);
        counts.update(k);
      }
      const snapshot = await b.snapshot(1).write();
      const seen: unknown[] = [];
      const amounts = serializer<Amount>('amount', 1, {
        resolveSchemaCompatibility(previous) {
          seen.push(previous);
          return previous.name === 'msgpack'
            ? TypeSerializerSchemaCompatibility.compatibleAfterMigration({
                previousSerializer: new MsgpackSerializer(),
                migrate: (old) => ({ amount: old as number }),
              })
            : TypeSerializerSchemaCompatibility.incompatible();
        },
      });
      const restored = backend(kind);
      restored.restore([snapshot]);
      const state = restored.getOrCreateKeyedState(
        new ValueStateDescriptor<Amount>('count', { serializer: amounts }),
      );
      restored.setCurrentKey(9);
      expect(state.value()).toEqual({ amount: 9 });
      expect(seen).toEqual([{ name: 'msgpack', version: 1 }]);

      // compatibleAsIs: a new version that reads the old bytes unchanged.
      const asIs = backend(kind);
      asIs.restore([snapshot]);
      const plain = asIs.getOrCreateKeyedState(
        new ValueStateDescriptor<number>('count', {
          serializer: Object.assign(new MsgpackSerializer<number>(), {
            version: 2,
            resolveSchemaCompatibility: () => TypeSerializerSchemaCompatibility.compatibleAsIs<number>(),
          }),
        }),
      );
      asIs.setCurrentKey(11);
      expect(plain.value()).toBe(11);

      // Anything but a TypeSerializerSchemaCompatibility is refused, saying what it should be.
      const wrong = backend(kind);
      wrong.restore([snapshot]);
      expectMigrationFailure(
        () =>
          wrong.getOrCreateKeyedState(
            new ValueStateDescriptor<number>('count', {
              serializer: serializer<number>('x', 1, {
                resolveSchemaCompatibility: () => true as never,
              }),
            }),
          ),
        'instead of a TypeSerializerSchemaCompatibility',
      );
    },
  );
});

describe('state with a time-to-live', () => {
  it.each(BACKENDS)(
    'migrates the user value with the user serializer’s migrate, keeping TTL (%s)',
    async (kind) => {
      const ttl = StateTtlConfig.newBuilder(60_000).build();
      const b = backend(kind);
      const d1 = new ValueStateDescriptor<number>('v', { serializer: v1() });
      d1.enableTimeToLive(ttl);
      const s1 = b.getOrCreateKeyedState(d1);
      b.setCurrentKey(1);
      s1.update(41);
      const snapshot = await b.snapshot(1).write();
      const restored = backend(kind);
      restored.restore([snapshot]);
      const d2 = new ValueStateDescriptor<Amount>('v', { serializer: v2() });
      d2.enableTimeToLive(ttl);
      const s2 = restored.getOrCreateKeyedState(d2);
      restored.setCurrentKey(1);
      expect(s2.value()).toEqual({ amount: 41 });
    },
  );
});

describe('operator list state', () => {
  it('migrates elements written by an older serializer version, and refuses a newer one naming the operator', async () => {
    const old = new OperatorStateBackend({ owner: OWNER });
    old
      .getListState(new ListStateDescriptor<number>('offsets', { elementSerializer: v1() }))
      .update([1, 2, 3]);
    const snapshot = await old.snapshot(1).write();

    const migrated = new OperatorStateBackend({ owner: OWNER });
    migrated.restore(snapshot);
    const elements = migrated.getListState(
      new ListStateDescriptor<Amount>('offsets', { elementSerializer: v2() }),
    );
    expect(elements.get()).toEqual([{ amount: 1 }, { amount: 2 }, { amount: 3 }]);
    const again = await migrated.snapshot(2).write();

    const refused = new OperatorStateBackend({ owner: OWNER });
    refused.getListState(new ListStateDescriptor<number>('offsets', { elementSerializer: v1() }));
    expectMigrationFailure(
      () => refused.restore(again),
      "operator state 'offsets' of operator 'enrich' (uid 'enrich-v1')",
      'amount v2',
      'newer',
    );
  });
});

describe('broadcast state', () => {
  it('migrates values written by an older value serializer version, and refuses a newer one', async () => {
    const keys = new JsonSerializer<string>();
    const old = new OperatorStateBackend({ owner: OWNER });
    const rules = old.getBroadcastState(
      new MapStateDescriptor<string, number>('rules', { keySerializer: keys, valueSerializer: v1() }),
    );
    rules.put('a', 1);
    rules.put('b', 2);
    const snapshot = await old.snapshot(1).write();

    const migrated = new OperatorStateBackend({ owner: OWNER });
    migrated.restore(snapshot);
    const upgraded = migrated.getBroadcastState(
      new MapStateDescriptor<string, Amount>('rules', { keySerializer: keys, valueSerializer: v2() }),
    );
    expect(upgraded.get('a')).toEqual({ amount: 1 });
    expect(upgraded.get('b')).toEqual({ amount: 2 });
    const again = await migrated.snapshot(2).write();

    const refused = new OperatorStateBackend({ owner: OWNER });
    refused.restore(again);
    expectMigrationFailure(
      () =>
        refused.getBroadcastState(
          new MapStateDescriptor<string, number>('rules', { keySerializer: keys, valueSerializer: v1() }),
        ),
      "operator state 'rules' of operator 'enrich' (uid 'enrich-v1')",
      'newer',
    );
  });
});
