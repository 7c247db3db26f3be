/** Handshake: mutual HMAC proof of the cluster secret, through the real frame codec, and every way to fail it. */
import { describe, expect, it } from 'vitest';
import { FrameDecoder, encodeFrame, type Frame } from './frame-codec.js';
import { ClientHandshake, PROTOCOL_VERSION, ServerHandshake, type HandshakeStep } from './handshake.js';

/** Encodes and decodes `frame`, as the wire would. */
function wire(frame: Frame): Frame {
  const decoder = new FrameDecoder();
  const out: Frame[] = [];
  for (const piece of encodeFrame(frame)) expect(decoder.push(piece, (f) => out.push(f))).toBeUndefined();
  expect(out).toHaveLength(1);
  return out[0]!;
}

function sent(step: HandshakeStep): Frame {
  if (step.kind === 'rejected') throw step.error;
  expect(step.send).toBeDefined();
  return wire(step.send!);
}

function expectRejected(step: HandshakeStep, message: RegExp): void {
  expect(step.kind).toBe('rejected');
  if (step.kind === 'rejected') {
    expect(step.error.code).toBe('SLUICE_NETWORK_HANDSHAKE_FAILED');
    expect(step.error.message).toMatch(message);
  }
}

describe('handshake', () => {
  it('authenticates both ways when both know the secret', () => {
    const client = new ClientHandshake('s3cret');
    const server = new ServerHandshake('s3cret');
    const challenge = sent(server.onFrame(wire(client.start())));
    expect(challenge).toMatchObject({ kind: 'challenge', version: PROTOCOL_VERSION });
    const response = sent(client.onFrame(challenge));
    const done = server.onFrame(response);
    expect(done.kind).toBe('authenticated');
    expect(client.onFrame(sent(done))).toEqual({ kind: 'authenticated', send: undefined });
  });

  it('a client with the wrong secret finds the server proof wrong and never sends its own', () => {
    const client = new ClientHandshake('wrong');
    const server = new ServerHandshake('s3cret');
    const challenge = sent(server.onFrame(wire(client.start())));
    expectRejected(client.onFrame(challenge), /server does not know the cluster secret/u);
  });

  it('a server rejects a client proof made with the wrong secret', () => {
    // A client that skips checking the server and answers anyway.
    const server = new ServerHandshake('s3cret');
    sent(server.onFrame(wire(new ClientHandshake('wrong').start())));
    const forged = new Uint8Array(32).fill(7);
    expectRejected(server.onFrame({ kind: 'response', proof: forged }), /client does not know/u);
    // Rejected for good: a second try on the same connection is not accepted either.
    expect(server.onFrame({ kind: 'response', proof: forged }).kind).toBe('rejected');
  });

  it('rejects a reflected server proof sent back as the client proof', () => {
    const server = new ServerHandshake('s3cret');
    const client = new ClientHandshake('wrong');
    const challenge = sent(server.onFrame(wire(client.start())));
    if (challenge.kind !== 'challenge') throw new Error('expected a challenge');
    expectRejected(server.onFrame({ kind: 'response', proof: challenge.proof }), /client does not know/u);
  });

  it('rejects a tampered challenge nonce (the proof covers both nonces)', () => {
    const client = new ClientHandshake('s3cret');
    const server = new ServerHandshake('s3cret');
    const challenge = sent(server.onFrame(wire(client.start())));
    if (challenge.kind !== 'challenge') throw new Error('expected a challenge');
    const nonce = Uint8Array.from(challenge.nonce);
    nonce[0]! ^= 1;
    expectRejected(client.onFrame({ ...challenge, nonce }), /server does not know/u);
  });

  it('rejects another protocol version on either side', () => {
    const server = new ServerHandshake('s3cret');
    expectRejected(
      server.onFrame({ kind: 'hello', version: PROTOCOL_VERSION + 1, nonce: new Uint8Array(32) }),
      /protocol version/u,
    );
    const client = new ClientHandshake('s3cret');
    client.start();
    expectRejected(
      client.onFrame({
        kind: 'challenge',
        version: PROTOCOL_VERSION + 1,
        nonce: new Uint8Array(32),
        proof: new Uint8Array(32),
      }),
      /protocol version/u,
    );
  });

  it('accepts nothing out of order: data before the handshake, or a skipped step', () => {
    expectRejected(
      new ServerHandshake('s').onFrame({
        kind: 'subscribe',
        channelId: 0,
        initialCredit: 2,
        channelKey: 'k',
      }),
      /expected HELLO.*SUBSCRIBE/u,
    );
    expectRejected(
      new ServerHandshake('s').onFrame({ kind: 'response', proof: new Uint8Array(32) }),
      /HELLO/u,
    );
    expectRejected(
      new ServerHandshake('s').onFrame({
        kind: 'hello',
        version: PROTOCOL_VERSION,
        nonce: new Uint8Array(8),
      }),
      /nonce/u,
    );
    const server = new ServerHandshake('s');
    const client = new ClientHandshake('s');
    sent(server.onFrame(wire(client.start())));
    expectRejected(server.onFrame({ kind: 'credit', channelId: 0, n: 1 }), /expected RESPONSE/u);
    const early = new ClientHandshake('s');
    early.start();
    expectRejected(early.onFrame({ kind: 'welcome' }), /expected CHALLENGE/u);
    expectRejected(new ClientHandshake('s').onFrame({ kind: 'welcome' }), /before the client said HELLO/u);
  });

  it('turns a CLOSE during the handshake into a rejection carrying the peer reason', () => {
    const client = new ClientHandshake('s');
    client.start();
    expectRejected(
      client.onFrame({ kind: 'close', channelId: 0xffffffff, reason: 'authentication failed' }),
      /closed the connection: authentication failed/u,
    );
  });

  it('refuses an empty secret', () => {
    expect(() => new ServerHandshake('')).toThrow(/security.cluster.secret/u);
    expect(() => new ClientHandshake('')).toThrow(/security.cluster.secret/u);
  });
});
