/** The CLI's only way to a JobManager: its REST API (Flink's paths and JSON). */
import { SluiceError } from '../core/errors.js';

/** A JobManager's REST endpoint, e.g. `127.0.0.1:8081` or `http://host:8081`. */
export function restBaseUrl(jobmanager: string): string {
  const withScheme = /^https?:\/\//u.test(jobmanager) ? jobmanager : `http://${jobmanager}`;
  return withScheme.replace(/\/+$/u, '');
}

/** Calls the REST API; errors say what to fix (unreachable JobManager, unknown job, Flink's `errors`). */
export async function rest<T>(base: string, method: string, path: string, body?: unknown): Promise<T> {
  let response: Response;
  try {
    response = await fetch(`${base}${path}`, {
      method,
      ...(body === undefined
        ? {}
        : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
  } catch (e) {
    throw new SluiceError(
      'SLUICE_CLI_USAGE',
      `cannot reach the JobManager at ${base} (${(e as Error).cause instanceof Error ? ((e as Error).cause as Error).message : (e as Error).message}); ` +
        'is a job running with `sluice run`, or a cluster with `sluice jobmanager`? Pass --jobmanager HOST:PORT for another address.',
      { cause: e },
    );
  }
  const text = await response.text();
  let json: unknown;
  try {
    json = text.length === 0 ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (!response.ok) {
    const errors = (json as { errors?: unknown[] } | undefined)?.errors;
    const detail =
      Array.isArray(errors) && errors.length > 0
        ? errors.map(String).join('; ')
        : text || response.statusText;
    throw new SluiceError('SLUICE_CLI_USAGE', `${method} ${path} failed (${response.status}): ${detail}`);
  }
  return json as T;
}
