/** The REST server (node:http, or node:https with TLS): Flink's paths and JSON shapes over a RestBackend, on 127.0.0.1:8081 by default. */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { RestOptions } from '../core/config-options.js';
import { SluiceError } from '../core/errors.js';
import { logger } from '../core/log.js';
import { checkpointRoutes } from './checkpoint-handlers.js';
import { CheckpointTriggerCache } from './checkpoint-trigger-cache.js';
import { savepointRoutes, type SavepointOperations } from './savepoint-handlers.js';
import { clusterRoutes } from './cluster-handlers.js';
import { DashboardFiles, serveDashboard } from './dashboard-files.js';
import type { HandlerContext } from './handler-context.js';
import { jarRoutes, noSubmissions } from './jar-handlers.js';
import { JarStore } from './jar-store.js';
import { jobRoutes } from './job-handlers.js';
import { jobInfoRoutes } from './job-info-handlers.js';
import { vertexMetricRoutes } from './vertex-metric-handlers.js';
import { jobManagerRoutes } from './job-manager-handlers.js';
import { prometheusRoutes } from './prometheus-handler.js';
import { flameGraphRoutes } from './flame-graph-handlers.js';
import type { FlameGraphSettings } from './flame-graph-settings.js';
import { logRoutes } from './log-handlers.js';
import { processLogFiles } from '../core/log.js';
import { ProcessMetrics } from '../core/process-metrics.js';
import type { RestBackend } from './rest-backend.js';
import {
  answerClientError,
  declaredTooLarge,
  hasBody,
  limitedBody,
  MAX_JSON_BODY_BYTES,
  readBody,
} from './rest-body.js';
import { RestHandlerException, RestRouter, routeBody, type RestResponse, type Route } from './rest-router.js';
import type { ErrorResponseBody } from './rest-schema.js';
import {
  checkHost,
  checkOrigin,
  checkToken,
  corsHeaders,
  isLoopbackHost,
  preflight,
  type RestSecurity,
  type Verdict,
} from './rest-security.js';
import { stringifyError } from './rest-values.js';

/**
 * How long closing waits for clients to read the savepoint and stop operations that ended (a
 * `sluice stop` polling for the path of the savepoint that ended this server's job).
 */
const UNREAD_OPERATION_GRACE_MS = 10_000;

/** Largest request body accepted by default (Flink's `rest.server.max-content-length`, 100 MiB). */
export const DEFAULT_MAX_CONTENT_LENGTH = 104_857_600;

/** Uploads read at the same time; more get a 503, so parallel uploads cannot exhaust memory. */
export const MAX_CONCURRENT_UPLOADS = 2;

/** Longest request target (path and query) answered; longer ones get a 414, as Flink's 4096-byte line limit. */
export const MAX_URL_LENGTH = 4096;

/** Where and what the REST server serves. */
export interface RestServerOptions {
  readonly backend: RestBackend;
  /** `rest.port`; 0 picks any free port. Default 8081. */
  readonly port?: number;
  /** `rest.bind-address`. Default 127.0.0.1. */
  readonly bindAddress?: string;
  /** `rest.address`: the name clients use, also accepted as Host by a loopback-bound server. */
  readonly address?: string | undefined;
  /** `web.refresh-interval` reported to Flink's web UI, ms. Default 3000. */
  readonly refreshIntervalMs?: number;
  /** Wall clock for timestamps in responses; Date.now by default. */
  readonly now?: () => number;
  /** `rest.server.max-content-length`: larger request bodies (job uploads too) get a 413. Default 100 MiB. */
  readonly maxContentLength?: number;
  /** HTTPS, the bearer token, allowed origins, `web.cancel.enable`; default: plain HTTP, open to local tools only. */
  readonly security?: RestSecurity;
  /** The cluster's configuration (secrets redacted), shown by `/jobmanager/config`. */
  readonly configuration?: Readonly<Record<string, string>>;
  /** `rest.flamegraph.*`; default: flame graphs off, as in Flink. */
  readonly flameGraph?: FlameGraphSettings;
  /** The JobManager's log and stdout files; default: the ones this process's logging writes. */
  readonly logFiles?: () => { readonly log?: string; readonly stdout?: string };
}

