/** Type serializers: how records cross a network exchange and how state is written. */
import './msgpackr-setup.js';
import { createRequire } from 'node:module';
import * as sharedMsgpackr from 'msgpackr';
import { SluiceError } from './errors.js';
import {
  MAP_SEEN,
  MissingRegistration,
  Unserializable,
  active,
  className,
  isBuiltInClass,
  sluiceMsgpackr,
  tagMaps,
} from './msgpack-extensions.js';
import { TypeRegistry } from './type-registry.js';
import { findInValue } from './value-path.js';
import { copyValue } from './value-copy.js';
import type {
  TypeSerializerSchemaCompatibility,
  TypeSerializerSnapshot,
} from './serializer-compatibility.js';

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
  /**
   * A deep copy of `value` that serializes to the same bytes (Flink's `TypeSerializer.copy`);
   * throws as `serialize` would for a value it cannot serialize. Heap state copies a value a
   * pending snapshot still has to write before user code may change it in place; a serializer
   * without `copy` has the value serialized there instead.
   */
  copy?(value: T): T;
  /**
   * State evolution, the simple form: turns a value written by an older version of this
   * serializer (same `name`, version `fromVersion` < `version`) into one of this version. The old
   * bytes are read with `deserialize`. Called once per restored value, at restore.
   */
  migrate?(oldValue: unknown, fromVersion: number): T;
  /**
   * State evolution, the general form (Flink's `TypeSerializerSnapshot.resolveSchemaCompatibility`):
   * called at restore when a state was written by another serializer name or version than this
   * one's. Return `compatibleAsIs()`, `compatibleAfterMigration({ previousSerializer, migrate })`
   * or `incompatible(reason)`. Takes precedence over `migrate`.
   */
  resolveSchemaCompatibility?(previous: TypeSerializerSnapshot): TypeSerializerSchemaCompatibility<T>;
}

/** Bytes at `[start, end)` of a buffer a serializer reuses (see `TypeSerializer.serializeToScratch`). */
export interface ScratchBytes extends Uint8Array {
  start: number;
  end: number;
}

// msgpackr: return the target buffer itself with start/end set, and write the next value over it.
const SCRATCH_MODE = sharedMsgpackr.REUSE_BUFFER_MODE | sharedMsgpackr.RESET_BUFFER_MODE;

/** Options of a MsgpackSerializer. */
export interface MsgpackSerializerOptions {
  /**
   * The serializer of a stream's records, which runs on the msgpackr instance kept for records
   * (see `recordMsgpackr`). Anything else (messages, events, state snapshots) leaves it unset.
   * The bytes are the same either way.
   */
  readonly forRecords?: boolean;
  /** @internal The job's registered classes (`env.registerType`), whose instances keep their class. */
  readonly types?: TypeRegistry | undefined;
  /** What the values are, for error messages (default "a value"), e.g. "a record of operator 'Map'". */
  readonly subject?: string;
  /** How paths in error messages start (default "value"), e.g. "record" for `record.user.onClick`. */
  readonly root?: string;
}

const ESM = sluiceMsgpackr(sharedMsgpackr);
const CJS = sluiceMsgpackr(recordMsgpackr);

/**
 * The default serializer: MessagePack via msgpackr. Values round-trip faithfully — plain objects,
 * arrays, strings, numbers, booleans, null and undefined (also inside objects and arrays),
 * BigInt, Date, Map, Set, RegExp, typed arrays, ArrayBuffer, DataView, Buffer, the built-in
 * errors, and instances of the classes in `types` with their prototype — or serialization fails
 * with SLUICE_SERIALIZATION_FAILED naming the field (a function, a symbol, a cycle, an instance
 * of an unregistered class). Known MessagePack limits: -0 arrives as 0, a `__proto__` key
 * of a plain object arrives as `__proto_`.
 */
export class MsgpackSerializer<T = unknown> implements TypeSerializer<T> {
  readonly name = 'msgpack';
  readonly version = 1;
  private readonly packr: sharedMsgpackr.Packr;
  private readonly unpackr: sharedMsgpackr.Unpackr;
  private readonly range = { start: 0, end: 0 };
  private readonly types: TypeRegistry;
  private readonly subject: string;
  private readonly root: string;

  constructor(options: MsgpackSerializerOptions = {}) {
    const lib = options.forRecords ? recordMsgpackr : sharedMsgpackr;
    const Packr = options.forRecords ? CJS : ESM;
    this.packr = new Packr({ useRecords: false, moreTypes: true });
    this.unpackr = new lib.Unpackr({ useRecords: false, moreTypes: true });
    this.types = options.types ?? TypeRegistry.empty();
    this.subject = options.subject ?? 'a value';
    this.root = options.root ?? 'value';
  }

