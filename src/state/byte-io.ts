/** Big-endian byte writing and bounds-checked reading for the state snapshot formats. */
import { SluiceError } from '../core/errors.js';
import type { TypeSerializer } from '../core/serializer.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** A growable output buffer; integers are big-endian, as in every persisted Sluice format. */
export class ByteWriter {
  private buf: Uint8Array;
  private view: DataView;
  private len = 0;

  constructor(initialSize = 4096) {
    this.buf = new Uint8Array(Math.max(16, initialSize));
    this.view = new DataView(this.buf.buffer);
  }

  /** The number of bytes written so far (the offset of the next byte). */
  get length(): number {
    return this.len;
  }

  /** Writes one unsigned byte. */
  u8(value: number): void {
    this.ensure(1);
    this.buf[this.len++] = value;
  }

  /** Writes an unsigned 32-bit integer. */
  u32(value: number): void {
    this.ensure(4);
    this.view.setUint32(this.len, value);
    this.len += 4;
  }

  /** Writes a float64 (timestamps may exceed 32 bits, and may be negative). */
  f64(value: number): void {
    this.ensure(8);
    this.view.setFloat64(this.len, value);
    this.len += 8;
  }

  /** Writes a string as a u32 byte length and its UTF-8 bytes. */
  str(value: string): void {
    this.bytes(encoder.encode(value));
  }

  /** Writes a u32 length and then `bytes` (copied: serializers may reuse their output buffer). */
  bytes(bytes: Uint8Array): void {
    this.u32(bytes.length);
    this.raw(bytes);
  }

  /** Writes `value` with `serializer`, length-prefixed. */
  value<T>(serializer: TypeSerializer<T>, value: T): void {
    if (serializer.serializeToScratch === undefined) return this.bytes(serializer.serialize(value));
    const scratch = serializer.serializeToScratch(value);
    this.u32(scratch.end - scratch.start);
    this.range(scratch, scratch.start, scratch.end);
  }

  /** Copies `bytes` with no length prefix. */
  raw(bytes: Uint8Array): void {
    this.range(bytes, 0, bytes.length);
  }

  /** Copies `bytes[start, end)` with no length prefix. */
  range(bytes: Uint8Array, start: number, end: number): void {
    const n = end - start;
    this.ensure(n);
    const buf = this.buf;
    let at = this.len;
    // State values are mostly a few bytes long: a loop beats set() and needs no subarray view.
    if (n <= 32) for (let i = start; i < end; i++) buf[at++] = bytes[i]!;
    else buf.set(bytes.subarray(start, end), at);
    this.len += n;
  }

  /** The bytes written so far, as a view of the writer's buffer (valid until the next write). */
  written(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }

  /** Writes a placeholder u32 and returns its offset, for `patchU32` once the value is known. */
  reserveU32(): number {
    const at = this.len;
    this.u32(0);
    return at;
  }

  /** Overwrites the u32 at `at` (a position `reserveU32` returned). */
  patchU32(at: number, value: number): void {
    this.view.setUint32(at, value);
  }

  /**
   * Forgets what was written, to reuse the buffer (a scratch writer). A buffer grown past
   * `keepBytes` by a large value is let go rather than kept alive.
   */
  reset(keepBytes = 1 << 20): void {
    this.len = 0;
    if (this.buf.length > keepBytes) {
      this.buf = new Uint8Array(4096);
      this.view = new DataView(this.buf.buffer);
    }
  }

  /**
   * The bytes written: a view of the buffer when it is mostly full, else a right-sized copy (so
   * much spare capacity is not kept alive). Write nothing afterwards.
   */
  toBytes(): Uint8Array {
    if (this.len >= this.buf.length * 0.75) return this.buf.subarray(0, this.len);
    return this.buf.slice(0, this.len);
  }

  private ensure(extra: number): void {
    if (this.len + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + extra) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
}

/**
 * Holds many small byte strings in shared chunks, so that keeping one costs no allocation (frozen
 * state values: up to one per key per checkpoint). A chunk lives as long as anything refers to it.
 */
export class ByteArena {
  private chunk: Uint8Array;
  private used = 0;
  /** Where the last `copy` put its bytes (one shared object, overwritten by the next copy). */
  private readonly last: { chunk: Uint8Array; start: number; end: number } = {
    chunk: new Uint8Array(0),
    start: 0,
    end: 0,
  };

