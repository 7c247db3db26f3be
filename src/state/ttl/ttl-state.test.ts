/** State TTL (Flink's StateTtlConfig) on every state kind, on the heap and LMDB backends, with an injected clock. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Duration, Time } from '../../core/duration.js';
import { SluiceError } from '../../core/errors.js';
import { HeapKeyedStateBackend } from '../heap/heap-keyed-state-backend.js';
import type { KeyedStateBackend } from '../keyed-state-backend.js';
import { LmdbKeyedStateBackend } from '../lmdb/lmdb-keyed-state-backend.js';
import {
  AggregatingStateDescriptor,
  ListStateDescriptor,
  MapStateDescriptor,
  ReducingStateDescriptor,
  ValueStateDescriptor,
} from '../state-descriptor.js';
import { StateTtlConfig } from './state-ttl-config.js';

const localDir = mkdtempSync(join(tmpdir(), 'sluice-ttl-test-'));
afterAll(() => rmSync(localDir, { recursive: true, force: true }));

const TTL = 1000;
const all = { maxParallelism: 128, keyGroupRange: { start: 0, end: 127 } };

type Factory = (clock: { now: number }) => KeyedStateBackend;
const backends: [string, Factory][] = [
  ['heap', (clock) => new HeapKeyedStateBackend({ ...all, ttlTimeProvider: () => clock.now })],
  ['lmdb', (clock) => new LmdbKeyedStateBackend({ ...all, localDir, ttlTimeProvider: () => clock.now })],
];

/** A descriptor with `config` enabled. */
function withTtl<D extends { enableTimeToLive(c: StateTtlConfig): void }>(d: D, config: StateTtlConfig): D {
  d.enableTimeToLive(config);
  return d;
}

