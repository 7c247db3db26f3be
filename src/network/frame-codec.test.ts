/** Frame codec: round trips, any chunking, no-copy views, and typed rejection of bad bytes. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { END_OF_PARTITION } from '../runtime/channel-event.js';
import {
  FrameDecoder,
  FrameError,
  FrameType,
  MIN_MAX_FRAME_SIZE,
  encodeBufferFrames,
  encodeFrame,
  type Frame,
} from './frame-codec.js';

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const token = fc.uint8Array({ minLength: 32, maxLength: 32 });

const frameArb: fc.Arbitrary<Frame> = fc.oneof(
  fc.record({
    kind: fc.constant('hello' as const),
    version: fc.integer({ min: 0, max: 0xffff }),
    nonce: fc.uint8Array({ maxLength: 40 }),
  }),
  fc.record({
    kind: fc.constant('challenge' as const),
    version: fc.integer({ min: 0, max: 0xffff }),
    nonce: token,
    proof: token,
  }),
  fc.record({ kind: fc.constant('response' as const), proof: token }),
  fc.constant({ kind: 'welcome' as const }),
  fc.record({
    kind: fc.constant('subscribe' as const),
    channelId: u32,
    initialCredit: u32,
    channelKey: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 60 }),
  }),
  fc.record({
    kind: fc.constant('buffer' as const),
    channelId: u32,
    more: fc.boolean(),
    backlog: u32,
    bytes: fc.uint8Array({ maxLength: 300 }),
  }),
  fc.record({
    kind: fc.constant('event' as const),
    channelId: u32,
    event: fc.oneof(
      fc.constant(END_OF_PARTITION),
      fc.record({
        kind: fc.constant('barrier' as const),
        checkpointId: fc.nat(),
        timestamp: fc.integer({ min: 0, max: 2 ** 50 }),
      }),
      fc.record({ kind: fc.constant('cancel-checkpoint' as const), checkpointId: fc.nat() }),
      fc.record({
        kind: fc.constant('watermark' as const),
        timestamp: fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
      }),
      fc.record({
        kind: fc.constant('watermark-status' as const),
        status: fc.constantFrom('IDLE' as const, 'ACTIVE' as const),
      }),
      fc.record({
        kind: fc.constant('barrier' as const),
        checkpointId: fc.nat(),
        timestamp: fc.integer({ min: 0, max: 2 ** 50 }),
        savepoint: fc.record({
          kind: fc.constantFrom('savepoint' as const, 'sync-savepoint' as const),
          pointer: fc.string({ maxLength: 40 }).map((p) => `/sp/${p}`),
        }),
      }),
    ),
  }),
  fc.record({
    kind: fc.constant('credit' as const),
    channelId: u32,
    n: fc.integer({ min: 1, max: 0xffffffff }),
  }),
  fc.record({
    kind: fc.constant('close' as const),
    channelId: u32,
    reason: fc.string({ unit: 'grapheme', maxLength: 100 }),
  }),
  fc.record({
    kind: fc.constant('message' as const),
    more: fc.boolean(),
    body: fc.uint8Array({ maxLength: 300 }),
  }),
);

function concat(pieces: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(pieces.reduce((n, p) => n + p.length, 0));
  let pos = 0;
  for (const p of pieces) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

const bytesOf = (frames: Frame[]): Uint8Array => concat(frames.flatMap((f) => encodeFrame(f)));

/** Feeds `chunks` to a fresh decoder: the frames and the first error. */
function decodeAll(
  chunks: Uint8Array[],
  maxFrameSize?: number,
): { frames: Frame[]; error: FrameError | undefined } {
  const decoder = new FrameDecoder(maxFrameSize);
  const frames: Frame[] = [];
  let error: FrameError | undefined;
  for (const chunk of chunks) error ??= decoder.push(chunk, (f) => frames.push(f));
  error ??= decoder.end();
  return { frames, error };
}

const header = (length: number, type: number): Uint8Array =>
  Uint8Array.of(length >>> 24, (length >>> 16) & 0xff, (length >>> 8) & 0xff, length & 0xff, type);

/** A frame of `type` with `payload`, length written honestly. */
const raw = (type: number, payload: number[]): Uint8Array =>
  concat([header(payload.length + 1, type), Uint8Array.from(payload)]);

