/** CRC32C (Castagnoli), the checksum of checkpoint metadata bodies and state files. */
import { createRequire } from 'node:module';

// CRC32C rather than zlib's CRC32: it is what storage systems (ext4, iSCSI, GCS, S3's
// x-amz-checksum-crc32c) use, so a future object-store storage can compare checksums end to end.
// node:zlib only offers plain CRC32. Restoring a task verifies every byte of its state files, and
// table-driven CRC32C in JS runs at about 1 GB/s, as long as reading the file takes: so the CPU's
// CRC32C instruction is used through @node-rs/crc32 (prebuilt per platform) when it loads, and
// the portable implementation below (slicing-by-16) otherwise.
const POLYNOMIAL = 0x82f63b78; // reflected Castagnoli polynomial

const TABLES: readonly Uint32Array[] = (() => {
  const tables = Array.from({ length: 16 }, () => new Uint32Array(256));
  const t0 = tables[0]!;
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLYNOMIAL : c >>> 1;
    t0[n] = c >>> 0;
  }
  for (let t = 1; t < 16; t++) {
    const prev = tables[t - 1]!;
    const cur = tables[t]!;
    for (let n = 0; n < 256; n++) cur[n] = (prev[n]! >>> 8) ^ t0[prev[n]! & 0xff]!;
  }
  return tables;
})();
const [T0, T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13, T14, T15] = TABLES as [
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
];

/** Whether a Uint32Array reads bytes 0..3 as b0 | b1 << 8 | b2 << 16 | b3 << 24 (x86, ARM). */
const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

type Crc32c = (data: Uint8Array, previous?: number) => number;

/** @node-rs/crc32's function, or undefined where it has no build for this platform. */
function loadNative(): ((data: Buffer, initialState?: number) => number) | undefined {
  try {
    const native = createRequire(import.meta.url)('@node-rs/crc32') as {
      crc32c: (data: Buffer, initialState?: number) => number;
    };
    // A build that loads but computes something else must not decide which state is corrupt.
    return native.crc32c(Buffer.from('123456789')) === 0xe3069283 ? native.crc32c : undefined;
  } catch {
    return undefined;
  }
}

/** Below this many bytes the portable code is as fast as crossing into native code. */
const NATIVE_FROM_BYTES = 256;

function withNative(native: (data: Buffer, initialState?: number) => number): Crc32c {
  return (data, previous = 0) => {
    if (data.length < NATIVE_FROM_BYTES) return crc32cPortable(data, previous);
    const buffer = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.length);
    return native(buffer, previous);
  };
}

const native = loadNative();

/** Whether `crc32c` uses the CPU's CRC32C instruction (through @node-rs/crc32). */
export const CRC32C_NATIVE = native !== undefined;

/**
 * The CRC32C of `data`, as an unsigned 32-bit integer. Pass the result of a previous call as
 * `previous` to continue a checksum over data that arrives in pieces.
 */
export const crc32c: Crc32c = native === undefined ? crc32cPortable : withNative(native);

/** `crc32c` in plain JS: what runs where @node-rs/crc32 does not load (exported for its tests). */
export function crc32cPortable(data: Uint8Array, previous = 0): number {
  let crc = ~previous >>> 0;
  let i = 0;
  const n = data.length;
  if (LITTLE_ENDIAN && n >= 64) {
    // Bytes up to a 4-byte boundary, then 16 bytes per step read as four 32-bit words: four
    // times fewer loads than byte by byte and more independent lookups per step. About twice as
    // fast as slicing-by-8 on bytes (50 MiB: 86-96 ms against 139-198 ms, best of 8, one
    // process), and every restoring task verifies all its files with it.
    for (; ((data.byteOffset + i) & 3) !== 0; i++) crc = T0[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
    const words = new Uint32Array(data.buffer, data.byteOffset + i, ((n - i) >>> 4) << 2);
    for (let w = 0; w < words.length; w += 4) {
      const a = (crc ^ words[w]!) >>> 0;
      const b = words[w + 1]!;
      const c = words[w + 2]!;
      const d = words[w + 3]!;
      crc =
        T15[a & 0xff]! ^
        T14[(a >>> 8) & 0xff]! ^
        T13[(a >>> 16) & 0xff]! ^
        T12[a >>> 24]! ^
        T11[b & 0xff]! ^
        T10[(b >>> 8) & 0xff]! ^
        T9[(b >>> 16) & 0xff]! ^
        T8[b >>> 24]! ^
        T7[c & 0xff]! ^
        T6[(c >>> 8) & 0xff]! ^
        T5[(c >>> 16) & 0xff]! ^
        T4[c >>> 24]! ^
        T3[d & 0xff]! ^
        T2[(d >>> 8) & 0xff]! ^
        T1[(d >>> 16) & 0xff]! ^
        T0[d >>> 24]!;
    }
    i += words.length * 4;
  }
  // Eight bytes per step: one table lookup per byte, but no data-dependent chain between them.
  for (; i + 8 <= n; i += 8) {
    const lo = (crc ^ (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24))) >>> 0;
    crc =
      T7[lo & 0xff]! ^
      T6[(lo >>> 8) & 0xff]! ^
      T5[(lo >>> 16) & 0xff]! ^
      T4[lo >>> 24]! ^
      T3[data[i + 4]!]! ^
      T2[data[i + 5]!]! ^
      T1[data[i + 6]!]! ^
      T0[data[i + 7]!]!;
  }
  for (; i < n; i++) crc = T0[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return ~crc >>> 0;
}