/** A running REST server. */
export interface RestServer {
  /** The port it listens on (the chosen one when asked for port 0). */
  readonly port: number;
  /** Its base URL, e.g. `http://127.0.0.1:8081` (`https://` with TLS). */
  readonly url: string;
  /** Stops listening and closes open connections; resolves when closed. */
  close(): Promise<void>;
}

/**
 * Starts the REST server. Rejects with SLUICE_REST_PORT_IN_USE when the port is taken.
 */
export async function startRestServer(options: RestServerOptions): Promise<RestServer> {
  const port = options.port ?? RestOptions.PORT.defaultValue ?? 8081;
  const bindAddress = options.bindAddress ?? RestOptions.BIND_ADDRESS.defaultValue ?? '127.0.0.1';
  const security = options.security ?? {};
  const ctx: HandlerContext = {
    backend: options.backend,
    now: options.now ?? Date.now,
    refreshIntervalMs: options.refreshIntervalMs ?? 3000,
    cancelEnabled: security.cancelEnabled ?? true,
    configuration: options.configuration ?? {},
    processMetrics: new ProcessMetrics().start(),
    ...(options.flameGraph ? { flameGraph: options.flameGraph } : {}),
    logFiles: options.logFiles ?? processLogFiles,
  };
  // Uploaded job bundles live as long as this server, as Flink's jars in its web upload dir.
  let address = '';
  const savepoints: SavepointOperations = new CheckpointTriggerCache(ctx.now);
  const router = new RestRouter([
    ...clusterRoutes(ctx),
    ...jobRoutes(ctx),
    ...jobInfoRoutes(ctx),
    ...vertexMetricRoutes(ctx),
    ...jobManagerRoutes(ctx),
    ...prometheusRoutes(ctx),
    ...flameGraphRoutes(ctx),
    ...logRoutes(ctx),
    ...checkpointRoutes(ctx),
    ...savepointRoutes(ctx, savepoints),
    ...jarRoutes(ctx, new JarStore(), () => address),
  ]);
  const requests = new RequestDispatcher(router, ctx, {
    security,
    maxContentLength: options.maxContentLength ?? DEFAULT_MAX_CONTENT_LENGTH,
    hosts: { loopbackOnly: isLoopbackHost(bindAddress), address: options.address },
  });
  const log = logger('rest-server');
  const onRequest = (req: IncomingMessage, res: ServerResponse, expectsContinue: boolean) => {
    requests.respond(req, res, expectsContinue).catch((e: unknown) => {
      log.error({ err: e }, 'REST connection failed');
      res.destroy();
    });
  };
  const tls = security.tls;
  const server: HttpServer = tls
    ? createHttpsServer({
        key: tls.key,
        cert: tls.cert,
        ...(tls.ca === undefined ? {} : { ca: tls.ca }),
        ...(tls.passphrase === undefined ? {} : { passphrase: tls.passphrase }),
        minVersion: 'TLSv1.2',
        requestCert: tls.requireClientCert,
        rejectUnauthorized: tls.requireClientCert,
      })
    : createServer();
  server.on('request', (req: IncomingMessage, res: ServerResponse) => onRequest(req, res, false));
  // Answer before the client sends its body: a refused upload never travels.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => onRequest(req, res, true));
  server.on('clientError', (err: Error & { code?: string }, socket: Duplex) => {
    log.debug({ err }, 'malformed HTTP request');
    answerClientError(err, socket);
  });
  // CONNECT is no REST method; without a listener node:http would drop the socket unanswered.
  server.on('connect', (_req: IncomingMessage, socket: Duplex) =>
    answerClientError(Object.assign(new Error('CONNECT'), { code: 'HPE_INVALID_METHOD' }), socket),
  );
  server.on('tlsClientError', (err: Error) => log.debug({ err }, 'TLS handshake with a REST client failed'));
  server.headersTimeout = 20_000;

  await new Promise<void>((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      reject(
        e.code === 'EADDRINUSE'
          ? new SluiceError(
              'SLUICE_REST_PORT_IN_USE',
              `the REST API cannot listen on ${bindAddress}:${port}: the port is already in use. ` +
                'Stop the process using it, set rest.port to a free port, or pass -D rest.port=0 for any free port.',
              { cause: e },
            )
          : new Error(`the REST API cannot listen on ${bindAddress}:${port}: ${e.message}`, { cause: e }),
      );
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, bindAddress);
  });
  server.on('error', (e) => log.error({ err: e }, 'REST server error'));

  const bound = (server.address() as AddressInfo).port;
  const host = bindAddress === '0.0.0.0' || bindAddress === '::' ? 'localhost' : bindAddress;
  const url = `${tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${bound}`;
  address = url;
  // Each command says where its REST API is, in its own words.
  log.debug(
    { url, authentication: authenticationOf(security) },
    `REST API listening on ${url}${security.token !== undefined || tls?.requireClientCert ? ' (authenticated clients only)' : ''}`,
  );
  let closed: Promise<void> | undefined;
  return {
    port: bound,
    url,
    close: () =>
      (closed ??= savepoints.closeAsync(UNREAD_OPERATION_GRACE_MS).then(
        () =>
          new Promise<void>((resolve, reject) => {
            ctx.processMetrics?.stop();
            server.close((e) => (e ? reject(e) : resolve()));
            server.closeAllConnections();
          }),
      )),
  };
}

