/** Layered configuration (defaults < sluice.yaml < -D < code) with Flink's keys, aliases and YAML form. */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { LineCounter, isAlias, isMap, isScalar, isSeq, parseDocument, type Node, type YAMLMap } from 'yaml';
import type { ConfigOption, ConfigOptionWithDefault } from './config-option.js';
import { ALL_OPTIONS } from './config-options.js';
import { SluiceError } from './errors.js';
import { logger, type Logger } from './log.js';

export { parseDuration, parseMemorySize } from './config-option.js';

/** Where configuration warnings (deprecated or unknown keys) go. */
export type WarnFn = (message: string) => void;

/** Settings of a Configuration. */
export interface ConfigurationSettings {
  /** Receives warnings; defaults to the `config` logger at warn level. */
  readonly warn?: WarnFn | undefined;
}

const byKey = new Map<string, ConfigOption<unknown>>(ALL_OPTIONS.map((option) => [option.key, option]));
const byDeprecatedKey = new Map<string, ConfigOption<unknown>>(
  ALL_OPTIONS.flatMap((option) => option.deprecatedKeys.map((key) => [key, option] as const)),
);

let configLog: Logger | undefined;
const defaultWarn: WarnFn = (message) => {
  configLog ??= logger('config');
  configLog.warn(message);
};

// Keyed by sink so each warning appears once per process with the default logger, while a test's
// own sink starts fresh.
const alreadyWarned = new WeakMap<WarnFn, Set<string>>();
function warnOnce(warn: WarnFn, id: string, message: string): void {
  let seen = alreadyWarned.get(warn);
  if (seen === undefined) alreadyWarned.set(warn, (seen = new Set()));
  if (seen.has(id)) return;
  seen.add(id);
  warn(message);
}

// Flink's GlobalConfiguration.SENSITIVE_KEYS: values of keys containing these are hidden.
const SENSITIVE_KEY_PARTS = [
  'password',
  'secret',
  'apikey',
  'token',
  'auth-params',
  'service-key',
  'basic-auth',
];

