/**
 * A key's canonical bytes and its stable hash: the same in every process and every version.
 * This is persisted semantics (it decides which key group, hence which savepoint part, holds a
 * key): changing any byte of the encoding below breaks every savepoint ever taken.
 *
 * Canonical encoding, by type (tag byte first; lengths and counts are uint32 big-endian):
 *   string   0x01 UTF-8 bytes (lone surrogates as U+FFFD, as TextEncoder)
 *   number   0x02 float64 big-endian (-0 as 0, every NaN as 0x7ff8000000000000)
 *   bigint   0x03 decimal digits in ASCII, with a leading '-' when negative
 *   boolean  0x04 0x00 | 0x01
 *   null     0x05
 *   array    0x06 count, then per element: length, canonical bytes
 *   object   0x07 count, then per own enumerable key in code-unit order: length, key's string
 *                 encoding, length, value's encoding (plain objects only)
 *   Date     0x08 float64 big-endian of getTime()
 *   bytes    0x09 the bytes (Uint8Array and Buffer)
 * undefined, functions, symbols, Maps, Sets and class instances cannot be keys.
 */
import { SluiceError } from './errors.js';
import { Murmur3Stream, fmix32, mixBlock, mixTail } from './murmur3.js';

const TAG_STRING = 0x01;
const TAG_NUMBER = 0x02;
const TAG_BIGINT = 0x03;
const TAG_BOOLEAN = 0x04;
const TAG_NULL = 0x05;
const TAG_ARRAY = 0x06;
const TAG_OBJECT = 0x07;
const TAG_DATE = 0x08;
const TAG_BYTES = 0x09;

const f64 = new Float64Array(1);
const f64Bytes = new Uint8Array(f64.buffer);
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const stream = new Murmur3Stream();

/** Growable scratch buffer for composite keys, reused across calls. */
class ByteSink {
  buf = new Uint8Array(256);
  len = 0;

  ensure(extra: number): void {
    if (this.len + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + extra) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }
  byte(b: number): void {
    this.ensure(1);
    this.buf[this.len++] = b;
  }
  u32(v: number): void {
    this.ensure(4);
    this.buf[this.len++] = (v >>> 24) & 0xff;
    this.buf[this.len++] = (v >>> 16) & 0xff;
    this.buf[this.len++] = (v >>> 8) & 0xff;
    this.buf[this.len++] = v & 0xff;
  }
  patchU32(at: number, v: number): void {
    this.buf[at] = (v >>> 24) & 0xff;
    this.buf[at + 1] = (v >>> 16) & 0xff;
    this.buf[at + 2] = (v >>> 8) & 0xff;
    this.buf[at + 3] = v & 0xff;
  }
}

interface ByteTarget {
  byte(b: number): void;
}

/** Writes the UTF-8 bytes of `s` to `out` one by one, so strings hash with no allocation. */
function writeUtf8(s: string, out: ByteTarget): void {
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      out.byte(c);
      continue;
    }
    if (c < 0x800) {
      out.byte(0xc0 | (c >> 6));
      out.byte(0x80 | (c & 0x3f));
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
        i++;
        out.byte(0xf0 | (c >> 18));
        out.byte(0x80 | ((c >> 12) & 0x3f));
        out.byte(0x80 | ((c >> 6) & 0x3f));
        out.byte(0x80 | (c & 0x3f));
        continue;
      }
      c = 0xfffd;
    }
    out.byte(0xe0 | (c >> 12));
    out.byte(0x80 | ((c >> 6) & 0x3f));
    out.byte(0x80 | (c & 0x3f));
  }
}

function writeFloat64(v: number, out: ByteTarget): void {
  f64[0] = v === 0 ? 0 : v; // folds -0 into 0
  if (Number.isNaN(v)) {
    out.byte(0x7f);
    out.byte(0xf8);
    for (let i = 0; i < 6; i++) out.byte(0);
    return;
  }
  if (littleEndian) for (let i = 7; i >= 0; i--) out.byte(f64Bytes[i]!);
  else for (let i = 0; i < 8; i++) out.byte(f64Bytes[i]!);
}

function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'symbol') return 'a symbol';
  if (value instanceof Map) return 'a Map';
  if (value instanceof Set) return 'a Set';
  const ctor = (value as { constructor?: { name?: string } }).constructor?.name;
  return ctor ? `an instance of ${ctor}` : typeof value;
}

function notHashable(value: unknown, path: string): SluiceError {
  return new SluiceError(
    'SLUICE_KEY_NOT_HASHABLE',
    `key${path} is ${describe(value)}, which has no stable hash; a key must be a string, number, bigint, ` +
      'boolean, null, Date, Uint8Array, or an array or plain object of those. Change the key selector to return one.',
  );
}

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

