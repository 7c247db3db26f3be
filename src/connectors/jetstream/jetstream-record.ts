/** A message read from JetStream, as a source's deserializer sees it. */
export interface JetStreamRecord {
  readonly subject: string;
  readonly data: Uint8Array;
  /** Its stream sequence: the source's position. */
  readonly sequence: number;
  /** When the stream stored it (ms since epoch): the record's event timestamp. */
  readonly timestamp: number;
  /** Header values by name, if the message has headers. */
  header(name: string): string | undefined;
}

/** Turns a JetStream message into a record (Flink's KafkaRecordDeserializationSchema). */
export interface JetStreamDeserializationSchema<T> {
  deserialize(record: JetStreamRecord): T;
}