  constructor(private readonly chunkSize = 256 * 1024) {
    this.chunk = new Uint8Array(chunkSize);
  }

  /** Copies `bytes[start, end)` into the arena; returns where (valid until the next call). */
  copy(bytes: Uint8Array, start: number, end: number): { chunk: Uint8Array; start: number; end: number } {
    const n = end - start;
    const last = this.last;
    if (n > this.chunkSize >>> 3) {
      last.chunk = bytes.slice(start, end);
      last.start = 0;
      last.end = n;
      return last;
    }
    if (this.used + n > this.chunk.length) {
      this.chunk = new Uint8Array(this.chunkSize);
      this.used = 0;
    }
    const chunk = this.chunk;
    const at = this.used;
    for (let i = 0; i < n; i++) chunk[at + i] = bytes[start + i]!;
    this.used = at + n;
    last.chunk = chunk;
    last.start = at;
    last.end = at + n;
    return last;
  }
}

/**
 * Reads what a ByteWriter wrote, within `[start, end)` of a buffer. Every read is bounds-checked
 * and a short read throws SLUICE_CHECKPOINT_CORRUPT naming `what`, so a truncated or damaged
 * snapshot fails the restore with a message instead of restoring garbage.
 */
export class ByteReader {
  /** The position of the next byte to read. */
  pos: number;
  private readonly view: DataView;

  constructor(
    readonly buf: Uint8Array,
    start: number,
    readonly end: number,
    private readonly what: string,
  ) {
    if (start < 0 || end > buf.length || start > end)
      throw corruptSnapshot(what, `range [${start}, ${end}) is outside the ${buf.length} bytes of data`);
    this.pos = start;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  /** Whether every byte of the range has been read. */
  get done(): boolean {
    return this.pos >= this.end;
  }

  /** Reads one unsigned byte. */
  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }

  /** Reads an unsigned 32-bit integer. */
  u32(): number {
    this.need(4);
    const value = this.view.getUint32(this.pos);
    this.pos += 4;
    return value;
  }

  /** Reads a float64. */
  f64(): number {
    this.need(8);
    const value = this.view.getFloat64(this.pos);
    this.pos += 8;
    return value;
  }

  /** Reads a length-prefixed UTF-8 string. */
  str(): string {
    const n = this.u32();
    this.need(n);
    let text: string;
    try {
      text = decoder.decode(this.buf.subarray(this.pos, this.pos + n));
    } catch (e) {
      throw corruptSnapshot(this.what, 'a string is not valid UTF-8', e);
    }
    this.pos += n;
    return text;
  }

  /** Reads a length-prefixed value with `serializer`. */
  value<T>(serializer: TypeSerializer<T>): T {
    const n = this.u32();
    this.need(n);
    const start = this.pos;
    this.pos += n;
    return serializer.deserialize(this.buf, start, start + n);
  }

  /** A view (not a copy) of the next `n` bytes. */
  take(n: number): Uint8Array {
    this.need(n);
    const bytes = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return bytes;
  }

  /** A view of the next length-prefixed bytes. */
  lengthPrefixed(): Uint8Array {
    return this.take(this.u32());
  }

  /** Throws unless the whole range was read: trailing bytes mean a writer/reader mismatch. */
  expectDone(): void {
    if (this.pos !== this.end)
      throw corruptSnapshot(this.what, `${this.end - this.pos} unexpected trailing bytes`);
  }

  private need(n: number): void {
    if (this.pos + n > this.end)
      throw corruptSnapshot(
        this.what,
        `truncated: needs ${n} more bytes at offset ${this.pos}, ends at ${this.end}`,
      );
  }
}

/** State bytes that cannot be read: a format this version does not know, or damaged data. */
export function corruptSnapshot(what: string, problem: string, cause?: unknown): SluiceError {
  return new SluiceError(
    'SLUICE_CHECKPOINT_CORRUPT',
    `cannot restore ${what}: ${problem}. Restore from another retained checkpoint or savepoint.`,
    cause === undefined ? undefined : { cause },
  );
}
