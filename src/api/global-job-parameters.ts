/**
 * Flink's ExecutionConfig.GlobalJobParameters: job-wide settings set on the environment and read
 * in every function through `getRuntimeContext().getGlobalJobParameters()`. They travel as the
 * string map `toMap()` returns, the only part every process sees.
 */
import { invalidProgram } from '../core/errors.js';

/** Parameters as a string map: extend it and override `toMap()` (ParameterTool does). */
export class GlobalJobParameters {
  /** The parameters as strings, the form in which they reach the tasks (and the REST API). */
  toMap(): Map<string, string> {
    return new Map();
  }
}

/**
 * The plain form of `params.toMap()` (a Map or a plain object of strings), checked: a job's
 * parameters must be strings, as Flink's are.
 */
export function parametersAsRecord(params: GlobalJobParameters): Readonly<Record<string, string>> {
  if (params === null || typeof params !== 'object' || typeof params.toMap !== 'function')
    throw invalidProgram(
      'setGlobalJobParameters() needs a ParameterTool or another GlobalJobParameters (an object with toMap()).',
    );
  const map: unknown = params.toMap();
  if (map === null || typeof map !== 'object')
    throw invalidProgram('the global job parameters’ toMap() must return a Map or an object of strings.');
  const entries = map instanceof Map ? [...(map as Map<unknown, unknown>)] : Object.entries(map);
  const out: Record<string, string> = {};
  for (const [key, value] of entries) {
    if (typeof key !== 'string' || typeof value !== 'string')
      throw invalidProgram(
        `global job parameter ${JSON.stringify(String(key))} is not a string key with a string value ` +
          `(got ${typeof value}); convert it with String() before setGlobalJobParameters().`,
      );
    out[key] = value;
  }
  return out;
}
