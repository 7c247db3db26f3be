/** Type serializers: how records cross a network exchange and how state is written. */
import './msgpackr-setup.js';
import { Packr, Unpackr } from 'msgpackr';
import { SluiceError } from './errors.js';

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
}

/**
 * The default serializer: MessagePack via msgpackr. Handles plain objects, arrays, strings,
 * numbers, booleans, null, undefined, Date, Uint8Array, Map and Set; not class instances
 * (they arrive as plain objects) and not functions.
 */
export class MsgpackSerializer<T = unknown> implements TypeSerializer<T> {
  readonly name = 'msgpack';
  readonly version = 1;
  private readonly packr = new Packr({ useRecords: false, moreTypes: true });
  private readonly unpackr = new Unpackr({ useRecords: false, moreTypes: true });
  private readonly range = { start: 0, end: 0 };

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
