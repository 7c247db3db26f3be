/**
 * Flink's ParameterTool and MultipleParameterTool: program arguments (`--input a.txt -n 5`) read
 * as typed parameters, and usable as the job's global parameters.
 */
import { SluiceError } from '../core/errors.js';
import { GlobalJobParameters } from './global-job-parameters.js';

/** The value of a key given without one (`--verbose`), as Flink stores it. */
const NO_VALUE_KEY = '__NO_VALUE_KEY';
/** What `getUnrequestedParameters` bookkeeping records for a key asked without a default. */
const DEFAULT_UNDEFINED = '<undefined>';

// commons-lang3 NumberUtils.isCreatable, for what follows a key: "-5" is a value, "-n" a key.
const NUMBER = /^[-+]?(?:0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?[fFdDlL]?)$/u;

function parameterError(message: string): SluiceError {
  return new SluiceError('SLUICE_PARAMETER_INVALID', message);
}

/**
 * The arguments proper: `process.argv` itself (or a copy) is taken without its first two
 * entries (the node binary and the script), as Java's `args` has neither.
 */
function programArguments(args: readonly string[]): readonly string[] {
  const given: unknown = args;
  if (!Array.isArray(given))
    throw parameterError('fromArgs() needs the argument array, e.g. ParameterTool.fromArgs(process.argv).');
  const argv = process.argv;
  const isArgv = args === argv || (args.length >= 2 && args[0] === argv[0] && args[1] === argv[1]);
  return isArgv ? args.slice(2) : args;
}

/** Flink's Utils.getKeyFromArgs: the key of `args[i]`, which must start with - or --. */
function keyAt(args: readonly string[], i: number): string {
  const arg = args[i]!;
  if (typeof arg !== 'string' || !arg.startsWith('-'))
    throw parameterError(
      `Error parsing arguments '${args.join(' ')}' on '${String(arg)}'. Please prefix keys with -- or -.`,
    );
  const key = arg.startsWith('--') ? arg.slice(2) : arg.slice(1);
  if (key.length === 0) throw parameterError(`The input '${args.join(' ')}' contains an empty argument.`);
  return key;
}

/** Walks `--key value` pairs as Flink does: a key followed by a key or the end has no value. */
function parseArgs(args: readonly string[], put: (key: string, value: string) => void): void {
  let i = 0;
  while (i < args.length) {
    const key = keyAt(args, i);
    i += 1;
    const next = args[i];
    if (next === undefined || (!NUMBER.test(next) && next.startsWith('-'))) put(key, NO_VALUE_KEY);
    else {
      put(key, next);
      i += 1;
    }
  }
}

function parseInteger(key: string, value: string, min: number, max: number, what: string): number {
  const text = value.trim();
  const n = /^[-+]?\d+$/u.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max)
    throw parameterError(`parameter '${key}' is '${value}', which is not ${what}.`);
  return n;
}

function parseDecimal(key: string, value: string): number {
  const text = value.trim().replace(/[fFdD]$/u, '');
  const n = text === '' ? Number.NaN : Number(text);
  if (Number.isNaN(n) && text !== 'NaN')
    throw parameterError(`parameter '${key}' is '${value}', which is not a number.`);
  return n;
}

/** The typed getters shared by ParameterTool and MultipleParameterTool (Flink's AbstractParameterTool). */
export abstract class AbstractParameterTool extends GlobalJobParameters {
  /** Keys asked for, with their defaults (for a properties-file skeleton, as Flink keeps it). */
  protected readonly defaultData = new Map<string, string>();
  protected readonly unrequestedParameters: Set<string>;

  protected constructor(keys: Iterable<string>) {
    super();
    this.unrequestedParameters = new Set(keys);
  }

  /** The parameters by key (a value, or a list of values). */
  protected abstract readonly data: ReadonlyMap<string, unknown>;
  /** The one value of a key that is there. */
  protected abstract valueAt(key: string): string;

  /** How many parameters there are. */
  getNumberOfParameters(): number {
    return this.data.size;
  }

