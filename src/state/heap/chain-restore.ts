/**
 * Restores one key group of an incremental chain: the base's blocks with every delta applied in
 * order, given back as full-format blocks, so both keyed backends restore a chain as a snapshot.
 */
import { SluiceError } from '../../core/errors.js';
import type { TypeSerializer } from '../../core/serializer.js';
import { mapKeyOf } from '../../core/stable-hash.js';
import { ByteReader, ByteWriter, corruptSnapshot } from '../byte-io.js';
import type { KeyedStateSnapshot } from '../keyed-state-snapshot.js';
import { describeSerializers, sameSerializers, type SerializerId } from '../serializer-id.js';
import type { StateKind } from '../state-descriptor.js';
import { readKeyGroupBlocks, type SnapshotBlock } from './keyed-snapshot-reader.js';

interface MergedState {
  readonly kind: StateKind;
  readonly serializers: readonly SerializerId[];
  /** Map key → the entry's bytes (key, then value), in first-written order. */
  readonly entries: Map<unknown, Uint8Array>;
}

/**
 * The blocks of `keyGroup` after applying `deltas` (delta format, oldest first) to `base` (whose
 * section is `baseSection` when it is read through a window). Keys
 * are told apart as the state tables tell them (`mapKeyOf` of the deserialized key), so a key
 * written twice in different byte forms is still one key. Throws SLUICE_CHECKPOINT_CORRUPT for
 * a block that cannot be parsed or a delta that names a state with another kind or serializers.
 */
export function chainKeyGroupBlocks(
  base: KeyedStateSnapshot,
  deltas: readonly KeyedStateSnapshot[],
  keyGroup: number,
  keySerializer: TypeSerializer<unknown>,
  baseSection?: Uint8Array,
): SnapshotBlock[] {
  const states = new Map<string, MergedState>();
  const timers = new Map<string, Uint8Array>();
  const apply = (snapshot: KeyedStateSnapshot, index: number): void => {
    const what = (name: string) =>
      `state '${name}' in key group ${keyGroup} of ${index === 0 ? 'the base' : `delta ${index}`} of an incremental checkpoint`;
    for (const block of readKeyGroupBlocks(snapshot, keyGroup, index === 0 ? baseSection : undefined)) {
      if (block.kind === 'timers') timers.set(block.name, block.payload);
      else if (block.kind === 'removed') {
        if (index === 0) throw corruptSnapshot(what(block.name), 'a full snapshot holds removed keys');
        const state = states.get(block.name);
        forEachEntry(block.payload, what(block.name), keySerializer, undefined, (mapKey) =>
          state?.entries.delete(mapKey),
        );
      } else {
        let state = states.get(block.name);
        if (state === undefined)
          states.set(
            block.name,
            (state = { kind: block.kind, serializers: block.serializers, entries: new Map() }),
          );
        else if (state.kind !== block.kind || !sameSerializers(state.serializers, block.serializers))
          throw corruptSnapshot(
            what(block.name),
            `it is ${block.kind} state written with ${describeSerializers(block.serializers)}, while the chain ` +
              `before it holds ${state.kind} state written with ${describeSerializers(state.serializers)}`,
          );
        const entries = state.entries;
        forEachEntry(block.payload, what(block.name), keySerializer, block.kind, (mapKey, bytes) =>
          entries.set(mapKey, bytes),
        );
      }
    }
  };
  apply(base, 0);
  deltas.forEach((delta, i) => apply(delta, i + 1));

  const blocks: SnapshotBlock[] = [];
  for (const [name, state] of states) {
    if (state.entries.size === 0) continue;
    let size = 4;
    for (const bytes of state.entries.values()) size += bytes.length;
    const w = new ByteWriter(size);
    w.u32(state.entries.size);
    for (const bytes of state.entries.values()) w.raw(bytes);
    blocks.push({ kind: state.kind, name, serializers: state.serializers, payload: w.toBytes() });
  }
  for (const [name, payload] of timers)
    if (payload.length >= 4 && new DataView(payload.buffer, payload.byteOffset).getUint32(0) > 0)
      blocks.push({ kind: 'timers', name, serializers: [], payload });
  return blocks;
}

/**
 * Walks a block payload's entries: the key is deserialized (for its map key), the value skipped
 * by its kind's layout (keyed-snapshot-format.ts); `kind` undefined means keys only (a removed
 * block). Calls `onEntry` with the map key and the entry's bytes.
 */
function forEachEntry(
  payload: Uint8Array,
  what: string,
  keySerializer: TypeSerializer<unknown>,
  kind: StateKind | undefined,
  onEntry: (mapKey: unknown, bytes: Uint8Array) => void,
): void {
  const r = new ByteReader(payload, 0, payload.length, what);
  const count = r.u32();
  for (let i = 0; i < count; i++) {
    const start = r.pos;
    let key: unknown;
    try {
      key = r.value(keySerializer);
    } catch (e) {
      if (e instanceof SluiceError) throw e;
      throw corruptSnapshot(
        what,
        `the key of entry ${i} cannot be deserialized (${(e as Error).message})`,
        e,
      );
    }
    if (kind === 'list') for (let n = r.u32(); n > 0; n--) r.lengthPrefixed();
    else if (kind === 'map')
      for (let n = r.u32(); n > 0; n--) {
        r.lengthPrefixed();
        r.lengthPrefixed();
      }
    else if (kind !== undefined) r.lengthPrefixed();
    onEntry(mapKeyOf(key), payload.subarray(start, r.pos));
  }
  r.expectDone();
}
