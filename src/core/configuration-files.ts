/** Configuration files as Flink has them: where one is found, and its two formats (YAML, flat lines). */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, isAbsolute, join, relative, resolve } from 'node:path';
import { LineCounter, isAlias, isMap, isScalar, isSeq, parseDocument, type Node, type YAMLMap } from 'yaml';
import { SluiceError } from './errors.js';

/**
 * The file names looked for in a configuration directory, in order; the first present is read.
 * `config.yaml` is Flink 2's (standard YAML, flat or nested keys), `flink-conf.yaml` Flink 1's
 * (one `key: value` a line).
 */
export const CONFIG_FILE_NAMES = ['sluice.yaml', 'config.yaml', 'flink-conf.yaml'] as const;

/** Flink 1's file name: read line by line, as Flink reads it, not as YAML. */
const LEGACY_FILE_NAME = 'flink-conf.yaml';

/** One `key: value` of a source (a file, an environment variable), with the line it is on. */
export interface ConfigEntry {
  readonly key: string;
  readonly text: string;
  readonly line: number;
}

/** Where the configuration file comes from: `--config`, a variable naming a directory, or the working directory. */
export type ConfigFileSource = '--config' | 'SLUICE_CONF_DIR' | 'FLINK_CONF_DIR' | 'working directory';

/** The configuration file to read, and why that one. */
export interface FoundConfigFile {
  /** Absolute path. */
  readonly path: string;
  /** How messages name it: relative to the working directory when inside it. */
  readonly shownAs: string;
  readonly source: ConfigFileSource;
  /** Other configuration files in the same directory, which are not read. */
  readonly ignored: readonly string[];
}

function fileError(where: string, message: string, cause?: unknown): SluiceError {
  return new SluiceError('SLUICE_CONFIG_INVALID_FILE', `${where}: ${message}`, { cause });
}

const at = (path: string, line: number | undefined): string =>
  line === undefined ? path : `${path}:${line}`;

function kindOf(path: string): 'directory' | 'file' | 'missing' {
  if (!existsSync(path)) return 'missing';
  return statSync(path).isDirectory() ? 'directory' : 'file';
}

function shown(path: string, cwd: string): string {
  const inside = relative(cwd, path);
  return inside !== '' && !inside.startsWith('..') && !isAbsolute(inside) ? inside : path;
}

/** The configuration file of `dir`, or undefined when it has none. */
function inDirectory(dir: string, cwd: string, source: ConfigFileSource): FoundConfigFile | undefined {
  const present = CONFIG_FILE_NAMES.map((name) => join(dir, name)).filter((p) => kindOf(p) === 'file');
  const [path, ...ignored] = present;
  if (path === undefined) return undefined;
  return { path, shownAs: shown(path, cwd), source, ignored: ignored.map((p) => shown(p, cwd)) };
}

/**
 * Finds the configuration file, first found wins: `configFile` (a file, or a directory holding
 * one), else the directory in `$SLUICE_CONF_DIR`, else the one in `$FLINK_CONF_DIR`, else the
 * working directory. What is named explicitly (the option, a variable) must exist and hold a
 * configuration file; the working directory may have none. Throws SLUICE_CONFIG_INVALID_FILE.
 */
export function findConfigFile(settings: {
  readonly configFile?: string | undefined;
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
}): FoundConfigFile | undefined {
  const { cwd, env } = settings;
  const names = CONFIG_FILE_NAMES.join(', ');
  if (settings.configFile !== undefined) {
    const path = resolve(cwd, settings.configFile);
    const kind = kindOf(path);
    if (kind === 'missing') throw fileError(settings.configFile, 'cannot read config file: no such file');
    if (kind === 'file') return { path, shownAs: settings.configFile, source: '--config', ignored: [] };
    const found = inDirectory(path, cwd, '--config');
    if (found === undefined)
      throw fileError(
        settings.configFile,
        `the directory has no configuration file; expected one of ${names}`,
      );
    return found;
  }
  for (const variable of ['SLUICE_CONF_DIR', 'FLINK_CONF_DIR'] as const) {
    const dir = env[variable];
    if (dir === undefined || dir === '') continue;
    const path = resolve(cwd, dir);
    const kind = kindOf(path);
    if (kind !== 'directory')
      throw fileError(
        `${variable}=${dir}`,
        `${kind === 'missing' ? 'no such directory' : 'not a directory'}; set it to the directory holding ${names}, or unset it`,
      );
    const found = inDirectory(path, cwd, variable);
    if (found === undefined)
      throw fileError(
        `${variable}=${dir}`,
        `the directory has no configuration file; expected one of ${names}`,
      );
    return found;
  }
  return inDirectory(cwd, cwd, 'working directory');
}

/**
 * Reads a configuration file: Flink 1's `flink-conf.yaml` line by line, any other as YAML.
 * `shownAs` names the file in errors. Throws SLUICE_CONFIG_INVALID_FILE naming file and line.
 */
export function readConfigFile(path: string, shownAs = path): ConfigEntry[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const missing = error instanceof Error && 'code' in error && error.code === 'ENOENT';
    throw fileError(shownAs, `cannot read config file: ${missing ? 'no such file' : String(error)}`, error);
  }
  return basename(path) === LEGACY_FILE_NAME
    ? parseFlatLines(text, (line) => `${shownAs}:${line}`, 'SLUICE_CONFIG_INVALID_FILE')
    : parseYaml(text, shownAs);
}

