/**
 * TLS for internal connections (`security.ssl.internal.*`): mutual, every peer's certificate
 * checked against the internal CA, under the cluster-secret handshake, which still runs inside.
 * Peers are told apart by the CA, not by host names (they reach each other by address).
 */
import { readFileSync } from 'node:fs';
import { connect as connectTcp, createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { connect as connectTls, createServer as createTlsServer } from 'node:tls';
import type { ConfigOption } from '../core/config-option.js';
import type { Configuration } from '../core/configuration.js';
import { SecurityOptions } from '../core/config-options.js';
import { SluiceError } from '../core/errors.js';
import type { Logger } from '../core/log.js';

/** PEM material of one process for internal TLS. */
export interface InternalTls {
  readonly key: Buffer;
  readonly cert: Buffer;
  /** The internal CA(s): a peer's certificate must be signed by one. */
  readonly ca: Buffer;
  readonly passphrase?: string | undefined;
}

/** Reads a file a configuration key names; a missing or unreadable one fails naming the key. */
export function readConfiguredFile(key: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new SluiceError(
      'SLUICE_CONFIG_INVALID_VALUE',
      `${key}: cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); expected a readable file`,
      { cause: e },
    );
  }
}

/** The file `option` names, which `enabledKey` being true requires; fails saying what to set. */
export function requiredFile(
  configuration: Configuration,
  option: ConfigOption<string | undefined>,
  enabledKey: string,
  what: string,
): Buffer {
  const path = configuration.get(option);
  if (path === undefined)
    throw new SluiceError(
      'SLUICE_CONFIG_INVALID_VALUE',
      `${enabledKey} is true but ${option.key} is not set; set it to ${what}`,
    );
  return readConfiguredFile(option.key, path);
}

/** `security.ssl.internal.*` read from their files; undefined when internal TLS is off. */
export function internalTlsFromConfiguration(configuration: Configuration): InternalTls | undefined {
  if (!configuration.get(SecurityOptions.SSL_INTERNAL_ENABLED)) return undefined;
  const enabled = SecurityOptions.SSL_INTERNAL_ENABLED.key;
  const passphrase = configuration.get(SecurityOptions.SSL_INTERNAL_KEY_PASSWORD);
  return {
    key: requiredFile(
      configuration,
      SecurityOptions.SSL_INTERNAL_KEY_PATH,
      enabled,
      "this process's PEM private key",
    ),
    cert: requiredFile(
      configuration,
      SecurityOptions.SSL_INTERNAL_CERT_PATH,
      enabled,
      "this process's PEM certificate (chain)",
    ),
    ca: requiredFile(
      configuration,
      SecurityOptions.SSL_INTERNAL_TRUSTSTORE_PATH,
      enabled,
      'the PEM certificate of the internal CA',
    ),
    ...(passphrase === undefined ? {} : { passphrase }),
  };
}

function material(tls: InternalTls) {
  return {
    key: tls.key,
    cert: tls.cert,
    ca: tls.ca,
    ...(tls.passphrase === undefined ? {} : { passphrase: tls.passphrase }),
    minVersion: 'TLSv1.2' as const,
  };
}

/**
 * A server handing `onSocket` each connection: plain TCP, or with `tls` a connection whose peer
 * presented a certificate of the internal CA (others fail their TLS handshake and are logged).
 */
export function createInternalServer(
  tls: InternalTls | undefined,
  log: Logger,
  onSocket: (socket: Socket) => void,
): Server {
  if (!tls) return createTcpServer(onSocket);
  const server = createTlsServer({ ...material(tls), requestCert: true, rejectUnauthorized: true }, onSocket);
  server.on('tlsClientError', (error, socket) =>
    log.warn(
      { err: error, remote: `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}` },
      'an internal connection failed its TLS handshake (security.ssl.internal.*)',
    ),
  );
  return server;
}

/** Connects to an internal server: plain TCP, or TLS presenting this process's certificate. */
export function connectInternal(
  address: { readonly host: string; readonly port: number },
  tls: InternalTls | undefined,
): Socket {
  if (!tls) return connectTcp({ host: address.host, port: address.port });
  return connectTls({
    host: address.host,
    port: address.port,
    ...material(tls),
    rejectUnauthorized: true,
    // Peers are known by the internal CA; addresses (127.0.0.1, pod IPs) are not in certificates.
    checkServerIdentity: () => undefined,
  });
}
