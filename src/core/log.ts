/**
 * Structured logging (pino) to stderr, and to a log file when one is configured. People read
 * `text` lines in a terminal: one line an event, an error's causes on that line once each, its
 * stack only at debug level. `json` (one object a line, causes nested) is for log shippers, and
 * is what the log file always holds. `log.format` / `SLUICE_LOG_FORMAT` and `log.level` /
 * `SLUICE_LOG_LEVEL` choose; see configureLogging.
 */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { pino, type Logger } from 'pino';

export type { Logger };

/** How log lines are written. */
export type LogFormat = 'text' | 'json';

/** The levels a logger can be set to. */
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

/** Logging settings of this process; unset fields keep their current value. */
export interface LogSettings {
  readonly format?: LogFormat;
  readonly level?: LogLevel;
  /** Also write every line to this file as one JSON object a line, e.g. a standalone TaskManager's `.log`. */
  readonly file?: string;
  /** The file this process's stdout is copied to (its `.out`), served by the REST API beside the log. */
  readonly stdoutFile?: string;
  /** Names this process on text lines, e.g. `taskmanager-2` for a local-mode child. */
  readonly label?: string;
  /** Colour the level and component (a terminal); default: whether stderr is a TTY. */
  readonly color?: boolean;
  /** Where terminal lines go instead of `process.stderr.write` (a TaskManager keeps them out of its `.out` file). */
  readonly terminal?: (text: string) => void;
  /**
   * Which records reach the terminal (all reach the log file): `sluice run` reports its jobs'
   * final failures itself, and leaves the JobManager's line about them to the file.
   */
  readonly terminalFilter?: ((record: LogRecord) => boolean) | undefined;
}

const LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];
const LEVEL_NAMES: Readonly<Record<number, string>> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};
const LEVEL_COLORS: Readonly<Record<number, string>> = {
  10: '\u001b[90m',
  20: '\u001b[90m',
  30: '\u001b[32m',
  40: '\u001b[33m',
  50: '\u001b[31m',
  60: '\u001b[41m',
};
const DIM = '\u001b[2m';
const CYAN = '\u001b[36m';
const RESET = '\u001b[0m';
/** A cause chain can be cyclic; no real one is deeper than this. */
const MAX_CAUSES = 8;

/** Whether `value` names a log level. */
export function isLogLevel(value: string): value is LogLevel {
  return (LEVELS as readonly string[]).includes(value);
}

/** The format the environment asks for: SLUICE_LOG_FORMAT (`json`, `text`; `pretty` means text). */
function formatFromEnv(): LogFormat {
  return process.env['SLUICE_LOG_FORMAT'] === 'json' ? 'json' : 'text';
}

function levelFromEnv(): LogLevel {
  const level = process.env['SLUICE_LOG_LEVEL'];
  return level !== undefined && isLogLevel(level) ? level : 'info';
}

interface State {
  format: LogFormat;
  level: LogLevel;
  label: string | undefined;
  color: boolean;
  fileFd: number | undefined;
  file: string | undefined;
  stdoutFile: string | undefined;
  terminal: ((text: string) => void) | undefined;
  terminalFilter: ((record: LogRecord) => boolean) | undefined;
}

const state: State = {
  format: formatFromEnv(),
  level: levelFromEnv(),
  label: process.env['SLUICE_LOG_NAME'] || undefined,
  color:
    process.env['SLUICE_LOG_COLOR'] === '1' ||
    (process.env['SLUICE_LOG_COLOR'] !== '0' && process.stderr.isTTY === true),
  fileFd: undefined,
  file: undefined,
  stdoutFile: undefined,
  terminal: undefined,
  terminalFilter: undefined,
};

let root: Logger | undefined;
/** Every logger handed out, so a later level change reaches the ones created before it. */
const loggers = new Set<WeakRef<Logger>>();
/** When `loggers` is next swept of collected ones (components create loggers per connection). */
let sweepAt = 1024;

