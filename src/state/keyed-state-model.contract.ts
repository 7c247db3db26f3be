/** Test support for the keyed state contracts: every state kind and timers, and a plain-JS model of them. */
import type { KeyedStateBackend } from './keyed-state-backend.js';
import type { KeyedTimerQueue, Timer } from './timer-queue.js';
import type { AggregatingState, ListState, MapState, ReducingState, ValueState } from './state.js';
import {
  AggregatingStateDescriptor,
  ListStateDescriptor,
  MapStateDescriptor,
  ReducingStateDescriptor,
  ValueStateDescriptor,
} from './state-descriptor.js';

/** The keys the model uses: primitives and a composite key, as users write them. */
export type Key = number | string | readonly [string, number];

/** One of every state kind plus a timer queue, declared on one backend. */
export interface Declared {
  readonly v: ValueState<number>;
  readonly l: ListState<string>;
  readonly m: MapState<string, number>;
  /** Reduces objects in place (`acc.total += x.total`), which copy-on-write must not leak. */
  readonly r: ReducingState<{ total: number }>;
  /** Aggregates into an accumulator object mutated in place. */
  readonly a: AggregatingState<number, string>;
  readonly timers: KeyedTimerQueue<Key>;
}

/** The state names of `Declared`. */
export const STATE_NAMES = ['v', 'l', 'm', 'r', 'a'] as const;
/** The name of `Declared`'s timer queue. */
export const TIMERS = 'processing-timers';

/** Declares every state of `Declared` on `b`. */
export function declareAll(b: KeyedStateBackend<Key>): Declared {
  return {
    v: b.getOrCreateKeyedState(new ValueStateDescriptor<number>('v')),
    l: b.getOrCreateKeyedState(new ListStateDescriptor<string>('l')),
    m: b.getOrCreateKeyedState(new MapStateDescriptor<string, number>('m')),
    r: b.getOrCreateKeyedState(
      new ReducingStateDescriptor<{ total: number }>('r', (acc, x) => {
        acc.total += x.total;
        return acc;
      }),
    ),
    a: b.getOrCreateKeyedState(
      new AggregatingStateDescriptor('a', {
        createAccumulator: () => ({ sum: 0, count: 0 }),
        add(value: number, acc: { sum: number; count: number }) {
          acc.sum += value;
          acc.count += 1;
          return acc;
        },
        getResult: (acc) => `${acc.sum}/${acc.count}`,
        merge: (x, y) => ({ sum: x.sum + y.sum, count: x.count + y.count }),
      }),
    ),
    timers: b.getOrCreateTimerQueue(TIMERS),
  };
}

/** A mutation of one key's state, or a timer operation. */
export type Op =
  | { readonly kind: 'update'; readonly key: Key; readonly value: number }
  | { readonly kind: 'clear'; readonly key: Key; readonly state: (typeof STATE_NAMES)[number] }
  | { readonly kind: 'listAdd'; readonly key: Key; readonly value: string }
  | { readonly kind: 'mapPut'; readonly key: Key; readonly mapKey: string; readonly value: number }
  | { readonly kind: 'mapRemove'; readonly key: Key; readonly mapKey: string }
  | { readonly kind: 'reduce'; readonly key: Key; readonly value: number }
  | { readonly kind: 'aggregate'; readonly key: Key; readonly value: number }
  | { readonly kind: 'timerAdd'; readonly key: Key; readonly timestamp: number }
  | { readonly kind: 'timerRemove'; readonly key: Key; readonly timestamp: number }
  | { readonly kind: 'poll' };

/** Applies `op` to a backend through its state objects; returns the timer a poll took (give it to `Model.apply`). */
export function applyOp(b: KeyedStateBackend<Key>, d: Declared, op: Op): Timer<Key> | undefined {
  if (op.kind === 'poll') return d.timers.poll();
  b.setCurrentKey(op.key);
  switch (op.kind) {
    case 'update':
      d.v.update(op.value);
      break;
    case 'clear':
      d[op.state].clear();
      break;
    case 'listAdd':
      d.l.add(op.value);
      break;
    case 'mapPut':
      d.m.put(op.mapKey, op.value);
      break;
    case 'mapRemove':
      d.m.remove(op.mapKey);
      break;
    case 'reduce':
      d.r.add({ total: op.value });
      break;
    case 'aggregate':
      d.a.add(op.value);
      break;
    case 'timerAdd':
      d.timers.add(op.key, op.timestamp);
      break;
    case 'timerRemove':
      d.timers.remove(op.key, op.timestamp);
      break;
  }
  return undefined;
}

/** The state as plain sorted data, comparable with toEqual; ids are JSON.stringify(key). */
export interface Dump {
  v: [string, number][];
  l: [string, string[]][];
  m: [string, [string, number][]][];
  r: [string, number][];
  a: [string, string][];
  timers: string[];
}

const idOf = (key: Key): string => JSON.stringify(key);
const byId = <T>(entries: Iterable<[string, T]>): [string, T][] =>
  [...entries].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));

/** A plain-JS model of `Declared`, with the timer queue's firing order (timestamp, registration). */
export class Model {
  readonly v = new Map<string, [Key, number]>();
  readonly l = new Map<string, [Key, string[]]>();
  readonly m = new Map<string, [Key, Map<string, number>]>();
  readonly r = new Map<string, [Key, number]>();
  readonly a = new Map<string, [Key, { sum: number; count: number }]>();
  readonly timers = new Map<string, { key: Key; timestamp: number; seq: number }>();
  private seq = 0;