function encode(value: unknown, out: ByteSink, path: string): void {
  switch (typeof value) {
    case 'string':
      out.byte(TAG_STRING);
      writeUtf8(value, out);
      return;
    case 'number':
      out.byte(TAG_NUMBER);
      writeFloat64(value, out);
      return;
    case 'bigint': {
      out.byte(TAG_BIGINT);
      const digits = value.toString(10);
      for (let i = 0; i < digits.length; i++) out.byte(digits.charCodeAt(i));
      return;
    }
    case 'boolean':
      out.byte(TAG_BOOLEAN);
      out.byte(value ? 1 : 0);
      return;
    case 'object':
      break;
    default:
      throw notHashable(value, path);
  }
  if (value === null) {
    out.byte(TAG_NULL);
    return;
  }
  if (Array.isArray(value)) {
    out.byte(TAG_ARRAY);
    out.u32(value.length);
    for (let i = 0; i < value.length; i++) encodeLengthPrefixed(value[i], out, `${path}[${i}]`);
    return;
  }
  if (value instanceof Date) {
    out.byte(TAG_DATE);
    writeFloat64(value.getTime(), out);
    return;
  }
  if (value instanceof Uint8Array) {
    out.byte(TAG_BYTES);
    out.ensure(value.length);
    out.buf.set(value, out.len);
    out.len += value.length;
    return;
  }
  if (!isPlainObject(value)) throw notHashable(value, path);
  const keys = Object.keys(value).sort();
  out.byte(TAG_OBJECT);
  out.u32(keys.length);
  for (const k of keys) {
    const start = out.len;
    out.u32(0);
    writeUtf8(k, out);
    out.patchU32(start, out.len - start - 4);
    encodeLengthPrefixed((value as Record<string, unknown>)[k], out, `${path}.${k}`);
  }
}

function encodeLengthPrefixed(value: unknown, out: ByteSink, path: string): void {
  const start = out.len;
  out.u32(0);
  encode(value, out, path);
  out.patchU32(start, out.len - start - 4);
}

const scratch = new ByteSink();

/**
 * murmur3 of `[TAG_STRING, ...s]` for an all-ASCII string, four bytes per mixing step (the
 * common key, hashed twice per record on a keyed exchange). Undefined if `s` has a non-ASCII
 * character; the byte-wise path then gives the same result for every string.
 */
function hashAsciiString(s: string): number | undefined {
  const n = s.length;
  let h = 0;
  // Block i holds bytes 4i..4i+3 of the encoding: the tag, then the characters.
  let k = TAG_STRING;
  let fill = 1;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) return undefined;
    k |= c << (fill << 3);
    if (++fill === 4) {
      h = mixBlock(h, k);
      k = 0;
      fill = 0;
    }
  }
  if (fill !== 0) h ^= mixTail(k);
  return fmix32(h ^ (n + 1));
}

/** The canonical bytes of a key (a fresh copy). Throws SLUICE_KEY_NOT_HASHABLE for bad keys. */
export function canonicalBytes(key: unknown): Uint8Array {
  scratch.len = 0;
  encode(key, scratch, '');
  return scratch.buf.slice(0, scratch.len);
}

/**
 * murmur3_x86_32 (seed 0) of the key's canonical bytes, as a signed int. Strings and numbers,
 * the common keys, take a path that allocates nothing.
 */
export function stableHash(key: unknown): number {
  if (typeof key === 'string') {
    const ascii = hashAsciiString(key);
    if (ascii !== undefined) return ascii;
    stream.reset(0);
    stream.byte(TAG_STRING);
    writeUtf8(key, stream);
    return stream.finish();
  }
  if (typeof key === 'number') {
    stream.reset(0);
    stream.byte(TAG_NUMBER);
    writeFloat64(key, stream);
    return stream.finish();
  }
  scratch.len = 0;
  encode(key, scratch, '');
  stream.reset(0);
  stream.bytes(scratch.buf, 0, scratch.len);
  return stream.finish();
}

/**
 * A primitive that identifies the key in a JS Map: the key itself for primitives, and a string
 * of its canonical bytes for composite keys (so `['a', 1]` and another `['a', 1]` are one key).
 * Composite forms start with U+0000, so a string that does too takes the encoded form as well
 * (it would otherwise collide with a composite key).
 */
export function mapKeyOf(key: unknown): unknown {
  const t = typeof key;
  if (t === 'string') {
    if ((key as string).charCodeAt(0) !== 0) return key;
  } else if (t === 'number' || t === 'boolean' || t === 'bigint' || key === null) return key;
  scratch.len = 0;
  encode(key, scratch, '');
  let s = '\u0000';
  for (let i = 0; i < scratch.len; i++) s += String.fromCharCode(scratch.buf[i]!);
  return s;
}

/** Throws SLUICE_KEY_NOT_HASHABLE unless `key` can be hashed stably. */
export function checkHashable(key: unknown): void {
  stableHash(key);
}
