/** Restores a heap keyed backend from snapshots: picks its key groups, keeps states until declared. */
import { invariant, SluiceError } from '../../core/errors.js';
import { assignToKeyGroup, type KeyGroupRange } from '../../core/key-groups.js';
import type { TypeSerializer } from '../../core/serializer.js';
import { mapKeyOf } from '../../core/stable-hash.js';
import { corruptSnapshot } from '../byte-io.js';
import type { ArrivalWindow, KeyedStateSnapshot } from '../keyed-state-snapshot.js';
import { describeKey } from '../state-errors.js';
import { describeSerializers, sameSerializers, type SerializerId } from '../serializer-id.js';
import type { StateKind } from '../state-descriptor.js';
import { codecOf, isAbsentValue, type StateValueCodec } from './keyed-snapshot-format.js';
import { describeRestoredState, restoreSerializersFor } from '../state-migration.js';
import { chainKeyGroupBlocks } from './chain-restore.js';
import {
  decodeEntries,
  describeSnapshot,
  readKeyGroupBlocks,
  readSnapshotHeader,
  RestoredState,
  type KeyedSnapshotHeader,
  type SnapshotBlock,
} from './keyed-snapshot-reader.js';
import type { StateTable } from './state-table.js';
import type { KeyedTimerQueue } from '../timer-queue.js';

/** What restoring needs to know about the backend restored into. */
export interface RestoreContext {
  readonly maxParallelism: number;
  readonly keyGroupRange: KeyGroupRange;
  readonly keySerializer: TypeSerializer<unknown>;
  /** The operator whose state this is, for messages (e.g. "operator 'count' (uid 'count')"). */
  readonly owner?: string | undefined;
}

/** Takes one state block of a restored key group (its payload a view of the snapshot's data). */
export type StateBlockSink = (block: SnapshotBlock, keyGroup: number, what: string) => void;

/**
 * Reads, from each snapshot, the sections of the key groups in `ctx.keyGroupRange`: timers go
 * straight into their queue (`timerQueue(name)`), states into `restored` as bytes by name, or to
 * `onStateBlock` when given (a backend that stores the bytes as they come, without a copy). Each
 * key group must come from at most one snapshot (the old subtasks' ranges are disjoint).
 */
export function restoreSnapshots(
  snapshots: readonly KeyedStateSnapshot[],
  ctx: RestoreContext,
  restored: Map<string, RestoredState>,
  timerQueue: (name: string) => KeyedTimerQueue<unknown>,
  onStateBlock?: StateBlockSink,
): void {
  const restore = new SnapshotsRestore(ctx, restored, timerQueue, onStateBlock);
  snapshots.forEach((snapshot, index) => {
    const { from, to } = restore.begin(snapshot, index);
    for (let keyGroup = from; keyGroup <= to; keyGroup++) restore.keyGroup(keyGroup);
  });
}

/**
 * As `restoreSnapshots`, for snapshots whose data may still be arriving (`snapshot.arriving`):
 * each key group is restored as soon as its section is read, and the promise resolves once every
 * snapshot is also verified. When restoring fails and a snapshot's file fails verification, the
 * file's error is the one thrown (bytes that do not check out explain any error restoring them).
 * `stopped()` is asked after each wait: true (the backend was disposed meanwhile) ends the restore.
 * Timers go to `timerQueue`, state blocks to `onStateBlock` (as restoreSnapshots').
 */
