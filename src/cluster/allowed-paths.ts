/**
 * `rest.allowed-paths`: the directories a REST-submitted job may restore from and checkpoint to.
 * A path is judged where it really leads (symbolic links resolved), so a link inside an allowed
 * directory cannot open another.
 */
import { realpath, stat } from 'node:fs/promises';
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

function notAllowed(what: string, given: string, roots: readonly string[], why = ''): SluiceError {
  return new SluiceError(
    'SLUICE_REST_PATH_NOT_ALLOWED',
    `${what} ${given} is outside the directories this JobManager allows (rest.allowed-paths: ${roots.join(', ')})${why}; ` +
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
  if (!(await isInside(localPath(given, what, roots), roots))) throw notAllowed(what, given, roots);
}

/**
 * Throws SLUICE_REST_PATH_NOT_ALLOWED unless the checkpoint or savepoint at `given` and its job
 * directory (its parent, where shared state files live) lie under one of `roots`: a restore reads
 * files from both.
 */
export async function checkAllowedRestorePath(
  given: string,
  roots: readonly string[] | undefined,
): Promise<void> {
  if (roots === undefined) return;
  const what = 'the restore path';
  const path = localPath(given, what, roots);
  if (!(await isInside(path, roots))) throw notAllowed(what, given, roots);
  const isFile = await stat(path).then(
    (s) => !s.isDirectory(),
    () => false,
  );
  const checkpointDir = isFile ? dirname(path) : path;
  if (!(await isInside(dirname(checkpointDir), roots)))
    throw notAllowed(
      what,
      given,
      roots,
      ': the job directory above its checkpoint directory must be inside too',
    );
}

function localPath(given: string, what: string, roots: readonly string[]): string {
  try {
    return resolve(pointerToPath(given));
  } catch {
    throw notAllowed(what, given, roots);
  }
}

async function isInside(path: string, roots: readonly string[]): Promise<boolean> {
  const target = await realTarget(path);
  for (const root of roots) {
    const inside = relative(await realTarget(resolve(root)), target);
    if (inside === '' || (inside !== '..' && !inside.startsWith(`..${sep}`) && !isAbsolute(inside)))
      return true;
  }
  return false;
}
