/** Typed configuration options (Flink's ConfigOption) and the parsers for durations, sizes and enums. */
import { SluiceError } from './errors.js';

/** How an option's value is written as text; decides how a string from YAML or `-D` is parsed. */
export type OptionType = 'duration' | 'memory' | 'int' | 'float' | 'boolean' | 'string' | 'enum';

/**
 * One configuration key with its type, default and Flink 1.x aliases. Durations are held as
 * milliseconds and memory sizes as bytes, so callers never see units.
 */
export interface ConfigOption<T> {
  /** The canonical (Flink 2.x) key, e.g. `execution.checkpointing.interval`. */
  readonly key: string;
  /** How text values are parsed. */
  readonly type: OptionType;
  /** Used when the key is not set; `undefined` when the option has no default. */
  readonly defaultValue: T | undefined;
  /** One line for users: what the option changes. */
  readonly description: string;
  /** Older keys (Flink 1.x names) accepted with a deprecation warning. */
  readonly deprecatedKeys: readonly string[];
  /** The canonical values of an enum option; empty for every other type. */
  readonly enumValues: readonly string[];
  /**
   * A string (from YAML or `-D`) or an already-typed value (from code) as `T`; throws
   * SLUICE_CONFIG_INVALID_VALUE naming the key, the value and what was expected.
   */
  parse(raw: unknown): T;
  /** `value` as text that `parse` reads back (`10 s`, `32 kb`), for REST and logs. */
  format(value: T): string;
}

/** An option with a default, so reading it never yields `undefined`. */
export interface ConfigOptionWithDefault<T> extends ConfigOption<T> {
  readonly defaultValue: T;
}

/** Settings every option constructor accepts. */
export interface OptionSettings<T> {
  /** Flink 1.x names of the same option. */
  readonly deprecatedKeys?: readonly string[];
  /** An extra constraint: returns what was expected when `value` is not allowed, else undefined. */
  readonly check?: (value: T) => string | undefined;
}

/** Settings of numeric options: inclusive bounds (milliseconds for durations, bytes for sizes). */
export interface RangeSettings extends OptionSettings<number> {
  readonly min?: number;
  readonly max?: number;
}

/** Settings of enum options: extra spellings mapped to a canonical value (Flink's `fixeddelay`). */
export interface EnumSettings<V extends string> extends OptionSettings<V> {
  readonly aliases?: Readonly<Record<string, V>>;
}

type Outcome<T> = { ok: true; value: T } | { ok: false; problem: string; expected: string };

const ok = <T>(value: T): Outcome<T> => ({ ok: true, value });
const fail = <T>(problem: string, expected: string): Outcome<T> => ({ ok: false, problem, expected });

/** Quotes strings so that empty or space-padded values are visible in messages. */
function show(raw: unknown): string {
  if (typeof raw === 'string') return JSON.stringify(raw);
  if (typeof raw === 'object' && raw !== null) {
    try {
      return JSON.stringify(raw);
    } catch {
      return Object.prototype.toString.call(raw);
    }
  }
  return String(raw);
}

function invalid(key: string | undefined, raw: unknown, problem: string, expected: string): SluiceError {
  const subject = key === undefined ? show(raw) : `${key}: ${show(raw)}`;
  return new SluiceError('SLUICE_CONFIG_INVALID_VALUE', `${subject} ${problem}; expected ${expected}`);
}

function unwrap<T>(outcome: Outcome<T>, key: string | undefined, raw: unknown): T {
  if (outcome.ok) return outcome.value;
  throw invalid(key, raw, outcome.problem, outcome.expected);
}