  serialize(value: T): Uint8Array {
    return this.pack(value, 0);
  }

  serializeToScratch(value: T): ScratchBytes {
    return this.pack(value, SCRATCH_MODE) as unknown as ScratchBytes;
  }

  copy(value: T): T {
    return copyValue(value, this.roundTrip) as T;
  }

  /** The slow copy: through the bytes, so registered classes keep their class. */
  private readonly roundTrip = (value: object): unknown => {
    const bytes = this.pack(value as T, 0);
    return this.deserialize(bytes, 0, bytes.length);
  };

  private pack(value: T, mode: number): Uint8Array {
    // Sluice's extensions act only while this flag is set, so it is cleared on every way out.
    // No save and restore: nothing serializes from inside a pack (no user code runs there).
    active.packing = this.types;
    let bytes: Uint8Array;
    try {
      bytes = this.packr.pack(value, mode);
    } catch (e) {
      try {
        if (e !== MAP_SEEN) throw this.failure(value, e);
        // The value holds a Map (rare): pack it again with its Maps tagged.
        bytes = this.packr.pack(tagMaps(value, this.types), mode);
      } catch (again) {
        throw again instanceof SluiceError ? again : this.failure(value, again);
      } finally {
        active.packing = undefined;
      }
      return bytes;
    }
    active.packing = undefined;
    return bytes;
  }

  deserialize(bytes: Uint8Array, start: number, end: number): T {
    this.range.start = start;
    this.range.end = end;
    // Read only by this unpack (nothing unpacks from inside it); left set afterwards on purpose.
    active.unpacking = this.types;
    try {
      return this.unpackr.unpack(bytes, this.range) as T;
    } catch (e) {
      if (!(e instanceof MissingRegistration)) throw e;
      throw new SluiceError(
        'SLUICE_SERIALIZATION_FAILED',
        `cannot deserialize ${this.subject}: it holds an instance of a class registered as '${e.typeName}', ` +
          `which this job does not register. Call env.registerType(TheClass, '${e.typeName}') before execute() ` +
          '(the names of registered classes are stored in checkpoints and must stay the same across job versions).',
        { cause: e },
      );
    }
  }

  private failure(value: T, e: unknown): SluiceError {
    return new SluiceError(
      'SLUICE_SERIALIZATION_FAILED',
      `cannot serialize ${this.subject}: ${explain(value, this.root, e)}`,
      { cause: e },
    );
  }
}

const ALTERNATIVE =
  'or give it a TypeSerializer (setSerializer() on a stream, `serializer` on a state descriptor)';

/** What is wrong, where, and what to do. */
function explain(value: unknown, root: string, e: unknown): string {
  if (e instanceof Unserializable) {
    const found = findInValue(value, root, (v) => v === e.value);
    const path = found && found.cycleTo === undefined ? found.path : root;
    if (e.kind === 'function')
      return `${path} is a function. Records and state hold data, not code: remove the function, ${ALTERNATIVE}.`;
    const cls = className(e.value);
    if (isBuiltInClass(e.value))
      return `${path} is a ${cls}, which cannot be serialized. Keep plain data there, ${ALTERNATIVE}.`;
    return (
      `${path} is an instance of class ${cls}, which is not registered. Call env.registerType(${cls}) ` +
      `(Flink: env.getConfig().registerPojoType(${cls})) before execute(), ${ALTERNATIVE}.`
    );
  }
  // Symbols and cycles make msgpackr throw its own errors; one walk finds the first of either.
  const found = findInValue(
    value,
    root,
    (v) => typeof v === 'symbol' || (e === MAP_SEEN && v instanceof Map),
  );
  if (found?.cycleTo !== undefined)
    return `${found.path} refers back to ${found.cycleTo} (a cycle). Records and state must be trees: break the cycle, ${ALTERNATIVE}.`;
  if (found && typeof found.value === 'symbol')
    return `${found.path} is a symbol. Use a string instead, ${ALTERNATIVE}.`;
  if (found) return `${found.path} is a Map inside an error, where Maps are not supported. ${ALTERNATIVE}.`;
  return `${(e as Error).message ?? String(e)}. Keep to plain data, ${ALTERNATIVE}.`;
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

  copy(value: T): T {
    return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
  }
}
