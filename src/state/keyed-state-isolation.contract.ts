/**
 * Contract: a snapshot keeps every value as it was at its synchronous phase while user code goes on
 * changing the stored objects in place — the way Flink users write state code.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { KeyGroupRange } from '../core/key-groups.js';
import type { KeyedStateBackend } from './keyed-state-backend.js';
import type { KeyedStateSnapshot } from './keyed-state-snapshot.js';
import { prng } from './keyed-state-model.contract.js';
import type { AggregatingState, ListState, MapState, ReducingState, ValueState } from './state.js';
import {
  AggregatingStateDescriptor,
  ListStateDescriptor,
  MapStateDescriptor,
  ReducingStateDescriptor,
  ValueStateDescriptor,
} from './state-descriptor.js';

/** Builds a backend; `snapshotSliceMillis: 0` makes the asynchronous phase yield as often as it can. */
export type IsolationBackendFactory = (opts: {
  maxParallelism: number;
  keyGroupRange: KeyGroupRange;
  snapshotSliceMillis: number;
}) => KeyedStateBackend;

interface Acc {
  n: number;
  sum: number;
  tags: string[];
}
interface Item {
  id: number;
  n: number;
}
interface Counter {
  n: number;
  seen: number[];
}
interface Total {
  total: number;
  parts: number[];
}
interface Avg {
  sum: number;
  count: number;
}

/** One of every state kind, each holding mutable objects. */
interface Declared {
  readonly v: ValueState<Acc>;
  /** With a default object value: every key must get its own copy (Flink copies defaults). */
  readonly d: ValueState<Acc>;
  readonly l: ListState<Item>;
  readonly m: MapState<string, Counter>;
  readonly r: ReducingState<Total>;
  readonly a: AggregatingState<number, Avg>;
}

const NAMES = ['v', 'd', 'l', 'm', 'r', 'a'] as const;

function declare(b: KeyedStateBackend): Declared {
  return {
    v: b.getOrCreateKeyedState(new ValueStateDescriptor<Acc>('v')),
    d: b.getOrCreateKeyedState(
      new ValueStateDescriptor<Acc>('d', { defaultValue: { n: 0, sum: 0, tags: [] } }),
    ),
    l: b.getOrCreateKeyedState(new ListStateDescriptor<Item>('l')),
    m: b.getOrCreateKeyedState(new MapStateDescriptor<string, Counter>('m')),
    r: b.getOrCreateKeyedState(
      // Reduces into its left argument, the stored value, and returns it.
      new ReducingStateDescriptor<Total>('r', (acc, x) => {
        acc.total += x.total;
        acc.parts.push(...x.parts);
        return acc;
      }),
    ),
    a: b.getOrCreateKeyedState(
      // getResult hands out the accumulator itself: what user code then does to it is a write.
      new AggregatingStateDescriptor<number, Avg, Avg>('a', {
        createAccumulator: () => ({ sum: 0, count: 0 }),
        add(value, acc) {
          acc.sum += value;
          acc.count += 1;
          return acc;
        },
        getResult: (acc) => acc,
        merge: (x, y) => ({ sum: x.sum + y.sum, count: x.count + y.count }),
      }),
    ),
  };
}

/** What user code does to one key, always by changing stored objects where it can. */
type Op =
  | { kind: 'valueBump'; key: number; x: number } // acc = v.value() ?? {...}; acc.n++; v.update(acc)
  | { kind: 'valueBumpNoUpdate'; key: number; x: number } // acc = v.value(); acc.n++ (no update)
  | { kind: 'defaultBump'; key: number; x: number } // the default object, changed and stored
  | { kind: 'listAdd'; key: number; x: number }
  | { kind: 'listMutate'; key: number; x: number } // l.get()[i].n += x; l.update(same array)
  | { kind: 'mapPut'; key: number; mk: string; x: number }
  | { kind: 'mapMutate'; key: number; mk: string; x: number } // m.get(mk).n += x, no put
  | { kind: 'mapIterate'; key: number; x: number } // every value of entries() changed in place
  | { kind: 'reduce'; key: number; x: number }
  | { kind: 'aggregate'; key: number; x: number }
  | { kind: 'resultMutate'; key: number; x: number } // a.get().sum += x (the accumulator itself)
  | { kind: 'clear'; key: number; state: (typeof NAMES)[number] };

