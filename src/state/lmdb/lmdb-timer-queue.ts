/**
 * Timers of the LMDB backend on disk (Flink's RocksDB timer service): each timer is an LMDB entry
 * ordered by key group, queue, timestamp, key, and each key group keeps its earliest timers (at
 * most CACHE_SIZE) in memory, its earliest one in a min-heap over key groups (Flink's
 * `KeyGroupPartitionedPriorityQueue` of `RocksDBCachingPriorityQueueSet`s). Millions of timers
 * cost no heap beyond the caches.
 */
import { SluiceError } from '../../core/errors.js';
import { assignToKeyGroup, type KeyGroupRange } from '../../core/key-groups.js';
import type { TypeSerializer } from '../../core/serializer.js';
import { canonicalBytes } from '../../core/stable-hash.js';
import { keyGroupOutOfRange } from '../state-errors.js';
import {
  checkTimestamp,
  removeAt,
  siftDown,
  siftUp,
  type HeapNode,
  type KeyedTimerQueue,
  type Timer,
} from '../timer-queue.js';
import { KEY_PREFIX_BYTES, MAX_KEY_BYTES, rangeStart } from './lmdb-key-layout.js';
import type { LmdbStore } from './lmdb-store.js';

/** The bytes of a timestamp between the prefix and the key: a sortable f64. */
const TIMESTAMP_BYTES = 8;

/**
 * A key group keeps at most this many of its earliest timers in memory (Flink's RocksDB timer
 * cache size, 128). Polling a cached timer reads nothing from LMDB; only when a key group's cache
 * runs empty while LMDB holds more does it read the next ones, which writes the store's buffered
 * writes first. Without the cache, every poll read LMDB and so wrote the buffer: one write
 * transaction per timer fired.
 */
const CACHE_SIZE = 128;

/** A cached timer of a key group; its earliest one is in the heap of heads. */
class Head<K> implements Timer<K>, HeapNode {
  /** Position in the heap of heads; -1 when not the head. */
  index = -1;
  constructor(
    readonly key: K,
    readonly timestamp: number,
    readonly lmdbKey: Buffer,
    readonly offset: number,
  ) {}
}

/** What an LmdbTimerQueue is created with. */
export interface LmdbTimerQueueOptions {
  readonly store: LmdbStore;
  /** The id of the queue in LMDB keys (after the key group), apart from the states' ids. */
  readonly id: number;
  readonly maxParallelism: number;
  readonly keyGroupRange: KeyGroupRange;
  readonly keySerializer: TypeSerializer<unknown>;
}

/**
 * One named timer queue in LMDB. The stored value is the key serializer's bytes of the key, so a
 * snapshot writes a timer as it is (see `writeLmdbTimerBlock`, lmdb-snapshot-blocks.ts); the LMDB key is
 * `u16 keyGroup | u16 id | sortable f64 timestamp | canonical key bytes`, which orders a key
 * group's timers by time and makes (key, timestamp) unique.
 */
export class LmdbTimerQueue<K = unknown> implements KeyedTimerQueue<K> {
  private readonly store: LmdbStore;
  /** The queue's id in LMDB keys. */
  readonly id: number;
  private readonly maxParallelism: number;
  private readonly keyGroupRange: KeyGroupRange;
  private readonly keySerializer: TypeSerializer<unknown>;
  /** Per key group (offset): its earliest timer, or null when it has none. */
  private readonly heads: (Head<K> | null)[];
  /**
   * Per key group (offset): its earliest timers in LMDB key order, at most CACHE_SIZE; every timer
   * of the key group up to the last cached one is cached. Empty only when `complete`.
   */
  private readonly caches: Head<K>[][];
  /** Per key group (offset): 1 when its cache holds all of its timers (no LMDB read finds more). */
  private readonly complete: Uint8Array;
  /** The key groups that have timers, as a min-heap on their heads. */
  private readonly heap: Head<K>[] = [];
  private count = 0;
  /**
   * Incremental checkpoints: 1 for each key group (offset) whose timers changed since the last
   * snapshot, as the heap backend's queue marks them; undefined when not tracked.
   */
  changedGroups: Uint8Array | undefined = undefined;

  constructor(options: LmdbTimerQueueOptions) {
    this.store = options.store;
    this.id = options.id;
    this.maxParallelism = options.maxParallelism;
    this.keyGroupRange = options.keyGroupRange;
    this.keySerializer = options.keySerializer;
    const groups = Math.max(0, options.keyGroupRange.end - options.keyGroupRange.start + 1);
    this.heads = new Array<Head<K> | null>(groups).fill(null);
    this.caches = Array.from({ length: groups }, () => []);
    this.complete = new Uint8Array(groups).fill(1);
  }

