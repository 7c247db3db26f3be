/** The CLI's only way to a JobManager: its REST API (Flink's paths and JSON). */
import { request as httpRequest, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { ConfigOption } from '../core/config-option.js';
import type { Configuration } from '../core/configuration.js';
import { SecurityOptions } from '../core/config-options.js';
import { SluiceError } from '../core/errors.js';
import { readConfiguredFile } from '../network/internal-tls.js';
import { restTokenFromConfiguration } from '../rest/rest-server-settings.js';

/** How the CLI talks to a JobManager: the token it sends, the TLS material it trusts and presents. */
export interface RestClientSettings {
  /** Sent as `Authorization: Bearer <token>` (`--token`, SLUICE_REST_TOKEN, rest.authentication.token). */
  readonly token?: string | undefined;
  /** HTTPS even when the address has no scheme (`security.ssl.rest.enabled`). */
  readonly https?: boolean | undefined;
  /** CA certificates that sign the JobManager's certificate (`security.ssl.rest.truststore-path`). */
  readonly ca?: Buffer | undefined;
  /** The client's certificate and key, for mutual TLS (`security.ssl.rest.cert-path` and `key-path`). */
  readonly cert?: Buffer | undefined;
  readonly key?: Buffer | undefined;
  readonly passphrase?: string | undefined;
  /** `security.ssl.verify-hostname` (default true). */
  readonly verifyHostname?: boolean | undefined;
}

let client: RestClientSettings = {};

/** Sets how every later REST call of this process authenticates (the `sluice` command does it once). */
export function configureRestClient(settings: RestClientSettings): void {
  client = settings;
}

/** A JobManager's REST endpoint, e.g. `127.0.0.1:8081` or `https://host:8081`. */
export function restBaseUrl(jobmanager: string): string {
  const withScheme = /^https?:\/\//u.test(jobmanager)
    ? jobmanager
    : `${client.https ? 'https' : 'http'}://${jobmanager}`;
  return withScheme.replace(/\/+$/u, '');
}

/** An answer of the REST API, whatever its status. */
export interface RestAnswer {
  readonly status: number;
  /** The parsed JSON body; undefined when empty or not JSON. */
  readonly json: unknown;
  /** The body as text. */
  readonly text: string;
}

/** What a request sends: a JSON value, or a multipart form (uploads). */
export type RestBody = { readonly json: unknown } | { readonly form: FormData };

/** The bytes and content type of a request body. */
async function encodeBody(body: RestBody): Promise<{ bytes: Buffer; type: string }> {
  if ('json' in body) return { bytes: Buffer.from(JSON.stringify(body.json)), type: 'application/json' };
  // The platform's multipart encoder, without sending: the request goes over node:http(s), whose TLS takes a CA.
  const encoded = new Request('http://localhost/', { method: 'POST', body: body.form });
  return { bytes: Buffer.from(await encoded.arrayBuffer()), type: encoded.headers.get('content-type')! };
}

/** Sends one request; resolves with any answer, rejects only when there is none. */
function send(
  url: URL,
  method: string,
  headers: Record<string, string>,
  bytes: Buffer | undefined,
): Promise<RestAnswer> {
  const secure = url.protocol === 'https:';
  const options: RequestOptions = {
    method,
    headers: bytes === undefined ? headers : { ...headers, 'content-length': String(bytes.length) },
    ...(secure
      ? {
          ...(client.ca === undefined ? {} : { ca: client.ca }),
          ...(client.cert === undefined ? {} : { cert: client.cert }),
          ...(client.key === undefined ? {} : { key: client.key }),
          ...(client.passphrase === undefined ? {} : { passphrase: client.passphrase }),
          ...(client.verifyHostname === false ? { checkServerIdentity: () => undefined } : {}),
        }
      : {}),
  };
  return new Promise((resolve, reject) => {
    const req = (secure ? httpsRequest : httpRequest)(url, options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = text.length === 0 ? undefined : JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, json, text });
      });
    });
    req.on('error', reject);
    req.end(bytes);
  });
}