describe.each(backends)('state TTL on the %s backend', (_name, create) => {
  const clock = { now: 1_000_000 };
  let open: KeyedStateBackend[] = [];
  const backend = (): KeyedStateBackend => {
    const b = create(clock);
    open.push(b);
    return b;
  };
  afterEach(() => {
    for (const b of open) b.dispose();
    open = [];
    clock.now = 1_000_000;
  });
  const config = (): ReturnType<typeof StateTtlConfig.newBuilder> =>
    StateTtlConfig.newBuilder(Duration.ofMillis(TTL)).disableCleanupInBackground();

  it('ValueState: a value expires TTL after its last write, and reads as the default afterwards', () => {
    const b = backend();
    const v = b.getOrCreateKeyedState(
      withTtl(new ValueStateDescriptor<{ n: number }>('v', { defaultValue: { n: 0 } }), config().build()),
    );
    b.setCurrentKey('a');
    v.update({ n: 1 });
    clock.now += TTL - 1;
    expect(v.value()).toEqual({ n: 1 });
    v.update({ n: 2 }); // a write refreshes
    clock.now += TTL - 1;
    expect(v.value()).toEqual({ n: 2 });
    clock.now += 1;
    expect(v.value()).toEqual({ n: 0 });
    expect(b.numKeys('v')).toBe(0); // removed when read expired
  });

  it('OnCreateAndWrite leaves reads alone; OnReadAndWrite refreshes on read', () => {
    const b = backend();
    const write = b.getOrCreateKeyedState(withTtl(new ValueStateDescriptor<number>('w'), config().build()));
    const read = b.getOrCreateKeyedState(
      withTtl(new ValueStateDescriptor<number>('r'), config().updateTtlOnReadAndWrite().build()),
    );
    b.setCurrentKey('a');
    write.update(1);
    read.update(1);
    clock.now += TTL - 1;
    expect(write.value()).toBe(1);
    expect(read.value()).toBe(1);
    clock.now += TTL - 1;
    expect(write.value()).toBeUndefined();
    expect(read.value()).toBe(1);
  });

  it('ReturnExpiredIfNotCleanedUp returns an expired value once, then it is gone', () => {
    const b = backend();
    const v = b.getOrCreateKeyedState(
      withTtl(new ValueStateDescriptor<number>('v'), config().returnExpiredIfNotCleanedUp().build()),
    );
    b.setCurrentKey('a');
    v.update(7);
    clock.now += TTL;
    expect(v.value()).toBe(7);
    expect(v.value()).toBeUndefined();
  });

  it('ListState: each element expires on its own', () => {
    const b = backend();
    const l = b.getOrCreateKeyedState(withTtl(new ListStateDescriptor<string>('l'), config().build()));
    b.setCurrentKey('a');
    l.add('old');
    clock.now += TTL / 2;
    l.addAll(['new1', 'new2']);
    expect(l.get()).toEqual(['old', 'new1', 'new2']);
    clock.now += TTL / 2;
    expect(l.get()).toEqual(['new1', 'new2']);
    clock.now += TTL / 2;
    expect(l.get()).toEqual([]);
    expect(b.numKeys('l')).toBe(0);
  });

  it('MapState: each entry expires on its own, in get, contains, iteration and isEmpty', () => {
    const b = backend();
    const m = b.getOrCreateKeyedState(withTtl(new MapStateDescriptor<string, number>('m'), config().build()));
    b.setCurrentKey('a');
    m.put('x', 1);
    clock.now += TTL / 2;
    m.putAll([['y', 2]]);
    clock.now += TTL / 2;
    expect(m.get('x')).toBeUndefined();
    expect(m.contains('x')).toBe(false);
    expect(m.contains('y')).toBe(true);
    expect([...m.entries()]).toEqual([['y', 2]]);
    expect([...m.keys()]).toEqual(['y']);
    expect([...m.values()]).toEqual([2]);
    expect(m.isEmpty()).toBe(false);
    clock.now += TTL / 2;
    expect(m.isEmpty()).toBe(true);
  });

  it('ReducingState: an expired value counts as absent for the next add', () => {
    const b = backend();
    const r = b.getOrCreateKeyedState(
      withTtl(new ReducingStateDescriptor<number>('r', (x, y) => x + y), config().build()),
    );
    b.setCurrentKey('a');
    r.add(1);
    r.add(2);
    expect(r.get()).toBe(3);
    clock.now += TTL;
    r.add(10);
    expect(r.get()).toBe(10);
    clock.now += TTL;
    expect(r.get()).toBeUndefined();
  });

  it('AggregatingState: an expired accumulator starts over; an in-place add is kept', () => {
    const b = backend();
    const a = b.getOrCreateKeyedState(
      withTtl(
        new AggregatingStateDescriptor<number, { sum: number; n: number }, number>('a', {
          createAccumulator: () => ({ sum: 0, n: 0 }),
          add: (v, acc) => ((acc.sum += v), (acc.n += 1), acc),
          getResult: (acc) => acc.sum / acc.n,
          merge: (x, y) => ({ sum: x.sum + y.sum, n: x.n + y.n }),
        }),
        config().updateTtlOnReadAndWrite().build(),
      ),
    );
    b.setCurrentKey('a');
    a.add(2);
    a.add(4);
    clock.now += TTL - 1;
    expect(a.get()).toBe(3); // read refreshes
    clock.now += TTL - 1;
    expect(a.get()).toBe(3);
    clock.now += TTL;
    a.add(10);
    expect(a.get()).toBe(10);
  });

  it('incremental cleanup removes expired keys that are never read again', () => {
    const b = backend();
    const v = b.getOrCreateKeyedState(
      withTtl(
        new ValueStateDescriptor<number>('v'),
        StateTtlConfig.newBuilder(Time.milliseconds(TTL)).cleanupIncrementally(10).build(),
      ),
    );
    for (let k = 0; k < 50; k++) {
      b.setCurrentKey(k);
      v.update(k);
    }
    clock.now += TTL;
    b.setCurrentKey('live');
    v.update(1);
    // Each access checks 10 more keys; a few rounds reach all 50.
    for (let i = 0; i < 12; i++) v.value();
    expect(b.numKeys('v')).toBe(1);
    expect(v.value()).toBe(1);
    expect(b.getCurrentKey()).toBe('live');
  });

  it('keeps timestamps across a snapshot and restore; cleanupFullSnapshot drops what expired by the restore', async () => {
    const b = backend();
    const full = config().cleanupFullSnapshot().build();
    const v = b.getOrCreateKeyedState(withTtl(new ValueStateDescriptor<number>('v'), full));
    b.setCurrentKey('old');
    v.update(1);
    clock.now += TTL / 2;
    b.setCurrentKey('young');
    v.update(2);
    const snapshot = await b.snapshot(1).write();
    clock.now += TTL / 2;
    const restored = backend();
    restored.restore([snapshot]);
    const w = restored.getOrCreateKeyedState(withTtl(new ValueStateDescriptor<number>('v'), full));
    expect(restored.numKeys('v')).toBe(1);
    restored.setCurrentKey('young');
    expect(w.value()).toBe(2);
    clock.now += TTL / 2;
    expect(w.value()).toBeUndefined();
  });

  it('refuses to restore a state written without TTL into a declaration with TTL', async () => {
    const b = backend();
    b.getOrCreateKeyedState(new ValueStateDescriptor<number>('v'));
    b.setCurrentKey('a');
    b.getOrCreateKeyedState(new ValueStateDescriptor<number>('v')).update(1);
    const snapshot = await b.snapshot(1).write();
    const restored = backend();
    restored.restore([snapshot]);
    expect(() =>
      restored.getOrCreateKeyedState(withTtl(new ValueStateDescriptor<number>('v'), config().build())),
    ).toThrow(SluiceError);
  });
});

describe('StateTtlConfig', () => {
  it("builds Flink's defaults and names", () => {
    const c = StateTtlConfig.newBuilder(Duration.ofSeconds(5)).build();
    expect(c.getTtl()).toBe(5000);
    expect(c.getUpdateType()).toBe(StateTtlConfig.UpdateType.OnCreateAndWrite);
    expect(c.getStateVisibility()).toBe(StateTtlConfig.StateVisibility.NeverReturnExpired);
    expect(c.getCleanupStrategies().isCleanupInBackground()).toBe(true);
    expect(c.isEnabled()).toBe(true);
    expect(StateTtlConfig.DISABLED.isEnabled()).toBe(false);
    const d = new ValueStateDescriptor<number>('v');
    expect(d.getTtlConfig().isEnabled()).toBe(false);
    d.enableTimeToLive(c);
    expect(d.getTtlConfig()).toBe(c);
  });

  it('rejects a TTL that is not positive, and anything that is not a config', () => {
    expect(() => StateTtlConfig.newBuilder(0)).toThrow(/TTL must be positive/);
    expect(() => StateTtlConfig.newBuilder(-1)).toThrow(SluiceError);
    expect(() => new ValueStateDescriptor('v').enableTimeToLive({} as StateTtlConfig)).toThrow(
      /needs a StateTtlConfig/,
    );
    expect(() => StateTtlConfig.newBuilder(1000).setUpdateType('Sometimes' as never)).toThrow(
      /unknown update type/,
    );
  });
});
