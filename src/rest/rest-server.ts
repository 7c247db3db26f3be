/** The REST server (node:http): Flink's paths and JSON shapes over a RestBackend, on 127.0.0.1:8081 by default. */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RestOptions } from '../core/config-options.js';
import { SluiceError } from '../core/errors.js';
import { logger } from '../core/log.js';
import { checkpointRoutes } from './checkpoint-handlers.js';
import { clusterRoutes } from './cluster-handlers.js';
import type { HandlerContext } from './handler-context.js';
import { jarRoutes } from './jar-handlers.js';
import { JarStore } from './jar-store.js';
import { jobRoutes } from './job-handlers.js';
import { jobInfoRoutes } from './job-info-handlers.js';
import type { RestBackend } from './rest-backend.js';
import { RestHandlerException, RestRouter, type RestResponse } from './rest-router.js';
import type { ErrorResponseBody } from './rest-schema.js';
import { stringifyError } from './rest-values.js';

/** Largest request body accepted by default (Flink's `rest.server.max-content-length`, 100 MiB). */
export const DEFAULT_MAX_CONTENT_LENGTH = 104_857_600;

/** Where and what the REST server serves. */
export interface RestServerOptions {
  readonly backend: RestBackend;
  /** `rest.port`; 0 picks any free port. Default 8081. */
  readonly port?: number;
  /** `rest.bind-address`. Default 127.0.0.1. */
  readonly bindAddress?: string;
  /** `web.refresh-interval` reported to Flink's web UI, ms. Default 3000. */
  readonly refreshIntervalMs?: number;
  /** Wall clock for timestamps in responses; Date.now by default. */
  readonly now?: () => number;
  /** `rest.server.max-content-length`: larger request bodies (job uploads too) get a 413. Default 100 MiB. */
  readonly maxContentLength?: number;
}

/** A running REST server. */
export interface RestServer {
  /** The port it listens on (the chosen one when asked for port 0). */
  readonly port: number;
  /** Its base URL, e.g. `http://127.0.0.1:8081`. */
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
  const ctx: HandlerContext = {
    backend: options.backend,
    now: options.now ?? Date.now,
    refreshIntervalMs: options.refreshIntervalMs ?? 3000,
  };
  const maxContentLength = options.maxContentLength ?? DEFAULT_MAX_CONTENT_LENGTH;
  // Uploaded job bundles live as long as this server, as Flink's jars in its web upload dir.
  let address = '';
  const router = new RestRouter([
    ...clusterRoutes(ctx),
    ...jobRoutes(ctx),
    ...jobInfoRoutes(ctx),
    ...checkpointRoutes(ctx),
    ...jarRoutes(ctx, new JarStore(), () => address),
  ]);
  const log = logger('rest-server');
  const respond = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    let response: RestResponse;
    try {
      response = await dispatch(router, req, maxContentLength);
    } catch (e) {
      log.error({ err: e, method: req.method, url: req.url }, 'REST request failed');
      response = internalError(e);
    }
    try {
      send(res, response);
    } catch (e) {
      log.error({ err: e, method: req.method, url: req.url }, 'REST response could not be written');
      send(res, internalError(e));
    }
  };
  const server = createServer((req, res) => {
    respond(req, res).catch((e: unknown) => {
      log.error({ err: e }, 'REST connection failed');
      res.destroy();
    });
  });
  server.on('clientError', (err, socket) => {
    log.debug({ err }, 'malformed HTTP request');
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });

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
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${bound}`;
  address = url;
  // Each command says where its REST API is, in its own words.
  log.debug({ url }, `REST API listening on ${url}`);
  let closed: Promise<void> | undefined;
  return {
    port: bound,
    url,
    close: () =>
      (closed ??= new Promise<void>((resolve, reject) => {
        server.close((e) => (e ? reject(e) : resolve()));
        server.closeAllConnections();
      })),
  };
}

async function dispatch(
  router: RestRouter,
  req: IncomingMessage,
  maxContentLength: number,
): Promise<RestResponse> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  try {
    const rawBody = await readBody(req, maxContentLength);
    const match = router.match(req.method ?? 'GET', url.pathname);
    if (match.kind === 'not-found') return errorResponse(404, `Not found: ${req.url ?? '/'}`);
    if (match.kind === 'method-not-allowed')
      return {
        ...errorResponse(
          405,
          `Method ${req.method ?? ''} is not allowed for ${url.pathname}; use ${match.allowed.join(' or ')}.`,
        ),
        headers: { Allow: match.allowed.join(', ') },
      };
    return await match.route.handle({
      params: match.params,
      query: url.searchParams,
      body: rawBody.toString('utf8'),
      rawBody,
      headers: req.headers,
    });
  } catch (e) {
    if (e instanceof RestHandlerException)
      return { ...errorResponse(e.status, e.message), headers: e.headers };
    throw e;
  }
}

/**
 * Reads the whole body, up to `limit` bytes. A larger one (by its Content-Length, or once it
 * grows past the limit) is refused with a 413 that closes the connection; the rest of the body is
 * read and dropped, so the client gets to read the answer instead of a reset connection.
 */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const tooLarge = () =>
    new RestHandlerException(
      413,
      `Request body is larger than the ${limit} bytes allowed (rest.server.max-content-length).`,
      { Connection: 'close' },
    );
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return Promise.reject(tooLarge());
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        chunks.length = 0;
        req.resume();
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
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

function send(res: ServerResponse, response: RestResponse): void {
  if (res.headersSent || res.destroyed) return;
  const text = response.text ?? JSON.stringify(response.body ?? {});
  res.writeHead(response.status, {
    'Content-Type':
      response.text === undefined ? 'application/json; charset=UTF-8' : 'text/plain; charset=UTF-8',
    'Content-Length': Buffer.byteLength(text),
    // Flink's web.access-control-allow-origin default.
    'Access-Control-Allow-Origin': '*',
    ...response.headers,
  });
  res.end(text);
}