type HttpServer = ReturnType<typeof createServer> | ReturnType<typeof createHttpsServer>;

function authenticationOf(security: RestSecurity): string {
  const kinds = [
    ...(security.tls?.requireClientCert ? ['mutual TLS'] : []),
    ...(security.token !== undefined ? ['token'] : []),
  ];
  return kinds.length === 0 ? 'none' : kinds.join(' + ');
}

/** The request pipeline: nothing of a body is read before the route, the caller and the method are known good. */
class RequestDispatcher {
  private uploadsInFlight = 0;
  private readonly log = logger('rest-server');
  private readonly dashboard = new DashboardFiles();

  constructor(
    private readonly router: RestRouter,
    private readonly ctx: HandlerContext,
    private readonly settings: {
      readonly security: RestSecurity;
      readonly maxContentLength: number;
      readonly hosts: Parameters<typeof checkHost>[1];
    },
  ) {}

  async respond(req: IncomingMessage, res: ServerResponse, expectsContinue: boolean): Promise<void> {
    // The web dashboard's pages and assets: GETs no REST route takes.
    if (serveDashboard(this.dashboard, req, res, this.router, this.settings.hosts)) return;
    let response: RestResponse;
    try {
      response = await this.dispatch(req, res, expectsContinue);
    } catch (e) {
      this.log.error({ err: e, method: req.method, url: req.url }, 'REST request failed');
      response = internalError(e);
    }
    try {
      this.send(req, res, response);
    } catch (e) {
      this.log.error({ err: e, method: req.method, url: req.url }, 'REST response could not be written');
      this.send(req, res, internalError(e));
    }
  }

