/** The CLI's only way to a JobManager: its REST API (Flink's paths and JSON). */
import { SluiceError } from '../core/errors.js';

/** A JobManager's REST endpoint, e.g. `127.0.0.1:8081` or `http://host:8081`. */
export function restBaseUrl(jobmanager: string): string {
  const withScheme = /^https?:\/\//u.test(jobmanager) ? jobmanager : `http://${jobmanager}`;
  return withScheme.replace(/\/+$/u, '');
}

/** An answer of the REST API, whatever its status. */
export interface RestAnswer {
  readonly status: number;
  /** The parsed JSON body; undefined when empty or not JSON. */
  readonly json: unknown;
  /** The body as text. */
  readonly text: string;
}

/** What a request sends: a JSON value, or a multipart form (uploads). */
export type RestBody = { readonly json: unknown } | { readonly form: FormData };

/** Calls the REST API and returns any answer; only an unreachable JobManager is an error. */
export async function restCall(
  base: string,
  method: string,
  path: string,
  body?: RestBody,
): Promise<RestAnswer> {
  let response: Response;
  try {
    response = await fetch(`${base}${path}`, {
      method,
      ...(body === undefined
        ? {}
        : 'form' in body
          ? { body: body.form }
          : { body: JSON.stringify(body.json), headers: { 'content-type': 'application/json' } }),
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
  return { status: response.status, json, text };
}

/** Flink's `{"errors": [...]}` of an answer, joined; the status text when there are none. */
export function errorDetail(answer: RestAnswer): string {
  const errors = (answer.json as { errors?: unknown[] } | undefined)?.errors;
  return Array.isArray(errors) && errors.length > 0
    ? errors.map(String).join('; ')
    : answer.text || `HTTP ${answer.status}`;
}

/** The messages the REST API answers for an unknown job id (Flink's JobNotFound, cancel's own). */
const UNKNOWN_JOB = /^Job (?:[0-9a-f]{32} not found|could not be found\.)$/u;

/** Calls the REST API; errors say what to fix (unreachable JobManager, unknown job, Flink's `errors`). */
export async function rest<T>(base: string, method: string, path: string, body?: unknown): Promise<T> {
  const answer = await restCall(base, method, path, body === undefined ? undefined : { json: body });
  return checked<T>(answer, base, method, path);
}

function checked<T>(answer: RestAnswer, base: string, method: string, path: string): T {
  if (answer.status < 200 || answer.status >= 300) {
    const detail = errorDetail(answer);
    const jobId = /^\/jobs\/([0-9a-f]{32})(?:[/?]|$)/u.exec(path)?.[1];
    if (answer.status === 404 && jobId !== undefined && UNKNOWN_JOB.test(detail))
      throw new SluiceError(
        'SLUICE_CLI_USAGE',
        `the JobManager at ${base} has no job ${jobId} (404); \`sluice list -m ${base.replace(/^https?:\/\//u, '')}\` shows its jobs.`,
      );
    throw new SluiceError('SLUICE_CLI_USAGE', `${method} ${path} failed (${answer.status}): ${detail}`);
  }
  return answer.json as T;
}
