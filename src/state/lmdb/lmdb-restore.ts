/**
 * Loads restored keyed state into LMDB: a block payload of the keyed snapshot format is split into
 * entries by its length prefixes alone, so values are stored without being decoded (their
 * serializers are only known once the operator declares the state), straight from the snapshot's
 * bytes, many blocks per LMDB write transaction.
 */
import { MsgpackSerializer, type TypeSerializer } from '../../core/serializer.js';
import { Murmur3Stream, murmurMixInt } from '../../core/murmur3.js';
import { canonicalBytes } from '../../core/stable-hash.js';
import { ByteReader, corruptSnapshot } from '../byte-io.js';
import { checkKeyGroup, type RestoreContext } from '../heap/heap-restore.js';
import type { StateKind } from '../state-descriptor.js';
import { KEY_PREFIX_BYTES, lmdbKey } from './lmdb-key-layout.js';
import type { LmdbStore } from './lmdb-store.js';

/** What restoring into LMDB needs: the heap's context plus the key serializer. */
export type LmdbRestoreContext = RestoreContext & { readonly keySerializer: TypeSerializer<unknown> };

/**
 * Snapshot bytes written per LMDB write transaction: large enough that a transaction's fixed cost
 * vanishes, small enough that LMDB keeps the transaction's dirty pages in memory instead of
 * spilling them (its limit is 128 Ki pages, 512 MiB) and the file grows in steps.
 */
const LOAD_TRANSACTION_BYTES = 32 * 2 ** 20;

/** Entries of at least this many bytes on average are loaded by the store's write thread (flushAsync). */
const ASYNC_LOAD_MIN_ENTRY_BYTES = 512;

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
 * The key group of a key from its canonical bytes (`bytes[from..]`): what `assignToKeyGroup`
 * computes from the key (murmur3 of the canonical bytes, mixed), without encoding the key again.
 */
export function keyGroupOfCanonical(bytes: Uint8Array, maxParallelism: number, from = 0): number {
  hash.reset(0);
  hash.bytes(bytes, from);
  return murmurMixInt(hash.finish()) % maxParallelism;
}

/** Canonical tags (core/stable-hash.ts) of the keys `msgpackLmdbKey` reads. */
const CANONICAL_STRING = 0x01;
const CANONICAL_NUMBER = 0x02;

/**
 * The LMDB key of a key the MessagePack serializer wrote as `b`, read from the bytes without
 * deserializing the key: for ASCII strings (whose MessagePack payload is their canonical bytes)
 * and numbers up to 32-bit integers or float64s, the common keys. Undefined for anything else, or
 * bytes that are not exactly one such value; the caller then deserializes.
 */
export function msgpackLmdbKey(keyGroup: number, stateId: number, b: Uint8Array): Buffer | undefined {
  const n = b.length;
  if (n === 0) return undefined;
  const tag = b[0]!;
  let start = -1;
  let length = 0;
  if (tag >= 0xa0 && tag <= 0xbf) [start, length] = [1, tag & 0x1f];
  else if (tag === 0xd9 && n >= 2) [start, length] = [2, b[1]!];
  else if (tag === 0xda && n >= 3) [start, length] = [3, (b[1]! << 8) | b[2]!];
  else if (tag === 0xdb && n >= 5)
    [start, length] = [5, ((b[1]! << 24) | (b[2]! << 16) | (b[3]! << 8) | b[4]!) >>> 0];
  if (start >= 0) {
    if (start + length !== n) return undefined;
    for (let i = start; i < n; i++) if (b[i]! >= 0x80) return undefined;
    const key = Buffer.allocUnsafe(KEY_PREFIX_BYTES + 1 + length);
    key.writeUInt16BE(keyGroup, 0);
    key.writeUInt16BE(stateId, 2);
    key[KEY_PREFIX_BYTES] = CANONICAL_STRING;
    key.set(b.subarray(start), KEY_PREFIX_BYTES + 1);
    return key;
  }
  const view = new DataView(b.buffer, b.byteOffset, n);
  let value: number;
  if (tag <= 0x7f && n === 1) value = tag;
  else if (tag >= 0xe0 && n === 1) value = tag - 0x100;
  else if (tag === 0xcc && n === 2) value = view.getUint8(1);
  else if (tag === 0xcd && n === 3) value = view.getUint16(1);
  else if (tag === 0xce && n === 5) value = view.getUint32(1);
  else if (tag === 0xd0 && n === 2) value = view.getInt8(1);
  else if (tag === 0xd1 && n === 3) value = view.getInt16(1);
  else if (tag === 0xd2 && n === 5) value = view.getInt32(1);
  else if (tag === 0xcb && n === 9) value = view.getFloat64(1);
  else return undefined;
  const key = Buffer.allocUnsafe(KEY_PREFIX_BYTES + 9);
  key.writeUInt16BE(keyGroup, 0);
  key.writeUInt16BE(stateId, 2);
  key[KEY_PREFIX_BYTES] = CANONICAL_NUMBER;
  // As the canonical encoding: -0 is 0, and every NaN is 0x7ff8000000000000.
  if (Number.isNaN(value)) key.set([0x7f, 0xf8, 0, 0, 0, 0, 0, 0], KEY_PREFIX_BYTES + 1);
  else key.writeDoubleBE(value === 0 ? 0 : value, KEY_PREFIX_BYTES + 1);
  return key;
}

