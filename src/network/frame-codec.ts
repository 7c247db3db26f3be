/** The frames of internal TCP connections (`[u32 length][u8 type][payload]`) and a streaming decoder that never throws. */
import { isAbsolute } from 'node:path';
import { SluiceError } from '../core/errors.js';
import { MsgpackSerializer } from '../core/serializer.js';
import type { SavepointTarget } from '../protocol/snapshot-kind.js';
import { END_OF_PARTITION, type ChannelEvent } from '../runtime/channel-event.js';

/**
 * Frame type bytes. 1–4 are the handshake, the rest flow only after it. Values are permanent:
 * a new frame gets a new number, so an old peer rejects it as unknown instead of misreading it.
 */
export const FrameType = {
  HELLO: 1,
  CHALLENGE: 2,
  RESPONSE: 3,
  WELCOME: 4,
  SUBSCRIBE: 5,
  BUFFER: 6,
  EVENT: 7,
  CREDIT: 8,
  CLOSE: 9,
  /** A control-plane (RPC) message body, msgpack, or one fragment of it; never on data connections. */
  MESSAGE: 10,
} as const;

/** Bytes before a payload: the u32 length (which counts the type byte and the payload) and the type. */
export const FRAME_HEADER_BYTES = 5;
/** Default maximum frame size, header included: 1 MiB. */
export const DEFAULT_MAX_FRAME_SIZE = 1024 * 1024;
/** The smallest maximum frame size accepted: room for a SUBSCRIBE with the longest channel key. */
export const MIN_MAX_FRAME_SIZE = 1024;
/** Nonce and HMAC-SHA256 proof length in handshake frames. */
export const HANDSHAKE_TOKEN_BYTES = 32;
/** The longest channel key, in UTF-8 bytes. */
export const MAX_CHANNEL_KEY_BYTES = 512;
/** The channel id a CLOSE frame uses to close the whole connection rather than one channel. */
export const CONNECTION_CHANNEL_ID = 0xffffffff;
/** Bytes of a BUFFER frame before the buffer's bytes: header, channel id, flags. */
export const BUFFER_FRAME_OVERHEAD = FRAME_HEADER_BYTES + 9;
/** Bytes of a MESSAGE frame before the body: header, flags. */
export const MESSAGE_FRAME_OVERHEAD = FRAME_HEADER_BYTES + 1;

/** One decoded frame. Channel ids are chosen by the subscriber and name a channel within one connection. */
export type Frame =
  /** Client → server: opens the handshake. */
  | { readonly kind: 'hello'; readonly version: number; readonly nonce: Uint8Array }
  /** Server → client: its nonce and its proof of the secret over both nonces. */
  | {
      readonly kind: 'challenge';
      readonly version: number;
      readonly nonce: Uint8Array;
      readonly proof: Uint8Array;
    }
  /** Client → server: the client's proof of the secret. */
  | { readonly kind: 'response'; readonly proof: Uint8Array }
  /** Server → client: authenticated; data frames may flow. */
  | { readonly kind: 'welcome' }
  /** Consumer → producer: connect channel `channelKey` under id `channelId` with `initialCredit` buffers of room. */
  | {
      readonly kind: 'subscribe';
      readonly channelId: number;
      readonly initialCredit: number;
      readonly channelKey: string;
    }
  /**
   * Producer → consumer: one buffer, or one fragment of it when `more` (a buffer larger than a
   * frame), with the producer's backlog: how many buffers wait behind it (Flink's BufferResponse).
   */
  | {
      readonly kind: 'buffer';
      readonly channelId: number;
      readonly more: boolean;
      readonly backlog: number;
      readonly bytes: Uint8Array;
    }
  /** Producer → consumer: an in-band event, in order with the buffers. */
  | { readonly kind: 'event'; readonly channelId: number; readonly event: ChannelEvent }
  /** Consumer → producer: `n` more buffers of room. */
  | { readonly kind: 'credit'; readonly channelId: number; readonly n: number }
  /** Either way: closes one channel, or the connection when `channelId` is CONNECTION_CHANNEL_ID. */
  | { readonly kind: 'close'; readonly channelId: number; readonly reason: string }
  /**
   * Either way, control plane only: an RPC message body, or one fragment of it when `more` (a
   * message larger than a frame). The body is opaque here; the RPC layer decodes and checks it.
   */
  | { readonly kind: 'message'; readonly more: boolean; readonly body: Uint8Array };

