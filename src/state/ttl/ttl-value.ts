/** A stored value with its last access time (Flink's TtlValue), and the serializer that writes the pair. */
import type { TypeSerializer } from '../../core/serializer.js';

/** What a state with TTL stores instead of the user's value. */
export class TtlValue<T> {
  constructor(
    public userValue: T,
    /** Processing time (ms since the epoch) when the value was last written (or read, with OnReadAndWrite). */
    public lastAccessTimestamp: number,
  ) {}
}

/**
 * Writes a TtlValue as 8 bytes of timestamp (f64, big-endian) followed by the user serializer's
 * bytes (Flink's TtlSerializer). Its name wraps the user serializer's, so a checkpoint of the
 * state without TTL is refused by a declaration with TTL, and the other way round.
 */
export class TtlSerializer<T> implements TypeSerializer<TtlValue<T>> {
  readonly name: string;
  /** The user serializer's (the pair's own layout has never changed), so its evolution shows. */
  readonly version: number;
  private buffer = new Uint8Array(256);
  private view = new DataView(this.buffer.buffer);

  constructor(private readonly inner: TypeSerializer<T>) {
    this.name = `ttl(${inner.name})`;
    this.version = inner.version;
    // State evolution of the user serializer's simple form; the timestamp is kept.
    const migrate = inner.migrate?.bind(inner);
    if (migrate !== undefined)
      this.migrate = (old, fromVersion) => {
        const value = old as TtlValue<unknown>;
        return new TtlValue(migrate(value.userValue, fromVersion), value.lastAccessTimestamp);
      };
  }

  readonly migrate?: (oldValue: unknown, fromVersion: number) => TtlValue<T>;

  serialize(value: TtlValue<T>): Uint8Array {
    const bytes = this.inner.serialize(value.userValue);
    const length = 8 + bytes.length;
    if (length > this.buffer.length) {
      this.buffer = new Uint8Array(Math.max(length, this.buffer.length * 2));
      this.view = new DataView(this.buffer.buffer);
    }
    this.view.setFloat64(0, value.lastAccessTimestamp);
    this.buffer.set(bytes, 8);
    return this.buffer.subarray(0, length);
  }

  deserialize(bytes: Uint8Array, start: number, end: number): TtlValue<T> {
    const timestamp = new DataView(bytes.buffer, bytes.byteOffset + start, 8).getFloat64(0);
    return new TtlValue(this.inner.deserialize(bytes, start + 8, end), timestamp);
  }
}

/** The TtlSerializer of `inner`, with a `copy` when `inner` has one (heap state then copies, not serializes, for snapshots). */
export function ttlSerializerOf<T>(inner: TypeSerializer<T>): TypeSerializer<TtlValue<T>> {
  const serializer = new TtlSerializer(inner);
  const copyInner = inner.copy?.bind(inner);
  if (copyInner === undefined) return serializer;
  return Object.assign(serializer, {
    copy: (value: TtlValue<T>) => new TtlValue(copyInner(value.userValue), value.lastAccessTimestamp),
  });
}
