/** Intercepting what a process writes to stdout or stderr (a status line stepping aside, a TaskManager's `.out` copy). */

/** A stream's own `write`, called with whatever arguments the caller gave. */
export type RawWrite = (args: unknown[]) => boolean;

/**
 * Routes every `stream.write(...)` through `around`, which gets the arguments and the stream's
 * own write. Returns the function that puts the stream's own write back.
 */
export function wrapWrites(
  stream: NodeJS.WriteStream,
  around: (args: unknown[], write: RawWrite) => boolean,
): () => void {
  const own = Object.getOwnPropertyDescriptor(stream, 'write');
  const bound = stream.write.bind(stream) as unknown as (...args: unknown[]) => boolean;
  const write: RawWrite = (args) => bound(...args);
  stream.write = (...args: unknown[]) => around(args, write);
  return () => {
    if (own) Object.defineProperty(stream, 'write', own);
    else delete (stream as { write?: unknown }).write;
  };
}