export async function restoreArrivingSnapshots(
  snapshots: readonly KeyedStateSnapshot[],
  ctx: RestoreContext,
  into: {
    readonly onStateBlock: StateBlockSink;
    readonly timerQueue: (name: string) => KeyedTimerQueue<unknown>;
    readonly stopped: () => boolean;
    /** Every key group is restored (called before waiting for the last verification). */
    readonly restored: () => void;
    /**
     * Loads what state blocks were handed over so far, so that their bytes are no longer needed
     * (a snapshot read through a window releases them then); a promise: once it resolves.
     */
    readonly flush: () => Promise<void> | void;
  },
): Promise<void> {
  const { stopped } = into;
  const restore = new SnapshotsRestore(ctx, new Map(), into.timerQueue, into.onStateBlock);
  /** Lets every window go: its reader must read the rest of its file to verify it. */
  const releaseAll = (): void => {
    for (const { arriving } of snapshots) arriving?.windowed?.release(Infinity);
  };
  try {
    for (const [index, snapshot] of snapshots.entries()) {
      const { arriving, offsets, data } = snapshot;
      const window = arriving?.windowed;
      if (window !== undefined) {
        if (!(await restoreWindowed(snapshot, index, window, restore, into))) return;
        continue;
      }
      if (arriving !== undefined) await arriving.until(offsets[0] ?? data.length);
      if (stopped()) return;
      const { from, to } = restore.begin(snapshot, index);
      const start = snapshot.keyGroupRange.start;
      for (let keyGroup = from; keyGroup <= to; keyGroup++) {
        if (arriving !== undefined) {
          await arriving.until(offsets[keyGroup - start + 1] ?? data.length);
          if (stopped()) return;
        }
        restore.keyGroup(keyGroup);
      }
    }
    into.restored();
  } catch (e) {
    releaseAll();
    for (const { arriving } of snapshots) await arriving?.verified;
    throw e;
  } finally {
    releaseAll();
  }
  for (const { arriving } of snapshots) await arriving?.verified;
}

/**
 * Restores the key groups of `snapshot` in range, section by section through its window, handing
 * what it holds to the store (`into.flush`) every `window.releaseEvery` bytes. A store that loads
 * asynchronously (a promise) loads one batch while the next is gathered; a batch's bytes are
 * released once it is loaded. False: stopped.
 */
async function restoreWindowed(
  snapshot: KeyedStateSnapshot,
  index: number,
  window: ArrivalWindow,
  restore: SnapshotsRestore,
  into: { readonly stopped: () => boolean; readonly flush: () => Promise<void> | void },
): Promise<boolean> {
  const { offsets, keyGroupRange } = snapshot;
  const size = window.size;
  /** The batch being loaded: its bytes end at `end`. */
  let loading: { readonly done: Promise<void>; readonly end: number } | undefined;
  /** Hands what is held up to `end` to the store, once the batch before it is loaded. */
  const load = async (end: number): Promise<void> => {
    const done = into.flush();
    const before = loading;
    loading = undefined;
    if (before !== undefined) {
      await before.done;
      window.release(before.end);
    }
    if (done === undefined) window.release(end);
    else loading = { done, end };
  };
  try {
    const header = await window.section(0, offsets[0] ?? size);
    if (into.stopped()) return false;
    const { from, to } = restore.begin({ ...snapshot, data: header }, index, size);
    let held = 0;
    for (let keyGroup = from; keyGroup <= to; keyGroup++) {
      const i = keyGroup - keyGroupRange.start;
      const start = offsets[i]!;
      const end = offsets[i + 1] ?? size;
      if (end - held > window.releaseEvery) {
        await load(start);
        held = start;
      }
      const section = await window.section(start, end);
      if (into.stopped()) return false;
      restore.keyGroup(keyGroup, section);
    }
    await load(size);
    await loading?.done;
    window.release(size);
    return true;
  } finally {
    // Stopped or failed: the store may still read the batch it was given; its bytes stay put.
    await loading?.done.catch(() => undefined);
  }
}

/** The steps of restoring snapshots: `begin` a snapshot, then each of its key groups in range. */
class SnapshotsRestore {
  private readonly numKeyGroups: number;
  /** Which snapshot each key group of the range came from (−1: none yet). */
  private readonly source: number[];
  private snapshot: KeyedStateSnapshot | undefined;
  private index = -1;
  private deltas: KeyedStateSnapshot[] = [];

  constructor(
    private readonly ctx: RestoreContext,
    private readonly restored: Map<string, RestoredState>,
    private readonly timerQueue: (name: string) => KeyedTimerQueue<unknown>,
    private readonly onStateBlock: StateBlockSink | undefined,
  ) {
    const { start, end } = ctx.keyGroupRange;
    this.numKeyGroups = Math.max(0, end - start + 1);
    this.source = new Array<number>(this.numKeyGroups).fill(-1);
  }

