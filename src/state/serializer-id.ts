/** Serializers as snapshots record them (name and version), so a restore can tell it can read them. */
import type { TypeSerializer } from '../core/serializer.js';
import type { ByteReader, ByteWriter } from './byte-io.js';

/** A serializer as recorded in a snapshot. */
export interface SerializerId {
  readonly name: string;
  readonly version: number;
}

/** The id of a serializer. */
export function serializerIdOf(serializer: TypeSerializer<unknown>): SerializerId {
  return { name: serializer.name, version: serializer.version };
}

/** Writes a serializer list (u8 count, then per serializer: str name, u32 version). */
export function writeSerializerIds(w: ByteWriter, ids: readonly SerializerId[]): void {
  w.u8(ids.length);
  for (const id of ids) {
    w.str(id.name);
    w.u32(id.version);
  }
}

/** Reads a serializer list written by writeSerializerIds. */
export function readSerializerIds(r: ByteReader): SerializerId[] {
  const n = r.u8();
  const ids: SerializerId[] = [];
  for (let i = 0; i < n; i++) ids.push({ name: r.str(), version: r.u32() });
  return ids;
}

/** `msgpack v1, json v1`, for messages. */
export function describeSerializers(ids: readonly SerializerId[]): string {
  return ids.map((id) => `${id.name} v${id.version}`).join(', ') || '(none)';
}

/**
 * Whether two serializer lists are the same names and versions in the same order. Sluice has no
 * serializer migration yet, so state is only read back with exactly the serializers that wrote it.
 */
export function sameSerializers(a: readonly SerializerId[], b: readonly SerializerId[]): boolean {
  return a.length === b.length && a.every((id, i) => id.name === b[i]!.name && id.version === b[i]!.version);
}