  /** The value of `key` (undefined when absent), or `defaultValue` when one is given. */
  get(key: string): string | undefined;
  get(key: string, defaultValue: string): string;
  get(key: string, defaultValue?: string): string | undefined {
    if (defaultValue !== undefined) {
      this.addToDefaults(key, defaultValue);
      return this.get(key) ?? defaultValue;
    }
    this.markRequested(key);
    return this.data.has(key) ? this.valueAt(key) : undefined;
  }

  /** Whether `key` was given (with or without a value). */
  has(key: string): boolean {
    this.markRequested(key);
    return this.data.has(key);
  }

  /** The keys no get/has call asked for yet: typos among the arguments, for instance. */
  getUnrequestedParameters(): ReadonlySet<string> {
    return new Set(this.unrequestedParameters);
  }

  /** The value of `key`; throws SLUICE_PARAMETER_INVALID naming the key when it is not there. */
  getRequired(key: string): string {
    this.addToDefaults(key, undefined);
    const value = this.get(key);
    if (value === undefined)
      throw parameterError(`No data for required key '${key}': pass --${key} <value> to the job.`);
    return value;
  }

  /** The value of `key` as a 32-bit integer (Java's int); with a default when it is not there. */
  getInt(key: string, defaultValue?: number): number {
    return this.typed(key, defaultValue, (v) => parseInteger(key, v, -(2 ** 31), 2 ** 31 - 1, 'an integer'));
  }

  /** The value of `key` as an integer (Java's long, within JavaScript's safe integers). */
  getLong(key: string, defaultValue?: number): number {
    return this.typed(key, defaultValue, (v) =>
      parseInteger(key, v, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, 'a (safe) integer'),
    );
  }

  /** The value of `key` as a number. */
  getFloat(key: string, defaultValue?: number): number {
    return this.typed(key, defaultValue, (v) => parseDecimal(key, v));
  }

  /** The value of `key` as a number. */
  getDouble(key: string, defaultValue?: number): number {
    return this.typed(key, defaultValue, (v) => parseDecimal(key, v));
  }

  /**
   * Whether the value of `key` is `true` (any case), as Java's Boolean.valueOf: any other value is
   * false, a flag given without a value (`--verbose`) too — test flags with `has()`.
   */
  getBoolean(key: string, defaultValue?: boolean): boolean {
    return this.typed(key, defaultValue, (v) => v.toLowerCase() === 'true');
  }

  private typed<T>(key: string, defaultValue: T | undefined, parse: (value: string) => T): T {
    if (defaultValue === undefined) {
      this.addToDefaults(key, undefined);
      return parse(this.getRequired(key));
    }
    this.addToDefaults(key, String(defaultValue));
    const value = this.get(key);
    return value === undefined ? defaultValue : parse(value);
  }

  protected addToDefaults(key: string, value: string | undefined): void {
    const current = this.defaultData.get(key);
    if (current === undefined) this.defaultData.set(key, value ?? DEFAULT_UNDEFINED);
    else if (current === DEFAULT_UNDEFINED && value !== undefined) this.defaultData.set(key, value);
  }

  protected markRequested(key: string): void {
    this.addToDefaults(key, undefined);
    this.unrequestedParameters.delete(key);
  }

  /** For mergeWith: what either side asked for counts as asked for in the merged tool. */
  protected static keepRequested(merged: AbstractParameterTool, ...tools: AbstractParameterTool[]): void {
    for (const tool of tools)
      for (const key of tool.data.keys())
        if (!tool.unrequestedParameters.has(key)) merged.unrequestedParameters.delete(key);
  }
}

/**
 * Program arguments as parameters (Flink's ParameterTool): `ParameterTool.fromArgs(process.argv)`
 * reads `--key value` and `-key value` pairs (a key without a value is a flag, see `has`); the
 * last of repeated keys wins. Pass it to `env.getConfig().setGlobalJobParameters(params)` and
 * every function reads it with `getRuntimeContext().getGlobalJobParameters()`.
 */
export class ParameterTool extends AbstractParameterTool {
  protected readonly data: ReadonlyMap<string, string>;

  private constructor(data: ReadonlyMap<string, string>) {
    super(data.keys());
    this.data = new Map(data);
  }

