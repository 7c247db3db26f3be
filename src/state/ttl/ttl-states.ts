/**
 * Keyed state with a time-to-live (Flink's TtlStateFactory and Ttl*State): each kind wraps the
 * backend's state of the same kind, whose values are TtlValues, so both backends get TTL alike.
 */
import type { TypeSerializer } from '../../core/serializer.js';
import type { AggregateFunction } from '../functions.js';
import type { KeyedStateBackend, StateFor } from '../keyed-state-backend.js';
import {
  AggregatingStateDescriptor,
  ListStateDescriptor,
  MapStateDescriptor,
  ReducingStateDescriptor,
  ValueStateDescriptor,
  type StateDescriptor,
} from '../state-descriptor.js';
import { valueSerializerOf } from '../heap/keyed-snapshot-format.js';
import type { AggregatingState, ListState, MapState, ReducingState, State, ValueState } from '../state.js';
import type { StateTtlConfig } from './state-ttl-config.js';
import { TtlValue, ttlSerializerOf } from './ttl-value.js';

/** Which backend a factory serves: their background cleanup defaults differ, as in Flink. */
export type TtlBackendKind = 'heap' | 'lmdb';

/** How one TTL state checks expiry; shared by the wrapper and the background cleanup. */
class TtlPolicy {
  readonly ttl: number;
  readonly returnExpired: boolean;
  private readonly refreshOnRead: boolean;
  /** Set while the background cleanup reads: no refresh on read, no nested cleanup step. */
  private quiet = false;

  constructor(
    config: StateTtlConfig,
    readonly now: () => number,
    /** One step of background cleanup, run on each access. */
    private readonly cleanupStep: () => void,
  ) {
    this.ttl = config.getTtl();
    this.refreshOnRead = config.getUpdateType() === 'OnReadAndWrite';
    this.returnExpired = config.getStateVisibility() === 'ReturnExpiredIfNotCleanedUp';
  }

  get updateOnRead(): boolean {
    return this.refreshOnRead && !this.quiet;
  }

  step(): void {
    if (!this.quiet) this.cleanupStep();
  }

  expired(value: TtlValue<unknown>, now: number): boolean {
    return value.lastAccessTimestamp + this.ttl <= now;
  }

  /** Runs `read` as the cleanup does: timestamps stay, no cleanup step runs inside it. */
  quietly(read: () => unknown): void {
    this.quiet = true;
    try {
      read();
    } finally {
      this.quiet = false;
    }
  }
}

/** An added value that only refreshes the timestamp (reducing and aggregating states have no update). */
const TOUCH = new TtlValue<unknown>(undefined, 0);

class TtlValueState<T> implements ValueState<T> {
  constructor(
    private readonly inner: ValueState<TtlValue<T>>,
    private readonly policy: TtlPolicy,
    private readonly defaultValue: () => T | undefined,
  ) {}

  value(): T | undefined {
    const p = this.policy;
    p.step();
    const stored = this.inner.value();
    if (stored === undefined) return this.defaultValue();
    const now = p.now();
    if (p.expired(stored, now)) {
      this.inner.clear();
      return p.returnExpired ? stored.userValue : this.defaultValue();
    }
    if (p.updateOnRead) {
      stored.lastAccessTimestamp = now;
      this.inner.update(stored);
    }
    return stored.userValue;
  }

  update(value: T | undefined): void {
    this.policy.step();
    if (value === undefined) this.inner.clear();
    else this.inner.update(new TtlValue(value, this.policy.now()));
  }

  clear(): void {
    this.inner.clear();
  }
}

class TtlListState<T> implements ListState<T> {
  constructor(
    private readonly inner: ListState<TtlValue<T>>,
    private readonly policy: TtlPolicy,
  ) {}

  get(): readonly T[] {
    const p = this.policy;
    p.step();
    const stored = this.inner.get();
    if (stored.length === 0) return [];
    const now = p.now();
    const live: TtlValue<T>[] = [];
    const values: T[] = [];
    for (const element of stored) {
      const isExpired = p.expired(element, now);
      if (!isExpired) live.push(p.updateOnRead ? new TtlValue(element.userValue, now) : element);
      if (!isExpired || p.returnExpired) values.push(element.userValue);
    }
    if (live.length !== stored.length || p.updateOnRead) this.inner.update(live);
    return values;
  }

  add(value: T): void {
    this.policy.step();
    this.inner.add(new TtlValue(value, this.policy.now()));
  }

