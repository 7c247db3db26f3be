/** One TCP connection speaking frames: handshake before anything else, then data frames with write backpressure. */
import type { Socket } from 'node:net';
import { SystemClock, type Cancellable, type Clock } from '../core/clock.js';
import { SluiceError } from '../core/errors.js';
import { logger, type Logger } from '../core/log.js';
import {
  CONNECTION_CHANNEL_ID,
  DEFAULT_MAX_FRAME_SIZE,
  FrameDecoder,
  FrameError,
  MIN_MAX_FRAME_SIZE,
  encodeBufferFrames,
  encodeFrame,
  type Frame,
} from './frame-codec.js';
import { ClientHandshake, ServerHandshake, type HandshakeStep } from './handshake.js';
import type { InternalTls } from './internal-tls.js';
import { rejectedConnections, type RejectionLog } from './rejection-log.js';

/** Where a data server listens. */
export interface TcpAddress {
  readonly host: string;
  readonly port: number;
}

/** Settings both ends of the TCP data plane share. */
export interface TcpTransportOptions {
  /** `security.cluster.secret`: both ends prove they know it before any data frame. */
  readonly secret: string;
  /**
   * Largest frame accepted, header included (default 1 MiB). Buffers larger than a frame are
   * sent in fragments; every process of a cluster must use the same value.
   */
  readonly maxFrameSize?: number;
  /** A connection that has not authenticated after this long is closed (default 10 s). */
  readonly handshakeTimeoutMs?: number;
  /** Time source for the timeouts (tests pass a ManualClock). */
  readonly clock?: Clock;
  /** Where connection problems are logged (default: the `network` component logger). */
  readonly log?: Logger;
  /** `security.ssl.internal.*`: mutual TLS under the handshake; absent: plain TCP. */
  readonly tls?: InternalTls | undefined;
  /** Where rejected connections are reported (default: the process's rate-limited one). */
  readonly rejections?: RejectionLog;
}

/** The options with defaults filled in. */
export interface ResolvedTransportOptions {
  readonly secret: string;
  readonly maxFrameSize: number;
  readonly handshakeTimeoutMs: number;
  readonly clock: Clock;
  readonly log: Logger;
  readonly tls: InternalTls | undefined;
  readonly rejections: RejectionLog;
}

/** Fills in defaults and checks the frame size. */
export function resolveTransportOptions(options: TcpTransportOptions): ResolvedTransportOptions {
  const maxFrameSize = options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE;
  if (!Number.isSafeInteger(maxFrameSize) || maxFrameSize < MIN_MAX_FRAME_SIZE) {
    throw new SluiceError(
      'SLUICE_CONFIG_INVALID_VALUE',
      `the maximum network frame size must be a whole number of at least ${MIN_MAX_FRAME_SIZE} bytes, got ${maxFrameSize}`,
    );
  }
  return {
    secret: options.secret,
    maxFrameSize,
    handshakeTimeoutMs: options.handshakeTimeoutMs ?? 10_000,
    clock: options.clock ?? SystemClock,
    log: options.log ?? logger('network'),
    tls: options.tls,
    rejections: options.rejections ?? rejectedConnections,
  };
}

/** The error a channel fails with (`SLUICE_NETWORK_CHANNEL_FAILED`), naming the channel and the peer. */
export function channelFailed(
  channelKey: string,
  remote: string,
  what: string,
  cause?: unknown,
): SluiceError {
  return new SluiceError(
    'SLUICE_NETWORK_CHANNEL_FAILED',
    `data channel ${channelKey} (peer ${remote}) failed: ${what}`,
    cause === undefined ? undefined : { cause },
  );
}

/** What a FrameConnection reports to its owner (the data server or client). */
export interface FrameConnectionHandler {
  /** The handshake succeeded: data frames may be sent and will be received. */
  onAuthenticated(): void;
  /** A data frame from the authenticated peer (never a handshake frame or a connection CLOSE). */
  onFrame(frame: Frame): void;
  /** The socket drained after a write returned false. */
  onDrain(): void;
  /**
   * Called once, when the socket is gone. `cause` is why; undefined when this side closed it on
   * purpose (a shutdown), which is no failure.
   */
  onClosed(cause: Error | undefined): void;
}

