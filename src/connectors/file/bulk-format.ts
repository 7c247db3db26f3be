/**
 * The FileSink's bulk-format hook (Flink's `BulkWriter` and `BulkWriter.Factory`): a writer that
 * encodes many records at once (columnar, compressed) into one part file. Bulk part files roll at
 * every checkpoint, because a bulk file cannot be resumed in the middle.
 */
import type { EncoderOutputStream } from './encoders.js';

export interface BulkWriter<T> {
  addElement(element: T): void;
  /** Writes what the writer buffers to the stream. */
  flush(): void;
  /** Writes the file's trailer; the stream is closed after this. */
  finish(): void;
}

/** Makes the BulkWriter of one part file (Flink's `BulkWriter.Factory`); a plain function also works. */
export interface BulkWriterFactory<T> {
  create(out: EncoderOutputStream): BulkWriter<T>;
}

export type BulkWriterFactoryLike<T> = BulkWriterFactory<T> | ((out: EncoderOutputStream) => BulkWriter<T>);