  addAll(values: readonly T[]): void {
    this.policy.step();
    const now = this.policy.now();
    this.inner.addAll(values.map((v) => new TtlValue(v, now)));
  }

  update(values: readonly T[]): void {
    this.policy.step();
    const now = this.policy.now();
    this.inner.update(values.map((v) => new TtlValue(v, now)));
  }

  clear(): void {
    this.inner.clear();
  }
}

class TtlMapState<K, V> implements MapState<K, V> {
  constructor(
    private readonly inner: MapState<K, TtlValue<V>>,
    private readonly policy: TtlPolicy,
  ) {}

  get(key: K): V | undefined {
    const p = this.policy;
    p.step();
    return this.live(key, p.now())?.userValue;
  }

  /** The entry under `key` unless expired (then removed; returned once if expired ones may be). */
  private live(key: K, now: number): TtlValue<V> | undefined {
    const p = this.policy;
    const stored = this.inner.get(key);
    if (stored === undefined) return undefined;
    if (p.expired(stored, now)) {
      this.inner.remove(key);
      return p.returnExpired ? stored : undefined;
    }
    if (p.updateOnRead) {
      stored.lastAccessTimestamp = now;
      this.inner.put(key, stored);
    }
    return stored;
  }

  put(key: K, value: V): void {
    this.policy.step();
    this.inner.put(key, new TtlValue(value, this.policy.now()));
  }

  putAll(entries: Iterable<readonly [K, V]> | Readonly<Record<string, V>>): void {
    this.policy.step();
    const now = this.policy.now();
    const pairs: Iterable<readonly [K, V]> =
      Symbol.iterator in (entries as object)
        ? (entries as Iterable<readonly [K, V]>)
        : (Object.entries(entries as Record<string, V>) as unknown as Iterable<readonly [K, V]>);
    for (const [k, v] of pairs) this.inner.put(k, new TtlValue(v, now));
  }

  remove(key: K): void {
    this.policy.step();
    this.inner.remove(key);
  }

  contains(key: K): boolean {
    const p = this.policy;
    p.step();
    return this.live(key, p.now()) !== undefined;
  }

  *entries(): IterableIterator<readonly [K, V]> {
    const p = this.policy;
    p.step();
    const now = p.now();
    const expired: K[] = [];
    const touched: [K, TtlValue<V>][] = [];
    try {
      for (const [key, stored] of this.inner.entries()) {
        if (p.expired(stored, now)) {
          expired.push(key);
          if (!p.returnExpired) continue;
        } else if (p.updateOnRead) touched.push([key, stored]);
        yield [key, stored.userValue] as const;
      }
    } finally {
      // Written after the walk: the inner map is not changed while it is being iterated.
      for (const key of expired) this.inner.remove(key);
      for (const [key, stored] of touched) this.inner.put(key, new TtlValue(stored.userValue, now));
    }
  }

  *keys(): IterableIterator<K> {
    for (const [key] of this.entries()) yield key;
  }

  *values(): IterableIterator<V> {
    for (const [, value] of this.entries()) yield value;
  }

  isEmpty(): boolean {
    for (const _ of this.entries()) return false;
    return true;
  }

  clear(): void {
    this.inner.clear();
  }
}

/** Reading a reducing or aggregating state's stored TtlValue, with the expiry rules. */
function readAccumulated<A>(
  inner: { get(): TtlValue<A> | undefined; add(touch: never): void; clear(): void },
  p: TtlPolicy,
): TtlValue<A> | undefined {
  p.step();
  const stored = inner.get();
  if (stored === undefined) return undefined;
  const now = p.now();
  if (p.expired(stored, now)) {
    inner.clear();
    return p.returnExpired ? stored : undefined;
  }
  if (p.updateOnRead) inner.add(TOUCH as never);
  return stored;
}

class TtlReducingState<T> implements ReducingState<T> {
  constructor(
    private readonly inner: ReducingState<TtlValue<T>>,
    private readonly policy: TtlPolicy,
  ) {}

  get(): T | undefined {
    return readAccumulated(this.inner, this.policy)?.userValue;
  }

  add(value: T): void {
    this.policy.step();
    if (value === undefined) this.inner.clear();
    else this.inner.add(new TtlValue(value, this.policy.now()));
  }

  clear(): void {
    this.inner.clear();
  }
}

class TtlAggregatingState<IN, ACC, OUT> implements AggregatingState<IN, OUT> {
  constructor(
    private readonly inner: AggregatingState<IN, TtlValue<ACC>>,
    private readonly policy: TtlPolicy,
    private readonly fn: AggregateFunction<IN, ACC, OUT>,
  ) {}