// Flink's TimeUtils labels (plus `us`, since `µ` is awkward to type). Sub-millisecond units divide,
// so that 1500us is exactly 1.5 ms rather than 1500 * 0.001.
const DURATION_UNITS: readonly (readonly [labels: readonly string[], ms: number, divide: boolean])[] = [
  [['ns', 'nano', 'nanos', 'nanosecond', 'nanoseconds'], 1_000_000, true],
  [['us', 'µs', 'micro', 'micros', 'microsecond', 'microseconds'], 1_000, true],
  [['ms', 'milli', 'millis', 'millisecond', 'milliseconds'], 1, false],
  [['s', 'sec', 'secs', 'second', 'seconds'], 1_000, false],
  [['m', 'min', 'minute', 'minutes'], 60_000, false],
  [['h', 'hour', 'hours'], 3_600_000, false],
  [['d', 'day', 'days'], 86_400_000, false],
];

// Flink's MemorySize.MemoryUnit labels; 1024-based, as Flink.
const MEMORY_UNITS: readonly (readonly [labels: readonly string[], bytes: number])[] = [
  [['b', 'bytes'], 1],
  [['k', 'kb', 'kibibytes'], 1024],
  [['m', 'mb', 'mebibytes'], 1024 ** 2],
  [['g', 'gb', 'gibibytes'], 1024 ** 3],
  [['t', 'tb', 'tebibytes'], 1024 ** 4],
];

const EXPECT_DURATION = 'a number with a unit such as 500ms, 10s, 5min, 1h';
const EXPECT_MEMORY = 'a number of bytes with a unit such as 512b, 64kb, 32mb, 2gb';

/** Splits Flink's `<digits><spaces><unit>` form; only non-negative integers, as Flink. */
function splitNumberAndUnit(raw: string): { amount: number; unit: string } | undefined {
  const match = /^(\d+)\s*(\S*)$/u.exec(raw.trim());
  if (match === null) return undefined;
  return { amount: Number(match[1]), unit: (match[2] ?? '').toLowerCase() };
}

function durationOutcome(raw: unknown): Outcome<number> {
  if (typeof raw === 'number') {
    return Number.isFinite(raw) && raw >= 0
      ? ok(raw)
      : fail('is not a duration', 'a non-negative number of milliseconds');
  }
  const parts = typeof raw === 'string' ? splitNumberAndUnit(raw) : undefined;
  if (parts === undefined) return fail('is not a duration', EXPECT_DURATION);
  let ms = parts.amount;
  if (parts.unit !== '') {
    const unit = DURATION_UNITS.find(([labels]) => labels.includes(parts.unit));
    if (unit === undefined) return fail('is not a duration', EXPECT_DURATION);
    ms = unit[2] ? parts.amount / unit[1] : parts.amount * unit[1];
  }
  return Number.isSafeInteger(parts.amount) && ms <= Number.MAX_SAFE_INTEGER
    ? ok(ms)
    : fail('is too large', 'a duration below 2^53 milliseconds');
}

function memoryOutcome(raw: unknown): Outcome<number> {
  if (typeof raw === 'number') {
    return Number.isSafeInteger(raw) && raw >= 0
      ? ok(raw)
      : fail('is not a memory size', 'a non-negative whole number of bytes');
  }
  const parts = typeof raw === 'string' ? splitNumberAndUnit(raw) : undefined;
  if (parts === undefined) return fail('is not a memory size', EXPECT_MEMORY);
  let bytes = parts.amount;
  if (parts.unit !== '') {
    const unit = MEMORY_UNITS.find(([labels]) => labels.includes(parts.unit));
    if (unit === undefined) return fail('is not a memory size', EXPECT_MEMORY);
    bytes = parts.amount * unit[1];
  }
  return Number.isSafeInteger(bytes) ? ok(bytes) : fail('is too large', 'a size below 2^53 bytes');
}

/**
 * Parses a Flink duration (`500ms`, `10 s`, `5min`, `1h`; a bare number is milliseconds; a number
 * from code is milliseconds) into milliseconds; throws SLUICE_CONFIG_INVALID_VALUE naming `key`.
 */
export function parseDuration(raw: unknown, key?: string): number {
  return unwrap(durationOutcome(raw), key, raw);
}