/** Why bytes were rejected: they are logged and the connection is closed. */
export type FrameErrorReason = 'oversized' | 'truncated-header' | 'unknown-type' | 'malformed' | 'truncated';

/** A rejected frame (`SLUICE_NETWORK_BAD_FRAME`); `reason` says which check failed. */
export class FrameError extends SluiceError {
  constructor(
    readonly reason: FrameErrorReason,
    message: string,
  ) {
    super('SLUICE_NETWORK_BAD_FRAME', message);
    this.name = 'FrameError';
  }
}

const eventSerializer = new MsgpackSerializer<unknown>();
const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function writeU32(buf: Uint8Array, pos: number, v: number): void {
  buf[pos] = v >>> 24;
  buf[pos + 1] = (v >>> 16) & 0xff;
  buf[pos + 2] = (v >>> 8) & 0xff;
  buf[pos + 3] = v & 0xff;
}

function readU32(buf: Uint8Array, pos: number): number {
  return ((buf[pos]! << 24) | (buf[pos + 1]! << 16) | (buf[pos + 2]! << 8) | buf[pos + 3]!) >>> 0;
}

/** A frame of `type` with room for `payloadBytes`, header written. */
function allocFrame(type: number, payloadBytes: number): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER_BYTES + payloadBytes);
  writeU32(out, 0, payloadBytes + 1);
  out[4] = type;
  return out;
}

function encodeChannelKey(key: string): Uint8Array {
  const bytes = utf8.encode(key);
  if (bytes.length === 0 || bytes.length > MAX_CHANNEL_KEY_BYTES) {
    throw new SluiceError(
      'SLUICE_INTERNAL_ASSERTION',
      `invariant violated: a channel key has 1 to ${MAX_CHANNEL_KEY_BYTES} UTF-8 bytes, got ${bytes.length}`,
    );
  }
  return bytes;
}

/**
 * The bytes of `frame`, as pieces to write in order. A BUFFER frame's bytes are referenced, not
 * copied (the header is a separate piece); every other frame is one piece. The caller splits
 * buffers larger than a frame with {@link encodeBufferFrames}.
 */
export function encodeFrame(frame: Frame): Uint8Array[] {
  switch (frame.kind) {
    case 'hello': {
      const out = allocFrame(FrameType.HELLO, 2 + frame.nonce.length);
      out[5] = frame.version >>> 8;
      out[6] = frame.version & 0xff;
      out.set(frame.nonce, 7);
      return [out];
    }
    case 'challenge': {
      const out = allocFrame(FrameType.CHALLENGE, 2 + 2 * HANDSHAKE_TOKEN_BYTES);
      out[5] = frame.version >>> 8;
      out[6] = frame.version & 0xff;
      out.set(frame.nonce, 7);
      out.set(frame.proof, 7 + HANDSHAKE_TOKEN_BYTES);
      return [out];
    }
    case 'response': {
      const out = allocFrame(FrameType.RESPONSE, HANDSHAKE_TOKEN_BYTES);
      out.set(frame.proof, 5);
      return [out];
    }
    case 'welcome':
      return [allocFrame(FrameType.WELCOME, 0)];
    case 'subscribe': {
      const key = encodeChannelKey(frame.channelKey);
      const out = allocFrame(FrameType.SUBSCRIBE, 8 + key.length);
      writeU32(out, 5, frame.channelId);
      writeU32(out, 9, frame.initialCredit);
      out.set(key, 13);
      return [out];
    }
    case 'buffer': {
      // Only the header is allocated; the buffer's bytes are written as they are.
      const head = new Uint8Array(BUFFER_FRAME_OVERHEAD);
      writeU32(head, 0, BUFFER_FRAME_OVERHEAD - 4 + frame.bytes.length);
      head[4] = FrameType.BUFFER;
      writeU32(head, 5, frame.channelId);
      head[9] = frame.more ? 1 : 0;
      writeU32(head, 10, frame.backlog);
      return [head, frame.bytes];
    }
    case 'event': {
      const body = eventSerializer.serialize(frame.event);
      const out = allocFrame(FrameType.EVENT, 4 + body.length);
      writeU32(out, 5, frame.channelId);
      out.set(body, 9);
      return [out];
    }
    case 'credit': {
      const out = allocFrame(FrameType.CREDIT, 8);
      writeU32(out, 5, frame.channelId);
      writeU32(out, 9, frame.n);
      return [out];
    }
    case 'close': {
      // A reason is for the log: cut it so the frame always fits the smallest maximum.
      const reason = utf8.encode(frame.reason.slice(0, 200));
      const out = allocFrame(FrameType.CLOSE, 4 + reason.length);
      writeU32(out, 5, frame.channelId);
      out.set(reason, 9);
      return [out];
    }
    case 'message': {
      // As BUFFER: only the header is allocated, the body is written as it is.
      const head = new Uint8Array(MESSAGE_FRAME_OVERHEAD);
      writeU32(head, 0, MESSAGE_FRAME_OVERHEAD - 4 + frame.body.length);
      head[4] = FrameType.MESSAGE;
      head[5] = frame.more ? 1 : 0;
      return [head, frame.body];
    }
  }
}

