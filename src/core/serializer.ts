/** Type serializers: how records cross a network exchange and how state is written. */
import './msgpackr-setup.js';
import { createRequire } from 'node:module';
import * as sharedMsgpackr from 'msgpackr';
import { SluiceError } from './errors.js';

/**
 * A second instance of msgpackr (its CommonJS build; the import above is its ESM build) that
 * encodes and decodes only records crossing exchanges. V8 keeps type feedback per copy of the
 * code, shared by every Packr of that copy: when records share msgpackr with the control plane,
 * RPC envelopes of dozens of shapes turn the property loads of the encoder megamorphic for every
 * record (measured: megamorphic loads were ~2.5% of a TaskManager's CPU, and are gone with this
 * copy). Both copies are the same version and write the same bytes.
 */
const recordMsgpackr = createRequire(import.meta.url)('msgpackr') as typeof sharedMsgpackr;

/**
 * Turns values of one type into bytes and back. `name` and `version` travel with snapshots so a
 * restore can tell whether it can read what was written.
 */
export interface TypeSerializer<T> {
  readonly name: string;
  readonly version: number;
  /** The bytes of `value`. The returned view may be reused by the next call: copy it first. */
  serialize(value: T): Uint8Array;
  /** The value encoded in `bytes[start, end)`. */
  deserialize(bytes: Uint8Array, start: number, end: number): T;
  /**
   * Optional fast path of `serialize` for callers that copy the bytes at once (snapshots write
   * millions of small values): the bytes of `value` are at `[start, end)` of the returned buffer,
   * which the serializer owns and overwrites on its next call. Saves allocating a view per value.
   */
  serializeToScratch?(value: T): ScratchBytes;
}

/** Bytes at `[start, end)` of a buffer a serializer reuses (see `TypeSerializer.serializeToScratch`). */
export interface ScratchBytes extends Uint8Array {
  start: number;
  end: number;
}

// msgpackr: return the target buffer itself with start/end set, and write the next value over it.
const SCRATCH_MODE = sharedMsgpackr.REUSE_BUFFER_MODE | sharedMsgpackr.RESET_BUFFER_MODE;

/**
 * The default serializer: MessagePack via msgpackr. Handles plain objects, arrays, strings,
 * numbers, booleans, null, undefined, Date, Uint8Array, Map and Set; not class instances
 * (they arrive as plain objects) and not functions.
 */
export class MsgpackSerializer<T = unknown> implements TypeSerializer<T> {
  readonly name = 'msgpack';
  readonly version = 1;
  private readonly packr: sharedMsgpackr.Packr;
  private readonly unpackr: sharedMsgpackr.Unpackr;
  private readonly range = { start: 0, end: 0 };

  /**
   * `forRecords`: the serializer of a stream's records, which runs on the msgpackr instance kept
   * for records (see `recordMsgpackr`). Anything else (messages, events, state snapshots) leaves
   * it unset. The bytes are the same either way.
   */
  constructor(options: { readonly forRecords?: boolean } = {}) {
    const { Packr, Unpackr } = options.forRecords ? recordMsgpackr : sharedMsgpackr;
    this.packr = new Packr({ useRecords: false, moreTypes: true });
    this.unpackr = new Unpackr({ useRecords: false, moreTypes: true });
  }

  serialize(value: T): Uint8Array {
    try {
      return this.packr.pack(value);
    } catch (e) {
      throw new SluiceError(
        'SLUICE_SERIALIZATION_FAILED',
        `cannot serialize a record with MessagePack (${(e as Error).message}); give the stream a TypeSerializer ` +
          'or emit plain data (objects, arrays, strings, numbers).',
        { cause: e },
      );
    }
  }

  serializeToScratch(value: T): ScratchBytes {
    try {
      return this.packr.pack(value, SCRATCH_MODE) as unknown as ScratchBytes;
    } catch (e) {
      throw new SluiceError(
        'SLUICE_SERIALIZATION_FAILED',
        `cannot serialize a record with MessagePack (${(e as Error).message}); give the stream a TypeSerializer ` +
          'or emit plain data (objects, arrays, strings, numbers).',
        { cause: e },
      );
    }
  }

  deserialize(bytes: Uint8Array, start: number, end: number): T {
    this.range.start = start;
    this.range.end = end;
    return this.unpackr.unpack(bytes, this.range) as T;
  }
}

/** A serializer for the JSON subset, for state or records that must stay human-readable. */
export class JsonSerializer<T = unknown> implements TypeSerializer<T> {
  readonly name = 'json';
  readonly version = 1;
  private readonly encoder = new TextEncoder();
  private readonly decoder = new TextDecoder();

  serialize(value: T): Uint8Array {
    return this.encoder.encode(JSON.stringify(value));
  }

  deserialize(bytes: Uint8Array, start: number, end: number): T {
    return JSON.parse(this.decoder.decode(bytes.subarray(start, end))) as T;
  }
}
