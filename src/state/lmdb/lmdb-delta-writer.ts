/** The asynchronous phase of an incremental LMDB snapshot: what changed since its base, per key group, read from its view. */
import { invariant } from '../../core/errors.js';
import type { ByteWriter } from '../byte-io.js';
import type { EventLoopSlicer } from '../event-loop-slicer.js';
import { changesSince } from '../heap/changed-keys.js';
import { BLOCK_KIND, KEYED_DELTA_FORMAT_VERSION } from '../heap/keyed-snapshot-format.js';
import type { DeltaSource } from '../heap/pinned-keyed-state.js';
import { beginBlock } from '../heap/snapshot-blocks.js';
import { lmdbKey } from './lmdb-key-layout.js';
import type { LmdbPinnedState, SnapshotState } from './lmdb-pinned-state.js';
import { writeLmdbTimerBlock, writeSections } from './lmdb-snapshot-blocks.js';
import type { LmdbReadView } from './lmdb-store.js';

/**
 * Writes the delta of `p` in the heap backend's delta format (keyed-snapshot-format.ts), so one
 * chain restore serves both backends: per key group, the changed keys' entries as the view holds
 * them (stored bytes, copied), the keys the view no longer holds as removed, and the whole timers
 * of key groups whose timers changed. `source.cuts[i]` belongs to `p.tracked[i]`, and
 * `source.timerCuts[i]` to `p.timers[i]`.
 */
export function writeLmdbDelta(
  p: LmdbPinnedState,
  source: DeltaSource,
  slicer: EventLoopSlicer,
): Promise<{ readonly data: Uint8Array; readonly offsets: number[] }> {
  return writeSections(p, KEYED_DELTA_FORMAT_VERSION, slicer, async (w, keyGroup, offset) => {
    let blocks = 0;
    for (const [i, state] of p.tracked.entries()) {
      const changed = changesSince(source.cuts[i]!, offset);
      if (changed !== undefined) blocks += await writeChanges(w, p.view, keyGroup, state, changed, slicer);
    }
    // Timers are tracked per key group: a changed one is written whole, replacing the chain's.
    for (const [i, timers] of p.timers.entries())
      if (source.timerCuts[i]!.some((cut) => cut[offset] === 1)) {
        await writeLmdbTimerBlock(w, p.view, keyGroup, timers, slicer, true);
        blocks++;
      }
    return blocks;
  });
}

/**
 * Writes the changed keys of `state` in `keyGroup`: a block of the entries the view holds, then a
 * removed block of the others (by the key serializer's bytes tracked with removals). Returns how
 * many blocks it wrote.
 */
async function writeChanges(
  w: ByteWriter,
  view: LmdbReadView,
  keyGroup: number,
  state: SnapshotState,
  changed: ReadonlyMap<unknown, unknown>,
  slicer: EventLoopSlicer,
): Promise<number> {
  let blocks = 0;
  let payloadAt = -1;
  let countAt = -1;
  let entries = 0;
  let removed: Uint8Array[] | undefined;
  for (const [text, serializedKey] of changed) {
    const value = view.get(lmdbKey(keyGroup, state.id, Buffer.from(text as string, 'latin1')));
    if (value === undefined) {
      // Absent as of the view: the last change before the pin was a removal, which tracks the key.
      invariant(
        serializedKey instanceof Uint8Array,
        `a key the view lacks was removed (state '${state.name}')`,
      );
      (removed ??= []).push(serializedKey);
    } else {
      if (payloadAt < 0) {
        blocks++;
        payloadAt = beginBlock(w, BLOCK_KIND[state.kind], state.name, state.serializers);
        countAt = w.reserveU32();
      }
      entries++;
      w.raw(value);
    }
    if (slicer.due()) await slicer.yieldNow();
  }
  if (payloadAt >= 0) {
    w.patchU32(countAt, entries);
    w.patchU32(payloadAt - 4, w.length - payloadAt);
  }
  if (removed !== undefined) {
    blocks++;
    const removedAt = beginBlock(w, BLOCK_KIND.removed, state.name, []);
    w.u32(removed.length);
    for (const key of removed) w.bytes(key);
    w.patchU32(removedAt - 4, w.length - removedAt);
  }
  return blocks;
}