/** Before authentication only small handshake frames are legal; a peer cannot make us buffer more. */
const HANDSHAKE_MAX_FRAME_SIZE = MIN_MAX_FRAME_SIZE;
/** How long a closing connection may take to flush its last frames before it is cut. */
const CLOSE_LINGER_MS = 2_000;

/**
 * A socket plus the frame codec and the handshake. No frame reaches the handler before the peer
 * authenticated; a bad frame, a failed handshake or an exception in the handler closes the
 * connection with the reason logged. Every socket event has a listener, so nothing escapes.
 */
export class FrameConnection {
  /** `host:port` of the peer, for logs and errors. */
  readonly remote: string;
  /** True once the peer proved it knows the secret. */
  authenticated = false;
  /** True after a write returned false, until the socket drains. */
  congested = false;
  private closing = false;
  private closed = false;
  private cause: Error | undefined;
  private readonly decoder = new FrameDecoder(HANDSHAKE_MAX_FRAME_SIZE);
  private readonly handshake: ServerHandshake | ClientHandshake;
  private handshakeTimer: Cancellable | undefined;
  private lingerTimer: Cancellable | undefined;
  private closeListeners: (() => void)[] = [];

  constructor(
    private readonly socket: Socket,
    private readonly role: 'client' | 'server',
    private readonly options: ResolvedTransportOptions,
    private readonly handler: FrameConnectionHandler,
    remote?: string,
  ) {
    this.remote = remote ?? `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    // Small frames (credits, events) must not wait for Nagle's algorithm.
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.onEnd());
    socket.on('error', (error) => {
      // After a deliberate close, a reset from the peer is no failure.
      if (!this.closing) this.cause ??= error;
    });
    socket.on('drain', () => this.onDrain());
    socket.on('close', () => this.onSocketClosed());
    this.handshakeTimer = options.clock.schedule(options.handshakeTimeoutMs, () =>
      this.close(
        'handshake timed out',
        new SluiceError(
          'SLUICE_NETWORK_HANDSHAKE_FAILED',
          `no authenticated handshake with ${this.remote} within ${options.handshakeTimeoutMs} ms`,
        ),
      ),
    );
    if (role === 'client') {
      const handshake = new ClientHandshake(options.secret);
      this.handshake = handshake;
      this.write(encodeFrame(handshake.start()));
    } else {
      this.handshake = new ServerHandshake(options.secret);
    }
  }

  /** Whether the connection can still send. */
  get open(): boolean {
    return !this.closing && !this.closed;
  }

  /** Sends a frame after authentication (frames sent while closing are dropped). */
  send(frame: Frame): void {
    if (this.authenticated) this.write(encodeFrame(frame));
  }

  /** Sends a buffer, in fragments if it is larger than a frame; its bytes are not copied. */
  sendBuffer(channelId: number, bytes: Uint8Array, backlog: number): void {
    if (this.authenticated)
      this.write(encodeBufferFrames(channelId, bytes, this.options.maxFrameSize, backlog));
  }

  /**
   * Closes the connection: tells the peer why (a CLOSE frame), then ends the socket once written.
   * With an `error` the close is a failure the owner reports; without, a deliberate shutdown.
   */
  close(reason: string, error?: Error): void {
    if (!this.open) return;
    if (error !== undefined) {
      this.cause ??= error;
      // Before the handshake the peer is a stranger: one line, rate-limited, no stack.
      if (this.authenticated)
        this.options.log.warn({ remote: this.remote, err: error }, `closing connection: ${error.message}`);
      else if (this.role === 'server')
        this.options.rejections.report(this.options.log, this.remote, `${reason} (${error.message})`);
      else
        this.options.log.warn(
          { remote: this.remote, reason: error.message },
          `no connection to ${this.remote}: ${reason} (${error.message})`,
        );
    }
    this.write(encodeFrame({ kind: 'close', channelId: CONNECTION_CHANNEL_ID, reason }));
    this.endSocket();
  }

  /** Calls `listener` once the socket is closed (at once if it is). */
  onceClosed(listener: () => void): void {
    if (this.closed) listener();
    else this.closeListeners.push(listener);
  }

  /** Ends the socket once the queued frames are written. */
  private endSocket(): void {
    this.closing = true;
    this.handshakeTimer?.cancel();
    this.socket.destroySoon();
    // destroySoon waits for the write queue to flush, which a peer that stopped reading never lets happen.
    this.lingerTimer = this.options.clock.schedule(CLOSE_LINGER_MS, () => this.socket.destroy());
  }

  private write(pieces: Uint8Array[]): void {
    if (!this.open || this.socket.destroyed) return;
    // Corked, the pieces of a frame (header and buffer) leave in one writev.
    this.socket.cork();
    let ok = true;
    for (const piece of pieces) ok = this.socket.write(piece);
    this.socket.uncork();
    if (!ok) this.congested = true;
  }

  private onData(chunk: Buffer): void {
    if (!this.open) return;
    // A plain Uint8Array view (no copy): buffers handed to tasks must not be Buffers, whose
    // slice() is a view where every other Uint8Array copies.
    const bytes = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const error = this.decoder.push(bytes, (frame) => this.onFrame(frame));
    if (error) this.close(`bad frame: ${error.message}`, error);
  }

  private onFrame(frame: Frame): void {
    if (!this.open) return;
    if (!this.authenticated) {
      this.onHandshakeStep(this.handshake.onFrame(frame));
      return;
    }
    if (frame.kind === 'close' && frame.channelId === CONNECTION_CHANNEL_ID) {
      this.cause ??= new SluiceError(
        'SLUICE_NETWORK_CHANNEL_FAILED',
        `${this.remote} closed the connection: ${frame.reason}`,
      );
      this.endSocket();
      return;
    }
    if (
      frame.kind === 'hello' ||
      frame.kind === 'challenge' ||
      frame.kind === 'response' ||
      frame.kind === 'welcome'
    ) {
      this.close('protocol error', new FrameError('malformed', `a ${frame.kind} frame after the handshake`));
      return;
    }
    this.guard(() => this.handler.onFrame(frame));
  }

  private onHandshakeStep(step: HandshakeStep): void {
    switch (step.kind) {
      case 'continue':
        this.write(encodeFrame(step.send));
        return;
      case 'rejected':
        // The peer learns only that it failed; the log gets the reason.
        this.close('authentication failed', step.error);
        return;
      case 'authenticated':
        if (step.send) this.write(encodeFrame(step.send));
        this.authenticated = true;
        this.decoder.maxFrameSize = this.options.maxFrameSize;
        this.handshakeTimer?.cancel();
        this.handshakeTimer = undefined;
        this.guard(() => this.handler.onAuthenticated());
    }
  }

  private onEnd(): void {
    const error = this.decoder.end();
    if (error && !this.closing) this.cause ??= error;
    if (!this.closing) {
      this.cause ??= new SluiceError('SLUICE_NETWORK_CHANNEL_FAILED', `${this.remote} closed the connection`);
      // A peer that closes on purpose sends a CLOSE frame first: this one is gone (killed, say).
      // Closed now rather than at the socket's 'close' event, a turn later, so that nothing
      // handled in between (another connection's message that triggers a failover) takes it
      // for alive and schedules onto it.
      this.socket.destroy();
      this.onSocketClosed();
    }
  }

  private onDrain(): void {
    if (!this.congested) return;
    this.congested = false;
    if (this.open) this.guard(() => this.handler.onDrain());
  }

  private onSocketClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.handshakeTimer?.cancel();
    this.lingerTimer?.cancel();
    if (this.cause && !this.authenticated && !this.closing) {
      // Debug: port scanners and health checks connect and leave all day.
      this.options.log.debug(
        { remote: this.remote, reason: this.cause.message },
        'connection lost before the handshake',
      );
    }
    const cause = this.cause;
    this.guard(() => this.handler.onClosed(cause), true);
    for (const listener of this.closeListeners) this.guard(listener, true);
    this.closeListeners = [];
  }

  /** Runs owner code; a throw there is a bug, logged and turned into a closed connection, never a crash. */
  private guard(fn: () => void, afterClose = false): void {
    try {
      fn();
    } catch (e) {
      this.options.log.error({ remote: this.remote, err: e }, 'internal error handling a network frame');
      if (!afterClose) {
        this.close(
          'internal error',
          new SluiceError('SLUICE_INTERNAL_ASSERTION', 'invariant violated: handling a frame threw', {
            cause: e,
          }),
        );
      }
    }
  }
}