/**
 * The pieces of one buffer as BUFFER frames of at most `maxFrameSize` bytes: one frame when it
 * fits, else fragments (all but the last flagged `more`). Buffer bytes are never copied.
 */
export function encodeBufferFrames(
  channelId: number,
  bytes: Uint8Array,
  maxFrameSize: number,
  backlog: number,
): Uint8Array[] {
  const room = maxFrameSize - BUFFER_FRAME_OVERHEAD;
  if (bytes.length <= room) return encodeFrame({ kind: 'buffer', channelId, more: false, backlog, bytes });
  const out: Uint8Array[] = [];
  for (let pos = 0; pos < bytes.length; pos += room) {
    const end = Math.min(bytes.length, pos + room);
    out.push(
      ...encodeFrame({
        kind: 'buffer',
        channelId,
        more: end < bytes.length,
        backlog,
        bytes: bytes.subarray(pos, end),
      }),
    );
  }
  return out;
}

const malformed = (what: string): FrameError => new FrameError('malformed', `malformed ${what} frame`);

function isKnownType(type: number): boolean {
  return type >= FrameType.HELLO && type <= FrameType.MESSAGE;
}

/** The event kinds decodeEvent knows: a new ChannelEvent kind does not compile until it is added here and there. */
const DECODED_EVENT_KINDS: Record<ChannelEvent['kind'], true> = {
  'end-of-partition': true,
  barrier: true,
  'cancel-checkpoint': true,
  watermark: true,
  'watermark-status': true,
};

/**
 * The channel event in `bytes`, checked field by field: a peer's msgpack must not smuggle other
 * shapes into a task.
 */
/** A barrier event's fields, each checked; undefined if any is malformed. */
function decodeBarrier(
  v: Readonly<Record<string, unknown>>,
  isId: (x: unknown) => x is number,
): ChannelEvent | undefined {
  const { checkpointId, timestamp, unaligned, timeoutable } = v;
  if (!isId(checkpointId) || typeof timestamp !== 'number' || !Number.isFinite(timestamp)) return undefined;
  if (unaligned !== undefined && typeof unaligned !== 'boolean') return undefined;
  if (timeoutable !== undefined && typeof timeoutable !== 'boolean') return undefined;
  const savepoint = v['savepoint'] === undefined ? undefined : decodeSavepointTarget(v['savepoint']);
  if (v['savepoint'] !== undefined && savepoint === undefined) return undefined;
  return {
    kind: 'barrier',
    checkpointId,
    timestamp,
    ...(unaligned === true ? { unaligned: true } : {}),
    ...(timeoutable === true ? { timeoutable: true } : {}),
    ...(savepoint === undefined ? {} : { savepoint }),
  };
}