/** Parses a Flink memory size (`32kb`, `64 mb`, `1g`; a bare number is bytes) into bytes. */
export function parseMemorySize(raw: unknown, key?: string): number {
  return unwrap(memoryOutcome(raw), key, raw);
}

/** Milliseconds in the largest unit that divides them exactly (Flink's `formatWithHighestUnit`). */
export function formatDuration(ms: number): string {
  if (!Number.isInteger(ms)) {
    const ns = Math.round(ms * 1_000_000);
    return ns % 1000 === 0 ? `${ns / 1000} us` : `${ns} ns`;
  }
  for (const [label, factor] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['min', 60_000],
    ['s', 1_000],
  ] as const) {
    if (ms !== 0 && ms % factor === 0) return `${ms / factor} ${label}`;
  }
  return `${ms} ms`;
}

/** Bytes in the largest unit that divides them exactly (Flink's `MemorySize.toString`). */
export function formatMemorySize(bytes: number): string {
  for (const [label, factor] of [
    ['tb', 1024 ** 4],
    ['gb', 1024 ** 3],
    ['mb', 1024 ** 2],
    ['kb', 1024],
  ] as const) {
    if (bytes !== 0 && bytes % factor === 0) return `${bytes / factor} ${label}`;
  }
  return `${bytes} bytes`;
}

function intOutcome(raw: unknown): Outcome<number> {
  const value = typeof raw === 'string' && /^\s*[+-]?\d+\s*$/u.test(raw) ? Number(raw) : raw;
  if (typeof value !== 'number' || !Number.isInteger(value))
    return fail('is not an integer', 'a whole number');
  return Number.isSafeInteger(value) ? ok(value) : fail('is too large', 'an integer below 2^53');
}

