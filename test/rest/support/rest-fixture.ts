/** Helpers of the REST tests: an executor the REST backend can see, jobs to watch, servers, JSON requests — all cleaned up after each test. */
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { DataGeneratorSource, StreamExecutionEnvironment, type JobClient, type Sink } from 'sluice';
import { getDefaultPipelineExecutor, setDefaultPipelineExecutor } from '../../../src/api/execution.js';
import { LocalExecutor } from '../../../src/cluster/local-executor.js';
import type { JobId } from '../../../src/core/ids.js';
import { LocalRestBackend } from '../../../src/rest/local-rest-backend.js';
import type { JobSubmitRequest, RestBackend } from '../../../src/rest/rest-backend.js';
import type {
  JobDetailsInfo,
  JobVertexDetailsBody,
  RestExecutionState,
} from '../../../src/rest/rest-schema.js';
import { startRestServer, type RestServer } from '../../../src/rest/rest-server.js';
import { waitFor } from '../../support/helpers.js';
import { responseSchema, validate } from './openapi.js';

/** The job id a TestingSubmitBackend answers. */
export const JOB_ID = '0123456789abcdef0123456789abcdef' as JobId;

/** A cluster with no jobs that records each submission and answers JOB_ID (or fails as told). */
export class TestingSubmitBackend implements RestBackend {
  readonly requests: JobSubmitRequest[] = [];
  failure: Error | undefined;
  jobs() {
    return [];
  }
  job() {
    return undefined;
  }
  taskManagers() {
    return [];
  }
  submitJob(request: JobSubmitRequest): Promise<JobId> {
    this.requests.push(request);
    return this.failure ? Promise.reject(this.failure) : Promise.resolve(JOB_ID);
  }
}

/** A sink that drops every record. */
export const discard: Sink<unknown> = {
  createWriter: () => ({ write() {}, flush() {}, close() {} }),
};

/** A JSON response. */
export interface JsonResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly body: unknown;
}

/** Installs a LocalExecutor of this test file for `env.execute*()`, and cancels every job and closes every server after each test. */
export function useRestFixture(): {
  executor: () => LocalExecutor;
  startServer: (options?: { port?: number; bindAddress?: string }) => Promise<RestServer>;
  track: (client: JobClient) => JobClient;
} {
  let executor: LocalExecutor | undefined;
  let previous: ReturnType<typeof getDefaultPipelineExecutor>;
  const servers: RestServer[] = [];
  const clients: JobClient[] = [];
  beforeAll(() => {
    previous = getDefaultPipelineExecutor();
    executor = new LocalExecutor();
    setDefaultPipelineExecutor(executor);
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.cancel()));
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });
  afterAll(() => {
    if (previous) setDefaultPipelineExecutor(previous);
  });
  const current = () => {
    if (!executor) throw new Error('useRestFixture(): the executor exists only inside tests');
    return executor;
  };
  return {
    executor: current,
    startServer: async (options = {}) => {
      const server = await startRestServer({
        backend: new LocalRestBackend(current()),
        port: options.port ?? 0,
        ...(options.bindAddress === undefined ? {} : { bindAddress: options.bindAddress }),
      });
      servers.push(server);
      return server;
    },
    track: (client) => {
      clients.push(client);
      return client;
    },
  };
}

/** Options of `startKeyedJob`. */
export interface KeyedJobOptions {
  readonly name?: string;
  readonly parallelism?: number;
  /** Checkpoint interval in ms; undefined turns checkpointing off. */
  readonly checkpointIntervalMs?: number | undefined;
  /** Minimum pause between checkpoints (with a long interval, keeps periodic checkpoints away). */
  readonly minPauseMs?: number;
  /** Unaligned checkpoints (`enableUnalignedCheckpoints()`). */
  readonly unaligned?: boolean;
}

/**
 * Starts an unbounded, rate-limited keyed job: a generator (one vertex) into a keyed running sum
 * chained with a sink (a second vertex, behind a hash exchange).
 */
export async function startKeyedJob(options: KeyedJobOptions = {}): Promise<JobClient> {
  const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(options.parallelism ?? 2);
  if (options.checkpointIntervalMs !== undefined) env.enableCheckpointing(options.checkpointIntervalMs);
  if (options.minPauseMs !== undefined)
    env.getCheckpointConfig().setMinPauseBetweenCheckpoints(options.minPauseMs);
  if (options.unaligned === true) env.getCheckpointConfig().enableUnalignedCheckpoints();
  env
    .fromSource(new DataGeneratorSource((i) => i, Infinity, { recordsPerSecond: 2_000 }), 'numbers')
    .keyBy((x) => x % 16)
    .reduce((a, b) => a + b)
    .name('sum')
    .sinkTo(discard);
  return env.executeAsync(options.name ?? 'rest-keyed');
}

