/** Structured logging (pino) to stderr; `SLUICE_LOG_LEVEL` sets the level (default `info`). */
import { pino, type Logger } from 'pino';

export type { Logger };

let root: Logger | undefined;

/** The process-wide root logger. */
export function rootLogger(): Logger {
  root ??= pino(
    { name: 'sluice', level: process.env['SLUICE_LOG_LEVEL'] ?? 'info', base: { pid: process.pid } },
    pino.destination({ fd: 2, sync: true }),
  );
  return root;
}

/** A child logger for one component (`{ component: name }` on every line). */
export function logger(component: string): Logger {
  return rootLogger().child({ component });
}