function floatOutcome(raw: unknown): Outcome<number> {
  const text = /^\s*[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?\s*$/iu;
  const value = typeof raw === 'string' && text.test(raw) ? Number(raw) : raw;
  return typeof value === 'number' && Number.isFinite(value)
    ? ok(value)
    : fail('is not a number', 'a decimal number such as 1.5');
}

function booleanOutcome(raw: unknown): Outcome<boolean> {
  if (typeof raw === 'boolean') return ok(raw);
  const text = typeof raw === 'string' ? raw.trim().toLowerCase() : undefined;
  if (text === 'true' || text === 'false') return ok(text === 'true');
  return fail('is not a boolean', 'true or false');
}

function stringOutcome(raw: unknown): Outcome<string> {
  return typeof raw === 'string' ? ok(raw) : fail('is not a string', 'text');
}

/**
 * The option type a constructor returns for a default of type `D`: with a default, reads are
 * typed `T`; with `undefined` (no default) they are `T | undefined`.
 */
export type OptionFor<T, D> = undefined extends D ? ConfigOption<T> : ConfigOptionWithDefault<T>;

/** Builds an option; parses the default eagerly so a bad registry entry fails at import. */
function define<T, D>(
  key: string,
  type: OptionType,
  rawDefault: D,
  description: string,
  settings: OptionSettings<T> | undefined,
  outcome: (raw: unknown) => Outcome<T>,
  format: (value: T) => string,
  enumValues: readonly string[] = [],
): OptionFor<T, D> {
  const parse = (raw: unknown): T => {
    const value = unwrap(outcome(raw), key, raw);
    const expected = settings?.check?.(value);
    if (expected !== undefined) throw invalid(key, raw, 'is out of range', expected);
    return value;
  };
  const option: ConfigOption<T> = {
    key,
    type,
    defaultValue: rawDefault === undefined ? undefined : parse(rawDefault),
    description,
    deprecatedKeys: settings?.deprecatedKeys ?? [],
    enumValues,
    parse,
    format,
  };
  // Sound: defaultValue is set exactly when D admits no `undefined`, which is what OptionFor says.
  return option as OptionFor<T, D>;
}

/** Adds `min`/`max` to a numeric option's own check, describing bounds in the option's units. */
function withRange(
  settings: RangeSettings | undefined,
  noun: string,
  unit: (n: number) => string,
): OptionSettings<number> | undefined {
  if (settings === undefined) return undefined;
  const { min, max, check } = settings;
  const bounds =
    min !== undefined && max !== undefined
      ? `${noun} between ${unit(min)} and ${unit(max)}`
      : min !== undefined
        ? `${noun} of at least ${unit(min)}`
        : max !== undefined
          ? `${noun} of at most ${unit(max)}`
          : undefined;
  return {
    ...settings,
    check: (value) => {
      if ((min !== undefined && value < min) || (max !== undefined && value > max)) return bounds;
      return check?.(value);
    },
  };
}

/** A duration in milliseconds; text may carry a unit (`10s`), bare numbers are milliseconds. */
export function durationOption<D extends number | string | undefined>(
  key: string,
  defaultValue: D,
  description: string,
  settings?: RangeSettings,
): OptionFor<number, D> {
  const range = withRange(settings, 'a duration', formatDuration);
  return define(key, 'duration', defaultValue, description, range, durationOutcome, formatDuration);
}

/** A memory size in bytes; text may carry a 1024-based unit (`32kb`), bare numbers are bytes. */
export function memoryOption<D extends number | string | undefined>(
  key: string,
  defaultValue: D,
  description: string,
  settings?: RangeSettings,
): OptionFor<number, D> {
  const range = withRange(settings, 'a size', formatMemorySize);
  return define(key, 'memory', defaultValue, description, range, memoryOutcome, formatMemorySize);
}

/** A whole number (Flink's Integer and Long options), optionally bounded. */
export function intOption<D extends number | undefined>(
  key: string,
  defaultValue: D,
  description: string,
  settings?: RangeSettings,
): OptionFor<number, D> {
  const range = withRange(settings, 'an integer', String);
  return define(key, 'int', defaultValue, description, range, intOutcome, String);
}

/** A decimal number (Flink's Float and Double options), optionally bounded. */
export function floatOption<D extends number | undefined>(
  key: string,
  defaultValue: D,
  description: string,
  settings?: RangeSettings,
): OptionFor<number, D> {
  const range = withRange(settings, 'a number', String);
  return define(key, 'float', defaultValue, description, range, floatOutcome, String);
}

/** `true` or `false`, case-insensitive in text. */
export function booleanOption<D extends boolean | undefined>(
  key: string,
  defaultValue: D,
  description: string,
  settings?: OptionSettings<boolean>,
): OptionFor<boolean, D> {
  return define(key, 'boolean', defaultValue, description, settings, booleanOutcome, String);
}

/** Free text (paths, names, secrets). */
export function stringOption<D extends string | undefined>(
  key: string,
  defaultValue: D,
  description: string,
  settings?: OptionSettings<string>,
): OptionFor<string, D> {
  return define(key, 'string', defaultValue, description, settings, stringOutcome, (value) => value);
}

/**
 * One of a fixed set of values, matched case-insensitively (as Flink matches enum names) and
 * returned as declared, so code compares against one spelling.
 */
export function enumOption<const V extends string, D extends NoInfer<V> | undefined>(
  key: string,
  values: readonly V[],
  defaultValue: D,
  description: string,
  settings?: EnumSettings<NoInfer<V>>,
): OptionFor<V, D> {
  const spellings = new Map<string, V>();
  for (const value of values) spellings.set(value.toLowerCase(), value);
  for (const [alias, value] of Object.entries(settings?.aliases ?? {}))
    spellings.set(alias.toLowerCase(), value);
  const expected = `one of ${values.join(', ')}`;
  const outcome = (raw: unknown): Outcome<V> => {
    const value = typeof raw === 'string' ? spellings.get(raw.trim().toLowerCase()) : undefined;
    return value === undefined ? fail('is not a valid value', expected) : ok(value);
  };
  return define(key, 'enum', defaultValue, description, settings, outcome, (value) => value, values);
}
