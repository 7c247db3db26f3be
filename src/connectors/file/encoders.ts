/**
 * Row formats of the FileSink (Flink's `Encoder`): how one record becomes bytes of a part file.
 * An encoder returns the record's bytes (a string is written as UTF-8); one written in Flink's
 * form, `encode(element, stream)` writing to `stream.write(...)`, is accepted too.
 */

/** Where Flink-style encoders write (Flink's OutputStream, as far as encoders use it). */
export interface EncoderOutputStream {
  write(data: string | Uint8Array): void;
}

export interface Encoder<T> {
  encode(element: T, stream: EncoderOutputStream): string | Uint8Array | void;
}

/** Each record as `String(record)` and a newline (Flink's `SimpleStringEncoder`; UTF-8 only). */
export class SimpleStringEncoder<T = unknown> implements Encoder<T> {
  constructor(readonly charsetName: string = 'UTF-8') {
    if (!/^utf-?8$/i.test(charsetName))
      throw new RangeError(`SimpleStringEncoder: only UTF-8 is supported, got '${charsetName}'.`);
  }

  encode(element: T): string {
    return `${String(element)}\n`;
  }
}

/** Each record as one line of JSON (JSON lines). */
export class JsonLinesEncoder<T = unknown> implements Encoder<T> {
  encode(element: T): string {
    return `${JSON.stringify(element)}\n`;
  }
}