  private async dispatch(
    req: IncomingMessage,
    res: ServerResponse,
    expectsContinue: boolean,
  ): Promise<RestResponse> {
    const { security } = this.settings;
    const method = req.method ?? 'GET';
    const rawUrl = req.url ?? '/';
    try {
      if (rawUrl.length > MAX_URL_LENGTH)
        return errorResponse(414, `The request URL is longer than ${MAX_URL_LENGTH} characters.`);
      const url = parseTarget(rawUrl);
      const host = checkHost(req.headers, this.settings.hosts);
      if (!host.ok) return this.refused(req, host);
      if (method === 'OPTIONS') return this.preflight(req, url.pathname);
      const match = this.router.match(method, url.pathname);
      const isConfig =
        match.kind === 'found' && match.route.method === 'GET' && match.route.path === '/config';
      if (!isConfig) {
        const auth = checkToken(req.headers, security.token);
        if (!auth.ok) return this.refused(req, auth);
      }
      if (match.kind === 'not-found') return errorResponse(404, `Not found: ${rawUrl}`);
      if (match.kind === 'method-not-allowed')
        return {
          ...errorResponse(
            405,
            `Method ${method} is not allowed for ${url.pathname}; use ${match.allowed.join(' or ')}.`,
          ),
          headers: { Allow: match.allowed.join(', ') },
        };
      const route = match.route;
      if (route.method !== 'GET' || route.action === 'cancel') {
        const origin = checkOrigin(req.headers, security.tls !== undefined, security.allowedOrigins);
        if (!origin.ok) return this.refused(req, origin);
      }
      if (route.action === 'submit' && this.ctx.backend.submitJob === undefined) throw noSubmissions();
      if (route.action === 'cancel' && security.cancelEnabled === false)
        return errorResponse(
          403,
          'Job cancellation over REST is disabled on this cluster (web.cancel.enable: false).',
        );
      return await this.handle(route, match.params, url, req, res, expectsContinue);
    } catch (e) {
      if (e instanceof RestHandlerException)
        return { ...errorResponse(e.status, e.message), headers: e.headers };
      throw e;
    }
  }

  /** Reads what the route takes (and only that), then runs its handler. */
  private async handle(
    route: Route,
    params: Readonly<Record<string, string>>,
    url: URL,
    req: IncomingMessage,
    res: ServerResponse,
    expectsContinue: boolean,
  ): Promise<RestResponse> {
    const base = { params, query: url.searchParams, headers: req.headers };
    switch (routeBody(route)) {
      case 'none':
        return await route.handle({ ...base, body: '', rawBody: EMPTY });
      case 'json': {
        if (req.method === 'POST' || hasBody(req)) requireJson(req, route);
        if (expectsContinue) res.writeContinue();
        const rawBody = await readBody(req, MAX_JSON_BODY_BYTES, 'the limit of JSON request bodies');
        return await route.handle({ ...base, body: rawBody.toString('utf8'), rawBody });
      }
      case 'multipart': {
        const early = declaredTooLarge(req, this.settings.maxContentLength, 'rest.server.max-content-length');
        if (early) throw early;
        if (this.uploadsInFlight >= MAX_CONCURRENT_UPLOADS)
          return {
            ...errorResponse(
              503,
              `${MAX_CONCURRENT_UPLOADS} uploads are already in progress; try again when one has finished.`,
            ),
            headers: { 'Retry-After': '5' },
          };
        this.uploadsInFlight++;
        try {
          if (expectsContinue) res.writeContinue();
          const stream = limitedBody(req, this.settings.maxContentLength, 'rest.server.max-content-length');
          return await route.handle({ ...base, body: '', rawBody: EMPTY, stream });
        } finally {
          this.uploadsInFlight--;
        }
      }
    }
  }

  /** A CORS preflight: only origins in web.access-control-allow-origin learn what they may send. */
  private preflight(req: IncomingMessage, path: string): RestResponse {
    const match = this.router.match('OPTIONS', path);
    const methods = match.kind === 'method-not-allowed' ? match.allowed : [];
    if (methods.length === 0) return errorResponse(404, `Not found: ${req.url ?? '/'}`);
    const answer = preflight(req.headers, this.settings.security.allowedOrigins, methods);
    if (answer.status !== 204)
      return this.refused(req, { ok: false, status: answer.status, message: answer.message! });
    return { status: 204, body: undefined, headers: answer.headers };
  }

