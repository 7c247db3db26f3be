/**
 * Loads restored keyed state into LMDB: a block payload of the keyed snapshot format is split into
 * entries by its length prefixes alone, so values are stored without being decoded (their
 * serializers are only known once the operator declares the state), straight from the snapshot's
 * bytes, many blocks per LMDB write transaction.
 */
import type { TypeSerializer } from '../../core/serializer.js';
import { Murmur3Stream, murmurMixInt } from '../../core/murmur3.js';
import { canonicalBytes } from '../../core/stable-hash.js';
import { ByteReader, corruptSnapshot } from '../byte-io.js';
import { checkKeyGroup, type RestoreContext } from '../heap/heap-restore.js';
import type { StateKind } from '../state-descriptor.js';
import { lmdbKey } from './lmdb-key-layout.js';
import type { LmdbStore } from './lmdb-store.js';

/** What restoring into LMDB needs: the heap's context plus the key serializer. */
export type LmdbRestoreContext = RestoreContext & { readonly keySerializer: TypeSerializer<unknown> };

/**
 * Snapshot bytes written per LMDB write transaction: large enough that a transaction's fixed cost
 * vanishes, small enough that LMDB keeps the transaction's dirty pages in memory instead of
 * spilling them (its limit is 128 Ki pages, 512 MiB) and the file grows in steps.
 */
const LOAD_TRANSACTION_BYTES = 32 * 2 ** 20;

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

const hash = new Murmur3Stream();

/**
 * The key group of a key from its canonical bytes: what `assignToKeyGroup` computes from the key
 * (murmur3 of the canonical bytes, mixed), without encoding the key a second time.
 */
export function keyGroupOfCanonical(canonical: Uint8Array, maxParallelism: number): number {
  hash.reset(0);
  hash.bytes(canonical);
  return murmurMixInt(hash.finish()) % maxParallelism;
}

/**
 * Calls `put(lmdbKey, valueBytes)` for each entry of a block payload of state `stateId` in
 * `keyGroup`, after checking each key belongs to the key group. Empty lists and maps (never
 * stored) are skipped. `valueBytes` is a view of `payload`.
 *
 * Every key is checked, not a sample: the LMDB key needs the key's canonical bytes, hence the key
 * deserialized, anyway, and hashing those few bytes is all the check adds. It catches what the
 * file's CRC32C cannot: a key serializer that does not give back the keys it wrote.
 */
export function forEachRestoredEntry(
  payload: Uint8Array,
  what: string,
  kind: StateKind,
  keyGroup: number,
  stateId: number,
  ctx: LmdbRestoreContext,
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
    const canonical = canonicalBytes(key);
    if (keyGroupOfCanonical(canonical, ctx.maxParallelism) !== keyGroup)
      checkKeyGroup(key, keyGroup, ctx, what);
    if (skipValue(r, kind) === 0) continue;
    put(lmdbKey(keyGroup, stateId, canonical), payload.subarray(entryStart, r.pos));
  }
  r.expectDone();
}

/** One state block waiting to be loaded. */
interface PendingBlock {
  readonly payload: Uint8Array;
  readonly what: string;
  readonly kind: StateKind;
  readonly keyGroup: number;
  readonly stateId: number;
}

/**
 * Loads state blocks into a store in write transactions of about LOAD_TRANSACTION_BYTES each
 * (one per block costs too much when key groups are many and small, one for everything makes
 * LMDB spill). Blocks are views of the restored snapshots, which must stay unchanged until
 * `finish()`; they are written in the order added, so a snapshot's key-ordered entries are
 * appended (see LmdbStore.load).
 */
export class LmdbRestoreLoader {
  private pending: PendingBlock[] = [];
  private pendingBytes = 0;

  constructor(
    private readonly store: LmdbStore,
    private readonly ctx: LmdbRestoreContext,
  ) {}

  add(payload: Uint8Array, what: string, kind: StateKind, keyGroup: number, stateId: number): void {
    this.pending.push({ payload, what, kind, keyGroup, stateId });
    this.pendingBytes += payload.length;
    if (this.pendingBytes >= LOAD_TRANSACTION_BYTES) this.write();
  }

  /** Writes what is left; the blocks' bytes are no longer needed afterwards. */
  finish(): void {
    this.write();
  }

  private write(): void {
    const blocks = this.pending;
    if (blocks.length === 0) return;
    this.pending = [];
    this.pendingBytes = 0;
    const ctx = this.ctx;
    this.store.load((put) => {
      for (const b of blocks)
        forEachRestoredEntry(b.payload, b.what, b.kind, b.keyGroup, b.stateId, ctx, put);
    });
  }
}
