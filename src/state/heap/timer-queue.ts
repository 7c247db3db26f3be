/** The keyed timer queue: (key, timestamp) timers in firing order, deduplicated, per key group. */
import { SluiceError } from '../../core/errors.js';
import { assignToKeyGroup, type KeyGroupRange } from '../../core/key-groups.js';
import { mapKeyOf } from '../../core/stable-hash.js';
import { keyGroupOutOfRange } from '../state-errors.js';
import { pruneUndoLogs, SnapshotVersions, UndoLog, type UndoHolder } from './snapshot-versions.js';

import {
  checkTimestamp,
  removeAt,
  siftUp,
  type HeapNode,
  type KeyedTimerQueue,
  type Timer,
} from '../timer-queue.js';

export type { Timer } from '../timer-queue.js';

/** A queued timer with its bookkeeping; handed out as a Timer<K> so callers cannot move it. */
class TimerNode<K> implements Timer<K>, HeapNode {
  /** Position in the heap array; −1 once the timer has left the queue. */
  index = -1;

  constructor(
    readonly key: K,
    readonly timestamp: number,
    readonly keyGroup: number,
    readonly dedupKey: string,
    /** Insertion order, the tie-break between equal timestamps. */
    readonly seq: number,
    /** `SnapshotVersions.current` when registered: snapshots pinned above it include the timer. */
    readonly version: number,
  ) {}
}

/** What a HeapTimerQueue needs: the job's key-group count and the groups it owns. */
export interface KeyedTimerQueueOptions {
  readonly maxParallelism: number;
  readonly keyGroupRange: KeyGroupRange;
  /**
   * The snapshot versions of the backend the queue belongs to, so that the backend's snapshots
   * see the queue as of their pin; a standalone queue gets its own.
   */
  readonly versions?: SnapshotVersions;
}

function before<K>(a: TimerNode<K>, b: TimerNode<K>): boolean {
  return a.timestamp < b.timestamp || (a.timestamp === b.timestamp && a.seq < b.seq);
}

// Tagged with the map key's type so that 1, '1' and 1n stay three keys; the timestamp goes last
// and contains no '@', so the last '@' always splits key from timestamp.
function dedupKeyOf(mapKey: unknown, timestamp: number): string {
  const tag =
    typeof mapKey === 'string'
      ? 's'
      : typeof mapKey === 'number'
        ? 'n'
        : typeof mapKey === 'bigint'
          ? 'i'
          : 'o';
  return `${tag}${String(mapKey)}@${timestamp}`;
}

/**
 * Keyed timers as a binary min-heap on (timestamp, insertion order), with one Map per owned key
 * group for deduplication and for snapshots, which write timers key group by key group (Flink's
 * `HeapPriorityQueueSet`). Each node records its heap index, so removing any timer is O(log n).
 *
 * Multi-versioned like a StateTable (see SnapshotVersions): a node's key and timestamp never
 * change, each node is stamped with the version it was registered at, and a node removed while a
 * pinned snapshot has yet to read its key group goes to that key group's undo log, so
 * `timersAsOf` can give the snapshot the timers as they were when it was pinned.
 */
export class HeapTimerQueue<K = unknown> implements KeyedTimerQueue<K>, UndoHolder {
  readonly maxParallelism: number;
  readonly keyGroupRange: KeyGroupRange;
  private readonly heap: TimerNode<K>[] = [];
  private readonly byKeyGroup: Map<string, TimerNode<K>>[];
  private readonly undo: (UndoLog<TimerNode<K>> | undefined)[];
  private readonly versions: SnapshotVersions;
  private nextSeq = 0;
  /**
   * Incremental checkpoints: 1 for each key group (offset) whose timers changed since the last
   * snapshot; undefined when not tracked.
   */
  changedGroups: Uint8Array | undefined;

  constructor(options: KeyedTimerQueueOptions) {
    this.maxParallelism = options.maxParallelism;
    this.keyGroupRange = { start: options.keyGroupRange.start, end: options.keyGroupRange.end };
    this.versions = options.versions ?? new SnapshotVersions();
    const n = Math.max(0, this.keyGroupRange.end - this.keyGroupRange.start + 1);
    this.byKeyGroup = Array.from({ length: n }, () => new Map<string, TimerNode<K>>());
    this.undo = new Array<UndoLog<TimerNode<K>> | undefined>(n).fill(undefined);
    this.versions.register(this);
  }

  /** How many timers are queued. */
  get size(): number {
    return this.heap.length;
  }

