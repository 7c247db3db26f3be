/**
 * Flink's (de)serialization schemas for connectors that carry bytes: a record to bytes and back.
 * Plain objects with one method, so that a lambda-free schema can be shared by every subtask.
 */

/** Bytes to a record (Flink's DeserializationSchema). */
export interface DeserializationSchema<T> {
  deserialize(bytes: Uint8Array): T;
}

/** A record to bytes (Flink's SerializationSchema). */
export interface SerializationSchema<T> {
  serialize(record: T): Uint8Array;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** UTF-8 strings (Flink's SimpleStringSchema). */
export class SimpleStringSchema implements DeserializationSchema<string>, SerializationSchema<string> {
  deserialize(bytes: Uint8Array): string {
    return decoder.decode(bytes);
  }
  serialize(record: string): Uint8Array {
    return encoder.encode(record);
  }
}

/** Records as UTF-8 JSON (Flink's JsonSerializationSchema). */
export class JsonSerializationSchema<T> implements SerializationSchema<T> {
  serialize(record: T): Uint8Array {
    return encoder.encode(JSON.stringify(record));
  }
}

/** UTF-8 JSON to records (Flink's JsonDeserializationSchema). */
export class JsonDeserializationSchema<T> implements DeserializationSchema<T> {
  deserialize(bytes: Uint8Array): T {
    return JSON.parse(decoder.decode(bytes)) as T;
  }
}