/**
 * Calls `put(lmdbKey, valueBytes)` for each entry of a block payload of state `stateId` in
 * `keyGroup`, after checking each key belongs to the key group. Empty lists and maps (never
 * stored) are skipped. `valueBytes` is a view of `payload`.
 *
 * Every key is checked, not a sample: the check hashes the canonical bytes the LMDB key is made
 * of anyway. With the default (MessagePack) key serializer, string and number keys are not even
 * deserialized: their canonical bytes follow from the stored bytes (`msgpackLmdbKey`). The check
 * catches what the file's CRC32C cannot: a key serializer that does not give back the keys it
 * wrote, or a snapshot written wrong.
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
  const { keySerializer, maxParallelism } = ctx;
  const msgpackKeys = keySerializer instanceof MsgpackSerializer;
  const r = new ByteReader(payload, 0, payload.length, what);
  const count = r.u32();
  for (let i = 0; i < count; i++) {
    const entryStart = r.pos;
    const keyBytes = r.lengthPrefixed();
    let lmdbKeyBytes = msgpackKeys ? msgpackLmdbKey(keyGroup, stateId, keyBytes) : undefined;
    if (
      lmdbKeyBytes === undefined ||
      keyGroupOfCanonical(lmdbKeyBytes, maxParallelism, KEY_PREFIX_BYTES) !== keyGroup
    ) {
      // The general way (and, for a key in the wrong key group, the one that says which key).
      let key: unknown;
      try {
        key = keySerializer.deserialize(keyBytes, 0, keyBytes.length);
      } catch (e) {
        throw corruptSnapshot(what, `entry ${i}'s key cannot be deserialized (${(e as Error).message})`, e);
      }
      const canonical = canonicalBytes(key);
      if (keyGroupOfCanonical(canonical, maxParallelism) !== keyGroup)
        checkKeyGroup(key, keyGroup, ctx, what);
      lmdbKeyBytes = lmdbKey(keyGroup, stateId, canonical);
    }
    if (skipValue(r, kind) === 0) continue;
    put(lmdbKeyBytes, payload.subarray(entryStart, r.pos));
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
 * `flush()`; they are written in the order added, so a snapshot's key-ordered entries are
 * appended (see LmdbStore.load).
 */
export class LmdbRestoreLoader {
  private pending: PendingBlock[] = [];
  private pendingBytes = 0;
  /** Entries (keys) of the pending blocks, from their counts. */
  private pendingEntries = 0;

  constructor(
    private readonly store: LmdbStore,
    private readonly ctx: LmdbRestoreContext,
  ) {}

  add(payload: Uint8Array, what: string, kind: StateKind, keyGroup: number, stateId: number): void {
    this.pending.push({ payload, what, kind, keyGroup, stateId });
    this.pendingBytes += payload.length;
    // The block's entry count leads it; a block too short for one fails when it is parsed.
    if (payload.length >= 4)
      this.pendingEntries +=
        ((payload[0]! << 24) | (payload[1]! << 16) | (payload[2]! << 8) | payload[3]!) >>> 0;
    if (this.pendingBytes >= LOAD_TRANSACTION_BYTES) this.write();
  }

  /** Writes what was added so far; the blocks' bytes are no longer needed afterwards. */
  flush(): void {
    this.write();
  }

  /**
   * Hands what was added so far to the store's write thread; the promise resolves once it is
   * written, and the blocks' bytes are needed until then. Parsing happens now, so a corrupt entry
   * throws here. Small entries are written here and now instead (undefined): an asynchronous put
   * keeps a record on the heap until its batch commits, a few hundred thousand per batch of them,
   * while their copying, which the write thread would take over, is cheap.
   */
  flushAsync(): Promise<void> | undefined {
    if (this.pending.length === 0) return undefined;
    if (this.pendingBytes < ASYNC_LOAD_MIN_ENTRY_BYTES * this.pendingEntries) {
      this.write();
      return undefined;
    }
    return this.store.loadAsync(this.takePending());
  }

  private write(): void {
    if (this.pending.length > 0) this.store.load(this.takePending());
  }

  /** Empties the pending blocks into a writer of their entries (for the store's loads). */
  private takePending(): (put: (key: Buffer, value: Uint8Array) => void) => void {
    const blocks = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    this.pendingEntries = 0;
    const ctx = this.ctx;
    return (put) => {
      for (const b of blocks)
        forEachRestoredEntry(b.payload, b.what, b.kind, b.keyGroup, b.stateId, ctx, put);
    };
  }
}
