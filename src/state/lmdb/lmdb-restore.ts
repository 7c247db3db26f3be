/**
 * Loads restored keyed state into LMDB: a block payload of the keyed snapshot format is split into
 * entries by its length prefixes alone, so values are stored without being decoded (their
 * serializers are only known once the operator declares the state).
 */
import type { TypeSerializer } from '../../core/serializer.js';
import { canonicalBytes } from '../../core/stable-hash.js';
import { ByteReader, corruptSnapshot } from '../byte-io.js';
import { checkKeyGroup, type RestoreContext } from '../heap/heap-restore.js';
import type { StateKind } from '../state-descriptor.js';
import { lmdbKey } from './lmdb-key-layout.js';

/** Skips one stored value of `kind` (its layout is in keyed-snapshot-format.ts); returns its element count. */
function skipValue(r: ByteReader, kind: StateKind): number {
  if (kind !== 'list' && kind !== 'map') {
    r.lengthPrefixed();
    return 1;
  }
  const n = r.u32();
  const parts = kind === 'map' ? 2 * n : n;
  for (let i = 0; i < parts; i++) r.lengthPrefixed();
  return n;
}

/**
 * Calls `put(lmdbKey, valueBytes)` for each entry of a block payload of state `stateId` in
 * `keyGroup`, after checking each key belongs to the key group. Empty lists and maps (never
 * stored) are skipped.
 */
export function forEachRestoredEntry(
  payload: Uint8Array,
  what: string,
  kind: StateKind,
  keyGroup: number,
  stateId: number,
  ctx: RestoreContext & { readonly keySerializer: TypeSerializer<unknown> },
  put: (key: Buffer, value: Uint8Array) => void,
): void {
  const r = new ByteReader(payload, 0, payload.length, what);
  const count = r.u32();
  for (let i = 0; i < count; i++) {
    const entryStart = r.pos;
    const keyBytes = r.lengthPrefixed();
    let key: unknown;
    try {
      key = ctx.keySerializer.deserialize(keyBytes, 0, keyBytes.length);
    } catch (e) {
      throw corruptSnapshot(what, `entry ${i}'s key cannot be deserialized (${(e as Error).message})`, e);
    }
    checkKeyGroup(key, keyGroup, ctx, what);
    if (skipValue(r, kind) === 0) continue;
    put(lmdbKey(keyGroup, stateId, canonicalBytes(key)), payload.subarray(entryStart, r.pos));
  }
  r.expectDone();
}
