/** What every REST handler gets: the backend, the clock, the version; and the job lookup they share. */
import { createRequire } from 'node:module';
import type { ProcessMetrics } from '../core/process-metrics.js';
import type { FlameGraphSettings } from './flame-graph-settings.js';
import type { RestBackend, RestJob, RestVertex } from './rest-backend.js';
import { hexIdParam, RestHandlerException, type RestRequest } from './rest-router.js';

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

/** Sluice's version, reported where Flink reports its own (`flink-version`). */
export const SLUICE_VERSION = version;

/** The shared state of one REST server's handlers. */
export interface HandlerContext {
  readonly backend: RestBackend;
  /** Wall-clock time in ms since the epoch. */
  readonly now: () => number;
  /** How often Flink's web UI polls (`web.refresh-interval`), ms. */
  readonly refreshIntervalMs: number;
  /** `web.cancel.enable` (default true), reported in /config. */
  readonly cancelEnabled?: boolean;
  /** The cluster's configuration, secrets redacted (`/jobmanager/config`). */
  readonly configuration?: Readonly<Record<string, string>>;
  /** This process's heap, CPU and event-loop figures (`/jobmanager/metrics`). */
  readonly processMetrics?: ProcessMetrics;
  /** `rest.flamegraph.*`; flame graphs are off without them. */
  readonly flameGraph?: FlameGraphSettings;
  /** This process's log and stdout files (`/jobmanager/log`, `/jobmanager/stdout`, `/jobmanager/logs`). */
  readonly logFiles?: () => { readonly log?: string; readonly stdout?: string };
}

/** The job named by the `jobid` path parameter: 400 for a malformed id, 404 for an unknown one. */
export function requireJob(ctx: HandlerContext, request: RestRequest, notFound?: string): RestJob {
  const jobId = hexIdParam(request, 'jobid');
  const job = ctx.backend.job(jobId);
  if (!job) throw new RestHandlerException(404, notFound ?? `Job ${jobId} not found`);
  return job;
}

/** The vertex named by the `vertexid` path parameter: 400 for a malformed id, 404 for an unknown one. */
export function requireVertex(job: RestJob, request: RestRequest): RestVertex {
  const vertexId = hexIdParam(request, 'vertexid');
  const vertex = job.vertices().find((v) => v.id === vertexId);
  if (!vertex) throw new RestHandlerException(404, `JobVertex ${vertexId} not found`);
  return vertex;
}

/** The values of a comma-separated query parameter that may repeat (`?get=a,b&get=c`). */
export function listParam(request: RestRequest, key: string): string[] {
  return request.query
    .getAll(key)
    .flatMap((g) => g.split(','))
    .map((g) => g.trim())
    .filter((g) => g !== '');
}