/** Calls the REST API and returns any answer; only an unreachable JobManager is an error. */
export async function restCall(
  base: string,
  method: string,
  path: string,
  body?: RestBody,
): Promise<RestAnswer> {
  const headers: Record<string, string> = {};
  if (client.token !== undefined) headers['authorization'] = `Bearer ${client.token}`;
  const encoded = body === undefined ? undefined : await encodeBody(body);
  if (encoded) headers['content-type'] = encoded.type;
  try {
    return await send(new URL(`${base}${path}`), method, headers, encoded?.bytes);
  } catch (e) {
    const error = e as NodeJS.ErrnoException;
    const tls = /CERT|SELF_SIGNED|TLS|SSL|EPROTO|ECONNRESET/u.test(String(error.code ?? error.message));
    // OpenSSL's messages run over several lines; its code says the same in one word.
    const detail = error.code?.startsWith('ERR_SSL') ? error.code : error.message.split('\n')[0]!.trim();
    throw new SluiceError(
      'SLUICE_CLI_USAGE',
      `cannot reach the JobManager at ${base} (${detail}); ` +
        (tls
          ? 'for HTTPS, trust the CA that signed its certificate (security.ssl.rest.truststore-path) and, with mutual TLS, ' +
            'present a client certificate (security.ssl.rest.cert-path and key-path).'
          : 'is a job running with `sluice run`, or a cluster with `sluice jobmanager`? Pass --jobmanager HOST:PORT for another address.'),
      { cause: e },
    );
  }
}

/** Flink's `{"errors": [...]}` of an answer, joined; the status text when there are none. */
export function errorDetail(answer: RestAnswer): string {
  const errors = (answer.json as { errors?: unknown[] } | undefined)?.errors;
  return Array.isArray(errors) && errors.length > 0
    ? errors.map(String).join('; ')
    : answer.text || `HTTP ${answer.status}`;
}

/** The messages the REST API answers for an unknown job id (Flink's JobNotFound, cancel's own). */
const UNKNOWN_JOB = /^Job (?:[0-9a-f]{32} not found|could not be found\.)$/u;

/** Calls the REST API; errors say what to fix (unreachable JobManager, unknown job, Flink's `errors`). */
export async function rest<T>(base: string, method: string, path: string, body?: unknown): Promise<T> {
  const answer = await restCall(base, method, path, body === undefined ? undefined : { json: body });
  return checked<T>(answer, base, method, path);
}

function checked<T>(answer: RestAnswer, base: string, method: string, path: string): T {
  if (answer.status < 200 || answer.status >= 300) {
    const detail = errorDetail(answer);
    const jobId = /^\/jobs\/([0-9a-f]{32})(?:[/?]|$)/u.exec(path)?.[1];
    if (answer.status === 404 && jobId !== undefined && UNKNOWN_JOB.test(detail))
      throw new SluiceError(
        'SLUICE_CLI_USAGE',
        `the JobManager at ${base} has no job ${jobId} (404); \`sluice list -m ${base.replace(/^https?:\/\//u, '')}\` shows its jobs.`,
      );
    throw new SluiceError('SLUICE_CLI_USAGE', `${method} ${path} failed (${answer.status}): ${detail}`);
  }
  return answer.json as T;
}

/** Keys that configure the CLI's REST client, never a job: with `run --jobmanager` they are not sent. */
export function isRestClientKey(key: string): boolean {
  return /^(?:security\.ssl\.rest\.|security\.ssl\.verify-hostname$|rest\.authentication\.)/u.test(key);
}

/**
 * The client settings: the token from `token` (`--token`), else SLUICE_REST_TOKEN, else the
 * configuration's `rest.authentication.token[-file]`; TLS from `security.ssl.rest.*` as the
 * JobManager reads them (the truststore verifies the server; key and certificate for mutual TLS).
 */
export function restClientSettings(configuration: Configuration, token?: string): RestClientSettings {
  const fromEnv = process.env['SLUICE_REST_TOKEN'];
  const file = (option: ConfigOption<string | undefined>) => {
    const path = configuration.get(option);
    return path === undefined ? undefined : readConfiguredFile(option.key, path);
  };
  const cert = file(SecurityOptions.SSL_REST_CERT_PATH);
  const key = file(SecurityOptions.SSL_REST_KEY_PATH);
  if ((cert === undefined) !== (key === undefined))
    throw new SluiceError(
      'SLUICE_CLI_USAGE',
      `a client certificate needs both ${SecurityOptions.SSL_REST_CERT_PATH.key} and ${SecurityOptions.SSL_REST_KEY_PATH.key}.`,
    );
  return {
    token:
      token ??
      (fromEnv !== undefined && fromEnv !== '' ? fromEnv : restTokenFromConfiguration(configuration)),
    https: configuration.get(SecurityOptions.SSL_REST_ENABLED),
    ca: file(SecurityOptions.SSL_REST_TRUSTSTORE_PATH),
    cert,
    key,
    passphrase: configuration.get(SecurityOptions.SSL_REST_KEY_PASSWORD),
    verifyHostname: configuration.get(SecurityOptions.SSL_VERIFY_HOSTNAME),
  };
}