/** Whether a key holds a credential that REST responses and logs must not show (as Flink decides). */
export function isSensitiveKey(key: string): boolean {
  const lower = key.toLowerCase();
  return SENSITIVE_KEY_PARTS.some((part) => lower.includes(part));
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** The known key nearest to a mistyped one, if it is near enough to be a plausible typo. */
function closestKey(key: string): string | undefined {
  let best: { key: string; distance: number } | undefined;
  for (const [candidate, option] of [...byKey, ...byDeprecatedKey]) {
    const distance = editDistance(key, candidate);
    if (best === undefined || distance < best.distance) best = { key: option.key, distance };
  }
  return best !== undefined && best.distance <= Math.max(3, Math.floor(key.length / 3))
    ? best.key
    : undefined;
}

const from = (origin: string | undefined): string => (origin === undefined ? '' : ` (from ${origin})`);

/**
 * Option values by key, as Flink's Configuration. Known keys hold parsed values (so a bad value
 * fails when it is set, not when first read); unknown keys keep their text for connectors and
 * user code, which may define options Sluice does not know.
 */
export class Configuration {
  private readonly values = new Map<string, unknown>();
  private readonly warn: WarnFn;

  constructor(settings: ConfigurationSettings = {}) {
    this.warn = settings.warn ?? defaultWarn;
  }

  /** The value, else the option's default (never `undefined` for options with a default). */
  get<T>(option: ConfigOptionWithDefault<T>): T;
  get<T>(option: ConfigOption<T>): T | undefined;
  get<T>(option: ConfigOption<T>): T | undefined {
    return this.getOptional(option);
  }

  /** The value, else the option's default, else `undefined`; for code generic over options. */
  getOptional<T>(option: ConfigOption<T>): T | undefined {
    const key = this.storedKey(option);
    return key === undefined ? option.defaultValue : option.parse(this.values.get(key));
  }

  /** Whether the option was set explicitly (under its key or a deprecated one). */
  contains(option: ConfigOption<unknown>): boolean {
    return this.storedKey(option) !== undefined;
  }

  /** Sets a typed value or its text form (`'10s'`); throws SLUICE_CONFIG_INVALID_VALUE at once. */
  set<T>(option: ConfigOption<T>, value: T | string): this {
    this.store(option, value, undefined);
    return this;
  }

  /**
   * Sets a key from text (YAML, `-D`, REST). Deprecated keys are moved to their new key with a
   * warning; unknown keys are kept as text with a warning naming the nearest known key.
   * `origin` (`sluice.yaml`, `-D`) is named in warnings and errors.
   */
  setString(key: string, raw: string, origin?: string): this {
    const trimmed = key.trim();
    const option = byKey.get(trimmed);
    if (option !== undefined) {
      this.store(option, raw, origin);
      return this;
    }
    const renamed = byDeprecatedKey.get(trimmed);
    if (renamed !== undefined) {
      warnOnce(
        this.warn,
        `deprecated ${trimmed}`,
        `${trimmed} is deprecated; use ${renamed.key}${from(origin)}`,
      );
      this.store(renamed, raw, origin);
      return this;
    }
    const suggestion = closestKey(trimmed);
    const hint = suggestion === undefined ? '' : `; did you mean "${suggestion}"?`;
    warnOnce(this.warn, `unknown ${trimmed}`, `unknown config key "${trimmed}"${from(origin)}${hint}`);
    this.values.set(trimmed, raw);
    return this;
  }

  /**
   * Sets every entry of one source. Within a source the new key beats a deprecated one whatever
   * the order, as in Flink, where the new key is always read first.
   */
  addAll(entries: Readonly<Record<string, string>>, origin?: string): this {
    const keys = Object.keys(entries);
    const isOld = (key: string): boolean => byDeprecatedKey.has(key.trim());
    for (const key of keys.filter(isOld)) {
      const current = byDeprecatedKey.get(key.trim())?.key;
      if (current !== undefined && keys.some((other) => other.trim() === current)) {
        this.warn(`${key.trim()} and ${current} are both set${from(origin)}; using ${current}`);
      }
    }
    for (const key of [...keys.filter(isOld), ...keys.filter((key) => !isOld(key))]) {
      this.setString(key, entries[key] ?? '', origin);
    }
    return this;
  }

  /** The text of an explicitly set key, known or not (connector and user keys are read this way). */
  getString(key: string): string | undefined {
    return this.values.has(key) ? this.format(key, this.values.get(key)) : undefined;
  }

  /** A new Configuration holding this one's values overridden by `other`'s; neither changes. */
  merge(other: Configuration): Configuration {
    const merged = this.clone();
    for (const [key, value] of other.values) merged.values.set(key, value);
    return merged;
  }

  /** An independent copy (values are immutable, so a shallow copy is enough). */
  clone(): Configuration {
    const copy = new Configuration({ warn: this.warn });
    for (const [key, value] of this.values) copy.values.set(key, value);
    return copy;
  }

  /**
   * Explicitly set keys as text, sorted, for REST (`/jobmanager/config`) and logs. Secrets are
   * replaced by `******` unless `redactSecrets` is false (e.g. to hand the config to a process).
   */
  toMap(settings: { readonly redactSecrets?: boolean } = {}): Record<string, string> {
    const redact = settings.redactSecrets ?? true;
    const entries = [...this.values.keys()].sort().map((key): [string, string] => {
      const text = redact && isSensitiveKey(key) ? '******' : this.format(key, this.values.get(key));
      return [key, text];
    });
    return Object.fromEntries(entries);
  }

  private storedKey(option: ConfigOption<unknown>): string | undefined {
    return [option.key, ...option.deprecatedKeys].find((key) => this.values.has(key));
  }

  private store<T>(option: ConfigOption<T>, raw: unknown, origin: string | undefined): void {
    let value: T;
    try {
      value = option.parse(raw);
    } catch (error) {
      if (!(error instanceof SluiceError) || origin === undefined) throw error;
      throw new SluiceError(error.code, `${error.message}${from(origin)}`, { cause: error });
    }
    for (const old of option.deprecatedKeys) this.values.delete(old);
    this.values.set(option.key, value);
  }

  private format(key: string, value: unknown): string {
    const option = byKey.get(key);
    return option === undefined || typeof value === 'string' ? String(value) : option.format(value);
  }
}

/**
 * Reads `-D key=value` arguments (`-Dkey=value`, `-D key=value`, or bare `key=value`); the value
 * is everything after the first `=`.
 */
export function parseDynamicProperties(args: readonly string[]): Record<string, string> {
  const properties = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    let arg = args[i] ?? '';
    if (arg === '-D') {
      const next = args[++i];
      if (next === undefined) {
        throw new SluiceError(
          'SLUICE_CONFIG_INVALID_VALUE',
          '-D is missing its key=value; expected e.g. -D parallelism.default=2',
        );
      }
      arg = next;
    } else if (arg.startsWith('-D')) {
      arg = arg.slice(2);
    }
    const eq = arg.indexOf('=');
    const key = eq < 0 ? arg.trim() : arg.slice(0, eq).trim();
    if (eq < 0 || key === '') {
      const problem = eq < 0 ? 'has no "="' : 'has no key';
      throw new SluiceError(
        'SLUICE_CONFIG_INVALID_VALUE',
        `-D ${JSON.stringify(arg)} ${problem}; expected -D key=value, e.g. -D execution.checkpointing.interval=10s`,
      );
    }
    properties.set(key, arg.slice(eq + 1));
  }
  // fromEntries defines own properties, so a key such as `__proto__` cannot touch the prototype.
  return Object.fromEntries(properties);
}