function forEachLogger(fn: (logger: Logger) => void): void {
  for (const ref of loggers) {
    const logger = ref.deref();
    if (logger) fn(logger);
    else loggers.delete(ref);
  }
}

/**
 * Applies `settings` to every logger of the process, existing and future. Called once the
 * configuration is known (the CLI does, before starting anything).
 */
export function configureLogging(settings: LogSettings): void {
  if (settings.format !== undefined) state.format = settings.format;
  if (settings.label !== undefined) state.label = settings.label;
  if (settings.color !== undefined) state.color = settings.color;
  if (settings.terminal !== undefined) state.terminal = settings.terminal;
  if ('terminalFilter' in settings) state.terminalFilter = settings.terminalFilter;
  if (settings.file !== undefined) {
    mkdirSync(dirname(settings.file), { recursive: true });
    if (state.fileFd !== undefined) closeSync(state.fileFd);
    state.fileFd = openSync(settings.file, 'a');
    state.file = settings.file;
  }
  if (settings.stdoutFile !== undefined) state.stdoutFile = settings.stdoutFile;
  if (settings.level !== undefined) {
    state.level = settings.level;
    const level = settings.level;
    if (root) root.level = level;
    forEachLogger((logger) => (logger.level = level));
  }
}

/** The files this process keeps its log (JSON lines) and its stdout in; a field is absent when it keeps no such file. */
export function processLogFiles(): { readonly log?: string; readonly stdout?: string } {
  return {
    ...(state.file === undefined ? {} : { log: state.file }),
    ...(state.stdoutFile === undefined ? {} : { stdout: state.stdoutFile }),
  };
}

/** The level loggers log at now. */
export function logLevel(): LogLevel {
  return state.level;
}

/** An error as JSON log lines carry it: own message and stack, causes nested (never repeated). */
export interface SerializedError {
  readonly type: string;
  readonly message: string;
  readonly stack?: string;
  readonly code?: string;
  readonly cause?: SerializedError;
}

/** `error` (any thrown value) as a log line carries it. */
export function serializeError(error: unknown, depth = 0): SerializedError {
  if (!(error instanceof Error)) return { type: typeof error, message: String(error) };
  const code = (error as { code?: unknown }).code;
  const cause =
    depth < MAX_CAUSES && error.cause !== undefined ? serializeError(error.cause, depth + 1) : undefined;
  return {
    type: error.name,
    message: error.message,
    ...(error.stack === undefined ? {} : { stack: error.stack }),
    ...(typeof code === 'string' ? { code } : {}),
    ...(cause ? { cause } : {}),
  };
}

/** The chain `error`, its cause, the cause's cause, ... */
function causeChain(error: SerializedError | undefined): SerializedError[] {
  const chain: SerializedError[] = [];
  for (let e = error; e && chain.length <= MAX_CAUSES; e = e.cause) chain.push(e);
  return chain;
}

/** How an error reads in one line: its type where it says something (`TypeError: ...`). */
function describe(error: SerializedError): string {
  return error.type === 'Error' || error.type === 'SluiceError' || error.type === 'string'
    ? error.message
    : `${error.type}: ${error.message}`;
}

/**
 * Whether `line` already says what `message` says: all of it, its first line, or the core of its
 * last line (after the last `: `, where wrapped messages put what went wrong).
 */
function alreadySaid(line: string, message: string): boolean {
  const lines = message.split('\n').filter((l) => l.trim() !== '');
  if (lines.length === 0 || line.includes(message) || line.includes(lines[0]!)) return true;
  const last = lines[lines.length - 1]!;
  const core = last.slice(last.lastIndexOf(': ') + 1).trim();
  return core.length >= 8 && line.includes(core);
}

/**
 * `message` with what the error chain adds to it, on one line, each message once: wrapped
 * errors usually repeat their cause's message, so a cause already said is not said again.
 */
