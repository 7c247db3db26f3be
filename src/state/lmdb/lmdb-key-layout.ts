/**
 * How LMDB keys are laid out: key group, state id, serialized key — so that one state's entries
 * in one key group, and a whole key group, are each a contiguous range (read or deleted as one).
 *
 *   u16 keyGroup (big-endian) | u16 stateId (big-endian) | the key's canonical bytes
 *
 * Canonical bytes (core/stable-hash.ts), not the key serializer's, because keys are compared by
 * content: `{ x: 1, y: 'b' }` and `{ y: 'b', x: 1 }` are one key. The serializer's bytes of the
 * key lead the stored value instead (see lmdb-states.ts), so a stored value is exactly one entry
 * of the keyed snapshot format and snapshots copy it as it is.
 *
 * Big-endian integers sort as numbers under LMDB's bytewise order. Max parallelism is at most
 * 32768 (Flink's limit), so a key group fits 16 bits; 65536 state ids per backend are plenty.
 */
import { SluiceError } from '../../core/errors.js';

/** The bytes before the serialized key. */
export const KEY_PREFIX_BYTES = 4;

/** LMDB's default maximum key size (lmdb-js builds it with 1978 bytes). */
export const MAX_KEY_BYTES = 1978;

/** The LMDB key of `canonical` (a key's canonical bytes) in state `stateId` of `keyGroup`. */
export function lmdbKey(keyGroup: number, stateId: number, canonical: Uint8Array): Buffer {
  const b = Buffer.allocUnsafe(KEY_PREFIX_BYTES + canonical.length);
  b.writeUInt16BE(keyGroup, 0);
  b.writeUInt16BE(stateId, 2);
  b.set(canonical, KEY_PREFIX_BYTES);
  return b;
}

/** The key that starts the range of state `stateId` in `keyGroup` (`stateId` may be one past the last). */
export function rangeStart(keyGroup: number, stateId: number): Buffer {
  const b = Buffer.allocUnsafe(KEY_PREFIX_BYTES);
  b.writeUInt16BE(keyGroup, 0);
  b.writeUInt16BE(stateId, 2);
  return b;
}

/**
 * The current key as the LMDB backend's state objects need it: the composite key bytes, whose
 * state id (bytes 2–3) each state object patches in before it reads or writes, so a state access
 * allocates no key.
 */
export class LmdbCurrentKey {
  key: unknown = undefined;
  /** −1 while no key is set. */
  keyGroup = -1;
  bytes: Buffer = Buffer.alloc(KEY_PREFIX_BYTES);
  /** The key serializer's bytes of the key (an own copy). */
  serialized: Uint8Array = new Uint8Array(0);
  /** The canonical bytes as latin1 text, once asked for (incremental checkpoints track keys by it). */
  private text: string | undefined = undefined;

  /** Makes `key` (in `keyGroup`) the current key; `serialized` may be a reused view (it is copied). */
  set(key: unknown, keyGroup: number, canonical: Uint8Array, serialized: Uint8Array): void {
    const length = KEY_PREFIX_BYTES + canonical.length;
    if (length > MAX_KEY_BYTES)
      throw new SluiceError(
        'SLUICE_STATE_INVALID_ACCESS',
        `a key encodes to ${canonical.length} bytes, more than the lmdb state backend's limit of ` +
          `${MAX_KEY_BYTES - KEY_PREFIX_BYTES}; key the stream by something shorter (e.g. an id or a hash of it), ` +
          'or use state.backend.type: hashmap.',
      );
    const bytes = Buffer.allocUnsafe(length);
    bytes.writeUInt16BE(keyGroup, 0);
    bytes.set(canonical, KEY_PREFIX_BYTES);
    this.bytes = bytes;
    this.text = undefined;
    this.serialized = serialized.slice();
    this.key = key;
    this.keyGroup = keyGroup;
  }

  /** The current key's bytes for state `stateId`. */
  forState(stateId: number): Buffer {
    const bytes = this.bytes;
    bytes[2] = stateId >>> 8;
    bytes[3] = stateId & 0xff;
    return bytes;
  }

  /** The key's canonical bytes as latin1 text (one character per byte): a Map key for them. */
  canonicalText(): string {
    return (this.text ??= this.bytes.toString('latin1', KEY_PREFIX_BYTES));
  }

  clear(): void {
    this.key = undefined;
    this.keyGroup = -1;
  }
}
