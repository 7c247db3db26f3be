/**
 * Structured logging (pino) to stderr. `SLUICE_LOG_LEVEL` sets the level (default `info`);
 * `SLUICE_LOG_FORMAT` is `json` (one JSON object a line) or `pretty` (one readable line each),
 * by default pretty on a terminal and JSON otherwise.
 */
import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

let root: Logger | undefined;

function usePretty(): boolean {
  const format = process.env['SLUICE_LOG_FORMAT'];
  return format === undefined ? process.stderr.isTTY : format === 'pretty';
}

/** The process-wide root logger. */
export function rootLogger(): Logger {
  root ??= pino(
    { name: 'sluice', level: process.env['SLUICE_LOG_LEVEL'] ?? 'info', base: { pid: process.pid } },
    usePretty()
      ? pretty({
          destination: 2,
          sync: true,
          colorize: process.stderr.isTTY,
          translateTime: 'HH:MM:ss.l',
          ignore: 'pid,hostname,name,component',
          messageFormat: '[{component}] {msg}',
          singleLine: true,
        })
      : pino.destination({ fd: 2, sync: true }),
  );
  return root;
}

/** A child logger for one component (`{ component: name }` on every line). */
export function logger(component: string): Logger {
  return rootLogger().child({ component });
}
