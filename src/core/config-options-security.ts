/** Security and REST-server options: Flink's SecurityOptions, WebOptions and RestOptions keys, and Sluice's own. */
import { booleanOption, durationOption, memoryOption, stringOption } from './config-option.js';

// Flink reads Java keystores; Node reads PEM. Each PEM key is named after the Flink keystore or
// truststore key it stands for, with a `-path` suffix: `security.ssl.rest.keystore` (a keystore
// with key and certificate) becomes `security.ssl.rest.key-path` + `security.ssl.rest.cert-path`,
// `security.ssl.rest.truststore` becomes `security.ssl.rest.truststore-path`. Flink's
// `key-password` keeps its name: it decrypts an encrypted PEM key.

/** TLS for the REST API and internal connections (Flink's SecurityOptions). */
export const SecurityOptions = {
  SSL_REST_ENABLED: booleanOption(
    'security.ssl.rest.enabled',
    false,
    'Serve the REST API over HTTPS (needs security.ssl.rest.key-path and cert-path); clients use HTTPS.',
  ),
  SSL_REST_AUTHENTICATION_ENABLED: booleanOption(
    'security.ssl.rest.authentication-enabled',
    false,
    'Mutual TLS for the REST API: only clients with a certificate signed by security.ssl.rest.truststore-path get an answer.',
  ),
  SSL_REST_KEY_PATH: stringOption(
    'security.ssl.rest.key-path',
    undefined,
    "Sluice (PEM form of Flink's security.ssl.rest.keystore): the REST endpoint's private key; for clients, their key for mutual TLS.",
  ),
  SSL_REST_CERT_PATH: stringOption(
    'security.ssl.rest.cert-path',
    undefined,
    "Sluice (PEM form of Flink's security.ssl.rest.keystore): the REST endpoint's certificate chain; for clients, their certificate for mutual TLS.",
  ),
  SSL_REST_TRUSTSTORE_PATH: stringOption(
    'security.ssl.rest.truststore-path',
    undefined,
    "Sluice (PEM form of Flink's security.ssl.rest.truststore): CA certificates that verify REST clients (mutual TLS) and, for clients, the server.",
  ),
  SSL_REST_KEY_PASSWORD: stringOption(
    'security.ssl.rest.key-password',
    undefined,
    'Passphrase of an encrypted security.ssl.rest.key-path.',
  ),
  SSL_INTERNAL_ENABLED: booleanOption(
    'security.ssl.internal.enabled',
    false,
    'Mutual TLS on every internal connection (RPC and data plane), on top of security.cluster.secret.',
  ),
  SSL_INTERNAL_KEY_PATH: stringOption(
    'security.ssl.internal.key-path',
    undefined,
    "Sluice (PEM form of Flink's security.ssl.internal.keystore): this process's private key for internal TLS.",
  ),
  SSL_INTERNAL_CERT_PATH: stringOption(
    'security.ssl.internal.cert-path',
    undefined,
    "Sluice (PEM form of Flink's security.ssl.internal.keystore): this process's certificate chain for internal TLS.",
  ),
  SSL_INTERNAL_TRUSTSTORE_PATH: stringOption(
    'security.ssl.internal.truststore-path',
    undefined,
    "Sluice (PEM form of Flink's security.ssl.internal.truststore): CA certificates every internal peer's certificate must be signed by.",
  ),
  SSL_INTERNAL_KEY_PASSWORD: stringOption(
    'security.ssl.internal.key-password',
    undefined,
    'Passphrase of an encrypted security.ssl.internal.key-path.',
  ),
  SSL_VERIFY_HOSTNAME: booleanOption(
    'security.ssl.verify-hostname',
    true,
    "REST clients check that the server's certificate names the host they connect to.",
  ),
} as const;

/** What the REST API lets clients do, and how much it reads (Flink's WebOptions and RestOptions). */
export const RestSecurityOptions = {
  ACCESS_CONTROL_ALLOW_ORIGIN: stringOption(
    'web.access-control-allow-origin',
    undefined,
    'Comma-separated origins (https://host:port) whose web pages may call the REST API; unset: none (Flink allows * by default).',
  ),
  SUBMIT_ENABLE: booleanOption(
    'web.submit.enable',
    undefined,
    'Accept job uploads and runs over REST (/jars). Default: true for `sluice jobmanager`, false where the command line brings the jobs.',
  ),
  CANCEL_ENABLE: booleanOption('web.cancel.enable', true, 'Accept job cancellation over REST.'),
  SERVER_MAX_CONTENT_LENGTH: memoryOption(
    'rest.server.max-content-length',
    104_857_600,
    'Largest request body the REST server reads (job uploads); larger ones get a 413 while they stream.',
    { min: 1 },
  ),
  AUTHENTICATION_TOKEN: stringOption(
    'rest.authentication.token',
    undefined,
    'Sluice only: a bearer token every REST request but GET /config must carry (Authorization: Bearer <token>).',
  ),
  AUTHENTICATION_TOKEN_FILE: stringOption(
    'rest.authentication.token-file',
    undefined,
    'Sluice only: a file holding rest.authentication.token (its first line), so the token stays off command lines and config files.',
  ),
  ALLOWED_PATHS: stringOption(
    'rest.allowed-paths',
    undefined,
    'Sluice only: comma-separated directories; restore paths and checkpoint directories of REST-submitted jobs must lie under one.',
  ),
  CLIENT_TIMEOUT: durationOption(
    'client.timeout',
    '60s',
    'Longest a submitted job module may take to build its job and call execute().',
    { min: 1 },
  ),
  SUBMIT_HEAP_SIZE: memoryOption(
    'web.submit.user-code.heap-size',
    '512mb',
    'Sluice only: memory limit of the process that evaluates a submitted job module and hosts its split enumerators.',
    { min: 16 * 1024 * 1024 },
  ),
} as const;