/** Plain data per state and key: what a snapshot must hold. */
type Dump = Record<(typeof NAMES)[number], [number, unknown][]>;

/** A plain-JS model of `Declared`, changed by the same ops. */
class Model {
  readonly states: Record<(typeof NAMES)[number], Map<number, unknown>> = {
    v: new Map(),
    d: new Map(),
    l: new Map(),
    m: new Map(),
    r: new Map(),
    a: new Map(),
  };

  apply(op: Op): void {
    const { v, d, l, m, r, a } = this.states;
    const k = op.key;
    switch (op.kind) {
      case 'valueBump':
      case 'valueBumpNoUpdate': {
        const acc = v.get(k) as Acc | undefined;
        if (acc === undefined) {
          if (op.kind === 'valueBump') v.set(k, { n: 1, sum: op.x, tags: [`t${op.x}`] });
          return;
        }
        acc.n += 1;
        acc.sum += op.x;
        acc.tags.push(`t${op.x}`);
        return;
      }
      case 'defaultBump': {
        const acc = (d.get(k) as Acc | undefined) ?? { n: 0, sum: 0, tags: [] };
        acc.n += 1;
        acc.sum += op.x;
        d.set(k, acc);
        return;
      }
      case 'listAdd':
        return void ((l.get(k) as Item[] | undefined) ?? (l.set(k, []).get(k) as Item[])).push({
          id: op.x,
          n: 0,
        });
      case 'listMutate': {
        const items = l.get(k) as Item[] | undefined;
        if (items) items[op.x % items.length]!.n += op.x;
        return;
      }
      case 'mapPut': {
        const map =
          (m.get(k) as Map<string, Counter> | undefined) ??
          (m.set(k, new Map()).get(k) as Map<string, Counter>);
        map.set(op.mk, { n: op.x, seen: [op.x] });
        return;
      }
      case 'mapMutate': {
        const counter = (m.get(k) as Map<string, Counter> | undefined)?.get(op.mk);
        if (counter) {
          counter.n += op.x;
          counter.seen.push(op.x);
        }
        return;
      }
      case 'mapIterate':
        for (const counter of (
          (m.get(k) as Map<string, Counter> | undefined) ?? new Map<string, Counter>()
        ).values())
          counter.n += op.x;
        return;
      case 'reduce': {
        const total = r.get(k) as Total | undefined;
        if (total === undefined) r.set(k, { total: op.x, parts: [op.x] });
        else {
          total.total += op.x;
          total.parts.push(op.x);
        }
        return;
      }
      case 'aggregate': {
        const avg = (a.get(k) as Avg | undefined) ?? (a.set(k, { sum: 0, count: 0 }).get(k) as Avg);
        avg.sum += op.x;
        avg.count += 1;
        return;
      }
      case 'resultMutate': {
        const avg = a.get(k) as Avg | undefined;
        if (avg) avg.sum += op.x;
        return;
      }
      case 'clear':
        return void this.states[op.state].delete(k);
    }
  }

  /** A deep copy of the model as it is now. */
  dump(): Dump {
    const out = {} as Dump;
    for (const name of NAMES)
      out[name] = sorted([...this.states[name]].map(([k, value]) => [k, plain(value)]));
    return out;
  }
}

