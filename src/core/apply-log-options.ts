/** Applies a command's configuration (`log.format`, `log.level`) to the process's logging. */
import type { Configuration } from './configuration.js';
import { LogOptions } from './config-options.js';
import { configureLogging, type LogSettings } from './log.js';

/**
 * Sets the log format and level a configuration asks for; options it does not set keep what
 * SLUICE_LOG_FORMAT / SLUICE_LOG_LEVEL (or the defaults) chose. `extra` adds a file or label.
 */
export function applyLogOptions(configuration: Configuration, extra: LogSettings = {}): void {
  configureLogging({
    ...(configuration.contains(LogOptions.FORMAT) ? { format: configuration.get(LogOptions.FORMAT) } : {}),
    ...(configuration.contains(LogOptions.LEVEL) ? { level: configuration.get(LogOptions.LEVEL) } : {}),
    ...extra,
  });
}
