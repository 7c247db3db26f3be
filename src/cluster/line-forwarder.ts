/**
 * Copies a child process's output into this process's stream in whole lines only, so the lines
 * of several TaskManagers writing at once never interleave mid-line.
 */
import type { Readable } from 'node:stream';

const NEWLINE = Buffer.from('\n');
/** A "line" longer than this is passed on in pieces rather than held without end. */
const MAX_PENDING = 1024 * 1024;

/** Forwards `from` to `write` in chunks that each end with a newline (a last unterminated line gets one). */
export function forwardLines(from: Readable, write: (chunk: Uint8Array) => void): void {
  let pending: Buffer | undefined;
  from.on('data', (chunk: Buffer) => {
    const at = chunk.lastIndexOf(0x0a);
    if (at < 0) {
      pending = pending ? Buffer.concat([pending, chunk]) : chunk;
      if (pending.length > MAX_PENDING) {
        write(Buffer.concat([pending, NEWLINE]));
        pending = undefined;
      }
      return;
    }
    const lines = chunk.subarray(0, at + 1);
    write(pending ? Buffer.concat([pending, lines]) : lines);
    pending = at + 1 < chunk.length ? chunk.subarray(at + 1) : undefined;
  });
  from.on('end', () => {
    if (pending) write(Buffer.concat([pending, NEWLINE]));
    pending = undefined;
  });
}