/** Waits until the job has completed at least `n` checkpoints. */
export async function waitForCheckpoints(client: JobClient, n = 1): Promise<void> {
  await waitFor(
    () => (client.getCheckpointStats()?.counts.completed ?? 0) >= n,
    `${n} completed checkpoint(s)`,
    10_000,
  );
}

/** Polls `probe` until it returns a value other than undefined; fails naming `what` after `timeoutMs`. */
export async function eventually<T>(
  probe: () => Promise<T | undefined>,
  what: string,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Sends a request and parses the JSON answer. */
export async function request(
  base: string,
  method: string,
  path: string,
  body?: string,
): Promise<JsonResponse> {
  // As Flink's RestClient: every request but a GET says it sends JSON, with or without a body.
  const response = await fetch(`${base}${path}`, {
    method,
    ...(body === undefined ? {} : { body }),
    ...(method === 'GET' ? {} : { headers: { 'Content-Type': 'application/json' } }),
  });
  const text = await response.text();
  expect(response.headers.get('content-type')).toBe('application/json; charset=UTF-8');
  return { status: response.status, headers: response.headers, body: JSON.parse(text) as unknown };
}

/** GETs `path` and expects a 200. */
export async function getJson<T = Record<string, unknown>>(base: string, path: string): Promise<T> {
  const response = await request(base, 'GET', path);
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return response.body as T;
}

/** Asserts `body` follows the (corrected) response schema of `method specPath` in Flink's OpenAPI file. */
export function expectFlinkShape(body: unknown, specPath: string, method = 'GET', status = '200'): void {
  expect(validate(responseSchema(specPath, method, status), body)).toEqual([]);
}

/** Asserts an error response: `status` and Flink's `{"errors": [message]}`. */
export function expectError(response: JsonResponse, status: number, message: string | RegExp): void {
  expect(response.status).toBe(status);
  const body = response.body as { errors: unknown };
  expect(Array.isArray(body.errors)).toBe(true);
  const errors = body.errors as unknown[];
  expect(errors.length).toBeGreaterThan(0);
  for (const e of errors) expect(typeof e).toBe('string');
  if (typeof message === 'string') expect(errors[0]).toBe(message);
  else expect(errors[0]).toMatch(message);
}

/**
 * Asserts `GET /jobs/:jobid` and each `GET /jobs/:jobid/vertices/:vertexid` show every vertex and
 * subtask `state`, deployed before it ended, a vertex spanning its subtasks.
 */
export async function expectEndedAs(url: string, jobId: string, state: RestExecutionState): Promise<void> {
  const details = await getJson<JobDetailsInfo>(url, `/jobs/${jobId}`);
  expectFlinkShape(details, '/jobs/{jobid}');
  expect(details.vertices.length).toBeGreaterThan(0);
  for (const vertex of details.vertices) {
    expect(vertex.status, vertex.name).toBe(state);
    expect(vertex.tasks[state], vertex.name).toBe(vertex.parallelism);
    expect(vertex['start-time']).toBeGreaterThan(0);
    expect(vertex['end-time']).toBeGreaterThanOrEqual(vertex['start-time']);
    expect(vertex.duration).toBe(vertex['end-time'] - vertex['start-time']);
    expect(vertex['end-time']).toBeLessThanOrEqual(details['end-time']);

    const body = await getJson<JobVertexDetailsBody>(url, `/jobs/${jobId}/vertices/${vertex.id}`);
    expectFlinkShape(body, '/jobs/{jobid}/vertices/{vertexid}');
    expect(body.subtasks).toHaveLength(vertex.parallelism);
    for (const subtask of body.subtasks) {
      expect(subtask.status).toBe(state);
      expect(subtask['start-time']).toBeGreaterThan(0);
      expect(subtask['end-time']).toBeGreaterThanOrEqual(subtask['start-time']);
      expect(subtask.duration).toBe(subtask['end-time'] - subtask['start-time']);
    }
    expect(vertex['start-time']).toBe(Math.min(...body.subtasks.map((s) => s['start-time'])));
    expect(vertex['end-time']).toBe(Math.max(...body.subtasks.map((s) => s['end-time'])));
  }
}
