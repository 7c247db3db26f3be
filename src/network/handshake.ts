/** Mutual authentication of an internal connection: HMAC-SHA256 challenge/response over the cluster secret, both ways. */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { SluiceError } from '../core/errors.js';
import { HANDSHAKE_TOKEN_BYTES, type Frame } from './frame-codec.js';

/**
 * The wire protocol version both ends must speak. It is bound into both proofs, so a peer cannot
 * be talked into another version by rewriting HELLO or CHALLENGE.
 */
export const PROTOCOL_VERSION = 1;

/**
 * Distinct labels for the two proofs: each side MACs the same transcript under its own label, so
 * a proof a server hands out can never be replayed as a client proof (or the other way round).
 */
const SERVER_LABEL = 'sluice/server-proof';
const CLIENT_LABEL = 'sluice/client-proof';

/** What a handshake step asks the connection to do. */
export type HandshakeStep =
  /** Send `frame` and wait for the peer's next frame. */
  | { readonly kind: 'continue'; readonly send: Frame }
  /** The peer proved it knows the secret; send `send` if given, then data frames may flow. */
  | { readonly kind: 'authenticated'; readonly send: Frame | undefined }
  /** Close the connection (and log `error`); nothing from this peer reaches a task. */
  | { readonly kind: 'rejected'; readonly error: SluiceError };

/** The proof of `secret` by `label` over the version and both nonces. */
function proof(
  secret: string,
  label: string,
  version: number,
  clientNonce: Uint8Array,
  serverNonce: Uint8Array,
): Buffer {
  return createHmac('sha256', secret)
    .update(label)
    .update(Uint8Array.of(version >>> 8, version & 0xff))
    .update(clientNonce)
    .update(serverNonce)
    .digest();
}

/** Compares in constant time, so the time to reject does not leak how many bytes matched. */
function proofMatches(expected: Buffer, given: Uint8Array): boolean {
  return given.length === expected.length && timingSafeEqual(expected, given);
}

function rejected(message: string): HandshakeStep {
  return { kind: 'rejected', error: new SluiceError('SLUICE_NETWORK_HANDSHAKE_FAILED', message) };
}

function unexpected(frame: Frame, expected: string): HandshakeStep {
  if (frame.kind === 'close') return rejected(`the peer closed the connection: ${frame.reason}`);
  return rejected(`expected ${expected} during the handshake, got a ${frame.kind.toUpperCase()} frame`);
}

function checkSecret(secret: string): void {
  if (secret.length === 0) {
    throw new SluiceError(
      'SLUICE_CONFIG_INVALID_VALUE',
      'security.cluster.secret is empty; internal connections need a shared secret',
    );
  }
}

/**
 * The accepting side. Proves itself first (in CHALLENGE), then checks the client's proof; any
 * frame out of order rejects the connection.
 */
export class ServerHandshake {
  private state: 'await-hello' | 'await-response' | 'done' | 'failed' = 'await-hello';
  private clientNonce: Uint8Array = new Uint8Array(0);
  private readonly serverNonce: Uint8Array;

  constructor(
    private readonly secret: string,
    nonce: Uint8Array = randomBytes(HANDSHAKE_TOKEN_BYTES),
  ) {
    checkSecret(secret);
    this.serverNonce = nonce;
  }

  /** The next step after receiving `frame`; after a rejection every frame is rejected. */
  onFrame(frame: Frame): HandshakeStep {
    const step = this.step(frame);
    if (step.kind === 'rejected') this.state = 'failed';
    return step;
  }

  private step(frame: Frame): HandshakeStep {
    switch (this.state) {
      case 'await-hello': {
        if (frame.kind !== 'hello') return unexpected(frame, 'HELLO');
        if (frame.version !== PROTOCOL_VERSION) {
          return rejected(
            `the peer speaks protocol version ${frame.version}, this process ${PROTOCOL_VERSION}; run the same Sluice version everywhere`,
          );
        }
        if (frame.nonce.length !== HANDSHAKE_TOKEN_BYTES)
          return rejected('the HELLO nonce has the wrong length');
        // Copy: the nonce may be a view of a socket chunk.
        this.clientNonce = Uint8Array.from(frame.nonce);
        this.state = 'await-response';
        const serverProof = proof(
          this.secret,
          SERVER_LABEL,
          PROTOCOL_VERSION,
          this.clientNonce,
          this.serverNonce,
        );
        return {
          kind: 'continue',
          send: { kind: 'challenge', version: PROTOCOL_VERSION, nonce: this.serverNonce, proof: serverProof },
        };
      }
      case 'await-response': {
        if (frame.kind !== 'response') return unexpected(frame, 'RESPONSE');
        const expected = proof(
          this.secret,
          CLIENT_LABEL,
          PROTOCOL_VERSION,
          this.clientNonce,
          this.serverNonce,
        );
        if (!proofMatches(expected, frame.proof)) {
          return rejected('the client does not know the cluster secret (security.cluster.secret)');
        }
        this.state = 'done';
        return { kind: 'authenticated', send: { kind: 'welcome' } };
      }
      case 'done':
        return rejected('a handshake frame after the handshake completed');
      case 'failed':
        return rejected('the handshake already failed');
    }
  }
}

/**
 * The connecting side. Checks the server's proof before giving its own, so a process that does
 * not know the secret learns nothing it could use and never receives a subscription.
 */
export class ClientHandshake {
  private state: 'start' | 'await-challenge' | 'await-welcome' | 'done' | 'failed' = 'start';

  constructor(
    private readonly secret: string,
    private readonly clientNonce: Uint8Array = randomBytes(HANDSHAKE_TOKEN_BYTES),
  ) {
    checkSecret(secret);
  }

  /** The HELLO frame that opens the handshake. */
  start(): Frame {
    this.state = 'await-challenge';
    return { kind: 'hello', version: PROTOCOL_VERSION, nonce: this.clientNonce };
  }

  /** The next step after receiving `frame`; after a rejection every frame is rejected. */
  onFrame(frame: Frame): HandshakeStep {
    const step = this.step(frame);
    if (step.kind === 'rejected') this.state = 'failed';
    return step;
  }

  private step(frame: Frame): HandshakeStep {
    switch (this.state) {
      case 'start':
        return rejected('the server spoke before the client said HELLO');
      case 'await-challenge': {
        if (frame.kind !== 'challenge') return unexpected(frame, 'CHALLENGE');
        if (frame.version !== PROTOCOL_VERSION) {
          return rejected(
            `the server speaks protocol version ${frame.version}, this process ${PROTOCOL_VERSION}; run the same Sluice version everywhere`,
          );
        }
        const serverNonce = frame.nonce;
        const expected = proof(this.secret, SERVER_LABEL, PROTOCOL_VERSION, this.clientNonce, serverNonce);
        if (!proofMatches(expected, frame.proof)) {
          return rejected('the server does not know the cluster secret (security.cluster.secret)');
        }
        this.state = 'await-welcome';
        const clientProof = proof(this.secret, CLIENT_LABEL, PROTOCOL_VERSION, this.clientNonce, serverNonce);
        return { kind: 'continue', send: { kind: 'response', proof: clientProof } };
      }
      case 'await-welcome':
        if (frame.kind !== 'welcome') return unexpected(frame, 'WELCOME');
        this.state = 'done';
        return { kind: 'authenticated', send: undefined };
      case 'done':
        return rejected('a handshake frame after the handshake completed');
      case 'failed':
        return rejected('the handshake already failed');
    }
  }
}
