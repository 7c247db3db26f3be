/**
 * Sluice's web dashboard, served at the REST port's root: the files `npm run build` writes to
 * dist/web (index.html and content-hashed assets), read once and kept in memory. Only GET and
 * HEAD requests no REST route answers reach it, so every REST path answers as before.
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RestRouter } from './rest-router.js';
import { checkHost } from './rest-security.js';

/** dist/web beside dist/rest (built package) and seen from src/rest (a checkout): both `<root>/dist/web`. */
export const DASHBOARD_DIR = fileURLToPath(new URL('../../dist/web/', import.meta.url));

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=UTF-8',
  '.js': 'text/javascript; charset=UTF-8',
  '.css': 'text/css; charset=UTF-8',
  '.json': 'application/json; charset=UTF-8',
  '.map': 'application/json; charset=UTF-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
};

/** The page's own origin only: no inline script, nothing loaded or sent elsewhere, no framing. */
const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy':
    "default-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
};

/** Asset names as Vite writes them: no path separators, no `..`. */
const ASSET_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/u;

/** A file to answer with. */
interface DashboardFile {
  readonly status: number;
  readonly body: Buffer;
  readonly type: string;
  /** index.html is revalidated on every load; hashed assets never change under their name. */
  readonly cache: string;
}

const NOT_BUILT = Buffer.from(
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sluice Dashboard not built</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40em; margin: 4em auto; line-height: 1.5">
<h1>The Sluice web dashboard is not built</h1>
<p>This JobManager runs from source, and the dashboard's files (<code>dist/web</code>) are missing.
Run <code>npm run build</code> in the Sluice checkout, then reload this page.</p>
<p>The REST API answers as usual meanwhile, e.g. <a href="overview">/overview</a> and <a href="jobs/overview">/jobs/overview</a>.</p>
</body></html>`,
);

/** Files by path, read on first use; a missing file is not remembered, so a later build is served. */
export class DashboardFiles {
  private readonly files = new Map<string, Buffer>();

  constructor(private readonly dir: string = DASHBOARD_DIR) {}

  /** What `pathname` answers, or undefined when it is none of the dashboard's (a REST 404 then). */
  resolve(pathname: string, accept: string | undefined): DashboardFile | undefined {
    if (pathname === '/' || pathname === '/index.html') return this.index();
    const asset = /^\/assets\/([^/]+)$/u.exec(pathname);
    if (asset !== null) {
      const name = asset[1]!;
      if (!ASSET_NAME.test(name)) return undefined;
      const body = this.read(join('assets', name));
      if (body === undefined) return undefined;
      const type = CONTENT_TYPES[extname(name)] ?? 'application/octet-stream';
      return { status: 200, body, type, cache: 'public, max-age=31536000, immutable' };
    }
    // A browser navigating to a page path (a bookmarked deep link) gets the app; REST clients,
    // which do not ask for HTML, keep getting the REST API's 404.
    if ((accept ?? '').includes('text/html') && extname(pathname) === '') return this.index();
    return undefined;
  }

  private index(): DashboardFile {
    const body = this.read('index.html');
    if (body === undefined)
      return { status: 503, body: NOT_BUILT, type: CONTENT_TYPES['.html']!, cache: 'no-store' };
    return { status: 200, body, type: CONTENT_TYPES['.html']!, cache: 'no-cache' };
  }

  private read(relative: string): Buffer | undefined {
    const cached = this.files.get(relative);
    if (cached !== undefined) return cached;
    try {
      const body = readFileSync(join(this.dir, relative));
      this.files.set(relative, body);
      return body;
    } catch {
      return undefined;
    }
  }
}

/**
 * Answers `req` from the dashboard's files when it is a GET or HEAD no REST route takes, from an
 * accepted Host; returns false (and writes nothing) otherwise, leaving the request to the REST API.
 */
export function serveDashboard(
  files: DashboardFiles,
  req: IncomingMessage,
  res: ServerResponse,
  router: RestRouter,
  hosts: Parameters<typeof checkHost>[1],
): boolean {
  const method = req.method ?? 'GET';
  if (method !== 'GET' && method !== 'HEAD') return false;
  let pathname: string;
  try {
    pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
  } catch {
    return false;
  }
  if (router.match('GET', pathname).kind !== 'not-found') return false;
  if (!checkHost(req.headers, hosts).ok) return false;
  const file = files.resolve(pathname, req.headers.accept);
  if (file === undefined) return false;
  res.writeHead(file.status, {
    'Content-Type': file.type,
    'Content-Length': file.body.length,
    'Cache-Control': file.cache,
    ...SECURITY_HEADERS,
  });
  res.end(method === 'HEAD' ? undefined : file.body);
  return true;
}
