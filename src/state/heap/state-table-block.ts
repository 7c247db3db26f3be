/** Writing one state table's entries of one key group as a block: shared by full and delta heap snapshots. */
import type { ByteWriter } from '../byte-io.js';
import type { EventLoopSlicer } from '../event-loop-slicer.js';
import type { TypeSerializer } from '../../core/serializer.js';
import { BLOCK_KIND } from './keyed-snapshot-format.js';
import type { PinnedTable } from './pinned-keyed-state.js';
import { beginBlock } from './snapshot-blocks.js';
import { FREEZE_FAILED, type KeyGroupView } from './state-table.js';

/**
 * Writes `view` (a key group of `table` as the snapshot sees it: live entries, then undo-log
 * records) as one block, yielding to the event loop as `slicer` says. Returns whether it wrote
 * one (nothing to write: no block). Throws what a value that could not be frozen failed with.
 */
export async function writeTableBlock(
  w: ByteWriter,
  table: PinnedTable,
  view: Pick<KeyGroupView<unknown>, 'entries' | 'log' | 'logged'>,
  keySerializer: TypeSerializer<unknown>,
  slicer: EventLoopSlicer,
): Promise<boolean> {
  const { entries, log, logged } = view;
  if (entries.length + logged.length === 0) return false;
  const payloadAt = beginBlock(w, BLOCK_KIND[table.kind], table.name, table.codec.serializers);
  w.u32(entries.length + logged.length);
  for (const entry of entries) {
    w.value(keySerializer, entry.key);
    const frozen = entry.frozen;
    if (frozen === undefined) table.codec.write(w, entry.value);
    else if (frozen === FREEZE_FAILED) throw entry.value;
    else w.raw(frozen);
    if (slicer.due()) await slicer.yieldNow();
  }
  for (const r of logged) {
    w.value(keySerializer, log!.keyOf(r));
    if (log!.isFrozen(r)) w.range(log!.valueOf(r) as Uint8Array, log!.startOf(r), log!.endOf(r));
    else if (log!.isFailed(r)) throw log!.valueOf(r);
    else table.codec.write(w, log!.valueOf(r));
    if (slicer.due()) await slicer.yieldNow();
  }
  w.patchU32(payloadAt - 4, w.length - payloadAt);
  return true;
}