/** Applies `op` through the state objects, as user code would. */
function applyOp(b: KeyedStateBackend, s: Declared, op: Op): void {
  b.setCurrentKey(op.key);
  switch (op.kind) {
    case 'valueBump': {
      const acc = s.v.value() ?? { n: 0, sum: 0, tags: [] };
      acc.n += 1;
      acc.sum += op.x;
      acc.tags.push(`t${op.x}`);
      return s.v.update(acc);
    }
    case 'valueBumpNoUpdate': {
      const acc = s.v.value();
      if (acc === undefined) return;
      acc.n += 1;
      acc.sum += op.x;
      acc.tags.push(`t${op.x}`);
      return;
    }
    case 'defaultBump': {
      const acc = s.d.value()!;
      acc.n += 1;
      acc.sum += op.x;
      return s.d.update(acc);
    }
    case 'listAdd':
      return s.l.add({ id: op.x, n: 0 });
    case 'listMutate': {
      const items = s.l.get() as Item[];
      if (items.length === 0) return;
      items[op.x % items.length]!.n += op.x;
      return s.l.update(items);
    }
    case 'mapPut':
      return s.m.put(op.mk, { n: op.x, seen: [op.x] });
    case 'mapMutate': {
      const counter = s.m.get(op.mk);
      if (counter === undefined) return;
      counter.n += op.x;
      counter.seen.push(op.x);
      return;
    }
    case 'mapIterate':
      for (const [, counter] of s.m.entries()) counter.n += op.x;
      return;
    case 'reduce':
      return s.r.add({ total: op.x, parts: [op.x] });
    case 'aggregate':
      return s.a.add(op.x);
    case 'resultMutate': {
      const avg = s.a.get();
      if (avg !== undefined) avg.sum += op.x;
      return;
    }
    case 'clear':
      return s[op.state].clear();
  }
}

function plain(value: unknown): unknown {
  if (value instanceof Map) return sorted([...value].map(([k, v]) => [k, plain(v)]));
  return structuredClone(value);
}

function sorted<T extends [string | number, unknown]>(entries: T[]): T[] {
  return entries.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
}

/** The backend's state as a Dump, read through the state objects (as user code reads it). */
function dumpBackend(b: KeyedStateBackend, s: Declared): Dump {
  const read = (name: (typeof NAMES)[number], get: () => unknown): [number, unknown][] =>
    sorted(
      [...b.getKeys(name)].map((key): [number, unknown] => {
        b.setCurrentKey(key);
        return [key as number, plain(get())];
      }),
    );
  return {
    v: read('v', () => s.v.value()),
    d: read('d', () => s.d.value()),
    l: read('l', () => s.l.get()),
    m: read('m', () => new Map(s.m.entries())),
    r: read('r', () => s.r.get()),
    a: read('a', () => s.a.get()),
  };
}

function randomOps(random: () => number, n: number, keys: number, withoutUpdates: boolean): Op[] {
  const pick = (k: number): number => Math.floor(random() * k);
  const ops: Op[] = [];
  while (ops.length < n) {
    const key = pick(keys);
    const x = 1 + pick(9);
    const mk = `mk${pick(4)}`;
    const op: Op | undefined = [
      { kind: 'valueBump', key, x } as const,
      { kind: 'valueBump', key, x } as const,
      withoutUpdates ? ({ kind: 'valueBumpNoUpdate', key, x } as const) : undefined,
      { kind: 'defaultBump', key, x } as const,
      { kind: 'listAdd', key, x } as const,
      { kind: 'listMutate', key, x } as const,
      { kind: 'mapPut', key, mk, x } as const,
      withoutUpdates ? ({ kind: 'mapMutate', key, mk, x } as const) : undefined,
      withoutUpdates ? ({ kind: 'mapIterate', key, x } as const) : undefined,
      { kind: 'reduce', key, x } as const,
      { kind: 'aggregate', key, x } as const,
      withoutUpdates ? ({ kind: 'resultMutate', key, x } as const) : undefined,
      random() < 0.3 ? ({ kind: 'clear', key, state: NAMES[pick(NAMES.length)]! } as const) : undefined,
    ][pick(13)];
    if (op !== undefined) ops.push(op);
  }
  return ops;
}

