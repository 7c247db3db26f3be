/** MurmurHash3 (x86, 32-bit): a streaming byte hasher and Flink's single-int mix. */

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

function mixK(k: number): number {
  k = Math.imul(k, C1);
  k = (k << 15) | (k >>> 17);
  return Math.imul(k, C2);
}

function mixH(h: number, k: number): number {
  h ^= mixK(k);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** Mixes one full 4-byte block `k` into hash state `h` (murmur3's body step). */
export function mixBlock(h: number, k: number): number {
  return mixH(h, k);
}

/** Mixes a partial last block (murmur3's tail step); xor the result into the hash state. */
export function mixTail(k: number): number {
  return mixK(k);
}

/** The murmur3 finalizer (Flink's `MathUtils.bitMix`). */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

/**
 * Incremental murmur3_x86_32 over a byte stream. One instance is reused per thread of work, so
 * hashing a key allocates nothing: `reset()`, feed bytes, `finish()`.
 */
export class Murmur3Stream {
  private h = 0;
  private k = 0;
  private length = 0;

  reset(seed = 0): this {
    this.h = seed | 0;
    this.k = 0;
    this.length = 0;
    return this;
  }

  byte(b: number): void {
    const shift = (this.length & 3) << 3;
    this.k |= (b & 0xff) << shift;
    this.length++;
    if ((this.length & 3) === 0) {
      this.h = mixH(this.h, this.k);
      this.k = 0;
    }
  }

  bytes(data: Uint8Array, from = 0, to = data.length): void {
    for (let i = from; i < to; i++) this.byte(data[i]!);
  }

  /** The 32-bit hash as a signed int (like Java's `int`). */
  finish(): number {
    let h = this.h;
    if ((this.length & 3) !== 0) h ^= mixK(this.k);
    h ^= this.length;
    return fmix32(h);
  }
}

/** murmur3_x86_32 of a byte array, as a signed int. */
export function murmur3Bytes(data: Uint8Array, seed = 0): number {
  const s = new Murmur3Stream().reset(seed);
  s.bytes(data);
  return s.finish();
}

/**
 * Flink's `MathUtils.murmurHash(int)`: mixes one int and returns a non-negative int. This is the
 * step between a key's hash and its key group, so it must match Flink bit for bit.
 */
export function murmurMixInt(code: number): number {
  let h = mixK(code | 0);
  h = (h << 13) | (h >>> 19);
  h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  h ^= 4;
  h = fmix32(h);
  if (h >= 0) return h;
  if (h !== -2147483648) return -h;
  return 0;
}