describe('frame codec', () => {
  it('decodes any sequence of frames split at any points to the same frames', () => {
    fc.assert(
      fc.property(
        fc.array(frameArb, { maxLength: 20 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        (frames, cuts) => {
          const bytes = bytesOf(frames);
          const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
          const chunks: Uint8Array[] = [];
          let from = 0;
          for (const p of [...points, bytes.length]) {
            chunks.push(bytes.slice(from, p));
            from = p;
          }
          const { frames: decoded, error } = decodeAll(chunks);
          expect(error).toBeUndefined();
          expect(decoded).toEqual(frames);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('decodes frames coalesced into one chunk, and byte by byte', () => {
    const frames: Frame[] = [
      { kind: 'credit', channelId: 3, n: 2 },
      { kind: 'buffer', channelId: 3, more: false, backlog: 4, bytes: Uint8Array.of(1, 2, 3) },
      { kind: 'event', channelId: 3, event: { kind: 'barrier', checkpointId: 7, timestamp: 1234 } },
      { kind: 'close', channelId: 0xffffffff, reason: 'bye' },
    ];
    const bytes = bytesOf(frames);
    expect(decodeAll([bytes]).frames).toEqual(frames);
    expect(decodeAll([...bytes].map((b) => Uint8Array.of(b))).frames).toEqual(frames);
  });

  it('decodes end-of-partition to the shared END_OF_PARTITION event', () => {
    const { frames } = decodeAll([bytesOf([{ kind: 'event', channelId: 0, event: END_OF_PARTITION }])]);
    expect(frames[0]).toMatchObject({ kind: 'event' });
    expect((frames[0] as { event: unknown }).event).toBe(END_OF_PARTITION);
  });

  it('hands out a buffer inside one chunk as a view of the chunk, not a copy', () => {
    const chunk = bytesOf([
      { kind: 'buffer', channelId: 1, more: false, backlog: 0, bytes: new Uint8Array(100).fill(9) },
    ]);
    const { frames } = decodeAll([chunk]);
    const bytes = (frames[0] as { bytes: Uint8Array }).bytes;
    expect(bytes.buffer).toBe(chunk.buffer);
    expect(bytes).toEqual(new Uint8Array(100).fill(9));
  });

  it('encodes a buffer without copying it, and splits one larger than a frame into fragments', () => {
    const payload = Uint8Array.from({ length: 5000 }, (_, i) => i % 251);
    const pieces = encodeBufferFrames(4, payload, MIN_MAX_FRAME_SIZE, 7);
    expect(pieces.filter((p) => p.buffer === payload.buffer).length).toBeGreaterThan(1);
    const { frames, error } = decodeAll([concat(pieces)], MIN_MAX_FRAME_SIZE);
    expect(error).toBeUndefined();
    expect(frames.length).toBe(Math.ceil(5000 / (MIN_MAX_FRAME_SIZE - 14)));
    const buffers = frames as Extract<Frame, { kind: 'buffer' }>[];
    expect(buffers.map((f) => f.more)).toEqual(buffers.map((_, i) => i < buffers.length - 1));
    expect(buffers.every((f) => f.backlog === 7)).toBe(true);
    expect(concat(buffers.map((f) => f.bytes))).toEqual(payload);
    expect(encodeBufferFrames(4, payload.subarray(0, 100), MIN_MAX_FRAME_SIZE, 0)).toHaveLength(2);
  });

  it('rejects a frame above the maximum size as soon as its length is read', () => {
    const decoder = new FrameDecoder(1024);
    const error = decoder.push(header(1021, FrameType.BUFFER).subarray(0, 4), () => {});
    expect(error).toBeInstanceOf(FrameError);
    expect(error).toMatchObject({ code: 'SLUICE_NETWORK_BAD_FRAME', reason: 'oversized' });
    expect(decodeAll([header(1020, FrameType.BUFFER)], 1024).error?.reason).toBe('truncated');
  });

  it('rejects a length of 0 (no room for the type byte) and unknown types', () => {
    expect(decodeAll([Uint8Array.of(0, 0, 0, 0)]).error?.reason).toBe('truncated-header');
    expect(decodeAll([raw(0, [])]).error?.reason).toBe('unknown-type');
    expect(decodeAll([raw(11, [1, 2])]).error?.reason).toBe('unknown-type');
    expect(decodeAll([raw(255, [])]).error?.reason).toBe('unknown-type');
  });

  it('rejects malformed payloads', () => {
    const msgpackEvent = (obj: unknown): number[] => [
      0,
      0,
      0,
      1,
      ...encodeFrame({ kind: 'event', channelId: 1, event: obj as never })[0]!.subarray(9),
    ];
    const bad: [number, number[]][] = [
      [FrameType.HELLO, [1]],
      [FrameType.CHALLENGE, [0, 1, ...new Array<number>(63).fill(0)]],
      [FrameType.RESPONSE, new Array<number>(31).fill(0)],
      [FrameType.WELCOME, [0]],
      [FrameType.SUBSCRIBE, [0, 0, 0, 1, 0, 0, 0, 2]], // empty key
      [FrameType.SUBSCRIBE, [0, 0, 0, 1, 0, 0, 0, 2, 0xff, 0xfe]], // not UTF-8
      [FrameType.SUBSCRIBE, [0, 0, 0, 1, 0, 0, 0, 2, ...new Array<number>(513).fill(97)]],
      [FrameType.BUFFER, [0, 0, 0, 1]],
      [FrameType.BUFFER, [0, 0, 0, 1, 0, 0, 0, 0]], // no room for the backlog
      [FrameType.BUFFER, [0, 0, 0, 1, 2, 0, 0, 0, 0]], // `more` neither 0 nor 1
      [FrameType.EVENT, [0, 0, 0, 1]],
      [FrameType.EVENT, [0, 0, 0, 1, 0xc1]], // never-used msgpack byte
      [FrameType.EVENT, msgpackEvent({ kind: 'watermark', timestamp: '1' })],
      [FrameType.EVENT, msgpackEvent({ kind: 'watermark', timestamp: Number.NaN })],
      [FrameType.EVENT, msgpackEvent({ kind: 'watermark-status', status: 'SLEEPING' })],
      [FrameType.EVENT, msgpackEvent({ kind: 'watermark-status' })],
      [FrameType.EVENT, msgpackEvent({ kind: 'barrier', checkpointId: '1', timestamp: 1 })],
      [FrameType.EVENT, msgpackEvent({ kind: 'barrier', checkpointId: -1, timestamp: 1 })],
      // A savepoint barrier's target is a known kind and an absolute directory, nothing else.
      [FrameType.EVENT, msgpackEvent({ kind: 'barrier', checkpointId: 1, timestamp: 1, savepoint: 'x' })],
      [
        FrameType.EVENT,
        msgpackEvent({
          kind: 'barrier',
          checkpointId: 1,
          timestamp: 1,
          savepoint: { kind: 'x', pointer: '/p' },
        }),
      ],
      [
        FrameType.EVENT,
        msgpackEvent({
          kind: 'barrier',
          checkpointId: 1,
          timestamp: 1,
          savepoint: { kind: 'savepoint', pointer: 'relative' },
        }),
      ],
      [FrameType.EVENT, msgpackEvent({ kind: 'cancel-checkpoint', checkpointId: 1.5 })],
      [FrameType.EVENT, msgpackEvent(['end-of-partition'])],
      [FrameType.EVENT, msgpackEvent(null)],
      [FrameType.CREDIT, [0, 0, 0, 1, 0, 0, 0, 0]], // zero credit
      [FrameType.CREDIT, [0, 0, 0, 1, 0, 0, 1]],
      [FrameType.CLOSE, [0, 0, 0]],
      [FrameType.CLOSE, [0, 0, 0, 1, 0xc3, 0x28]],
      [FrameType.MESSAGE, []], // no flags byte
      [FrameType.MESSAGE, [2, 0x90]], // unknown flag
    ];
    for (const [type, payload] of bad) {
      const { frames, error } = decodeAll([raw(type, payload)]);
      expect(error?.reason, `type ${type} payload ${payload.slice(0, 12).join(',')}`).toBe('malformed');
      expect(frames).toEqual([]);
    }
  });

  it('reports a stream that ends inside a frame as truncated', () => {
    const bytes = bytesOf([{ kind: 'credit', channelId: 1, n: 1 }]);
    for (let cut = 1; cut < bytes.length; cut++) {
      expect(decodeAll([bytes.subarray(0, cut)]).error?.reason).toBe('truncated');
    }
  });

  it('stays failed after the first bad frame: frames behind it are never delivered', () => {
    const decoder = new FrameDecoder();
    const frames: Frame[] = [];
    const good = bytesOf([{ kind: 'credit', channelId: 1, n: 1 }]);
    const error = decoder.push(concat([good, raw(99, []), good]), (f) => frames.push(f));
    expect(error?.reason).toBe('unknown-type');
    expect(frames).toHaveLength(1);
    expect(decoder.push(good, (f) => frames.push(f))).toBe(error);
    expect(frames).toHaveLength(1);
  });

  it('never throws on random bytes: every outcome is frames or a FrameError', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 8 }),
        fc.boolean(),
        (chunks, smallLengths) => {
          // Small lengths make random bytes reach the payload parsers, not just the size check.
          const input = smallLengths ? chunks.map((c) => c.map((b, i) => (i % 5 < 3 ? 0 : b))) : chunks;
          const { error } = decodeAll(input, MIN_MAX_FRAME_SIZE);
          if (error !== undefined) expect(error).toBeInstanceOf(FrameError);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('refuses to encode a channel key longer than the protocol allows', () => {
    expect(() =>
      encodeFrame({ kind: 'subscribe', channelId: 0, initialCredit: 1, channelKey: 'k'.repeat(513) }),
    ).toThrow(/channel key/u);
  });
});