  /**
   * Applies `op` as a backend would. For a poll, `polled` is what the backend's poll returned:
   * among timers of the earliest timestamp the order is the backend's, so the model checks that
   * it is one of them and removes that one.
   */
  apply(op: Op, polled?: Timer<Key>): void {
    if (op.kind === 'poll') {
      let head: { key: Key; timestamp: number; seq: number } | undefined;
      for (const t of this.timers.values())
        if (!head || t.timestamp < head.timestamp || (t.timestamp === head.timestamp && t.seq < head.seq))
          head = t;
      if (head === undefined) {
        if (polled !== undefined) throw new Error('the backend polled a timer from an empty queue');
        return;
      }
      if (polled === undefined) throw new Error('the backend polled nothing while timers were queued');
      const id = `${idOf(polled.key)}@${polled.timestamp}`;
      if (polled.timestamp !== head.timestamp || !this.timers.has(id))
        throw new Error(`the backend polled ${id}, not a timer of the earliest time ${head.timestamp}`);
      this.timers.delete(id);
      return;
    }
    const id = idOf(op.key);
    switch (op.kind) {
      case 'update':
        return void this.v.set(id, [op.key, op.value]);
      case 'clear':
        return void this[op.state].delete(id);
      case 'listAdd': {
        const list = this.l.get(id);
        if (list) list[1].push(op.value);
        else this.l.set(id, [op.key, [op.value]]);
        return;
      }
      case 'mapPut': {
        const map = this.m.get(id) ?? [op.key, new Map<string, number>()];
        map[1].set(op.mapKey, op.value);
        this.m.set(id, map);
        return;
      }
      case 'mapRemove': {
        const map = this.m.get(id);
        map?.[1].delete(op.mapKey);
        if (map?.[1].size === 0) this.m.delete(id);
        return;
      }
      case 'reduce':
        return void this.r.set(id, [op.key, (this.r.get(id)?.[1] ?? 0) + op.value]);
      case 'aggregate': {
        const acc = this.a.get(id)?.[1] ?? { sum: 0, count: 0 };
        this.a.set(id, [op.key, { sum: acc.sum + op.value, count: acc.count + 1 }]);
        return;
      }
      case 'timerAdd': {
        const tid = `${id}@${op.timestamp}`;
        if (!this.timers.has(tid))
          this.timers.set(tid, { key: op.key, timestamp: op.timestamp, seq: this.seq++ });
        return;
      }
      case 'timerRemove':
        return void this.timers.delete(`${id}@${op.timestamp}`);
    }
  }

  /** The model as a Dump (fresh arrays: a deep copy of the state at this moment). */
  dump(): Dump {
    return {
      v: byId([...this.v].map(([id, [, n]]) => [id, n])),
      l: byId([...this.l].map(([id, [, list]]) => [id, list.slice()])),
      m: byId([...this.m].map(([id, [, map]]) => [id, byId(map)])),
      r: byId([...this.r].map(([id, [, n]]) => [id, n])),
      a: byId([...this.a].map(([id, [, acc]]) => [id, `${acc.sum}/${acc.count}`])),
      timers: [...this.timers.keys()].sort(),
    };
  }
}

/** The backend's state as a Dump, read through the state objects of `d`. */
export function dumpBackend(b: KeyedStateBackend<Key>, d: Declared): Dump {
  const read = <T>(name: string, get: () => T): [string, T][] =>
    byId(
      [...b.getKeys(name)].map((key): [string, T] => {
        b.setCurrentKey(key);
        return [idOf(key), get()];
      }),
    );
  const timers: string[] = [];
  for (let kg = b.keyGroupRange.start; kg <= b.keyGroupRange.end; kg++)
    for (const t of d.timers.timersInKeyGroup(kg)) timers.push(`${idOf(t.key)}@${t.timestamp}`);
  return {
    v: read('v', () => d.v.value()!),
    l: read('l', () => [...d.l.get()]),
    m: read('m', () => byId(d.m.entries() as Iterable<[string, number]>)),
    r: read('r', () => d.r.get()!.total),
    a: read('a', () => d.a.get()!),
    timers: timers.sort(),
  };
}

/** A small deterministic PRNG (mulberry32), so generated workloads repeat run to run. */
export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` random ops over `keyCount` keys (ints, strings and pairs), every kind of op represented. */
export function randomOps(random: () => number, n: number, keyCount: number): Op[] {
  const pick = (k: number): number => Math.floor(random() * k);
  const key = (): Key => {
    const i = pick(keyCount);
    return i % 3 === 0 ? i : i % 3 === 1 ? `k${i}` : ['p', i];
  };
  const ops: Op[] = [];
  for (let i = 0; i < n; i++) {
    const k = key();
    switch (pick(11)) {
      case 0:
        ops.push({ kind: 'update', key: k, value: pick(1000) });
        break;
      case 1:
        ops.push({ kind: 'clear', key: k, state: STATE_NAMES[pick(STATE_NAMES.length)]! });
        break;
      case 2:
        ops.push({ kind: 'listAdd', key: k, value: `e${pick(100)}` });
        break;
      case 3:
        ops.push({ kind: 'mapPut', key: k, mapKey: `mk${pick(5)}`, value: pick(100) });
        break;
      case 4:
        ops.push({ kind: 'mapRemove', key: k, mapKey: `mk${pick(5)}` });
        break;
      case 5:
        ops.push({ kind: 'reduce', key: k, value: pick(10) });
        break;
      case 6:
        ops.push({ kind: 'aggregate', key: k, value: pick(10) });
        break;
      case 7:
      case 8:
        ops.push({ kind: 'timerAdd', key: k, timestamp: pick(50) });
        break;
      case 9:
        ops.push({ kind: 'timerRemove', key: k, timestamp: pick(50) });
        break;
      default:
        ops.push({ kind: 'poll' });
    }
  }
  return ops;
}
