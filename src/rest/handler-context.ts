/** What every REST handler gets: the backend, the clock, the version; and the job lookup they share. */
import { createRequire } from 'node:module';
import type { RestBackend, RestJob } from './rest-backend.js';
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
}

/** The job named by the `jobid` path parameter: 400 for a malformed id, 404 for an unknown one. */
export function requireJob(ctx: HandlerContext, request: RestRequest, notFound?: string): RestJob {
  const jobId = hexIdParam(request, 'jobid');
  const job = ctx.backend.job(jobId);
  if (!job) throw new RestHandlerException(404, notFound ?? `Job ${jobId} not found`);
  return job;
}
