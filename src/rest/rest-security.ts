/**
 * Who may ask the REST API what: the bearer token, the origins a web page may call from, and the
 * Host names a loopback server answers (DNS rebinding). Decisions only; the server carries them out.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { isIP } from 'node:net';

/** The REST security settings a server enforces (see `restSecurityFromConfiguration`). */
export interface RestSecurity {
  /** HTTPS material; absent: plain HTTP. */
  readonly tls?: RestServerTls | undefined;
  /** `rest.authentication.token`: every request but GET /config must carry it as a bearer token. */
  readonly token?: string | undefined;
  /** `web.access-control-allow-origin`: origins whose pages may call (`*` for any); none by default. */
  readonly allowedOrigins?: readonly string[] | undefined;
  /** `web.cancel.enable` (default true). */
  readonly cancelEnabled?: boolean | undefined;
}

/** PEM material of an HTTPS REST server. */
export interface RestServerTls {
  readonly key: Buffer;
  readonly cert: Buffer;
  /** Trusted CAs for client certificates; needed when `requireClientCert`. */
  readonly ca?: Buffer | undefined;
  readonly passphrase?: string | undefined;
  /** `security.ssl.rest.authentication-enabled`: mutual TLS, no answer without a trusted client certificate. */
  readonly requireClientCert: boolean;
}

/** What a check decided: go on, or answer `status` with `message` (and headers). */
export type Verdict =
  | { readonly ok: true }
  | {
      readonly ok: false;
      readonly status: number;
      readonly message: string;
      readonly headers?: Readonly<Record<string, string>>;
    };

const OK: Verdict = { ok: true };

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** Checks the bearer token in constant time (both sides hashed, so lengths leak nothing either). */
export function checkToken(headers: IncomingHttpHeaders, token: string | undefined): Verdict {
  if (token === undefined) return OK;
  const header = headers.authorization ?? '';
  const match = /^Bearer[ ]+(\S+)\s*$/iu.exec(header);
  const given = match?.[1];
  if (given !== undefined && timingSafeEqual(digest(given), digest(token))) return OK;
  return {
    ok: false,
    status: 401,
    message:
      given === undefined
        ? 'Authentication required: send the REST token as "Authorization: Bearer <token>" (`sluice ... --token`, or SLUICE_REST_TOKEN).'
        : 'The REST token is wrong: send the JobManager\'s rest.authentication.token as "Authorization: Bearer <token>".',
    headers: { 'WWW-Authenticate': 'Bearer realm="sluice"' },
  };
}

/** Whether `host` (a Host header's name part, or a bind address) is a loopback name. */
export function isLoopbackHost(host: string): boolean {
  const name = host.replace(/^\[|\]$/gu, '').toLowerCase();
  if (name === 'localhost' || name.endsWith('.localhost')) return true;
  if (isIP(name) === 4) return name.startsWith('127.');
  return name === '::1';
}

/** The name part of a Host header (`[::1]:8081` → `[::1]`, `example.com:80` → `example.com`). */
function hostName(hostHeader: string): string {
  const bracketed = /^(\[[^\]]*\])(?::\d+)?$/u.exec(hostHeader);
  if (bracketed) return bracketed[1]!;
  return hostHeader.replace(/:\d+$/u, '');
}

/**
 * A server bound to loopback answers only Host names that are loopback or its configured
 * `rest.address`: a page whose own name was re-pointed at 127.0.0.1 (DNS rebinding) would
 * otherwise be "same-origin" with the JobManager and could read and post as it pleases.
 */
export function checkHost(
  headers: IncomingHttpHeaders,
  server: { readonly loopbackOnly: boolean; readonly address?: string | undefined },
): Verdict {
  if (!server.loopbackOnly) return OK;
  const name = hostName(headers.host ?? '');
  if (name === '' || isLoopbackHost(name)) return OK;
  if (server.address !== undefined && name.toLowerCase() === server.address.toLowerCase()) return OK;
  return {
    ok: false,
    status: 403,
    message: `Host "${headers.host ?? ''}" is not a name of this JobManager, which listens on loopback only; use 127.0.0.1 or localhost (or set rest.address).`,
  };
}

/** The origin a browser would report for a page of this server, as the request reached it. */
function ownOrigin(headers: IncomingHttpHeaders, secure: boolean): string | undefined {
  const host = headers.host;
  return host === undefined ? undefined : `${secure ? 'https' : 'http'}://${host.toLowerCase()}`;
}

/** Whether `origin` may call the API from a web page: one listed, or `*`. */
export function originAllowed(origin: string, allowed: readonly string[] | undefined): boolean {
  if (!allowed) return false;
  const lower = origin.toLowerCase();
  return allowed.some((a) => a === '*' || a.toLowerCase() === lower);
}

/**
 * A request that changes something (a POST, PATCH, DELETE, or the web UI's cancelling GET) from
 * a page of another origin is refused. Browsers send `Origin` on every cross-origin request that
 * is not a GET, and `Sec-Fetch-Site` on every request; tools such as curl or the CLI send
 * neither, and pass.
 */
export function checkOrigin(
  headers: IncomingHttpHeaders,
  secure: boolean,
  allowed: readonly string[] | undefined,
): Verdict {
  const origin = headers.origin;
  if (origin !== undefined) {
    if (origin.toLowerCase() === ownOrigin(headers, secure) || originAllowed(origin, allowed)) return OK;
    return crossOrigin(`Requests from origin ${origin} are not allowed`);
  }
  const site = headers['sec-fetch-site'];
  if (site === undefined || site === 'same-origin' || site === 'none') return OK;
  return crossOrigin(`Requests from another site (Sec-Fetch-Site: ${site}) are not allowed`);
}

function crossOrigin(what: string): Verdict {
  return {
    ok: false,
    status: 403,
    message: `${what}: only the JobManager's own pages and the origins in web.access-control-allow-origin may change jobs.`,
  };
}

/** The CORS headers of an answer to `origin` (none unless it is allowed). */
export function corsHeaders(
  origin: string | undefined,
  allowed: readonly string[] | undefined,
): Record<string, string> {
  if (origin === undefined || !originAllowed(origin, allowed)) return {};
  return { 'Access-Control-Allow-Origin': allowed!.includes('*') ? '*' : origin, Vary: 'Origin' };
}

/** The answer to a CORS preflight: allowed origins learn the methods; everyone else gets a 403. */
export function preflight(
  headers: IncomingHttpHeaders,
  allowed: readonly string[] | undefined,
  methods: readonly string[],
): { status: number; message?: string; headers: Record<string, string> } {
  const origin = headers.origin;
  if (origin === undefined || !originAllowed(origin, allowed))
    return {
      status: 403,
      message: `Cross-origin requests${origin === undefined ? '' : ` from ${origin}`} are not allowed (web.access-control-allow-origin).`,
      headers: {},
    };
  return {
    status: 204,
    headers: {
      ...corsHeaders(origin, allowed),
      'Access-Control-Allow-Methods': methods.join(', '),
      'Access-Control-Allow-Headers': 'Content-Type, Authorization',
      'Access-Control-Max-Age': '600',
    },
  };
}
