/** The asynchronous phase of an incremental heap snapshot: writes what changed since its base, per key group. */
import type { KeyGroupRange } from '../../core/key-groups.js';
import type { EventLoopSlicer } from '../event-loop-slicer.js';
import type { ByteWriter } from '../byte-io.js';
import { changesSince } from './changed-keys.js';
import { BLOCK_KIND, KEYED_DELTA_FORMAT_VERSION } from './keyed-snapshot-format.js';
import type { DeltaSource, PinnedKeyedState } from './pinned-keyed-state.js';
import { beginBlock, beginSnapshot, writeTimerBlock } from './snapshot-blocks.js';
import { writeTableBlock } from './state-table-block.js';

/**
 * Writes the delta of `p` (delta format, keyed-snapshot-format.ts): per key group, the entries
 * of changed keys as of the pin, the keys removed, and the timers of key groups whose timers changed. Returns the
 * bytes and the section offsets; advances the pin key group by key group as the full writer does.
 */
export async function writeDelta(
  p: PinnedKeyedState,
  source: DeltaSource,
  slicer: EventLoopSlicer,
): Promise<{ readonly data: Uint8Array; readonly offsets: number[] }> {
  const version = p.pinned.version;
  const range: KeyGroupRange = p.keyGroupRange;
  const w = beginSnapshot(p, KEYED_DELTA_FORMAT_VERSION);
  const offsets: number[] = [];
  for (let offset = 0; offset <= range.end - range.start; offset++) {
    offsets.push(w.length);
    w.u32(range.start + offset);
    const countAt = w.reserveU32();
    let blocks = 0;
    // Taken all at once, as the full writer takes a key group (the live state moves on).
    p.versions.beginKeyGroup(p.pinned, offset);
    const views = p.tables.map(({ table }, i) => {
      const changed = changesSince(source.cuts[i]!, offset);
      return changed === undefined ? undefined : table.changedAsOf(offset, version, changed);
    });
    const timersOf = p.timers.map(({ queue }, i) =>
      source.timerCuts[i]!.some((cut) => cut[offset] === 1) ? queue.timersAsOf(offset, version) : undefined,
    );
    for (const [i, table] of p.tables.entries()) {
      const view = views[i];
      if (view === undefined) continue;
      if (await writeTableBlock(w, table, view, p.keySerializer, slicer)) blocks++;
      const { removed } = view;
      if (removed.length > 0) {
        blocks++;
        const payloadAt = beginBlock(w, BLOCK_KIND.removed, table.name, []);
        w.u32(removed.length);
        for (const key of removed) w.value(p.keySerializer, key);
        w.patchU32(payloadAt - 4, w.length - payloadAt);
      }
    }
    // Timers are tracked per key group: a changed one is written whole, replacing the chain's.
    for (const [i, queue] of p.timers.entries()) {
      const timers = timersOf[i];
      if (timers === undefined) continue;
      blocks++;
      if (!(await writeTimerBlock(w, queue.name, timers, p.keySerializer, slicer)))
        writeEmptyTimerBlock(w, queue.name);
    }
    w.patchU32(countAt, blocks);
    p.versions.advance(p.pinned, offset);
    if (slicer.due()) await slicer.yieldNow();
  }
  return { data: w.toBytes(), offsets };
}

function writeEmptyTimerBlock(w: ByteWriter, name: string): void {
  const payloadAt = beginBlock(w, BLOCK_KIND.timers, name, []);
  w.u32(0);
  w.patchU32(payloadAt - 4, w.length - payloadAt);
}