  get(): OUT | undefined {
    const stored = readAccumulated(this.inner, this.policy);
    return stored === undefined ? undefined : this.fn.getResult(stored.userValue);
  }

  add(value: IN): void {
    this.policy.step();
    if (value === undefined) this.inner.clear();
    else this.inner.add(value);
  }

  clear(): void {
    this.inner.clear();
  }
}

/** The reduce function of the inner state: an expired stored value counts as absent. */
function ttlReduce<T>(
  reduce: (a: T, b: T) => T,
  p: TtlPolicy,
): (a: TtlValue<T>, b: TtlValue<T>) => TtlValue<T> {
  return (a, b) => {
    const now = p.now();
    if (b === TOUCH) return new TtlValue(a.userValue, now);
    if (p.expired(a, now)) return b;
    return new TtlValue(reduce(a.userValue, b.userValue), now);
  };
}

/** The aggregate function of the inner state: the accumulator is a TtlValue; an expired one starts over. */
function ttlAggregate<IN, ACC, OUT>(
  fn: AggregateFunction<IN, ACC, OUT>,
  p: TtlPolicy,
): AggregateFunction<IN, TtlValue<ACC>, TtlValue<ACC>> {
  return {
    createAccumulator: () => new TtlValue(fn.createAccumulator(), p.now()),
    add(value, acc) {
      const now = p.now();
      if ((value as unknown) === TOUCH) return new TtlValue(acc.userValue, now);
      const base = p.expired(acc, now) ? fn.createAccumulator() : acc.userValue;
      return new TtlValue(fn.add(value, base), now);
    },
    // The wrapper reads the accumulator and applies the user's getResult after its expiry check.
    getResult: (acc) => acc,
    merge: (a, b) =>
      new TtlValue(
        fn.merge(a.userValue, b.userValue),
        Math.max(a.lastAccessTimestamp, b.lastAccessTimestamp),
      ),
  };
}

/** What a TTL state needs of its backend beyond declaring the inner state. */
interface RegisteredTtlState {
  readonly state: State;
  readonly policy: TtlPolicy;
}

/**
 * Creates the TTL states of one keyed backend and runs their cleanup: expired values are removed
 * when read, by background cleanup steps on access (heap: `cleanupIncrementally`, 5 entries per
 * access by default; LMDB: Flink's compaction filter as a step of N entries every N accesses),
 * and, with `cleanupFullSnapshot`, once when a restored state is declared.
 */
export class TtlStateFactory {
  private readonly states = new Map<string, RegisteredTtlState>();

  constructor(
    private readonly backend: KeyedStateBackend,
    private readonly kind: TtlBackendKind,
    private readonly now: () => number,
    private readonly defaultSerializer: TypeSerializer<unknown>,
    /** The backend's own default-value copier for ValueState (objects are copied per key). */
    private readonly defaultValueOf: (descriptor: ValueStateDescriptor<unknown>) => () => unknown,
  ) {}

  /** The TTL state `descriptor` (whose ttlConfig is enabled) declares, created on first use. */
  getOrCreate<D extends StateDescriptor>(descriptor: D): StateFor<D> {
    const existing = this.states.get(descriptor.name);
    if (existing !== undefined) return existing.state as StateFor<D>;
    const config = descriptor.ttlConfig!;
    const cleanup = new BackgroundCleanup(this.backend, descriptor.name, config, this.kind);
    const policy = new TtlPolicy(config, this.now, () => cleanup.step());
    const state = this.create(descriptor, policy);
    cleanup.bind(state, policy);
    this.states.set(descriptor.name, { state, policy });
    if (config.getCleanupStrategies().fullSnapshot) cleanup.sweepAll();
    return state as StateFor<D>;
  }

