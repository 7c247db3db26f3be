/** Writing the blocks of the keyed snapshot format (keyed-snapshot-format.ts), shared by every keyed backend. */
import type { KeyGroupRange } from '../../core/key-groups.js';
import type { TypeSerializer } from '../../core/serializer.js';
import { ByteWriter } from '../byte-io.js';
import type { EventLoopSlicer } from '../event-loop-slicer.js';
import { writeSerializerIds, type SerializerId } from '../serializer-id.js';
import { BLOCK_KIND, KEYED_SNAPSHOT_FORMAT_VERSION } from './keyed-snapshot-format.js';
import type { Timer } from './timer-queue.js';

/**
 * A writer holding a keyed snapshot's header (keyed-snapshot-format.ts), sized for `sizeHint`
 * bytes. Shared by every keyed backend: they all write this format.
 */
export function beginSnapshot(
  p: {
    readonly maxParallelism: number;
    readonly keyGroupRange: KeyGroupRange;
    readonly keySerializer: TypeSerializer<unknown>;
    readonly sizeHint: number;
  },
  formatVersion: number = KEYED_SNAPSHOT_FORMAT_VERSION,
): ByteWriter {
  const w = new ByteWriter(Math.max(64 * 1024, Math.ceil(p.sizeHint * 1.1)));
  w.u8(formatVersion);
  w.u32(p.maxParallelism);
  w.u32(p.keyGroupRange.start);
  w.u32(p.keyGroupRange.end);
  w.str(p.keySerializer.name);
  w.u32(p.keySerializer.version);
  return w;
}

/** Writes one timer queue's block of a key group, if it has timers there; returns whether it wrote one. */
export async function writeTimerBlock(
  w: ByteWriter,
  name: string,
  timers: readonly Timer<unknown>[],
  keySerializer: TypeSerializer<unknown>,
  slicer: EventLoopSlicer,
): Promise<boolean> {
  if (timers.length === 0) return false;
  const payloadAt = beginBlock(w, BLOCK_KIND.timers, name, []);
  w.u32(timers.length);
  for (const timer of timers) {
    w.value(keySerializer, timer.key);
    w.f64(timer.timestamp);
    if (slicer.due()) await slicer.yieldNow();
  }
  w.patchU32(payloadAt - 4, w.length - payloadAt);
  return true;
}

/** Writes a block's header and a payload-length placeholder; returns where the payload starts. */
export function beginBlock(
  w: ByteWriter,
  kind: number,
  name: string,
  serializers: readonly SerializerId[],
): number {
  w.u8(kind);
  w.str(name);
  writeSerializerIds(w, serializers);
  w.u32(0);
  return w.length;
}
