/** A throw-away PKI made with the `openssl` command: a CA, certificates it signs, and a rogue CA's client certificate. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** PEM files of one certificate and its key. */
export interface CertificateFiles {
  readonly key: string;
  readonly cert: string;
}

/** The files of a test PKI, and their contents. */
export interface TestPki {
  readonly dir: string;
  /** The CA everyone trusts (`*.truststore-path`). */
  readonly ca: string;
  /** For 127.0.0.1 and localhost, usable as server and as client (internal TLS uses one for both). */
  readonly server: CertificateFiles;
  /** A client certificate the CA signed. */
  readonly client: CertificateFiles;
  /** A client certificate of another CA, nobody trusts. */
  readonly rogue: CertificateFiles;
  read(path: string): Buffer;
  remove(): void;
}

function openssl(dir: string, args: readonly string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

const KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function selfSignedCa(dir: string, name: string): void {
  openssl(dir, [
    'req',
    '-x509',
    ...KEY,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.crt`,
    '-days',
    '2',
    '-subj',
    `/CN=${name}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
}

function signed(dir: string, name: string, ca: string, extensions: string): CertificateFiles {
  writeFileSync(join(dir, `${name}.ext`), extensions);
  openssl(dir, ['req', ...KEY, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${ca}.crt`,
    '-CAkey',
    `${ca}.key`,
    '-CAcreateserial',
    '-out',
    `${name}.crt`,
    '-days',
    '2',
    '-extfile',
    `${name}.ext`,
  ]);
  return { key: join(dir, `${name}.key`), cert: join(dir, `${name}.crt`) };
}

/** Creates a fresh PKI in a temporary directory (remove it when done). */
export function createTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-pki-'));
  selfSignedCa(dir, 'sluice-test-ca');
  selfSignedCa(dir, 'rogue-ca');
  const both = 'extendedKeyUsage=serverAuth,clientAuth\n';
  return {
    dir,
    ca: join(dir, 'sluice-test-ca.crt'),
    server: signed(dir, 'node', 'sluice-test-ca', `subjectAltName=DNS:localhost,IP:127.0.0.1\n${both}`),
    client: signed(dir, 'client', 'sluice-test-ca', 'extendedKeyUsage=clientAuth\n'),
    rogue: signed(dir, 'rogue-client', 'rogue-ca', 'extendedKeyUsage=clientAuth\n'),
    read: (path) => readFileSync(path),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
