/**
 * How `sluice` reports the error a command ended with: one line that says each cause once, the
 * line of the user's code where it began, and the whole stack only at debug level.
 */
import { relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SluiceError } from '../core/errors.js';
import { serializeError, stackOf, withCauses, type SerializedError } from '../core/log.js';

/** Sluice's own code: frames in it are not where the user's problem is. */
const OWN_CODE = ['src', 'dist', 'bin'].map((dir) =>
  fileURLToPath(new URL(`../../${dir}/`, import.meta.url)),
);

/** Settings of `formatFailure`. */
export interface FailureFormat {
  /** Print the whole stack (log level debug or trace). */
  readonly debug: boolean;
  /** Paths under it are shown relative to it. */
  readonly cwd: string;
}

/** The error a command failed with, as the lines it prints to stderr. */
export function formatFailure(error: unknown, format: FailureFormat): string {
  const serialized = serializeError(error);
  const code = error instanceof SluiceError ? ` [${error.code}]` : '';
  const lines = [`error: ${withCauses('', serialized)}${code}`];
  if (format.debug) {
    lines.push(indent(stackOf(serialized)));
    return `${lines.join('\n')}\n`;
  }
  const frame = userFrame(serialized, format.cwd);
  if (frame !== undefined) lines.push(`    at ${frame}`);
  // A failure that is not the user's is a bug or an outage: its stack helps whoever looks into it.
  if (!(error instanceof SluiceError) || error.classification !== 'user')
    lines.push('(run with -D log.level=debug or SLUICE_LOG_LEVEL=debug for the stack)');
  return `${lines.join('\n')}\n`;
}

/** The first frame outside Sluice and Node.js of the innermost error that has one, paths made relative. */
function userFrame(error: SerializedError, cwd: string): string | undefined {
  const chain: SerializedError[] = [];
  for (let e: SerializedError | undefined = error; e && chain.length < 8; e = e.cause) chain.push(e);
  for (const e of chain.reverse()) {
    for (const line of (e.stack ?? '').split('\n')) {
      const frame = /^\s+at (.*)$/u.exec(line)?.[1];
      if (frame === undefined) continue;
      if (frame.includes('node:') || frame.includes(`${sep}node_modules${sep}`)) continue;
      const path = /\(?((?:file:\/\/)?\/[^():]+)(?::\d+){0,2}\)?$/u.exec(frame)?.[1];
      const file = path?.startsWith('file://') ? fileURLToPath(path) : path;
      if (file === undefined || OWN_CODE.some((dir) => file.startsWith(dir))) continue;
      return frame.replace(path!, relativeTo(cwd, file));
    }
  }
  return undefined;
}

function relativeTo(cwd: string, file: string): string {
  const rel = relative(cwd, file);
  return rel.startsWith('..') ? file : rel;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `    ${l.trimStart()}`)
    .join('\n');
}

/** Status lines of the CLI itself (not logs): stderr, so job output on stdout stays clean. */
export function say(line: string): void {
  process.stderr.write(`[sluice] ${line}\n`);
}
