/**
 * Layered configuration with Flink's keys and aliases: defaults < configuration file (sluice.yaml,
 * config.yaml or flink-conf.yaml) < environment (FLINK_PROPERTIES, SLUICE_PROPERTIES) < -D < code.
 */
import type { ConfigOption, ConfigOptionWithDefault } from './config-option.js';
import { ALL_OPTIONS } from './config-options.js';
import {
  findConfigFile,
  parseFlatLines,
  readConfigFile,
  type FoundConfigFile,
} from './configuration-files.js';
import { SluiceError } from './errors.js';
import { logger, type Logger } from './log.js';

export { parseDuration, parseMemorySize } from './config-option.js';

/** Where configuration warnings (deprecated or unknown keys) go. */
export type WarnFn = (message: string) => void;

/** Where the one-line announcement of the configuration's sources goes. */
export type InfoFn = (message: string) => void;

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
const defaultInfo: InfoFn = (message) => {
  configLog ??= logger('config');
  configLog.info(message);
};

// Keyed by sink so each warning appears once per process with the default logger, while a test's
// own sink starts fresh.
const alreadyWarned = new WeakMap<WarnFn | InfoFn, Set<string>>();
function warnOnce(warn: WarnFn | InfoFn, id: string, message: string): void {
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
function closestKey(key: string): { key: string; distance: number } | undefined {
  let best: { key: string; distance: number } | undefined;
  for (const [candidate, option] of [...byKey, ...byDeprecatedKey]) {
    const distance = editDistance(key, candidate);
    if (best === undefined || distance < best.distance) best = { key: option.key, distance };
  }
  return best !== undefined && best.distance <= Math.max(3, Math.floor(key.length / 3)) ? best : undefined;
}

// Families of Flink options Sluice has no use for (JVM memory and options, high availability,
// deployment targets, RocksDB, metric reporters, SQL, …), as found in a Flink config.yaml. A key
// in one is Flink's, not a typo of Sluice's: it is kept, with no "did you mean".
const FLINK_ONLY_PREFIXES = [
  'env.',
  'jobmanager.memory.',
  'taskmanager.memory.',
  'high-availability',
  'state.backend.rocksdb.',
  'state.backend.forst.',
  'kubernetes.',
  'yarn.',
  'metrics.',
  'security.kerberos.',
  'security.ssl.',
  'akka.',
  'pekko.',
  'blob.',
  'classloader.',
  'table.',
  'sql-gateway.',
  'historyserver.',
  'io.tmp.dirs',
  'fs.',
  's3.',
];

/** The warning for a key Sluice does not know: a likely typo, a Flink option it ignores, or neither. */
function unknownKeyWarning(key: string, origin: string | undefined): string {
  const suggestion = closestKey(key);
  const flinkOnly = FLINK_ONLY_PREFIXES.some((prefix) => key.startsWith(prefix));
  if (flinkOnly && (suggestion === undefined || suggestion.distance > 2))
    return `"${key}" is a Flink option Sluice does not use; it has no effect${from(origin)}`;
  const hint = suggestion === undefined ? '' : `; did you mean "${suggestion.key}"?`;
  return `unknown config key "${key}"${from(origin)}${hint}`;
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
    warnOnce(this.warn, `unknown ${trimmed}`, unknownKeyWarning(trimmed, origin));
    this.values.set(trimmed, raw);
    return this;
  }

  /**
   * Sets every entry of one source. Within a source the new key beats a deprecated one whatever
   * the order, as in Flink, where the new key is always read first.
   */
  addAll(entries: Readonly<Record<string, string>>, origin?: string): this {
    return this.addSource(
      origin,
      Object.entries(entries).map(([key, text]) => ({ key, text, origin })),
    );
  }

  /**
   * @internal As addAll, for a source whose entries each name where they are (`config.yaml:3`);
   * `name` names the whole source.
   */
  addSource(
    name: string | undefined,
    entries: readonly { readonly key: string; readonly text: string; readonly origin?: string | undefined }[],
  ): this {
    const isOld = (key: string): boolean => byDeprecatedKey.has(key.trim());
    for (const { key } of entries.filter((entry) => isOld(entry.key))) {
      const current = byDeprecatedKey.get(key.trim())?.key;
      if (current !== undefined && entries.some((other) => other.key.trim() === current)) {
        this.warn(`${key.trim()} and ${current} are both set${from(name)}; using ${current}`);
      }
    }
    const ordered = [...entries.filter((e) => isOld(e.key)), ...entries.filter((e) => !isOld(e.key))];
    for (const entry of ordered) this.setString(entry.key, entry.text, entry.origin);
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

/**
 * Reads a configuration file into flat `key: text` entries: Flink 1's `flink-conf.yaml` line by
 * line, any other file as YAML with flat and nested keys (Flink 2's config.yaml). Throws
 * SLUICE_CONFIG_INVALID_FILE naming the path and line.
 */
export function loadConfigFile(path: string): Record<string, string> {
  return Object.fromEntries(readConfigFile(path).map((entry) => [entry.key, entry.text]));
}

/** Inputs of loadConfiguration; every field is optional. */
export interface LoadConfigurationSettings {
  /** `--config`: a configuration file, or a directory holding one; relative to `cwd`. It must exist. */
  readonly configFile?: string | undefined;
  /** `-D` properties, as a map or as raw arguments. */
  readonly dynamic?: Readonly<Record<string, string>> | readonly string[] | undefined;
  /** The working directory, where a configuration file is looked for last; defaults to the process's. */
  readonly cwd?: string | undefined;
  /** The environment variables (`SLUICE_CONF_DIR`, `FLINK_PROPERTIES`, …); defaults to the process's. */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined;
  readonly warn?: WarnFn | undefined;
  /** Receives the one line saying where the configuration comes from; defaults to the `config` logger. */
  readonly info?: InfoFn | undefined;
}

const isArgList = (
  dynamic: Readonly<Record<string, string>> | readonly string[],
): dynamic is readonly string[] => Array.isArray(dynamic);

/** Environment variables holding `key: value` lines, as Flink's Docker image reads them; later wins. */
const PROPERTY_VARIABLES = ['FLINK_PROPERTIES', 'SLUICE_PROPERTIES'] as const;

const SOURCE_LABELS: Readonly<Record<FoundConfigFile['source'], string>> = {
  '--config': '--config',
  SLUICE_CONF_DIR: '$SLUICE_CONF_DIR',
  FLINK_CONF_DIR: '$FLINK_CONF_DIR',
  'working directory': 'working directory',
};

/**
 * The effective configuration before code, each layer over the one before: defaults < the
 * configuration file (the first found of `configFile`, `$SLUICE_CONF_DIR`, `$FLINK_CONF_DIR`,
 * the working directory; see findConfigFile) < the `key: value` lines of `$FLINK_PROPERTIES`,
 * then `$SLUICE_PROPERTIES` < dynamic properties (`-D`). Where it comes from is announced in one
 * INFO line, once per process. Code applies `set` on the result.
 */
export function loadConfiguration(settings: LoadConfigurationSettings = {}): Configuration {
  const cwd = settings.cwd ?? process.cwd();
  const env = settings.env ?? process.env;
  const warn = settings.warn ?? defaultWarn;
  const configuration = new Configuration({ warn });
  const sources: string[] = [];

  const file = findConfigFile({ configFile: settings.configFile, cwd, env });
  if (file !== undefined) {
    sources.push(`${file.shownAs} (${SOURCE_LABELS[file.source]})`);
    for (const other of file.ignored)
      warnOnce(
        warn,
        `ignored ${other}`,
        `${other} is not read: ${file.shownAs} beside it is (one configuration file is read)`,
      );
    const entries = readConfigFile(file.path, file.shownAs);
    configuration.addSource(
      file.shownAs,
      entries.map(({ key, text, line }) => ({ key, text, origin: `${file.shownAs}:${line}` })),
    );
  }
  for (const variable of PROPERTY_VARIABLES) {
    const text = env[variable];
    if (text === undefined || text.trim() === '') continue;
    sources.push(`$${variable}`);
    const where = (line: number): string => `$${variable} line ${line}`;
    const entries = parseFlatLines(text, where, 'SLUICE_CONFIG_INVALID_VALUE');
    configuration.addSource(
      `$${variable}`,
      entries.map(({ key, text: value, line }) => ({ key, text: value, origin: where(line) })),
    );
  }
  if (sources.length > 0) {
    const line = `configuration from ${sources.join(', then ')}`;
    warnOnce(settings.info ?? defaultInfo, line, line);
  }
  const dynamic = settings.dynamic ?? {};
  configuration.addAll(isArgList(dynamic) ? parseDynamicProperties(dynamic) : dynamic, '-D');
  return configuration;
}
