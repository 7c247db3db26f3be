/** Reads heap keyed snapshots (keyed-snapshot-format.ts): the header, a key group's blocks, entries. */
import { SluiceError } from '../../core/errors.js';
import type { KeyGroupRange } from '../../core/key-groups.js';
import type { TypeSerializer } from '../../core/serializer.js';
import { ByteReader, corruptSnapshot } from '../byte-io.js';
import type { KeyedStateSnapshot } from '../keyed-state-snapshot.js';
import type { StateKind } from '../state-descriptor.js';
import { readSerializerIds, type SerializerId } from '../serializer-id.js';
import {
  blockKindOf,
  KEYED_DELTA_FORMAT_VERSION,
  KEYED_SNAPSHOT_FORMAT_VERSION,
  type BlockKind,
} from './keyed-snapshot-format.js';

/** The header of a keyed snapshot's data. */
export interface KeyedSnapshotHeader {
  readonly maxParallelism: number;
  readonly keyGroupRange: KeyGroupRange;
  readonly keySerializer: SerializerId;
}

/** One state's or timer queue's entries in one key group, still as bytes. */
export interface SnapshotBlock {
  readonly kind: BlockKind;
  readonly name: string;
  readonly serializers: readonly SerializerId[];
  /** The block's payload (entry count, then entries): a view into the snapshot's data. */
  readonly payload: Uint8Array;
}

/**
 * A keyed state restored from snapshots but not declared yet, kept as bytes: it is decoded when
 * the operator declares it (only then are its serializers known), and written back unchanged by
 * snapshots taken before that, so state that is not declared early is not lost.
 */
export class RestoredState {
  /** The block payload of each key group, index = keyGroup − backend range start. */
  readonly payloads: (Uint8Array | undefined)[];

  constructor(
    readonly name: string,
    readonly kind: StateKind,
    readonly serializers: readonly SerializerId[],
    numKeyGroups: number,
  ) {
    this.payloads = new Array<Uint8Array | undefined>(numKeyGroups).fill(undefined);
  }
}

/** A description of a snapshot for messages. */
export function describeSnapshot(snapshot: KeyedStateSnapshot): string {
  const { start, end } = snapshot.keyGroupRange;
  return `the keyed state snapshot of key groups [${start}, ${end}]`;
}

/**
 * Reads and checks the header, and that the offsets match the range. `format`: a full snapshot
 * (a base), or a delta of an incremental chain. `size`: the data's size, when `data` holds only
 * the header (a snapshot read through a window).
 */
export function readSnapshotHeader(
  snapshot: KeyedStateSnapshot,
  format: 'full' | 'delta' = 'full',
  size = snapshot.data.length,
): KeyedSnapshotHeader {
  const what = `${format === 'delta' ? 'a delta of ' : ''}${describeSnapshot(snapshot)}`;
  const { data, offsets, keyGroupRange } = snapshot;
  const r = new ByteReader(data, 0, data.length, what);
  const version = r.u8();
  const expected = format === 'full' ? KEYED_SNAPSHOT_FORMAT_VERSION : KEYED_DELTA_FORMAT_VERSION;
  if (version !== expected)
    throw corruptSnapshot(
      what,
      `format version ${version} is not one this Sluice can read here (it reads ${expected})`,
    );
  const maxParallelism = r.u32();
  const start = r.u32();
  const end = r.u32();
  const keySerializer = { name: r.str(), version: r.u32() };
  if (start !== keyGroupRange.start || end !== keyGroupRange.end)
    throw corruptSnapshot(what, `its data says it holds key groups [${start}, ${end}]`);
  const n = Math.max(0, end - start + 1);
  if (offsets.length !== n)
    throw corruptSnapshot(what, `it has ${offsets.length} offsets for ${n} key groups`);
  let previous = r.pos;
  for (const offset of offsets) {
    if (!Number.isInteger(offset) || offset < previous || offset > size)
      throw corruptSnapshot(what, `section offset ${offset} is out of order or outside the data`);
    previous = offset;
  }
  return { maxParallelism, keyGroupRange: { start, end }, keySerializer };
}

/**
 * The blocks of one key group's section (`section`: its bytes, when the snapshot is read through
 * a window); the header must have been checked.
 */
export function readKeyGroupBlocks(
  snapshot: KeyedStateSnapshot,
  keyGroup: number,
  section?: Uint8Array,
): SnapshotBlock[] {
  const what = `key group ${keyGroup} of ${describeSnapshot(snapshot)}`;
  const { data, offsets, keyGroupRange } = snapshot;
  const index = keyGroup - keyGroupRange.start;
  const r =
    section === undefined
      ? new ByteReader(data, offsets[index]!, offsets[index + 1] ?? data.length, what)
      : new ByteReader(section, 0, section.length, what);
  const found = r.u32();
  if (found !== keyGroup) throw corruptSnapshot(what, `its section says it is key group ${found}`);
  const count = r.u32();
  const blocks: SnapshotBlock[] = [];
  for (let i = 0; i < count; i++) {
    const kind = blockKindOf(r.u8(), what);
    const name = r.str();
    const serializers = readSerializerIds(r);
    blocks.push({ kind, name, serializers, payload: r.lengthPrefixed() });
  }
  r.expectDone();
  return blocks;
}

/**
 * Decodes a block's entries: the key with `keySerializer`, the rest with `readValue`, each passed
 * to `onEntry`. `what` names the block in error messages.
 */
export function decodeEntries<V>(
  payload: Uint8Array,
  what: string,
  keySerializer: TypeSerializer<unknown>,
  readValue: (r: ByteReader) => V,
  onEntry: (key: unknown, value: V) => void,
): void {
  const r = new ByteReader(payload, 0, payload.length, what);
  const count = r.u32();
  for (let i = 0; i < count; i++) {
    let key: unknown;
    let value: V;
    try {
      key = r.value(keySerializer);
      value = readValue(r);
    } catch (e) {
      if (e instanceof SluiceError) throw e;
      throw corruptSnapshot(what, `entry ${i} cannot be deserialized (${(e as Error).message})`, e);
    }
    onEntry(key, value);
  }
  r.expectDone();
}