  get size(): number {
    return this.count;
  }

  add(key: K, timestamp: number): boolean {
    const ts = checkTimestamp(key, timestamp);
    const keyGroup = this.keyGroupOf(key);
    const offset = keyGroup - this.keyGroupRange.start;
    const lmdbKey = this.lmdbKeyOf(keyGroup, ts, key);
    const cache = this.caches[offset]!;
    const at = lowerBound(cache, ts, lmdbKey);
    if (at < cache.length || this.complete[offset] === 1) {
      // Within the cached range: the cache says whether it is queued, and takes it.
      if (at < cache.length && cache[at]!.lmdbKey.equals(lmdbKey)) return false;
      this.added(offset, lmdbKey, key);
      cache.splice(at, 0, new Head(key, ts, lmdbKey, offset));
      if (cache.length > CACHE_SIZE) {
        cache.pop();
        this.complete[offset] = 0;
      }
      if (at !== 0) return false;
      this.setHead(offset, cache[0]!);
      return this.heap[0] === cache[0];
    }
    // After the last cached timer: only in LMDB, and never the head.
    if (this.store.has(lmdbKey)) return false;
    this.added(offset, lmdbKey, key);
    return false;
  }

  remove(key: K, timestamp: number): boolean {
    const ts = checkTimestamp(key, timestamp);
    const keyGroup = this.keyGroupOf(key);
    const offset = keyGroup - this.keyGroupRange.start;
    const lmdbKey = this.lmdbKeyOf(keyGroup, ts, key);
    const cache = this.caches[offset]!;
    const at = lowerBound(cache, ts, lmdbKey);
    if (at < cache.length || this.complete[offset] === 1) {
      if (at === cache.length || !cache[at]!.lmdbKey.equals(lmdbKey)) return false;
      const wasHead = this.heap[0] === cache[at];
      this.removed(offset, lmdbKey);
      cache.splice(at, 1);
      if (at === 0) this.headRemoved(offset);
      return wasHead;
    }
    if (!this.store.has(lmdbKey)) return false;
    this.removed(offset, lmdbKey);
    return false;
  }

  contains(key: K, timestamp: number): boolean {
    const ts = checkTimestamp(key, timestamp);
    const keyGroup = this.keyGroupOf(key);
    const offset = keyGroup - this.keyGroupRange.start;
    const lmdbKey = this.lmdbKeyOf(keyGroup, ts, key);
    const cache = this.caches[offset]!;
    const at = lowerBound(cache, ts, lmdbKey);
    if (at < cache.length) return cache[at]!.lmdbKey.equals(lmdbKey);
    return this.complete[offset] === 1 ? false : this.store.has(lmdbKey);
  }

  peek(): Timer<K> | undefined {
    return this.heap[0];
  }

  poll(): Timer<K> | undefined {
    const head = this.heap[0];
    if (head === undefined) return undefined;
    this.removed(head.offset, head.lmdbKey);
    this.caches[head.offset]!.shift();
    this.headRemoved(head.offset);
    return head;
  }

  *timersInKeyGroup(keyGroup: number): IterableIterator<Timer<K>> {
    if (keyGroup < this.keyGroupRange.start || keyGroup > this.keyGroupRange.end)
      throw new SluiceError(
        'SLUICE_INTERNAL_ASSERTION',
        `timer queue: key group ${keyGroup} is outside its range ` +
          `[${this.keyGroupRange.start}, ${this.keyGroupRange.end}]`,
      );
    for (const key of this.store.keys(rangeStart(keyGroup, this.id), rangeStart(keyGroup, this.id + 1)))
      yield this.timerAt(key, this.store.get(key)!);
  }

  /** The timer an LMDB entry holds. */
  private timerAt(lmdbKey: Buffer, serializedKey: Buffer): Timer<K> {
    return {
      key: this.keySerializer.deserialize(serializedKey, 0, serializedKey.length) as K,
      timestamp: timestampOf(lmdbKey),
    };
  }

  private added(offset: number, lmdbKey: Buffer, key: K): void {
    this.store.put(lmdbKey, this.keySerializer.serialize(key));
    this.count++;
    if (this.changedGroups !== undefined) this.changedGroups[offset] = 1;
  }

  private removed(offset: number, lmdbKey: Buffer): void {
    this.store.remove(lmdbKey);
    this.count--;
    if (this.changedGroups !== undefined) this.changedGroups[offset] = 1;
  }

  /** Key group `offset`'s earliest timer left its cache: the next one becomes the head. */
  private headRemoved(offset: number): void {
    const cache = this.caches[offset]!;
    if (cache.length === 0 && this.complete[offset] === 0) this.refill(offset);
    this.setHead(offset, cache[0] ?? null);
  }

