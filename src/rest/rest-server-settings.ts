/** The REST server's settings from a configuration: address, limits, TLS files, token and origins, checked at start. */
import type { Configuration } from '../core/configuration.js';
import { RestOptions, RestSecurityOptions, SecurityOptions } from '../core/config-options.js';
import { SluiceError } from '../core/errors.js';
import { readConfiguredFile, requiredFile } from '../network/internal-tls.js';
import type { RestSecurity, RestServerTls } from './rest-security.js';
import type { RestServerOptions } from './rest-server.js';

/** `rest.authentication.token`, else the first line of `rest.authentication.token-file`; undefined when neither is set. */
export function restTokenFromConfiguration(configuration: Configuration): string | undefined {
  const token = configuration.get(RestSecurityOptions.AUTHENTICATION_TOKEN);
  const file = configuration.get(RestSecurityOptions.AUTHENTICATION_TOKEN_FILE);
  if (token !== undefined && file !== undefined)
    throw new SluiceError(
      'SLUICE_CONFIG_INVALID_VALUE',
      `${RestSecurityOptions.AUTHENTICATION_TOKEN.key} and ${RestSecurityOptions.AUTHENTICATION_TOKEN_FILE.key} are both set; set one`,
    );
  const value =
    file === undefined
      ? token
      : (readConfiguredFile(RestSecurityOptions.AUTHENTICATION_TOKEN_FILE.key, file)
          .toString('utf8')
          .split(/\r?\n/u)[0] ?? '');
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (trimmed.length < 16 || /\s/u.test(trimmed))
    throw new SluiceError(
      'SLUICE_CONFIG_INVALID_VALUE',
      `${file === undefined ? RestSecurityOptions.AUTHENTICATION_TOKEN.key : `the token in ${file} (${RestSecurityOptions.AUTHENTICATION_TOKEN_FILE.key})`} ` +
        'must be at least 16 characters without spaces; generate one with `openssl rand -hex 32`',
    );
  return trimmed;
}

/** `security.ssl.rest.*` as PEM material for an HTTPS server; undefined when REST TLS is off. */
function restServerTls(configuration: Configuration): RestServerTls | undefined {
  const mutual = configuration.get(SecurityOptions.SSL_REST_AUTHENTICATION_ENABLED);
  if (!configuration.get(SecurityOptions.SSL_REST_ENABLED)) {
    if (mutual)
      throw new SluiceError(
        'SLUICE_CONFIG_INVALID_VALUE',
        `${SecurityOptions.SSL_REST_AUTHENTICATION_ENABLED.key} needs ${SecurityOptions.SSL_REST_ENABLED.key}: true (mutual TLS is TLS)`,
      );
    return undefined;
  }
  const need = (option: typeof SecurityOptions.SSL_REST_KEY_PATH, why: string): Buffer =>
    requiredFile(configuration, option, SecurityOptions.SSL_REST_ENABLED.key, why);
  const caPath = configuration.get(SecurityOptions.SSL_REST_TRUSTSTORE_PATH);
  const passphrase = configuration.get(SecurityOptions.SSL_REST_KEY_PASSWORD);
  return {
    key: need(SecurityOptions.SSL_REST_KEY_PATH, "the server's PEM private key"),
    cert: need(SecurityOptions.SSL_REST_CERT_PATH, "the server's PEM certificate (chain)"),
    ca: mutual
      ? need(
          SecurityOptions.SSL_REST_TRUSTSTORE_PATH,
          'the PEM CA certificates that sign client certificates',
        )
      : caPath === undefined
        ? undefined
        : readConfiguredFile(SecurityOptions.SSL_REST_TRUSTSTORE_PATH.key, caPath),
    ...(passphrase === undefined ? {} : { passphrase }),
    requireClientCert: mutual,
  };
}

/** `web.access-control-allow-origin` as a list; each entry an origin (`scheme://host[:port]`) or `*`. */
function allowedOrigins(configuration: Configuration): readonly string[] | undefined {
  const text = configuration.get(RestSecurityOptions.ACCESS_CONTROL_ALLOW_ORIGIN);
  if (text === undefined) return undefined;
  const origins = text
    .split(',')
    .map((o) => o.trim().replace(/\/+$/u, ''))
    .filter((o) => o !== '');
  for (const origin of origins)
    if (origin !== '*' && !/^https?:\/\/[^/\s]+$/iu.test(origin))
      throw new SluiceError(
        'SLUICE_CONFIG_INVALID_VALUE',
        `${RestSecurityOptions.ACCESS_CONTROL_ALLOW_ORIGIN.key}: "${origin}" is not an origin; expected scheme://host[:port] (comma-separated), or *`,
      );
  return origins;
}

/** Everything of `startRestServer`'s options that the configuration decides (all but the backend). */
export function restServerSettings(configuration: Configuration): Omit<RestServerOptions, 'backend'> {
  const security: RestSecurity = {
    tls: restServerTls(configuration),
    token: restTokenFromConfiguration(configuration),
    allowedOrigins: allowedOrigins(configuration),
    cancelEnabled: configuration.get(RestSecurityOptions.CANCEL_ENABLE),
  };
  return {
    port: configuration.get(RestOptions.PORT),
    bindAddress: configuration.get(RestOptions.BIND_ADDRESS),
    address: configuration.get(RestOptions.ADDRESS),
    maxContentLength: configuration.get(RestSecurityOptions.SERVER_MAX_CONTENT_LENGTH),
    security,
    // Secrets redacted, as Flink's /jobmanager/config hides them.
    configuration: configuration.toMap(),
    flameGraph: {
      enabled: configuration.get(RestOptions.FLAMEGRAPH_ENABLED),
      refreshIntervalMs: configuration.get(RestOptions.FLAMEGRAPH_REFRESH_INTERVAL),
      cleanupIntervalMs: configuration.get(RestOptions.FLAMEGRAPH_CLEANUP_INTERVAL),
      sampling: {
        numSamples: configuration.get(RestOptions.FLAMEGRAPH_NUM_SAMPLES),
        delayBetweenSamplesMs: configuration.get(RestOptions.FLAMEGRAPH_DELAY_BETWEEN_SAMPLES),
        stackDepth: configuration.get(RestOptions.FLAMEGRAPH_STACK_DEPTH),
      },
    },
  };
}

/** Whether clients must prove who they are (a token or mutual TLS). */
export function restIsAuthenticated(settings: Omit<RestServerOptions, 'backend'>): boolean {
  return settings.security?.token !== undefined || settings.security?.tls?.requireClientCert === true;
}
