/** Writing one key group's blocks of the keyed snapshot format from an LMDB read view: shared by full and delta LMDB snapshots. */
import type { ByteWriter } from '../byte-io.js';
import type { EventLoopSlicer } from '../event-loop-slicer.js';
import { BLOCK_KIND } from '../heap/keyed-snapshot-format.js';
import { beginBlock, beginSnapshot } from '../heap/snapshot-blocks.js';
import { rangeStart } from './lmdb-key-layout.js';
import type { LmdbPinnedState, SnapshotState, SnapshotTimers } from './lmdb-pinned-state.js';
import { timestampOf } from './lmdb-timer-queue.js';
import type { LmdbReadView } from './lmdb-store.js';

/**
 * Writes a snapshot of `p`'s key-group range in format `formatVersion` (a full snapshot's or a
 * delta's): the header, then per key group a section whose blocks `writeKeyGroup` writes (it
 * returns how many), advancing the pin key group by key group. Returns the bytes and the sections'
 * offsets.
 */
export async function writeSections(
  p: LmdbPinnedState,
  formatVersion: number,
  slicer: EventLoopSlicer,
  writeKeyGroup: (w: ByteWriter, keyGroup: number, offset: number) => Promise<number>,
): Promise<{ readonly data: Uint8Array; readonly offsets: number[] }> {
  const { start, end } = p.keyGroupRange;
  const w = beginSnapshot(p, formatVersion);
  const offsets: number[] = [];
  for (let keyGroup = start; keyGroup <= end; keyGroup++) {
    const offset = keyGroup - start;
    offsets.push(w.length);
    w.u32(keyGroup);
    const countAt = w.reserveU32();
    p.versions.beginKeyGroup(p.pinned, offset);
    w.patchU32(countAt, await writeKeyGroup(w, keyGroup, offset));
    p.versions.advance(p.pinned, offset);
    if (slicer.due()) await slicer.yieldNow();
  }
  return { data: w.toBytes(), offsets };
}

/**
 * Writes every entry of `state` in `keyGroup` as one block (stored values are entries of the
 * format: copied as bytes). Returns whether it wrote one (no entries: no block).
 */
export async function writeLmdbStateBlock(
  w: ByteWriter,
  view: LmdbReadView,
  keyGroup: number,
  state: SnapshotState,
  slicer: EventLoopSlicer,
): Promise<boolean> {
  let payloadAt = -1;
  let countAt = -1;
  let entries = 0;
  for (const { value } of view.range(rangeStart(keyGroup, state.id), rangeStart(keyGroup, state.id + 1))) {
    if (payloadAt < 0) {
      payloadAt = beginBlock(w, BLOCK_KIND[state.kind], state.name, state.serializers);
      countAt = w.reserveU32();
    }
    entries++;
    w.raw(value);
    if (slicer.due()) await slicer.yieldNow();
  }
  if (payloadAt < 0) return false;
  w.patchU32(countAt, entries);
  w.patchU32(payloadAt - 4, w.length - payloadAt);
  return true;
}

/**
 * Writes the timers of `timers` in `keyGroup` as one block, in time order; with `evenIfEmpty`
 * (deltas: the key group's timers changed, and now there are none) a block of 0 entries when it
 * has none. Returns whether it wrote a block.
 */
export async function writeLmdbTimerBlock(
  w: ByteWriter,
  view: LmdbReadView,
  keyGroup: number,
  timers: SnapshotTimers,
  slicer: EventLoopSlicer,
  evenIfEmpty = false,
): Promise<boolean> {
  let payloadAt = -1;
  let countAt = -1;
  let entries = 0;
  const begin = () => {
    payloadAt = beginBlock(w, BLOCK_KIND.timers, timers.name, []);
    countAt = w.reserveU32();
  };
  // Each entry: the key serializer's bytes of the key (as stored), then the timestamp.
  for (const { key, value } of view.range(
    rangeStart(keyGroup, timers.id),
    rangeStart(keyGroup, timers.id + 1),
  )) {
    if (payloadAt < 0) begin();
    entries++;
    w.bytes(value);
    w.f64(timestampOf(key));
    if (slicer.due()) await slicer.yieldNow();
  }
  if (payloadAt < 0) {
    if (!evenIfEmpty) return false;
    begin();
  }
  w.patchU32(countAt, entries);
  w.patchU32(payloadAt - 4, w.length - payloadAt);
  return true;
}