  /** Reads `--key value` pairs; `process.argv` itself may be passed (its first two entries are skipped). */
  static fromArgs(args: readonly string[]): ParameterTool {
    const map = new Map<string, string>();
    parseArgs(programArguments(args), (key, value) => map.set(key, value));
    return new ParameterTool(map);
  }

  /** Parameters from a map (or a plain object) of strings. */
  static fromMap(map: ReadonlyMap<string, string> | Readonly<Record<string, string>>): ParameterTool {
    if (map === null || typeof map !== 'object')
      throw parameterError('ParameterTool.fromMap() needs a Map or an object of strings.');
    const entries = map instanceof Map ? [...(map as ReadonlyMap<string, string>)] : Object.entries(map);
    for (const [key, value] of entries)
      if (typeof value !== 'string')
        throw parameterError(
          `ParameterTool.fromMap(): the value of '${key}' is a ${typeof value}, not a string.`,
        );
    return new ParameterTool(new Map(entries));
  }

  protected valueAt(key: string): string {
    return this.data.get(key)!;
  }

  /** These parameters overridden by `other`'s (a new ParameterTool; neither changes). */
  mergeWith(other: ParameterTool): ParameterTool {
    const merged = new ParameterTool(new Map([...this.data, ...other.data]));
    AbstractParameterTool.keepRequested(merged, this, other);
    return merged;
  }

  override toMap(): Map<string, string> {
    return new Map(this.data);
  }
}

/**
 * Like ParameterTool, and a key may be given several times (`--input a --input b`):
 * `getMultiParameter('input')` has all values; as global job parameters, the last one counts
 * (Flink's MultipleParameterTool).
 */
export class MultipleParameterTool extends AbstractParameterTool {
  protected readonly data: ReadonlyMap<string, readonly string[]>;

  private constructor(data: ReadonlyMap<string, readonly string[]>) {
    super(data.keys());
    this.data = data;
  }

  /** Reads `--key value` pairs, keeping every value of a repeated key. */
  static fromArgs(args: readonly string[]): MultipleParameterTool {
    const map = new Map<string, string[]>();
    parseArgs(programArguments(args), (key, value) => {
      const values = map.get(key);
      if (values) values.push(value);
      else map.set(key, [value]);
    });
    return new MultipleParameterTool(map);
  }

  /** Parameters from a map of value lists. */
  static fromMultiMap(map: ReadonlyMap<string, readonly string[]>): MultipleParameterTool {
    return new MultipleParameterTool(new Map([...map].map(([k, v]) => [k, [...v]])));
  }

  /** The one value of `key`; throws SLUICE_PARAMETER_INVALID when it was given several times. */
  protected valueAt(key: string): string {
    const values = this.data.get(key)!;
    if (values.length !== 1)
      throw parameterError(
        `Key ${key} should has only one value: it was given ${values.length} times; use getMultiParameter('${key}').`,
      );
    return values[0]!;
  }

  /** Every value of `key`, in order, or undefined when it was not given. */
  getMultiParameter(key: string): readonly string[] | undefined {
    this.markRequested(key);
    return this.data.get(key);
  }

  /** Every value of `key`; throws SLUICE_PARAMETER_INVALID when it was not given. */
  getMultiParameterRequired(key: string): readonly string[] {
    const values = this.getMultiParameter(key);
    if (values === undefined)
      throw parameterError(`No data for required key '${key}': pass --${key} <value> to the job.`);
    return values;
  }

  /** All parameters with all their values. */
  toMultiMap(): Map<string, readonly string[]> {
    return new Map(this.data);
  }

  /** These parameters with `other`'s values appended. */
  mergeWith(other: MultipleParameterTool): MultipleParameterTool {
    const merged = new Map<string, string[]>([...this.data].map(([k, v]) => [k, [...v]]));
    for (const [key, values] of other.data) merged.set(key, [...(merged.get(key) ?? []), ...values]);
    const result = new MultipleParameterTool(merged);
    AbstractParameterTool.keepRequested(result, this, other);
    return result;
  }

  /** Each key with its last value, as Flink's toMap. */
  override toMap(): Map<string, string> {
    return new Map([...this.data].map(([k, v]) => [k, v.length > 0 ? v[v.length - 1]! : NO_VALUE_KEY]));
  }
}