  /**
   * Checks the snapshot's header; returns the key groups of it this restore takes. `size`: the
   * data's size when `data` holds only the header (read through a window).
   */
  begin(snapshot: KeyedStateSnapshot, index: number, size?: number): { from: number; to: number } {
    const ctx = this.ctx;
    const header = readSnapshotHeader(snapshot, 'full', size);
    if (header.maxParallelism !== ctx.maxParallelism)
      throw new SluiceError(
        'SLUICE_STATE_INVALID_ACCESS',
        `${describeSnapshot(snapshot)} was taken with max parallelism ${header.maxParallelism}, but this ` +
          `operator has max parallelism ${ctx.maxParallelism}. Max parallelism is fixed for the life of the ` +
          `state: set it back to ${header.maxParallelism} (setMaxParallelism) to restore this state.`,
      );
    const keySerializer = { name: ctx.keySerializer.name, version: ctx.keySerializer.version };
    if (!sameSerializers([header.keySerializer], [keySerializer]))
      throw new SluiceError(
        'SLUICE_STATE_INVALID_ACCESS',
        `${describeSnapshot(snapshot)} wrote its keys with ${describeSerializers([header.keySerializer])}, ` +
          `but this operator's key serializer is ${describeSerializers([keySerializer])}; restore with the ` +
          'key serializer the state was written with.',
      );
    this.snapshot = snapshot;
    this.index = index;
    this.deltas = deltaSnapshots(snapshot, header);
    return {
      from: Math.max(ctx.keyGroupRange.start, header.keyGroupRange.start),
      to: Math.min(ctx.keyGroupRange.end, header.keyGroupRange.end),
    };
  }

  /**
   * Restores `keyGroup` of the snapshot begun last (its section must have arrived; `section`: its
   * bytes, when the snapshot is read through a window).
   */
  keyGroup(keyGroup: number, section?: Uint8Array): void {
    const { ctx, deltas, index } = this;
    const snapshot = this.snapshot!;
    const offset = keyGroup - ctx.keyGroupRange.start;
    invariant(
      this.source[offset] === -1,
      `key group ${keyGroup} is restored from one snapshot only (snapshots ${this.source[offset]} and ${index} hold it)`,
    );
    this.source[offset] = index;
    const blocks =
      deltas.length === 0
        ? readKeyGroupBlocks(snapshot, keyGroup, section)
        : chainKeyGroupBlocks(snapshot, deltas, keyGroup, ctx.keySerializer, section);
    for (const block of blocks) {
      const what = `${block.kind === 'timers' ? 'timer queue' : 'state'} '${block.name}' in key group ${keyGroup} of ${describeSnapshot(snapshot)}`;
      if (block.kind === 'timers') {
        const queue = this.timerQueue(block.name);
        decodeEntries(
          block.payload,
          what,
          ctx.keySerializer,
          (r) => r.f64(),
          (key, timestamp) => {
            checkKeyGroup(key, keyGroup, ctx, what);
            queue.add(key, timestamp);
          },
        );
      } else if (this.onStateBlock !== undefined) this.onStateBlock(block, keyGroup, what);
      else keepRestored(this.restored, block, offset, this.numKeyGroups, what);
    }
  }
}

/**
 * The deltas of an incremental chain as snapshots over the base's range, headers checked (same
 * max parallelism, range and key serializer as the base); none for a full snapshot.
 */
function deltaSnapshots(snapshot: KeyedStateSnapshot, base: KeyedSnapshotHeader): KeyedStateSnapshot[] {
  return (snapshot.deltas ?? []).map((delta, i) => {
    const asSnapshot = {
      keyGroupRange: snapshot.keyGroupRange,
      offsets: delta.offsets,
      data: delta.data,
      stateNames: [],
    };
    const header = readSnapshotHeader(asSnapshot, 'delta');
    if (
      header.maxParallelism !== base.maxParallelism ||
      !sameSerializers([header.keySerializer], [base.keySerializer])
    )
      throw corruptSnapshot(
        `delta ${i + 1} of ${describeSnapshot(snapshot)}`,
        `it was written with max parallelism ${header.maxParallelism} and key serializer ` +
          `${describeSerializers([header.keySerializer])}, its base with ${base.maxParallelism} and ` +
          `${describeSerializers([base.keySerializer])}`,
      );
    return asSnapshot;
  });
}

