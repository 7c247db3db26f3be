/** A tiny router for Flink's REST paths (`/jobs/:jobid/...`, optional `/v1` prefix), and the request helpers handlers share. */
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';

/** The HTTP methods Flink's REST API uses. */
export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

/** A routed request. */
export interface RestRequest {
  /** Path parameters by name, URL-decoded. */
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  /** The request body as text ('' when none). */
  readonly body: string;
  /** The request body as received, for uploads (empty when none). */
  readonly rawBody: Buffer;
  /** The request headers (names lower-case, as node:http gives them). */
  readonly headers: IncomingHttpHeaders;
  /**
   * The body as it arrives, for `multipart` routes only (`body` and `rawBody` are then empty);
   * it fails with a 413 RestHandlerException once it grows past the server's limit.
   */
  readonly stream?: Readable;
}

/** A response: a JSON body with a status code (or, with `text`, a plain-text body such as a log file). */
export interface RestResponse {
  readonly status: number;
  readonly body: unknown;
  /** Sent as `text/plain` instead of `body` (Flink serves TaskManager log files so). */
  readonly text?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** Handles one route. */
export type RestHandler = (request: RestRequest) => RestResponse | Promise<RestResponse>;

/**
 * What a route reads: nothing (the server answers without reading a body), a JSON document
 * (small, `Content-Type: application/json`), or a multipart upload streamed to the handler.
 */
export type RouteBody = 'none' | 'json' | 'multipart';

/** A method and a path pattern (`:name` segments are parameters). */
export interface Route {
  readonly method: HttpMethod;
  readonly path: string;
  readonly handle: RestHandler;
  /** Default: `none` for GET and DELETE, `json` for the other methods. */
  readonly body?: RouteBody;
  /**
   * What the route does beyond reading, for `web.submit.enable` and `web.cancel.enable`: a
   * `submit` or `cancel` route (even a GET) also only answers requests from the server's own or
   * an allowed origin.
   */
  readonly action?: 'submit' | 'cancel';
}

/** What `route` reads (its `body`, else the default of its method). */
export function routeBody(route: Route): RouteBody {
  return route.body ?? (route.method === 'GET' || route.method === 'DELETE' ? 'none' : 'json');
}

/** An expected failure, answered as `{"errors": [message]}` with `status` (Flink's RestHandlerException). */
export class RestHandlerException extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'RestHandlerException';
  }
}

/** What the router found for a request. */
export type RouteMatch =
  | { readonly kind: 'found'; readonly route: Route; readonly params: Readonly<Record<string, string>> }
  | { readonly kind: 'method-not-allowed'; readonly allowed: readonly HttpMethod[] }
  | { readonly kind: 'not-found' };

interface CompiledPattern {
  readonly segments: readonly string[];
  readonly routes: Route[];
}

/** Matches requests to routes; a literal segment beats a parameter (`/jobs/overview` over `/jobs/:jobid`). */
export class RestRouter {
  private readonly patterns: CompiledPattern[] = [];

  constructor(routes: readonly Route[]) {
    for (const route of routes) {
      const segments = splitPath(route.path);
      const same = this.patterns.find((p) => p.segments.join('/') === segments.join('/'));
      if (same) same.routes.push(route);
      else this.patterns.push({ segments, routes: [route] });
    }
  }

  match(method: string, path: string): RouteMatch {
    let segments: string[];
    try {
      segments = splitPath(path).map((s) => decodeURIComponent(s));
    } catch {
      return { kind: 'not-found' };
    }
    // Every URL may carry the REST API version; Sluice has only v1.
    if (segments[0] === 'v1') segments = segments.slice(1);
    let best: CompiledPattern | undefined;
    for (const pattern of this.patterns)
      if (matches(pattern.segments, segments) && (!best || moreSpecific(pattern.segments, best.segments)))
        best = pattern;
    if (!best) return { kind: 'not-found' };
    const route = best.routes.find((r) => r.method === method);
    if (!route) return { kind: 'method-not-allowed', allowed: best.routes.map((r) => r.method) };
    const params: Record<string, string> = {};
    best.segments.forEach((s, i) => {
      if (s.startsWith(':')) params[s.slice(1)] = segments[i]!;
    });
    return { kind: 'found', route, params };
  }
}

function splitPath(path: string): string[] {
  return path.split('/').filter((s) => s !== '');
}

function matches(pattern: readonly string[], segments: readonly string[]): boolean {
  return (
    pattern.length === segments.length && pattern.every((p, i) => p.startsWith(':') || p === segments[i])
  );
}

function moreSpecific(a: readonly string[], b: readonly string[]): boolean {
  for (let i = 0; i < a.length; i++) {
    const aLiteral = !a[i]!.startsWith(':');
    const bLiteral = !b[i]!.startsWith(':');
    if (aLiteral !== bLiteral) return aLiteral;
  }
  return false;
}

const HEX_ID = /^[0-9a-fA-F]{32}$/u;

/** A 32-hex path parameter (JobID, JobVertexID, TriggerId), lower-cased; 400 as Flink otherwise. */
export function hexIdParam(request: RestRequest, key: string): string {
  const value = request.params[key] ?? '';
  if (!HEX_ID.test(value)) throw badPathParameter(key, value);
  return value.toLowerCase();
}

/** A long path parameter (a checkpoint id); 400 as Flink otherwise. */
export function longParam(request: RestRequest, key: string): number {
  const value = request.params[key] ?? '';
  if (!/^-?\d{1,18}$/u.test(value)) throw badPathParameter(key, value);
  return Number(value);
}

function badPathParameter(key: string, value: string): RestHandlerException {
  return new RestHandlerException(400, `Cannot resolve path parameter (${key}) from value "${value}".`);
}

/** The 400 Flink answers for a query parameter it cannot convert. */
export function badQueryParameter(key: string, value: string): RestHandlerException {
  return new RestHandlerException(400, `Cannot resolve query parameter (${key}) from value "${value}".`);
}
