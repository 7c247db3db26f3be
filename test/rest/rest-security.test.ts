// Issue 11: who may ask the REST API what. Cross-origin changes, content types, the bearer token,
// HTTPS and mutual TLS with certificates made for the test, web.cancel.enable, and Flink's
// {"errors": [...]} for every request the server cannot route or parse.
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Configuration } from '../../src/core/configuration.js';
import { startRestServer, type RestServer, type RestServerOptions } from '../../src/rest/rest-server.js';
import { restServerSettings } from '../../src/rest/rest-server-settings.js';
import { createTestPki, type TestPki } from '../support/certificates.js';
import { TestingSubmitBackend } from './support/rest-fixture.js';

const TOKEN = 'the-rest-token-of-this-test-0123456789';
const servers: RestServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
let pki: TestPki;
beforeAll(() => void (pki = createTestPki()));
afterAll(() => pki.remove());

/** A server over a backend that takes submissions, configured as `sluice.yaml` would. */
async function serve(config: Readonly<Record<string, string>> = {}, backend = new TestingSubmitBackend()) {
  const options: RestServerOptions = {
    backend,
    ...restServerSettings(new Configuration().addAll({ 'rest.port': '0', ...config })),
  };
  const server = await startRestServer(options);
  servers.push(server);
  return { url: server.url, port: server.port, backend };
}

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: { errors?: string[] } & Record<string, unknown>;
}

async function call(url: string, method: string, path: string, init: RequestInit = {}): Promise<Answer> {
  const response = await fetch(`${url}${path}`, { method, ...init });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text === '' ? {} : JSON.parse(text) };
}

function upload(url: string, headers: Record<string, string> = {}): Promise<Answer> {
  const form = new FormData();
  form.append('jarfile', new Blob(['export const job = 1;\n']), 'job.mjs');
  return call(url, 'POST', '/jars/upload', { body: form, headers });
}

/** A request over HTTPS trusting the test CA, with a client certificate when given. */
function overHttps(
  url: string,
  path: string,
  tls: { cert?: string; key?: string; ca?: string } = {},
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      `${url}${path}`,
      {
        agent: false,
        ca: pki.read(tls.ca ?? pki.ca),
        ...(tls.cert === undefined ? {} : { cert: pki.read(tls.cert), key: pki.read(tls.key!) }),
        headers,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** Sends raw bytes and reads the whole answer (the server closes the connection). */
function raw(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (answer += d));
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
    socket.write(bytes);
  });
}

/** Status line and JSON body of a raw answer. */
function parseRaw(answer: string): { statusLine: string; body: unknown } {
  const [head = '', body = ''] = answer.split('\r\n\r\n');
  return { statusLine: head.split('\r\n')[0]!, body: JSON.parse(body) };
}