/**
 * Flink 1's `key: value` lines (flink-conf.yaml, FLINK_PROPERTIES): `#` starts a comment
 * anywhere, the first `": "` splits key from value, both are trimmed, the value is taken as
 * written (quotes included), a later line wins over an earlier one, and a key with no value is
 * not set. Flink skips a line it cannot split with a warning; Sluice refuses it, naming the line,
 * since a skipped line is a setting silently lost.
 */
export function parseFlatLines(
  text: string,
  where: (line: number) => string,
  code: 'SLUICE_CONFIG_INVALID_FILE' | 'SLUICE_CONFIG_INVALID_VALUE',
): ConfigEntry[] {
  const entries = new Map<string, ConfigEntry>();
  text.split(/\r?\n/u).forEach((raw, index) => {
    const line = index + 1;
    const content = raw.split('#', 1)[0] ?? '';
    if (content.trim() === '') return;
    const trimmed = content.trim();
    // `key:` with nothing after it has no value, as in YAML: nothing is set.
    if (/^[^:\s]+:$/u.test(trimmed)) return;
    const colon = content.indexOf(': ');
    const key = colon < 0 ? '' : content.slice(0, colon).trim();
    if (key === '') {
      const problem = colon < 0 ? 'is not "key: value" (a space must follow the colon)' : 'has no key';
      throw new SluiceError(code, `${where(line)}: ${JSON.stringify(trimmed)} ${problem}`);
    }
    const value = content.slice(colon + 2).trim();
    if (value === '') return;
    entries.delete(key);
    entries.set(key, { key, text: value, line });
  });
  return [...entries.values()];
}

/** A YAML scalar as config text; `undefined` for null (`key:` means "not set") and non-scalars. */
function scalarText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value);
  return undefined;
}

/** Quotes a list or map element that holds one of Flink's separators, as Flink's list parser expects. */
function element(text: string): string {
  return /[;,:'"]/u.test(text) ? `'${text.replaceAll("'", "''")}'` : text;
}

/**
 * A YAML list as Flink's text form of a list: elements joined by `;`, a map element as
 * `k:v,k:v` (Flink's form of `pipeline.cached-files`); undefined if an element is neither.
 */
function listText(items: readonly unknown[]): string | undefined {
  const parts: string[] = [];
  for (const item of items) {
    if (isScalar(item) && scalarText(item.value) !== undefined) {
      parts.push(element(scalarText(item.value)!));
    } else if (isMap(item)) {
      const pairs: string[] = [];
      for (const pair of item.items) {
        const k = isScalar(pair.key) ? scalarText(pair.key.value) : undefined;
        const v = isScalar(pair.value) ? scalarText(pair.value.value) : undefined;
        if (k === undefined || v === undefined) return undefined;
        pairs.push(`${element(k)}:${element(v)}`);
      }
      parts.push(pairs.join(','));
    } else {
      return undefined;
    }
  }
  return parts.join(';');
}

/**
 * Flink 2's config.yaml (and sluice.yaml): flat (`a.b.c: 1s`) and nested (`a: {b: {c: 1s}}`) keys,
 * mixed; a list becomes Flink's list text (`a;b`). A key set twice is an error, as in Flink 2.
 */
function parseYaml(text: string, path: string): ConfigEntry[] {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
  const [first] = doc.errors;
  if (first !== undefined) {
    const reason = (first.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/u, '');
    throw fileError(at(path, first.linePos?.[0].line), `invalid YAML: ${reason}`, first);
  }
  const lineOf = (node: Node): number | undefined =>
    node.range === undefined || node.range === null ? undefined : lines.linePos(node.range[0]).line;
  if (doc.contents === null) return [];
  if (!isMap(doc.contents)) {
    const found = isSeq(doc.contents) ? 'a list' : 'a single value';
    throw fileError(
      at(path, lineOf(doc.contents)),
      `expected a mapping of config keys at the top level, found ${found}`,
    );
  }

  const entries = new Map<string, ConfigEntry>();
  const walk = (map: YAMLMap, prefix: string): void => {
    for (const pair of map.items) {
      const keyNode = isScalar(pair.key) ? pair.key : undefined;
      const line = (keyNode && lineOf(keyNode)) ?? lineOf(map) ?? 1;
      const name = scalarText(keyNode?.value)?.trim();
      if (name === undefined || name === '')
        throw fileError(`${path}:${line}`, 'config keys must be plain text');
      const key = prefix === '' ? name : `${prefix}.${name}`;
      const value = isAlias(pair.value) ? pair.value.resolve(doc) : pair.value;
      if (isMap(value)) {
        walk(value, key);
        continue;
      }
      let text: string | undefined;
      if (isSeq(value)) {
        text = listText(value.items);
        if (text === undefined)
          throw fileError(`${path}:${line}`, `"${key}": a list may hold only plain values or flat mappings`);
      } else if (isScalar(value)) {
        text = scalarText(value.value);
      }
      if (text === undefined) continue;
      const earlier = entries.get(key);
      if (earlier !== undefined)
        throw fileError(`${path}:${line}`, `"${key}" is set twice (also on line ${earlier.line})`);
      entries.set(key, { key, text, line });
    }
  };
  walk(doc.contents, '');
  return [...entries.values()];
}