export function withCauses(message: string, error: SerializedError | undefined): string {
  let line = message;
  let first = true;
  for (const e of causeChain(error)) {
    if (!alreadySaid(line, e.message)) {
      const said = describe({ ...e, message: e.message.split('\n', 1)[0]!.trim() });
      line +=
        line === ''
          ? said
          : first
            ? `${line.endsWith('.') ? ' Cause:' : ':'} ${said}`
            : ` (caused by ${said})`;
    }
    first = false;
  }
  return line;
}

/** The stacks of an error chain, each frame block once (a remote error's stack already holds its causes). */
export function stackOf(error: SerializedError | undefined): string {
  let text = '';
  for (const e of causeChain(error)) {
    const stack = e.stack ?? `${e.type}: ${e.message}`;
    const head = stack.split('\n', 1)[0]!;
    if (text.includes(head)) continue;
    text += text === '' ? stack : `\nCaused by: ${stack}`;
  }
  return text;
}

/** A log line as pino writes it (the fields a caller bound or passed are there too). */
export interface LogRecord {
  readonly level: number;
  readonly time: number;
  readonly msg?: string;
  readonly component?: string;
  readonly err?: SerializedError;
  readonly [field: string]: unknown;
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

function clock(time: number): string {
  const d = new Date(time);
  const ms = d.getMilliseconds();
  return `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}.${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}`;
}

/** A pino JSON line as a person reads it; with `stacks`, the error's stack follows, indented. */
export function formatText(
  record: LogRecord,
  options: { color: boolean; stacks: boolean; label?: string | undefined },
): string {
  const name = LEVEL_NAMES[record.level] ?? String(record.level);
  const level = name.padEnd(5);
  const label = options.label ? `${options.label} ` : '';
  const component = record.component ? `[${record.component}] ` : '';
  const message = withCauses(record.msg ?? '', record.err);
  let line = options.color
    ? `${DIM}${clock(record.time)}${RESET} ${LEVEL_COLORS[record.level] ?? ''}${level}${RESET} ${label}${CYAN}${component}${RESET}${message}`
    : `${clock(record.time)} ${level} ${label}${component}${message}`;
  if (options.stacks && record.err) line += `\n${indent(stackOf(record.err))}`;
  return `${line}\n`;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `    ${l.trimStart()}`)
    .join('\n');
}

/** Writes to the terminal: through process.stderr unless told otherwise, so a live status line can step aside. */
function toTerminal(text: string): void {
  if (state.terminal) state.terminal(text);
  else process.stderr.write(text);
}

/** Where pino's lines go: the terminal and the log file. */
const destination = {
  write(json: string): void {
    let record: LogRecord | undefined;
    if (state.format === 'text' || state.terminalFilter) {
      try {
        record = JSON.parse(json) as LogRecord;
      } catch {
        record = undefined;
      }
    }
    const toScreen = !record || !state.terminalFilter || state.terminalFilter(record);
    // The file holds pino's line as it is: one JSON object a line, stacks and causes included.
    if (state.fileFd !== undefined) writeSync(state.fileFd, json);
    if (!toScreen) return;
    if (state.format === 'json' || !record) toTerminal(json);
    else {
      const debug = state.level === 'debug' || state.level === 'trace';
      toTerminal(formatText(record, { color: state.color, stacks: debug, label: state.label }));
    }
  },
};

/** The process-wide root logger. */
export function rootLogger(): Logger {
  root ??= pino(
    {
      name: 'sluice',
      level: state.level,
      base: { pid: process.pid },
      serializers: { err: (e: unknown) => serializeError(e) },
    },
    destination,
  );
  return root;
}

/** A child logger for one component (`{ component: name }` on every line). */
export function logger(component: string): Logger {
  const child = rootLogger().child({ component });
  loggers.add(new WeakRef(child));
  if (loggers.size >= sweepAt) {
    forEachLogger(() => {});
    sweepAt = Math.max(1024, loggers.size * 2);
  }
  return child;
}
