/** The keyed timer queue contract: (key, timestamp) timers in firing order, deduplicated, per key group. */
import { SluiceError } from '../core/errors.js';
import { describeKey } from './state-errors.js';

/** A timer: fires for `key` once time (event or processing) reaches `timestamp`. */
export interface Timer<K> {
  readonly key: K;
  readonly timestamp: number;
}

/**
 * The timers of one name (e.g. an operator's 'processing-timers') in a keyed backend (Flink's
 * `KeyGroupedInternalPriorityQueue`): keyed state, snapshotted and restored (and rescaled) per key
 * group with the rest of the backend's state. The heap backend keeps them in memory, the LMDB
 * backend on disk with each key group's earliest timer cached.
 */
export interface KeyedTimerQueue<K = unknown> {
  /** How many timers are queued. */
  readonly size: number;
  /**
   * Registers a timer; registering one that is already queued does nothing. Returns true if the
   * timer became the head, i.e. the next firing time moved earlier (the caller may reschedule).
   */
  add(key: K, timestamp: number): boolean;
  /** Deletes a timer if it is queued; returns true if it was the head (the next firing time changed). */
  remove(key: K, timestamp: number): boolean;
  /** Whether the timer is queued. */
  contains(key: K, timestamp: number): boolean;
  /** The earliest timer, left in the queue. Among equal timestamps the order is the backend's. */
  peek(): Timer<K> | undefined;
  /** Removes and returns the earliest timer. */
  poll(): Timer<K> | undefined;
  /** The timers of one key group (absolute index); for snapshots and tests. */
  timersInKeyGroup(keyGroup: number): Iterable<Timer<K>>;
}

/** The timestamp with -0 folded into 0 (they are one instant); NaN cannot be ordered. */
export function checkTimestamp(key: unknown, timestamp: number): number {
  if (typeof timestamp !== 'number' || Number.isNaN(timestamp))
    throw new SluiceError(
      'SLUICE_STATE_INVALID_ACCESS',
      `timer for key ${describeKey(key)}: the timestamp must be a number of milliseconds, got ` +
        `${describeKey(timestamp)}.`,
    );
  return timestamp === 0 ? 0 : timestamp;
}

/** An element of an IndexedHeap: it knows its position, so removing any element is O(log n). */
export interface HeapNode {
  index: number;
}

/**
 * Moves `heap[index]` towards the root while it comes `before` its parent, keeping every node's
 * `index` in step. With `siftDown`, the binary min-heap both timer queues keep.
 */
export function siftUp<T extends HeapNode>(heap: T[], index: number, before: (a: T, b: T) => boolean): void {
  const node = heap[index]!;
  while (index > 0) {
    const parentIndex = (index - 1) >> 1;
    const parent = heap[parentIndex]!;
    if (!before(node, parent)) break;
    heap[index] = parent;
    parent.index = index;
    index = parentIndex;
  }
  heap[index] = node;
  node.index = index;
}

/** Moves `heap[index]` towards the leaves while a child comes `before` it (see `siftUp`). */
export function siftDown<T extends HeapNode>(
  heap: T[],
  index: number,
  before: (a: T, b: T) => boolean,
): void {
  const node = heap[index]!;
  const n = heap.length;
  for (;;) {
    const left = 2 * index + 1;
    if (left >= n) break;
    const right = left + 1;
    let child = left;
    if (right < n && before(heap[right]!, heap[left]!)) child = right;
    const smallest = heap[child]!;
    if (!before(smallest, node)) break;
    heap[index] = smallest;
    smallest.index = index;
    index = child;
  }
  heap[index] = node;
  node.index = index;
}

/** Removes `heap[index]`, moving the last node into its place; the removed node's index becomes −1. */
export function removeAt<T extends HeapNode>(
  heap: T[],
  index: number,
  before: (a: T, b: T) => boolean,
): void {
  const removed = heap[index]!;
  const last = heap.pop()!;
  removed.index = -1;
  if (index === heap.length) return;
  heap[index] = last;
  last.index = index;
  siftDown(heap, index, before);
  if (last.index === index) siftUp(heap, index, before);
}