function decodeEvent(bytes: Uint8Array): ChannelEvent | undefined {
  let value: unknown;
  try {
    value = eventSerializer.deserialize(bytes, 0, bytes.length);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v['kind'] !== 'string' || !Object.hasOwn(DECODED_EVENT_KINDS, v['kind'])) return undefined;
  const isId = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;
  switch (v['kind']) {
    case 'end-of-partition':
      return END_OF_PARTITION;
    case 'barrier':
      return decodeBarrier(v, isId);
    case 'cancel-checkpoint':
      if (!isId(v['checkpointId'])) return undefined;
      return { kind: 'cancel-checkpoint', checkpointId: v['checkpointId'] };
    case 'watermark':
      // Any ordered number: MIN/MAX_WATERMARK are safe integers, user timestamps may be fractions.
      if (typeof v['timestamp'] !== 'number' || Number.isNaN(v['timestamp'])) return undefined;
      return { kind: 'watermark', timestamp: v['timestamp'] };
    case 'watermark-status':
      if (v['status'] !== 'IDLE' && v['status'] !== 'ACTIVE') return undefined;
      return { kind: 'watermark-status', status: v['status'] };
    default:
      return undefined;
  }
}

/** A savepoint barrier's target: its kind and an absolute directory, nothing else. */
function decodeSavepointTarget(value: unknown): SavepointTarget | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const t = value as Record<string, unknown>;
  if (t['kind'] !== 'savepoint' && t['kind'] !== 'sync-savepoint') return undefined;
  const pointer = t['pointer'];
  if (typeof pointer !== 'string' || pointer.length === 0 || pointer.length > 4096 || !isAbsolute(pointer))
    return undefined;
  return { kind: t['kind'], pointer };
}