function keepRestored(
  restored: Map<string, RestoredState>,
  block: SnapshotBlock,
  offset: number,
  numKeyGroups: number,
  what: string,
): void {
  const kind = block.kind;
  invariant(kind !== 'timers', 'timer blocks are restored into their queue');
  if (kind === 'removed') throw corruptSnapshot(what, 'a full snapshot holds removed keys');
  let state = restored.get(block.name);
  if (state === undefined) {
    state = new RestoredState(block.name, kind, block.serializers, numKeyGroups);
    restored.set(block.name, state);
  } else if (state.kind !== kind || !sameSerializers(state.serializers, block.serializers))
    throw corruptSnapshot(
      what,
      `it is ${kind} state written with ${describeSerializers(block.serializers)}, while other key groups hold ` +
        `it as ${state.kind} state written with ${describeSerializers(state.serializers)}`,
    );
  if (state.payloads[offset] !== undefined)
    throw corruptSnapshot(what, 'the key group holds the state twice');
  // A copy, so that a state not declared for a while does not keep the whole snapshot (with the
  // key groups of other subtasks, when rescaling) alive.
  state.payloads[offset] = block.payload.slice();
}

/**
 * Decodes a restored state into the table of its declaration, after checking that the declaration
 * can read it (same kind; serializers the same or migrating, see state-migration.ts). Returns
 * whether the state's recorded serializers changed: a chain of incremental snapshots holding it
 * under the old ones cannot be continued (the caller starts a new base).
 */
export function adoptRestoredState(
  restored: RestoredState,
  table: StateTable<unknown>,
  codec: StateValueCodec,
  ctx: RestoreContext,
): boolean {
  const { name, kind } = table.descriptor;
  const reading = restoreCodecFor(restored, name, kind, codec, ctx.owner);
  const start = ctx.keyGroupRange.start;
  restored.payloads.forEach((payload, offset) => {
    if (payload === undefined) return;
    const keyGroup = start + offset;
    const what = `state '${name}' in key group ${keyGroup}`;
    decodeEntries(
      payload,
      what,
      ctx.keySerializer,
      (r) => reading.read(r),
      (key, value) => {
        checkKeyGroup(key, keyGroup, ctx, what);
        if (!isAbsentValue(kind, value)) table.put(offset, mapKeyOf(key), key, value);
      },
    );
  });
  return !sameSerializers(restored.serializers, codec.serializers);
}

/**
 * The codec that reads a restored state's values for a declaration of `kind` that writes with
 * `codec`: `codec` itself when its serializers read them as they are, a migrating one when they
 * migrate them. Throws SLUICE_STATE_INVALID_ACCESS for another kind, and
 * SLUICE_STATE_MIGRATION_FAILED when the serializers cannot read them. Shared by every keyed backend.
 */
export function restoreCodecFor(
  restored: { readonly kind: StateKind; readonly serializers: readonly SerializerId[] },
  name: string,
  kind: StateKind,
  codec: StateValueCodec,
  owner: string | undefined,
): StateValueCodec {
  if (restored.kind !== kind)
    throw new SluiceError(
      'SLUICE_STATE_INVALID_ACCESS',
      `state '${name}' was restored from a checkpoint as ${restored.kind} state and cannot be declared as ` +
        `${kind} state; declare it as ${restored.kind} state, or give the new state another name.`,
    );
  const readers = restoreSerializersFor(
    restored.serializers,
    codec.typeSerializers,
    describeRestoredState(name, owner),
  );
  return readers === undefined ? codec : codecOf(kind, readers);
}

/** A key must land in the key group it was written under, or the key serializer lost something. */
export function checkKeyGroup(key: unknown, keyGroup: number, ctx: RestoreContext, what: string): void {
  const actual = assignToKeyGroup(key, ctx.maxParallelism);
  if (actual !== keyGroup)
    throw corruptSnapshot(
      what,
      `key ${describeKey(key)} was read back from key group ${keyGroup} but belongs to key group ${actual}: ` +
        `the key serializer ${describeSerializers([ctx.keySerializer])} does not give back the keys it wrote`,
    );
}
