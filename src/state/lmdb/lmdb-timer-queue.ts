/**
 * Timers of the LMDB backend on disk (Flink's RocksDB timer service): each timer is an LMDB entry
 * ordered by key group, queue, timestamp, key, and only each key group's earliest timer is kept
 * in memory, in a min-heap over key groups (Flink's `KeyGroupPartitionedPriorityQueue` with
 * cached heads). Millions of timers cost no heap.
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

/** A key group's earliest timer, cached. */
class Head<K> implements Timer<K>, HeapNode {
  /** Position in the heap of heads. */
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
    this.heads = new Array<Head<K> | null>(
      Math.max(0, options.keyGroupRange.end - options.keyGroupRange.start + 1),
    ).fill(null);
  }

  get size(): number {
    return this.count;
  }

  add(key: K, timestamp: number): boolean {
    const ts = checkTimestamp(key, timestamp);
    const keyGroup = this.keyGroupOf(key);
    const lmdbKey = this.lmdbKeyOf(keyGroup, ts, key);
    if (this.store.has(lmdbKey)) return false;
    this.store.put(lmdbKey, this.keySerializer.serialize(key));
    this.count++;
    const offset = keyGroup - this.keyGroupRange.start;
    if (this.changedGroups !== undefined) this.changedGroups[offset] = 1;
    const head = this.heads[offset]!;
    if (head === null || ts < head.timestamp) {
      this.setHead(offset, new Head(key, ts, lmdbKey, offset));
      return this.heap[0]!.offset === offset && this.heap[0]!.timestamp === ts;
    }
    return false;
  }

  remove(key: K, timestamp: number): boolean {
    const ts = checkTimestamp(key, timestamp);
    const keyGroup = this.keyGroupOf(key);
    const lmdbKey = this.lmdbKeyOf(keyGroup, ts, key);
    if (!this.store.has(lmdbKey)) return false;
    const offset = keyGroup - this.keyGroupRange.start;
    const wasHead = this.heap[0]?.offset === offset && this.heap[0].lmdbKey.equals(lmdbKey);
    this.store.remove(lmdbKey);
    this.count--;
    if (this.changedGroups !== undefined) this.changedGroups[offset] = 1;
    const head = this.heads[offset]!;
    if (head !== null && head.lmdbKey.equals(lmdbKey)) this.reloadHead(offset);
    return wasHead;
  }

  contains(key: K, timestamp: number): boolean {
    const ts = checkTimestamp(key, timestamp);
    return this.store.has(this.lmdbKeyOf(this.keyGroupOf(key), ts, key));
  }

  peek(): Timer<K> | undefined {
    return this.heap[0];
  }

  poll(): Timer<K> | undefined {
    const head = this.heap[0];
    if (head === undefined) return undefined;
    this.store.remove(head.lmdbKey);
    this.count--;
    if (this.changedGroups !== undefined) this.changedGroups[head.offset] = 1;
    this.reloadHead(head.offset);
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

  private reloadHead(offset: number): void {
    const keyGroup = this.keyGroupRange.start + offset;
    const first = this.store.first(rangeStart(keyGroup, this.id), rangeStart(keyGroup, this.id + 1));
    if (first === undefined) return this.setHead(offset, null);
    const { key, timestamp } = this.timerAt(first.key, first.value);
    this.setHead(offset, new Head(key, timestamp, Buffer.from(first.key), offset));
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
