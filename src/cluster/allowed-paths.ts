/**
 * `rest.allowed-paths`: the directories a REST-submitted job may restore from and checkpoint to.
 * A path is judged where it really leads (symbolic links resolved), so a link inside an allowed
 * directory cannot open another.
 */
import { realpath } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { Configuration } from '../core/configuration.js';
import { RestSecurityOptions } from '../core/config-options.js';
import { SluiceError } from '../core/errors.js';
import { pointerToPath } from '../storage/filesystem/file-paths.js';

/** The configured roots (absolute, as given); undefined when `rest.allowed-paths` is not set. */
export function allowedPathRoots(configuration: Configuration): readonly string[] | undefined {
  const text = configuration.get(RestSecurityOptions.ALLOWED_PATHS);
  if (text === undefined) return undefined;
  const roots = text
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  for (const root of roots)
    if (!isAbsolute(root))
      throw new SluiceError(
        'SLUICE_CONFIG_INVALID_VALUE',
        `${RestSecurityOptions.ALLOWED_PATHS.key}: "${root}" is not an absolute path; expected absolute directories, comma-separated`,
      );
  return roots;
}

/** Where `path` leads: its longest existing prefix with links resolved, plus the rest as written. */
async function realTarget(path: string): Promise<string> {
  let existing = path;
  const rest: string[] = [];
  for (;;) {
    try {
      return join(await realpath(existing), ...rest.reverse());
    } catch {
      const parent = dirname(existing);
      if (parent === existing) return path;
      rest.push(basename(existing));
      existing = parent;
    }
  }
}

function notAllowed(what: string, given: string, roots: readonly string[]): SluiceError {
  return new SluiceError(
    'SLUICE_REST_PATH_NOT_ALLOWED',
    `${what} ${given} is outside the directories this JobManager allows (rest.allowed-paths: ${roots.join(', ')}); ` +
      'choose a path under one of them',
  );
}

/**
 * Throws SLUICE_REST_PATH_NOT_ALLOWED unless `given` (a path or `file://` URI; `what` names it in
 * the message) lies under one of `roots`. Nothing is read: only where the path leads is looked at.
 */
export async function checkAllowedPath(
  given: string,
  roots: readonly string[] | undefined,
  what: string,
): Promise<void> {
  if (roots === undefined) return;
  let path: string;
  try {
    path = pointerToPath(given);
  } catch {
    throw notAllowed(what, given, roots);
  }
  const target = await realTarget(resolve(path));
  for (const root of roots) {
    const realRoot = await realTarget(resolve(root));
    const inside = relative(realRoot, target);
    if (inside === '' || (inside !== '..' && !inside.startsWith(`..${sep}`) && !isAbsolute(inside))) return;
  }
  throw notAllowed(what, given, roots);
}