function fileError(path: string, line: number | undefined, message: string, cause?: unknown): SluiceError {
  const where = line === undefined ? path : `${path}:${line}`;
  return new SluiceError('SLUICE_CONFIG_INVALID_FILE', `${where}: ${message}`, { cause });
}

/** A YAML scalar as config text; `undefined` for null (`key:` means "not set") and non-scalars. */
function scalarText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value);
  return undefined;
}

/**
 * Reads a YAML config file into flat `key: text` entries; flat (`a.b.c: 1s`) and nested
 * (`a: {b: {c: 1s}}`) forms may be mixed, as in Flink 2's config.yaml, and a list becomes `a;b`
 * (Flink's list form). Throws SLUICE_CONFIG_INVALID_FILE naming the path and line.
 */
export function loadConfigFile(path: string): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const missing = error instanceof Error && 'code' in error && error.code === 'ENOENT';
    throw fileError(
      path,
      undefined,
      `cannot read config file: ${missing ? 'no such file' : String(error)}`,
      error,
    );
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
  const [first] = doc.errors;
  if (first !== undefined) {
    const reason = (first.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/u, '');
    throw fileError(path, first.linePos?.[0].line, `invalid YAML: ${reason}`, first);
  }
  const lineOf = (node: Node): number | undefined =>
    node.range === undefined || node.range === null ? undefined : lines.linePos(node.range[0]).line;
  if (doc.contents === null) return {};
  if (!isMap(doc.contents)) {
    const found = isSeq(doc.contents) ? 'a list' : 'a single value';
    throw fileError(
      path,
      lineOf(doc.contents),
      `expected a mapping of config keys at the top level, found ${found}`,
    );
  }

  const entries = new Map<string, { text: string; line: number }>();
  const walk = (map: YAMLMap, prefix: string): void => {
    for (const pair of map.items) {
      const keyNode = isScalar(pair.key) ? pair.key : undefined;
      const line = (keyNode && lineOf(keyNode)) ?? lineOf(map) ?? 1;
      const name = scalarText(keyNode?.value)?.trim();
      if (name === undefined || name === '') throw fileError(path, line, 'config keys must be plain text');
      const key = prefix === '' ? name : `${prefix}.${name}`;
      const value = isAlias(pair.value) ? pair.value.resolve(doc) : pair.value;
      if (isMap(value)) {
        walk(value, key);
        continue;
      }
      let text: string | undefined;
      if (isSeq(value)) {
        const items = value.items.map((item) => (isScalar(item) ? scalarText(item.value) : undefined));
        if (items.some((item) => item === undefined))
          throw fileError(path, line, `"${key}": a list may hold only plain values`);
        text = items.join(';');
      } else if (isScalar(value)) {
        text = scalarText(value.value);
      }
      if (text === undefined) continue;
      const earlier = entries.get(key);
      if (earlier !== undefined)
        throw fileError(path, line, `"${key}" is set twice (also on line ${earlier.line})`);
      entries.set(key, { text, line });
    }
  };
  walk(doc.contents, '');
  return Object.fromEntries([...entries].map(([key, entry]) => [key, entry.text]));
}

/** Inputs of loadConfiguration; every field is optional. */
export interface LoadConfigurationSettings {
  /** An explicit config file (`--config`); relative to `cwd`. It must exist. */
  readonly configFile?: string | undefined;
  /** `-D` properties, as a map or as raw arguments. */
  readonly dynamic?: Readonly<Record<string, string>> | readonly string[] | undefined;
  /** Where `sluice.yaml` is looked for; defaults to the process's working directory. */
  readonly cwd?: string | undefined;
  readonly warn?: WarnFn | undefined;
}

const isArgList = (
  dynamic: Readonly<Record<string, string>> | readonly string[],
): dynamic is readonly string[] => Array.isArray(dynamic);

/**
 * The effective configuration before code: defaults < config file (`configFile`, else
 * `sluice.yaml` in `cwd` when present) < dynamic properties. Code applies `set` on the result.
 */
export function loadConfiguration(settings: LoadConfigurationSettings = {}): Configuration {
  const cwd = settings.cwd ?? process.cwd();
  const configuration = new Configuration({ warn: settings.warn });
  const defaultFile = resolve(cwd, 'sluice.yaml');
  if (settings.configFile !== undefined) {
    configuration.addAll(loadConfigFile(resolve(cwd, settings.configFile)), settings.configFile);
  } else if (existsSync(defaultFile)) {
    configuration.addAll(loadConfigFile(defaultFile), 'sluice.yaml');
  }
  const dynamic = settings.dynamic ?? {};
  configuration.addAll(isArgList(dynamic) ? parseDynamicProperties(dynamic) : dynamic, '-D');
  return configuration;
}
