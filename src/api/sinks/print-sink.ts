/** print() and printToErr(): write each record as a line, prefixed with the subtask number when parallel. */
import type { Sink, SinkWriter, WriterInitContext } from '../sink.js';

/** Formats a record like Flink's toString, with JSON for plain data. */
export function formatRecord(record: unknown): string {
  if (typeof record === 'string') return record;
  if (typeof record === 'bigint') return record.toString();
  try {
    const json = JSON.stringify(record);
    if (json !== undefined) return json;
  } catch {
    // Cycles or bigints inside: fall back to String().
  }
  return String(record);
}

/** Writes a line to stdout. */
const toStdout = (line: string): void => void process.stdout.write(`${line}\n`);
/** Writes a line to stderr. */
export const toStderr = (line: string): void => void process.stderr.write(`${line}\n`);

/** The sink behind `print(identifier?)` (stdout) and `printToErr(identifier?)` (stderr, with `toStderr`). */
export class PrintSink<T> implements Sink<T> {
  constructor(
    private readonly sinkIdentifier: string | undefined,
    private readonly writeLine: (line: string) => void = toStdout,
  ) {}

  createWriter(ctx: WriterInitContext): SinkWriter<T> {
    const parallel = ctx.getNumberOfParallelSubtasks() > 1;
    const id = this.sinkIdentifier;
    const prefix =
      id !== undefined
        ? parallel
          ? `${id}:${ctx.getSubtaskId() + 1}> `
          : `${id}> `
        : parallel
          ? `${ctx.getSubtaskId() + 1}> `
          : '';
    const writeLine = this.writeLine;
    return {
      write: (record) => writeLine(prefix + formatRecord(record)),
      flush: () => {},
      close: () => {},
    };
  }
}