describe('cross-origin requests', () => {
  it('get no CORS header, and changes from another origin are refused with 403, by default', async () => {
    const { url, backend } = await serve();
    const overview = await call(url, 'GET', '/overview', { headers: { Origin: 'http://127.0.0.1:1' } });
    expect(overview.status).toBe(200);
    expect(overview.headers.get('access-control-allow-origin')).toBeNull();
    const refused = await upload(url, { Origin: 'http://127.0.0.1:1' });
    expect(refused.status).toBe(403);
    expect(refused.body.errors![0]).toMatch(/^Requests from origin http:\/\/127\.0\.0\.1:1 are not allowed/u);
    const nullOrigin = await upload(url, { Origin: 'null' });
    expect(nullOrigin.status).toBe(403);
    // A browser that sends no Origin still says where the request comes from.
    const sameSite = await call(url, 'GET', `/jobs/${'a'.repeat(32)}/yarn-cancel`, {
      headers: { 'Sec-Fetch-Site': 'same-site' },
    });
    expect(sameSite.status).toBe(403);
    expect(backend.requests).toEqual([]);
    // The server's own pages (and tools, which send no Origin) may.
    expect((await upload(url, { Origin: url })).status).toBe(200);
    expect((await upload(url)).status).toBe(200);
  });

  it('are allowed from the origins in web.access-control-allow-origin, which get CORS headers and preflights', async () => {
    const allowed = 'http://dashboard.example:3000';
    const { url } = await serve({ 'web.access-control-allow-origin': `${allowed}, https://other.example` });
    const ok = await upload(url, { Origin: allowed });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('access-control-allow-origin')).toBe(allowed);
    expect(ok.headers.get('vary')).toBe('Origin');
    expect((await upload(url, { Origin: 'http://dashboard.example:3001' })).status).toBe(403);
    const preflight = await call(url, 'OPTIONS', '/jars/upload', {
      headers: { Origin: allowed, 'Access-Control-Request-Method': 'POST' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-methods')).toBe('POST');
    expect(preflight.headers.get('access-control-allow-origin')).toBe(allowed);
    const stranger = await call(url, 'OPTIONS', '/jars/upload', {
      headers: { Origin: 'http://evil.example', 'Access-Control-Request-Method': 'POST' },
    });
    expect(stranger.status).toBe(403);
    expect(stranger.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('cannot use a name re-pointed at 127.0.0.1 (DNS rebinding): a loopback server answers loopback Host names only', async () => {
    const { port } = await serve();
    const answer = parseRaw(
      await raw(port, 'GET /overview HTTP/1.1\r\nHost: rebound.example:8081\r\nConnection: close\r\n\r\n'),
    );
    expect(answer.statusLine).toBe('HTTP/1.1 403 Forbidden');
    expect(answer.body).toEqual({
      errors: [expect.stringMatching(/^Host "rebound\.example:8081" is not a name of this JobManager/u)],
    });
    const local = parseRaw(
      await raw(port, 'GET /overview HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'),
    );
    expect(local.statusLine).toBe('HTTP/1.1 200 OK');
  });
});

describe('content types', () => {
  it('JSON endpoints take application/json only (415), uploads multipart/form-data only', async () => {
    const { url, backend } = await serve();
    const id = String((await upload(url)).body['filename']);
    for (const type of [
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
    ]) {
      const run = await call(url, 'POST', `/jars/${id}/run`, {
        body: '{}',
        headers: { 'Content-Type': type },
      });
      expect(run.status).toBe(415);
      expect(run.body.errors![0]).toBe(
        `POST /jars/:jarid/run takes a JSON body: send Content-Type: application/json, not "${type}".`,
      );
    }
    expect((await call(url, 'POST', `/jars/${id}/run`)).status).toBe(415);
    expect(backend.requests).toEqual([]);
    const json = { 'Content-Type': 'application/json; charset=utf-8' };
    expect((await call(url, 'POST', `/jars/${id}/run`, { body: '{}', headers: json })).status).toBe(200);
    const notMultipart = await call(url, 'POST', '/jars/upload', {
      body: 'x',
      headers: { 'Content-Type': 'text/plain' },
    });
    expect(notMultipart.status).toBe(415);
  });
});

describe('the bearer token (rest.authentication.token)', () => {
  it('is needed by every endpoint but GET /config: missing or wrong is 401, right passes', async () => {
    const { url } = await serve({ 'rest.authentication.token': TOKEN });
    const config = await call(url, 'GET', '/config');
    expect(config.status).toBe(200);
    for (const path of ['/overview', '/jobs/overview', '/jars', '/nowhere']) {
      const missing = await call(url, 'GET', path);
      expect(missing.status, path).toBe(401);
      expect(missing.headers.get('www-authenticate')).toBe('Bearer realm="sluice"');
      expect(missing.body.errors![0]).toMatch(/^Authentication required/u);
      const wrong = await call(url, 'GET', path, { headers: { Authorization: `Bearer ${TOKEN}x` } });
      expect(wrong.status, path).toBe(401);
      expect(wrong.body.errors![0]).toMatch(/^The REST token is wrong/u);
    }
    expect((await upload(url)).status).toBe(401);
    const right = { Authorization: `Bearer ${TOKEN}` };
    expect((await call(url, 'GET', '/overview', { headers: right })).status).toBe(200);
    expect((await upload(url, right)).status).toBe(200);
    expect((await call(url, 'GET', '/nowhere', { headers: right })).status).toBe(404);
  });

  it('can come from rest.authentication.token-file; a short token is refused at start', async () => {
    const file = `${pki.dir}/token`;
    (await import('node:fs')).writeFileSync(file, `${TOKEN}\n`);
    const { url } = await serve({ 'rest.authentication.token-file': file });
    expect((await call(url, 'GET', '/overview')).status).toBe(401);
    expect(
      (await call(url, 'GET', '/overview', { headers: { Authorization: `Bearer ${TOKEN}` } })).status,
    ).toBe(200);
    expect(() =>
      restServerSettings(new Configuration().addAll({ 'rest.authentication.token': 'short' })),
    ).toThrow(/rest\.authentication\.token must be at least 16 characters/u);
  });
});

describe('HTTPS (security.ssl.rest.*)', () => {
  const tls = () => ({
    'security.ssl.rest.enabled': 'true',
    'security.ssl.rest.key-path': pki.server.key,
    'security.ssl.rest.cert-path': pki.server.cert,
  });

  it('serves over TLS: clients that trust the CA get answers, plain HTTP gets none', async () => {
    const { url } = await serve(tls());
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/u);
    const answer = await overHttps(url, '/overview');
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toHaveProperty('taskmanagers', 0);
    await expect(fetch(url.replace('https:', 'http:') + '/overview')).rejects.toThrow();
    // A client that does not trust the CA refuses the server.
    await expect(
      overHttps(url, '/overview', { ca: pki.server.cert.replace('node.crt', 'rogue-ca.crt') }),
    ).rejects.toThrow(/self-signed|unable to verify|certificate/u);
  });

  it('with mutual TLS, answers only clients whose certificate the CA signed', async () => {
    const { url } = await serve({
      ...tls(),
      'security.ssl.rest.authentication-enabled': 'true',
      'security.ssl.rest.truststore-path': pki.ca,
    });
    expect((await overHttps(url, '/overview', pki.client)).status).toBe(200);
    await expect(overHttps(url, '/overview')).rejects.toThrow();
    await expect(overHttps(url, '/config', pki.rogue)).rejects.toThrow();
  });

  it('says which key is missing or unreadable', () => {
    const settings = (config: Record<string, string>) => () =>
      restServerSettings(new Configuration().addAll(config));
    expect(settings({ 'security.ssl.rest.enabled': 'true' })).toThrow(
      /security\.ssl\.rest\.enabled is true but security\.ssl\.rest\.key-path is not set/u,
    );
    expect(settings({ ...tls(), 'security.ssl.rest.cert-path': '/nonexistent/cert.pem' })).toThrow(
      /security\.ssl\.rest\.cert-path: cannot read \/nonexistent\/cert\.pem \(ENOENT\)/u,
    );
    expect(settings({ ...tls(), 'security.ssl.rest.authentication-enabled': 'true' })).toThrow(
      /security\.ssl\.rest\.truststore-path is not set/u,
    );
    expect(settings({ 'security.ssl.rest.authentication-enabled': 'true' })).toThrow(
      /needs security\.ssl\.rest\.enabled: true/u,
    );
  });
});

describe('web.cancel.enable: false', () => {
  it('refuses cancellation (403) and says so in /config', async () => {
    const { url } = await serve({ 'web.cancel.enable': 'false' });
    const cancel = await call(url, 'PATCH', `/jobs/${'a'.repeat(32)}?mode=cancel`);
    expect(cancel.status).toBe(403);
    expect(cancel.body.errors).toEqual([
      'Job cancellation over REST is disabled on this cluster (web.cancel.enable: false).',
    ]);
    expect((await call(url, 'GET', `/jobs/${'a'.repeat(32)}/yarn-cancel`)).status).toBe(403);
    expect((await call(url, 'GET', '/config')).body['features']).toMatchObject({ 'web-cancel': false });
  });
});

describe("requests the server cannot route or parse get Flink's {errors} body", () => {
  it('unknown methods, garbage, CONNECT, over-long URLs and headers', async () => {
    const { port } = await serve();
    const cases: [string, string, RegExp][] = [
      ['FOO /overview HTTP/1.1\r\nHost: x\r\n\r\n', 'HTTP/1.1 400 Bad Request', /unknown method/u],
      ['\x16\x03\x01garbage\r\n\r\n', 'HTTP/1.1 400 Bad Request', /^Malformed HTTP request/u],
      ['CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: x\r\n\r\n', 'HTTP/1.1 400 Bad Request', /unknown method/u],
      [
        `GET /${'a'.repeat(5000)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
        'HTTP/1.1 414 URI Too Long',
        /longer than 4096/u,
      ],
      [
        `GET /overview HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`,
        'HTTP/1.1 431 Request Header Fields Too Large',
        /too large/u,
      ],
    ];
    for (const [bytes, statusLine, message] of cases) {
      const answer = parseRaw(await raw(port, bytes));
      expect(answer.statusLine, bytes.slice(0, 30)).toBe(statusLine);
      expect(answer.body).toEqual({ errors: [expect.stringMatching(message)] });
    }
  });
});