  /**
   * Registers a timer; registering one that is already queued does nothing. Returns true if the
   * timer became the head, i.e. the next firing time moved earlier (the caller may reschedule).
   */
  add(key: K, timestamp: number): boolean {
    const ts = checkTimestamp(key, timestamp);
    const keyGroup = this.keyGroupOf(key);
    const dedupKey = dedupKeyOf(mapKeyOf(key), ts);
    const offset = keyGroup - this.keyGroupRange.start;
    if (this.byKeyGroup[offset]!.has(dedupKey)) return false;
    const node = new TimerNode(key, ts, keyGroup, dedupKey, this.nextSeq++, this.versions.current);
    this.byKeyGroup[offset]!.set(dedupKey, node);
    if (this.changedGroups !== undefined) this.changedGroups[offset] = 1;
    node.index = this.heap.length;
    this.heap.push(node);
    this.siftUp(node.index);
    return node.index === 0;
  }

  /**
   * Deletes a timer if it is queued. Returns true if it was the head, i.e. the next firing time
   * changed (as Flink's `remove`); false if it was elsewhere or not queued at all.
   */
  remove(key: K, timestamp: number): boolean {
    const node = this.find(key, timestamp);
    if (node === undefined) return false;
    const wasHead = node.index === 0;
    this.unlink(node);
    this.removeAt(node.index);
    return wasHead;
  }

  /** Whether the timer is queued. */
  contains(key: K, timestamp: number): boolean {
    return this.find(key, timestamp) !== undefined;
  }

  /** The earliest timer (the earliest registered among equal timestamps), left in the queue. */
  peek(): Timer<K> | undefined {
    return this.heap[0];
  }

  /** Removes and returns the earliest timer. */
  poll(): Timer<K> | undefined {
    const head = this.heap[0];
    if (head === undefined) return undefined;
    this.unlink(head);
    this.removeAt(0);
    return head;
  }

  /** The timers of one key group (absolute index), in registration order; for snapshots. */
  timersInKeyGroup(keyGroup: number): IterableIterator<Timer<K>> {
    const timers = this.byKeyGroup[keyGroup - this.keyGroupRange.start];
    if (timers === undefined)
      throw new SluiceError(
        'SLUICE_INTERNAL_ASSERTION',
        `timer queue: key group ${keyGroup} is outside its range ` +
          `[${this.keyGroupRange.start}, ${this.keyGroupRange.end}]`,
      );
    return timers.values();
  }

  /**
   * The timers of key group `offset` (index = keyGroup − range.start) as snapshot `version` sees
   * them, for that snapshot reading the key group now (it then calls `SnapshotVersions.advance`).
   */
  timersAsOf(offset: number, version: number): Timer<K>[] {
    const timers: TimerNode<K>[] = [];
    for (const node of this.byKeyGroup[offset]!.values()) if (node.version < version) timers.push(node);
    const live = timers.length;
    this.undo[offset]?.collect(version, timers);
    // Registration order, which a restore keeps among equal timestamps of a key group.
    if (timers.length > live) timers.sort((x, y) => x.seq - y.seq);
    return timers;
  }

  pruneUndo(isNeeded: (offset: number) => boolean, offset?: number): void {
    pruneUndoLogs(this.undo, isNeeded, offset);
  }

  /** Takes a node out of its key group's map, logging it if a pinned snapshot still needs it. */
  private unlink(node: TimerNode<K>): void {
    const offset = node.keyGroup - this.keyGroupRange.start;
    this.byKeyGroup[offset]!.delete(node.dedupKey);
    if (this.changedGroups !== undefined) this.changedGroups[offset] = 1;
    if (node.version < this.versions.highestPinned && this.versions.needsUndo(offset, node.version))
      (this.undo[offset] ??= new UndoLog()).push(node, this.versions.current);
  }

  private keyGroupOf(key: K): number {
    const keyGroup = assignToKeyGroup(key, this.maxParallelism);
    if (keyGroup < this.keyGroupRange.start || keyGroup > this.keyGroupRange.end)
      throw keyGroupOutOfRange(key, keyGroup, this.keyGroupRange, this.maxParallelism);
    return keyGroup;
  }

  private find(key: K, timestamp: number): TimerNode<K> | undefined {
    const ts = checkTimestamp(key, timestamp);
    const timers = this.byKeyGroup[this.keyGroupOf(key) - this.keyGroupRange.start]!;
    return timers.get(dedupKeyOf(mapKeyOf(key), ts));
  }

  private removeAt(index: number): void {
    removeAt(this.heap, index, before);
  }

  private siftUp(index: number): void {
    siftUp(this.heap, index, before);
  }
}

/**
 * The queue named `name` in a backend's `queues`, created with `options` on first use.
 */
export function timerQueueNamed<K>(
  queues: Map<string, HeapTimerQueue<K>>,
  name: string,
  options: KeyedTimerQueueOptions,
): HeapTimerQueue<K> {
  let queue = queues.get(name);
  if (queue === undefined) {
    queue = new HeapTimerQueue<K>(options);
    queues.set(name, queue);
  }
  return queue;
}
