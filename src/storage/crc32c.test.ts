/** Checks CRC32C against the published check values and a bit-at-a-time reference. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CRC32C_NATIVE, crc32c, crc32cPortable } from './crc32c.js';

/** The textbook definition, one bit at a time: slow, obviously right. */
function reference(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return ~crc >>> 0;
}

it('uses the CPU instruction where @node-rs/crc32 has a build (it has for linux x64)', () => {
  if (process.platform === 'linux' && process.arch === 'x64') expect(CRC32C_NATIVE).toBe(true);
});

// The native path and the portable one (the fallback) must give the same checksums.
describe.each([
  ['crc32c', crc32c],
  ['crc32cPortable', crc32cPortable],
])('%s', (_, crc32c) => {
  it('matches the published check values', () => {
    // RFC 3720 (iSCSI) B.4 and the CRC catalogue's "check" value for CRC-32C.
    expect(crc32c(new TextEncoder().encode('123456789'))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
    expect(crc32c(new Uint8Array(0))).toBe(0);
  });

  it('agrees with the bitwise definition on any input', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (data) => crc32c(data) === reference(data)));
  });

  it('continues across pieces', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(), (data, at) => {
        const cut = data.length === 0 ? 0 : at % data.length;
        return crc32c(data.subarray(cut), crc32c(data.subarray(0, cut))) === crc32c(data);
      }),
    );
  });

  it('continues across long pieces, each of either path', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 300, maxLength: 3000 }), fc.nat(), (data, at) => {
        const cut = at % data.length;
        const first = crc32c(data.subarray(0, cut));
        return (
          crc32c(data.subarray(cut), first) === reference(data) &&
          crc32cPortable(data.subarray(cut), first) === reference(data)
        );
      }),
    );
  });

  it('agrees with the bitwise definition on long views at any offset and length (the word-at-a-time path)', () => {
    const whole = Uint8Array.from({ length: 1200 }, (_, i) => (i * 2654435761) >>> 24);
    fc.assert(
      fc.property(fc.nat(7), fc.integer({ min: 0, max: 1000 }), (offset, length) => {
        const view = whole.subarray(offset, offset + length);
        return crc32c(view) === reference(view.slice());
      }),
    );
  });

  it('works on views that do not start at offset 0', () => {
    const whole = Uint8Array.from({ length: 100 }, (_, i) => (i * 7) & 0xff);
    expect(crc32c(whole.subarray(3, 77))).toBe(reference(whole.slice(3, 77)));
  });

  it('agrees with the bitwise definition on long inputs at every alignment and length', () => {
    // Long enough for the word-wise loop, which reads 4-byte-aligned words of the buffer.
    const whole = Uint8Array.from({ length: 2100 }, (_, i) => (i * 131 + (i >> 3)) & 0xff);
    for (let start = 0; start < 8; start++)
      for (const length of [255, 256, 257, 1000, 1001, 1002, 1003, 2048])
        expect(crc32c(whole.subarray(start, start + length))).toBe(
          reference(whole.slice(start, start + length)),
        );
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 256, maxLength: 1200 }), fc.nat(7), (data, start) => {
        const view = data.subarray(Math.min(start, data.length));
        return crc32c(view) === reference(view);
      }),
    );
  });
});