  private create(descriptor: StateDescriptor, policy: TtlPolicy): State {
    const b = this.backend;
    const serializer = ttlSerializerOf(valueSerializerOf(descriptor, this.defaultSerializer));
    switch (descriptor.kind) {
      case 'value': {
        const inner = b.getOrCreateKeyedState(new ValueStateDescriptor(descriptor.name, { serializer }));
        return new TtlValueState(inner, policy, this.defaultValueOf(descriptor));
      }
      case 'list': {
        const inner = b.getOrCreateKeyedState(
          new ListStateDescriptor(descriptor.name, { elementSerializer: serializer }),
        );
        return new TtlListState(inner, policy);
      }
      case 'map': {
        const inner = b.getOrCreateKeyedState(
          new MapStateDescriptor(descriptor.name, {
            keySerializer: descriptor.keySerializer ?? this.defaultSerializer,
            valueSerializer: serializer,
          }),
        );
        return new TtlMapState(inner, policy);
      }
      case 'reducing': {
        const fn = descriptor.reduceFunction;
        const inner = b.getOrCreateKeyedState(
          new ReducingStateDescriptor(
            descriptor.name,
            ttlReduce((a, c) => fn.reduce(a, c), policy),
            { serializer },
          ),
        );
        return new TtlReducingState(inner, policy);
      }
      case 'aggregating': {
        const fn = descriptor.aggregateFunction;
        const inner = b.getOrCreateKeyedState(
          new AggregatingStateDescriptor(descriptor.name, ttlAggregate(fn, policy), {
            accumulatorSerializer: serializer,
          }),
        );
        return new TtlAggregatingState(inner, policy, fn);
      }
    }
  }
}

/**
 * Walks a TTL state's keys a few at a time, removing what expired (Flink's incremental cleanup,
 * and this backend's stand-in for RocksDB's compaction filter).
 */
class BackgroundCleanup {
  /** Entries checked per step (0: no background cleanup). */
  private readonly size: number;
  /** Accesses between two steps. */
  private readonly every: number;
  private accesses = 0;
  private keys: Iterator<unknown> | undefined;
  private check: (() => void) | undefined;

  constructor(
    private readonly backend: KeyedStateBackend,
    private readonly name: string,
    config: StateTtlConfig,
    kind: TtlBackendKind,
  ) {
    const c = config.getCleanupStrategies();
    if (c.incremental !== undefined) [this.size, this.every] = [c.incremental.cleanupSize, 1];
    else if (c.compactionFilterEntries !== undefined)
      [this.size, this.every] = [c.compactionFilterEntries, c.compactionFilterEntries];
    else if (!c.inBackground) [this.size, this.every] = [0, 1];
    // Flink's defaults when cleanup in background is on: 5 per access on the heap, the compaction
    // filter (1000 entries) on RocksDB.
    else if (kind === 'heap') [this.size, this.every] = [5, 1];
    else [this.size, this.every] = [1000, 1000];
  }

  /** Sets what one key's check does: read it through the TTL state, which removes what expired. */
  bind(state: State, policy: TtlPolicy): void {
    this.check = visitorOf(state, policy);
  }

  step(): void {
    if (this.size === 0 || ++this.accesses < this.every) return;
    this.accesses = 0;
    this.run(this.size);
  }

  /** Checks every key once (cleanupFullSnapshot, after a restore). */
  sweepAll(): void {
    const keys = [...this.backend.getKeys(this.name)];
    this.visit(keys[Symbol.iterator](), keys.length);
  }

  private run(n: number): void {
    this.keys ??= this.backend.getKeys(this.name)[Symbol.iterator]();
    if (this.visit(this.keys, n)) this.keys = undefined;
  }

  /** Checks up to `n` keys of `keys`; returns whether `keys` ran out. The current key is kept. */
  private visit(keys: Iterator<unknown>, n: number): boolean {
    const check = this.check;
    if (check === undefined) return true;
    const backend = this.backend;
    let current: unknown;
    let hasCurrent = true;
    try {
      current = backend.getCurrentKey();
    } catch {
      hasCurrent = false;
    }
    const batch: unknown[] = [];
    let done = false;
    for (let i = 0; i < n; i++) {
      const next = keys.next();
      if (next.done === true) {
        done = true;
        break;
      }
      batch.push(next.value);
    }
    try {
      // Checked after the batch was taken: removing keys never runs inside the backend's iteration.
      for (const key of batch) {
        backend.setCurrentKey(key);
        check();
      }
    } finally {
      if (hasCurrent) backend.setCurrentKey(current);
    }
    return done;
  }
}

/** How the cleanup checks the current key of a TTL state: the state's own reads remove what expired. */
function visitorOf(state: State, policy: TtlPolicy): () => void {
  if (state instanceof TtlValueState) return () => policy.quietly(() => state.value());
  if (state instanceof TtlListState)
    return () => policy.quietly(() => (state as TtlListState<unknown>).get());
  if (state instanceof TtlMapState)
    return () => policy.quietly(() => [...(state as TtlMapState<unknown, unknown>).entries()]);
  if (state instanceof TtlReducingState || state instanceof TtlAggregatingState)
    return () => policy.quietly(() => state.get());
  return () => {};
}
