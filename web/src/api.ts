/** The dashboard's REST client: Flink's paths and shapes, as src/rest serves them (types shared with it). */
export type {
  CheckpointConfigInfo,
  CheckpointingStatistics,
  CheckpointStatistics,
  ClusterOverviewWithVersion,
  DashboardConfiguration,
  JobDetails,
  JobDetailsInfo,
  JobExceptionsInfoWithHistory,
  JobVertexDetailsInfo,
  MultipleJobsDetails,
  StatsSummaryDto,
  TaskCheckpointStatistics,
  TaskCheckpointStatisticsWithSubtaskDetails,
  TaskManagerInfo,
  TaskManagersInfo,
} from '../../src/rest/rest-schema.js';

/** A REST call that failed, with Flink's `{"errors": [...]}` message when there is one. */
export class RestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'RestError';
  }
}

/** The API's base: the page's own directory, so the dashboard also works behind a path prefix. */
const BASE = new URL('.', window.location.href);

/**
 * The REST token (`rest.authentication.token`) the user entered, kept for this browser tab only:
 * a cluster with a token refuses requests without `Authorization: Bearer <token>`.
 */
const TOKEN_KEY = 'sluice.rest.token';

export function setToken(token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token);
}

function authorization(): Record<string, string> {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token === null || token === '' ? {} : { Authorization: `Bearer ${token}` };
}

function urlOf(path: string): string {
  return new URL(path.replace(/^\//u, ''), BASE).href;
}

async function answer(response: Response): Promise<unknown> {
  const text = await response.text();
  const body: unknown = text === '' ? {} : (JSON.parse(text) as unknown);
  if (!response.ok) {
    const errors = (body as { errors?: unknown }).errors;
    const message = Array.isArray(errors) && typeof errors[0] === 'string' ? errors[0] : response.statusText;
    throw new RestError(response.status, message);
  }
  return body;
}

/** GETs a JSON resource. */
export async function getJson<T>(path: string): Promise<T> {
  return (await answer(
    await fetch(urlOf(path), { headers: { Accept: 'application/json', ...authorization() } }),
  )) as T;
}

/** GETs a text resource (a log file). */
export async function getText(path: string): Promise<string> {
  const response = await fetch(urlOf(path), { headers: authorization() });
  // Errors come as Flink's JSON `{"errors": [...]}` even from text endpoints.
  if (!response.ok) await answer(response);
  return response.text();
}

/** Sends a JSON request (POST, PATCH) and returns the JSON answer. */
export async function send<T>(method: 'POST' | 'PATCH', path: string, body?: unknown): Promise<T> {
  const init: RequestInit =
    body === undefined
      ? { method, headers: authorization() }
      : {
          method,
          body: JSON.stringify(body),
          headers: { 'Content-Type': 'application/json', ...authorization() },
        };
  return (await answer(await fetch(urlOf(path), init))) as T;
}

/** One aggregated subtask metric of `/jobs/:jid/vertices/:vid/subtasks/metrics?get=...`. */
export interface AggregatedMetric {
  readonly id: string;
  readonly min?: number;
  readonly max?: number;
  readonly avg?: number;
  readonly sum?: number;
  readonly skew?: number;
}

/** A metric value of `/jobs/:jid/metrics?get=...`, `/taskmanagers/:tmid/metrics?get=...`. */
export interface MetricValue {
  readonly id: string;
  readonly value?: string;
}

/** The answer to triggering a checkpoint or savepoint, and to polling it. */
export interface TriggerResponse {
  readonly 'request-id': string;
}
export interface AsyncOperationStatus {
  readonly status: { readonly id: 'IN_PROGRESS' | 'COMPLETED' };
  readonly operation?: {
    readonly checkpointId?: number;
    readonly location?: string;
    readonly 'failure-cause'?: SerializedFailure;
    readonly failureCause?: SerializedFailure;
  };
}

/** A failure as Flink serializes it in operation results. */
export interface SerializedFailure {
  readonly 'stack-trace'?: string;
  readonly 'serialized-throwable'?: string;
  readonly class?: string;
}