function decodeString(bytes: Uint8Array): string | undefined {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** The frame of `type` with payload `p` (a view, kept by BUFFER frames), or why it is malformed. */
function decodePayload(type: number, p: Uint8Array): Frame | FrameError {
  switch (type) {
    case FrameType.HELLO:
      if (p.length < 2) return malformed('HELLO');
      return { kind: 'hello', version: (p[0]! << 8) | p[1]!, nonce: p.subarray(2) };
    case FrameType.CHALLENGE:
      if (p.length !== 2 + 2 * HANDSHAKE_TOKEN_BYTES) return malformed('CHALLENGE');
      return {
        kind: 'challenge',
        version: (p[0]! << 8) | p[1]!,
        nonce: p.subarray(2, 2 + HANDSHAKE_TOKEN_BYTES),
        proof: p.subarray(2 + HANDSHAKE_TOKEN_BYTES),
      };
    case FrameType.RESPONSE:
      if (p.length !== HANDSHAKE_TOKEN_BYTES) return malformed('RESPONSE');
      return { kind: 'response', proof: p };
    case FrameType.WELCOME:
      if (p.length !== 0) return malformed('WELCOME');
      return { kind: 'welcome' };
    case FrameType.SUBSCRIBE: {
      if (p.length < 9 || p.length > 8 + MAX_CHANNEL_KEY_BYTES) return malformed('SUBSCRIBE');
      const channelKey = decodeString(p.subarray(8));
      if (channelKey === undefined) return malformed('SUBSCRIBE');
      return { kind: 'subscribe', channelId: readU32(p, 0), initialCredit: readU32(p, 4), channelKey };
    }
    case FrameType.BUFFER:
      if (p.length < 9 || p[4]! > 1) return malformed('BUFFER');
      return {
        kind: 'buffer',
        channelId: readU32(p, 0),
        more: p[4] === 1,
        backlog: readU32(p, 5),
        bytes: p.subarray(9),
      };
    case FrameType.EVENT: {
      const event = p.length < 5 ? undefined : decodeEvent(p.subarray(4));
      if (event === undefined) return malformed('EVENT');
      return { kind: 'event', channelId: readU32(p, 0), event };
    }
    case FrameType.CREDIT: {
      const n = p.length === 8 ? readU32(p, 4) : 0;
      if (n === 0) return malformed('CREDIT');
      return { kind: 'credit', channelId: readU32(p, 0), n };
    }
    case FrameType.MESSAGE:
      if (p.length < 1 || p[0]! > 1) return malformed('MESSAGE');
      return { kind: 'message', more: p[0] === 1, body: p.subarray(1) };
    default: {
      const reason = p.length < 4 ? undefined : decodeString(p.subarray(4));
      if (reason === undefined) return malformed('CLOSE');
      return { kind: 'close', channelId: readU32(p, 0), reason };
    }
  }
}

/**
 * Turns a byte stream into frames, whatever the chunking. A frame inside one chunk is decoded as
 * a view of it (no copy); only a frame split across chunks is copied, once, into a buffer of
 * its exact size, allocated after its length passed the maximum-size check. The first rejected
 * frame makes the decoder fail for good: a stream that lost sync cannot be trusted again.
 */
export class FrameDecoder {
  /** Frames above this many bytes (header included) are rejected; may change between frames. */
  maxFrameSize: number;
  private readonly header = new Uint8Array(FRAME_HEADER_BYTES);
  private headerFill = 0;
  private body: Uint8Array | undefined;
  private bodyFill = 0;
  private bodyType = 0;
  private failure: FrameError | undefined;

  constructor(maxFrameSize = DEFAULT_MAX_FRAME_SIZE) {
    this.maxFrameSize = maxFrameSize;
  }

  /**
   * Decodes what `chunk` completes, calling `onFrame` for each frame in order. Returns the error
   * of the first rejected frame (and every call after), else undefined. Bytes never make this
   * throw; an exception thrown by `onFrame` propagates.
   */
  push(chunk: Uint8Array, onFrame: (frame: Frame) => void): FrameError | undefined {
    if (this.failure) return this.failure;
    const n = chunk.length;
    let pos = 0;
    while (pos < n) {
      if (this.body !== undefined) {
        const take = Math.min(this.body.length - this.bodyFill, n - pos);
        this.body.set(chunk.subarray(pos, pos + take), this.bodyFill);
        this.bodyFill += take;
        pos += take;
        if (this.bodyFill < this.body.length) return undefined;
        const body = this.body;
        this.body = undefined;
        if (!this.emit(this.bodyType, body, onFrame)) return this.failure;
        continue;
      }
      let length: number;
      let type: number;
      if (this.headerFill === 0 && n - pos >= FRAME_HEADER_BYTES) {
        length = readU32(chunk, pos);
        type = chunk[pos + 4]!;
        pos += FRAME_HEADER_BYTES;
      } else {
        const take = Math.min(FRAME_HEADER_BYTES - this.headerFill, n - pos);
        this.header.set(chunk.subarray(pos, pos + take), this.headerFill);
        this.headerFill += take;
        pos += take;
        // Reject a bad length as soon as it is complete, without waiting for a type byte.
        if (this.headerFill >= 4 && !this.checkLength(readU32(this.header, 0))) return this.failure;
        if (this.headerFill < FRAME_HEADER_BYTES) return undefined;
        this.headerFill = 0;
        length = readU32(this.header, 0);
        type = this.header[4]!;
      }
      if (!this.checkLength(length)) return this.failure;
      if (!isKnownType(type)) return this.fail(new FrameError('unknown-type', `unknown frame type ${type}`));
      const payloadBytes = length - 1;
      if (n - pos >= payloadBytes) {
        if (!this.emit(type, chunk.subarray(pos, pos + payloadBytes), onFrame)) return this.failure;
        pos += payloadBytes;
      } else {
        this.body = new Uint8Array(payloadBytes);
        this.bodyFill = 0;
        this.bodyType = type;
      }
    }
    return undefined;
  }

  /** The stream ended: an error if it stopped inside a frame. */
  end(): FrameError | undefined {
    if (this.failure) return this.failure;
    if (this.headerFill > 0 || this.body !== undefined) {
      return this.fail(new FrameError('truncated', 'the connection ended inside a frame'));
    }
    return undefined;
  }

  private checkLength(length: number): boolean {
    if (length === 0) {
      this.fail(new FrameError('truncated-header', 'a frame length of 0 leaves no room for its type byte'));
      return false;
    }
    if (length + 4 > this.maxFrameSize) {
      this.fail(
        new FrameError(
          'oversized',
          `a frame of ${length + 4} bytes exceeds the maximum of ${this.maxFrameSize}`,
        ),
      );
      return false;
    }
    return true;
  }

  private emit(type: number, payload: Uint8Array, onFrame: (frame: Frame) => void): boolean {
    const frame = decodePayload(type, payload);
    if (frame instanceof FrameError) {
      this.fail(frame);
      return false;
    }
    onFrame(frame);
    // onFrame may have closed the connection; a later push still returns the failure, if any.
    return this.failure === undefined;
  }

  private fail(error: FrameError): FrameError {
    this.failure = error;
    this.body = undefined;
    this.headerFill = 0;
    return error;
  }
}