  /** Reads key group `offset`'s earliest timers from LMDB into its empty cache. */
  private refill(offset: number): void {
    const keyGroup = this.keyGroupRange.start + offset;
    const cache = this.caches[offset]!;
    // One more than fits says whether LMDB holds timers past the cache.
    const end = rangeStart(keyGroup, this.id + 1);
    let read = 0;
    for (const { key, value } of this.store.entries(rangeStart(keyGroup, this.id), end, CACHE_SIZE + 1)) {
      if (++read > CACHE_SIZE) break;
      const timer = this.timerAt(key, value);
      // LMDB may reuse a key's buffer for the next entry: the cache keeps a copy.
      cache.push(new Head(timer.key, timer.timestamp, Buffer.from(key), offset));
    }
    this.complete[offset] = read > CACHE_SIZE ? 0 : 1;
  }

  /** Replaces the cached head of key group `offset` and restores the heap order. */
  private setHead(offset: number, head: Head<K> | null): void {
    const old = this.heads[offset]!;
    this.heads[offset] = head;
    const heap = this.heap;
    if (old !== null) {
      const index = old.index;
      old.index = -1;
      if (head !== null) {
        heap[index] = head;
        head.index = index;
        siftDown(heap, index, before);
        siftUp(heap, head.index, before);
      } else removeAt(heap, index, before);
      return;
    }
    if (head === null) return;
    head.index = heap.length;
    heap.push(head);
    siftUp(heap, head.index, before);
  }

  private keyGroupOf(key: K): number {
    const keyGroup = assignToKeyGroup(key, this.maxParallelism);
    if (keyGroup < this.keyGroupRange.start || keyGroup > this.keyGroupRange.end)
      throw keyGroupOutOfRange(key, keyGroup, this.keyGroupRange, this.maxParallelism);
    return keyGroup;
  }

  private lmdbKeyOf(keyGroup: number, timestamp: number, key: K): Buffer {
    const canonical = canonicalBytes(key);
    const length = KEY_PREFIX_BYTES + TIMESTAMP_BYTES + canonical.length;
    if (length > MAX_KEY_BYTES)
      throw new SluiceError(
        'SLUICE_STATE_INVALID_ACCESS',
        `a timer's key encodes to ${canonical.length} bytes, more than the lmdb state backend's limit of ` +
          `${MAX_KEY_BYTES - KEY_PREFIX_BYTES - TIMESTAMP_BYTES}; key the stream by something shorter, ` +
          'or use state.backend.type: hashmap.',
      );
    const b = Buffer.allocUnsafe(length);
    b.writeUInt16BE(keyGroup, 0);
    b.writeUInt16BE(this.id, 2);
    writeSortableTimestamp(b, KEY_PREFIX_BYTES, timestamp);
    b.set(canonical, KEY_PREFIX_BYTES + TIMESTAMP_BYTES);
    return b;
  }
}

/** The index of the first cached timer at or after (`timestamp`, `lmdbKey`) in LMDB key order. */
function lowerBound<K>(cache: readonly Head<K>[], timestamp: number, lmdbKey: Buffer): number {
  let lo = 0;
  let hi = cache.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const t = cache[mid]!;
    const after =
      t.timestamp < timestamp || (t.timestamp === timestamp && Buffer.compare(t.lmdbKey, lmdbKey) < 0);
    if (after) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function before<K>(a: Head<K>, b: Head<K>): boolean {
  return a.timestamp < b.timestamp || (a.timestamp === b.timestamp && a.offset < b.offset);
}

/**
 * Writes `timestamp` so that bytewise order is numeric order: the f64's bits, big-endian, with
 * the sign bit flipped for positives and every bit flipped for negatives.
 */
function writeSortableTimestamp(b: Buffer, at: number, timestamp: number): void {
  b.writeDoubleBE(timestamp, at);
  if ((b[at]! & 0x80) === 0) b[at] = b[at]! | 0x80;
  else for (let i = at; i < at + TIMESTAMP_BYTES; i++) b[i] = ~b[i]! & 0xff;
}

/** The timestamp of a timer's LMDB key. */
export function timestampOf(lmdbKey: Buffer): number {
  const bytes = Buffer.from(lmdbKey.subarray(KEY_PREFIX_BYTES, KEY_PREFIX_BYTES + TIMESTAMP_BYTES));
  if ((bytes[0]! & 0x80) !== 0) bytes[0] = bytes[0]! & 0x7f;
  else for (let i = 0; i < TIMESTAMP_BYTES; i++) bytes[i] = ~bytes[i]! & 0xff;
  return bytes.readDoubleBE(0);
}