/**
 * Defines the contract for a backend. `writesThroughObjects`: whether changing an object that
 * `value()`/`get()` returned, without `update`/`put`, changes the live state (true on the heap, as
 * in Flink's heap backend; false where state is stored serialized, as in RocksDB). Either way, no
 * snapshot may see a change made after its synchronous phase.
 */
export function keyedStateIsolationContract(
  name: string,
  create: IsolationBackendFactory,
  writesThroughObjects: boolean,
): void {
  const MAX_P = 128;
  const ALL = { start: 0, end: MAX_P - 1 };
  const restoredDump = (snapshot: KeyedStateSnapshot): Dump => {
    const b = create({ maxParallelism: MAX_P, keyGroupRange: ALL, snapshotSliceMillis: 0 });
    try {
      b.restore([snapshot]);
      return dumpBackend(b, declare(b));
    } finally {
      b.dispose();
    }
  };

  describe(`${name} (snapshot isolation contract)`, () => {
    it('keeps every snapshot as of its synchronous phase while records change stored objects in place', async () => {
      const step = fc.constantFrom('snapshot', 'tick', 'tick', 'release', 'ops', 'ops', 'ops');
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 0, max: 2 ** 31 - 1 }),
          fc.array(step, { maxLength: 30 }),
          async (seed, script) => {
            const random = prng(seed);
            const b = create({ maxParallelism: MAX_P, keyGroupRange: ALL, snapshotSliceMillis: 0 });
            try {
              const s = declare(b);
              const model = new Model();
              const run = (n: number): void => {
                for (const op of randomOps(random, n, 300, writesThroughObjects)) {
                  applyOp(b, s, op);
                  model.apply(op);
                }
              };
              run(2000);
              const pending: {
                release(): void;
                expected: Dump;
                written: Promise<KeyedStateSnapshot | undefined>;
              }[] = [];
              let id = 0;
              for (const st of script) {
                if (st === 'snapshot') {
                  const snapshotRun = b.snapshot(++id);
                  const written = snapshotRun.write().then(
                    (snapshot) => snapshot,
                    () => undefined,
                  );
                  pending.push({ release: () => snapshotRun.release(), expected: model.dump(), written });
                } else if (st === 'tick') await new Promise((resolve) => setImmediate(resolve));
                else if (st === 'release' && pending.length > 0)
                  pending.splice(pick(random, pending.length), 1)[0]!.release();
                else run(150);
              }
              for (const p of pending) {
                const snapshot = await p.written;
                expect(snapshot).toBeDefined();
                expect(restoredDump(snapshot!)).toEqual(p.expected);
              }
              expect(dumpBackend(b, s)).toEqual(model.dump());
              // Restored entries are isolated too: a restored backend's snapshot, written while its
              // objects change, holds what was restored.
              const last = await b.snapshot(++id).write();
              const again = create({ maxParallelism: MAX_P, keyGroupRange: ALL, snapshotSliceMillis: 0 });
              try {
                again.restore([last]);
                const t = declare(again);
                const written = again.snapshot(1).write();
                for (let i = 0; i < 10; i++) {
                  for (const op of randomOps(random, 100, 300, writesThroughObjects)) applyOp(again, t, op);
                  await new Promise((resolve) => setImmediate(resolve));
                }
                expect(restoredDump(await written)).toEqual(model.dump());
              } finally {
                again.dispose();
              }
            } finally {
              b.dispose();
            }
          },
        ),
        { numRuns: 25 },
      );
    });

    it('gives every key its own copy of an object default value', () => {
      const b = create({ maxParallelism: MAX_P, keyGroupRange: ALL, snapshotSliceMillis: 0 });
      try {
        const s = declare(b);
        b.setCurrentKey(1);
        s.d.value()!.n = 42; // changed, never stored
        b.setCurrentKey(2);
        expect(s.d.value()).toEqual({ n: 0, sum: 0, tags: [] });
      } finally {
        b.dispose();
      }
    });
  });
}

function pick(random: () => number, n: number): number {
  return Math.floor(random() * n);
}