  private refused(req: IncomingMessage, verdict: Verdict & { ok: false }): RestResponse {
    this.log.info(
      { method: req.method, url: req.url, origin: req.headers.origin, status: verdict.status },
      `REST request refused: ${verdict.message}`,
    );
    return { ...errorResponse(verdict.status, verdict.message), headers: verdict.headers ?? {} };
  }

  private send(req: IncomingMessage, res: ServerResponse, response: RestResponse): void {
    if (res.headersSent || res.destroyed) return;
    const text = response.status === 204 ? '' : (response.text ?? JSON.stringify(response.body ?? {}));
    res.writeHead(response.status, {
      'Content-Type':
        response.text === undefined ? 'application/json; charset=UTF-8' : 'text/plain; charset=UTF-8',
      'Content-Length': Buffer.byteLength(text),
      'X-Content-Type-Options': 'nosniff',
      ...corsHeaders(req.headers.origin, this.settings.security.allowedOrigins),
      ...response.headers,
    });
    // A body the route did not read (or stopped reading) goes with the connection, unread.
    if (hasBody(req) && !req.complete) res.once('finish', () => closeUnread(req));
    res.end(text);
  }
}

const EMPTY = Buffer.alloc(0);

/**
 * How long an unread body is dropped after the answer before the connection is cut: once the
 * client has sent nothing for LINGER_IDLE_MS, or after LINGER_MAX_MS in all (nginx's
 * lingering_timeout and lingering_time).
 */
const LINGER_IDLE_MS = 5_000;
const LINGER_MAX_MS = 30_000;

/**
 * Ends a connection whose request body was not read, after its answer: no more answers (FIN),
 * and what the client still sends is dropped unread until it stops sending for a while (or a
 * longer limit passes), then the connection is cut. Cutting at once would reset it, and a client
 * still sending could lose the answer with it: a reset discards what the client's kernel received
 * but the client did not read yet. Dropping buffers nothing, so only time bounds it; a fixed
 * 2 s ran out on a loaded machine before a client that was still sending had read its answer.
 */
function closeUnread(req: IncomingMessage): void {
  const socket = req.socket;
  socket.end();
  // A body reader that gave up paused the request: dropping must read (flowing with no listener
  // discards), or the client stays blocked sending and its answer can wait behind the cut.
  req.resume();
  const cut = (): void => void socket.destroy();
  const idle = setTimeout(cut, LINGER_IDLE_MS).unref();
  const max = setTimeout(cut, LINGER_MAX_MS).unref();
  req.on('data', () => idle.refresh());
  socket.once('close', () => {
    clearTimeout(idle);
    clearTimeout(max);
  });
}

function parseTarget(rawUrl: string): URL {
  try {
    return new URL(rawUrl, 'http://localhost');
  } catch {
    throw new RestHandlerException(400, `Malformed request URL: ${rawUrl}`);
  }
}

/** JSON endpoints take JSON only: a web page cannot send it to another origin without a preflight. */
function requireJson(req: IncomingMessage, route: Route): void {
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/json\s*(?:;|$)/iu.test(type))
    throw new RestHandlerException(
      415,
      `${route.method} ${route.path} takes a JSON body: send Content-Type: application/json${type === '' ? '' : `, not "${type}"`}.`,
    );
}

function errorResponse(status: number, message: string): RestResponse {
  return { status, body: { errors: [message] } satisfies ErrorResponseBody };
}

/** A bug or unexpected failure: 500 with the stack, as Flink's AbstractHandler answers. */
function internalError(e: unknown): RestResponse {
  const error = e instanceof Error ? e : new Error(String(e));
  return {
    status: 500,
    body: {
      errors: [
        'Internal server error.',
        `<Exception on server side:\n${stringifyError(error)}\nEnd of exception on server side>`,
      ],
    } satisfies ErrorResponseBody,
  };
}
