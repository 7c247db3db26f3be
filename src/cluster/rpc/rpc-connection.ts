/** A bidirectional control-plane message channel over one authenticated TCP connection: tell, ask and reply, close. */
import type { Socket } from 'node:net';
import type { Cancellable } from '../../core/clock.js';
import { SluiceError } from '../../core/errors.js';
import { logger } from '../../core/log.js';
import { FrameError, MESSAGE_FRAME_OVERHEAD, type Frame } from '../../network/frame-codec.js';
import {
  FrameConnection,
  resolveTransportOptions,
  type FrameConnectionHandler,
  type ResolvedTransportOptions,
  type TcpTransportOptions,
} from '../../network/frame-connection.js';
import { decodeEnvelope, encodeEnvelope, type RpcEnvelope } from './rpc-envelope.js';
import { fromRpcError, toRpcError } from './rpc-error.js';
import {
  RpcProtocolError,
  type RpcEndpoint,
  type RpcMessage,
  type ToJobManagerMessage,
  type ToTaskManagerMessage,
} from './rpc-messages.js';

/** Settings shared by both ends of a control connection. */
export interface RpcTransportOptions extends TcpTransportOptions {
  /**
   * Largest message accepted, reassembled from its frames (default 64 MiB: room for a job
   * bundle). Messages larger than a frame travel in fragments; both ends must agree.
   */
  readonly maxMessageSize?: number;
}

/** The options with defaults filled in. */
export interface ResolvedRpcOptions extends ResolvedTransportOptions {
  readonly maxMessageSize: number;
}

/** Fills in defaults; control connections log as the `rpc` component. */
export function resolveRpcOptions(options: RpcTransportOptions): ResolvedRpcOptions {
  const transport = resolveTransportOptions({ ...options, log: options.log ?? logger('rpc') });
  return { ...transport, maxMessageSize: options.maxMessageSize ?? 64 * 1024 * 1024 };
}

/** Why a connection is closed. */
export type RpcCloseReason =
  /** This side closed it, with this reason. */
  | { readonly kind: 'closed'; readonly reason: string }
  /** The peer went away, the network failed, or the peer broke the protocol. */
  | { readonly kind: 'lost'; readonly error: SluiceError };

/** Answers one ask; the first answer counts, later ones are ignored. */
export interface RpcResponder<Out extends RpcMessage> {
  reply(answer: Out): void;
  /** Answers with an error: the asker's promise rejects with SLUICE_RPC_REMOTE_FAILED caused by it. */
  fail(error: unknown): void;
}

/** Receives each message; `responder` is there when the peer asked and waits for an answer. */
export type RpcMessageHandler<In extends RpcMessage, Out extends RpcMessage> = (
  message: In,
  responder: RpcResponder<Out> | undefined,
) => void;

/** What the server or connectRpc learns about a connection it created. */
export interface RpcConnectionEvents<In extends RpcMessage, Out extends RpcMessage> {
  onAuthenticated(connection: RpcConnection<In, Out>): void;
  onClosed(connection: RpcConnection<In, Out>, reason: RpcCloseReason, wasAuthenticated: boolean): void;
}

interface PendingAsk<In> {
  readonly kind: string;
  readonly resolve: (message: In) => void;
  readonly reject: (error: SluiceError) => void;
  readonly timer: Cancellable;
}

/** The error a connection closes with, as the owner sees it: data-plane wording becomes RPC wording. */
function lostError(remote: string, cause: Error): SluiceError {
  if (cause instanceof SluiceError && cause.code !== 'SLUICE_NETWORK_CHANNEL_FAILED') return cause;
  return new SluiceError(
    'SLUICE_RPC_CONNECTION_LOST',
    `the control connection to ${remote} was lost: ${cause.message}`,
    { cause },
  );
}

/**
 * One control connection, for either side: `In` is what it receives, `Out` what it sends. Only
 * authenticated connections are handed out. Every incoming message is decoded and checked
 * before any handler sees it; a malformed one closes the connection (logged), and pending asks
 * fail. Handler exceptions are logged and never close the connection.
 */
export class RpcConnection<In extends RpcMessage, Out extends RpcMessage> {
  /** `host:port` of the peer, for logs and errors. */
  readonly remote: string;
  private readonly frames: FrameConnection;
  private readonly messageHandlers: RpcMessageHandler<In, Out>[] = [];
  private readonly closeHandlers: ((reason: RpcCloseReason) => void)[] = [];
  /** Messages that arrived before any handler was registered, delivered in order once one is. */
  private unhandled: { message: In; responder: RpcResponder<Out> | undefined }[] = [];
  private flushScheduled = false;
  private readonly pending = new Map<number, PendingAsk<In>>();
  private drainWaiters: (() => void)[] = [];
  private fragments: Uint8Array[] = [];
  private fragmentBytes = 0;
  private nextAskId = 0;
  private localReason: string | undefined;
  private reason: RpcCloseReason | undefined;
  private readonly closed: Promise<void>;
  private resolveClosed!: () => void;

  /** Created by RpcServer and connectRpc, not by users. */
  constructor(
    socket: Socket,
    role: 'client' | 'server',
    private readonly receives: RpcEndpoint,
    private readonly options: ResolvedRpcOptions,
    private readonly events: RpcConnectionEvents<In, Out>,
    remote?: string,
  ) {
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    const handler: FrameConnectionHandler = {
      onAuthenticated: () => this.events.onAuthenticated(this),
      onFrame: (frame) => this.onFrame(frame),
      onDrain: () => this.wakeDrainWaiters(),
      onClosed: (cause) => this.onClosed(cause),
    };
    this.frames = new FrameConnection(socket, role, options, handler, remote);
    this.remote = this.frames.remote;
  }

  /** Whether messages can still be sent. */
  get open(): boolean {
    return this.frames.open;
  }

  /** True while the socket's write buffer is full (the peer reads slower than we write). */
  get congested(): boolean {
    return this.frames.congested;
  }

  /** Why the connection closed; undefined while it is open. */
  get closeReason(): RpcCloseReason | undefined {
    return this.reason;
  }

  /**
   * Sends `message` without expecting an answer. Returns false when the socket's buffer is full
   * (the message is still sent: wait for `writable()` before sending more) or the connection is
   * closed (the message is dropped; `onClose` handlers hear why).
   */
  send(message: Out): boolean {
    return this.write({ kind: 'tell', message });
  }

  /** Resolves once the socket can take more (at once if it can), or the connection closed. */
  writable(): Promise<void> {
    if (!this.frames.congested || !this.open) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /**
   * Sends `message` and resolves with the peer's answer. Rejects with SLUICE_RPC_TIMEOUT after
   * `timeoutMs`, SLUICE_RPC_CONNECTION_LOST (or the protocol error) if the connection closes
   * first, SLUICE_RPC_REMOTE_FAILED if the peer answered with an error.
   */
  ask(message: Out, timeoutMs: number): Promise<In> {
    if (!this.open) return Promise.reject(this.closedError(message.kind));
    const id = this.nextAskId++;
    return new Promise<In>((resolve, reject) => {
      const timer = this.options.clock.schedule(timeoutMs, () => {
        this.pending.delete(id);
        reject(
          new SluiceError(
            'SLUICE_RPC_TIMEOUT',
            `${this.remote} did not answer ${message.kind} within ${timeoutMs} ms`,
          ),
        );
      });
      this.pending.set(id, { kind: message.kind, resolve, reject, timer });
      try {
        this.write({ kind: 'ask', id, message });
      } catch (e) {
        timer.cancel();
        this.pending.delete(id);
        throw e;
      }
    });
  }

  /**
   * Adds a handler for incoming messages; returns a function that removes it. Messages that
   * arrived before the first handler (a peer may speak as soon as the handshake ends) are kept
   * and delivered, in order, right after the current synchronous turn, to every handler
   * registered by then: register all of a connection's handlers together.
   */
  onMessage(handler: RpcMessageHandler<In, Out>): () => void {
    this.messageHandlers.push(handler);
    if (this.unhandled.length > 0 && !this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(() => this.flushUnhandled());
    }
    return () => {
      const i = this.messageHandlers.indexOf(handler);
      if (i >= 0) this.messageHandlers.splice(i, 1);
    };
  }

  /** Adds a handler for the close, called once (at once if already closed); returns its remover. */
  onClose(handler: (reason: RpcCloseReason) => void): () => void {
    const reason = this.reason;
    if (reason) {
      this.guard(() => handler(reason));
      return () => {};
    }
    this.closeHandlers.push(handler);
    return () => {
      const i = this.closeHandlers.indexOf(handler);
      if (i >= 0) this.closeHandlers.splice(i, 1);
    };
  }

  /** Closes the connection, telling the peer `reason`; resolves once the socket is closed. */
  close(reason: string): Promise<void> {
    if (this.open) {
      this.localReason = reason;
      this.frames.close(reason);
    }
    return this.closed;
  }

  private write(envelope: RpcEnvelope<Out>): boolean {
    if (!this.open) return false;
    const body = encodeEnvelope(envelope);
    if (body.length > this.options.maxMessageSize) {
      const kind = envelope.kind === 'reply-error' ? 'reply-error' : envelope.message.kind;
      throw new SluiceError(
        'SLUICE_SERIALIZATION_FAILED',
        `a ${kind} message of ${body.length} bytes exceeds the control-plane maximum of ${this.options.maxMessageSize} bytes`,
      );
    }
    const room = this.options.maxFrameSize - MESSAGE_FRAME_OVERHEAD;
    for (let pos = 0; pos === 0 || pos < body.length; pos += room) {
      const end = Math.min(body.length, pos + room);
      this.frames.send({ kind: 'message', more: end < body.length, body: body.subarray(pos, end) });
    }
    return !this.frames.congested;
  }

  private onFrame(frame: Frame): void {
    if (frame.kind !== 'message') {
      this.protocolError(
        new FrameError('malformed', `a ${frame.kind.toUpperCase()} frame on a control connection`),
      );
      return;
    }
    this.fragmentBytes += frame.body.length;
    if (this.fragmentBytes > this.options.maxMessageSize) {
      this.protocolError(
        new RpcProtocolError('envelope', `a message of more than ${this.options.maxMessageSize} bytes`),
      );
      return;
    }
    this.fragments.push(frame.body);
    if (frame.more) return;
    const body = this.fragments.length === 1 ? this.fragments[0]! : Buffer.concat(this.fragments);
    this.fragments = [];
    this.fragmentBytes = 0;
    const envelope = decodeEnvelope(body, this.receives);
    if (envelope instanceof RpcProtocolError) {
      this.protocolError(envelope);
      return;
    }
    // The peer's messages are `In` by construction: `receives` is the endpoint this side is.
    const checked = envelope as RpcEnvelope<In>;
    switch (checked.kind) {
      case 'tell':
        this.deliver(checked.message, undefined);
        return;
      case 'ask':
        this.deliver(checked.message, this.responder(checked.id));
        return;
      case 'reply':
      case 'reply-error':
        this.settle(checked);
        return;
    }
  }

  private settle(envelope: Extract<RpcEnvelope<In>, { kind: 'reply' | 'reply-error' }>): void {
    const ask = this.pending.get(envelope.id);
    if (!ask) {
      // Late (its ask timed out) or a peer's bug; neither harms anyone here.
      this.options.log.debug({ remote: this.remote, id: envelope.id }, 'a reply to no pending ask');
      return;
    }
    this.pending.delete(envelope.id);
    ask.timer.cancel();
    if (envelope.kind === 'reply') {
      ask.resolve(envelope.message);
      return;
    }
    const cause = fromRpcError(envelope.error);
    ask.reject(
      new SluiceError(
        'SLUICE_RPC_REMOTE_FAILED',
        `${this.remote} failed to answer ${ask.kind}: ${envelope.error.message}`,
        { cause },
      ),
    );
  }

  private responder(id: number): RpcResponder<Out> {
    let answered = false;
    const answer = (envelope: RpcEnvelope<Out>): void => {
      if (answered) return;
      answered = true;
      try {
        this.write(envelope);
      } catch (e) {
        // An answer that cannot be sent (too large, say) still answers: the asker must not wait.
        this.options.log.error({ remote: this.remote, err: e }, 'cannot send the answer to an ask');
        this.write({ kind: 'reply-error', id, error: toRpcError(e) });
      }
    };
    return {
      reply: (message) => answer({ kind: 'reply', id, message }),
      fail: (error) => answer({ kind: 'reply-error', id, error: toRpcError(error) }),
    };
  }

  private flushUnhandled(): void {
    this.flushScheduled = false;
    const queued = this.unhandled;
    this.unhandled = [];
    for (const { message, responder } of queued) this.deliver(message, responder);
  }

  private deliver(message: In, responder: RpcResponder<Out> | undefined): void {
    // Behind queued messages, a message waits too: order is kept.
    if (this.messageHandlers.length === 0 || this.unhandled.length > 0) {
      this.unhandled.push({ message, responder });
      return;
    }
    for (const handler of [...this.messageHandlers]) {
      try {
        handler(message, responder);
      } catch (e) {
        this.options.log.error(
          { remote: this.remote, err: e, kind: message.kind },
          'a control message handler threw',
        );
        responder?.fail(e);
      }
    }
  }

  private protocolError(error: SluiceError): void {
    this.fragments = [];
    // FrameConnection logs the error with the peer's address and closes.
    this.frames.close('protocol error', error);
  }

  private closedError(kind: string): SluiceError {
    if (this.reason?.kind === 'lost') return this.reason.error;
    return new SluiceError(
      'SLUICE_RPC_CONNECTION_LOST',
      `cannot send ${kind} to ${this.remote}: the connection is closed (${this.reason?.reason ?? 'closing'})`,
    );
  }

  private wakeDrainWaiters(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const wake of waiters) wake();
  }

  private onClosed(cause: Error | undefined): void {
    const reason: RpcCloseReason =
      cause === undefined
        ? { kind: 'closed', reason: this.localReason ?? 'closed' }
        : { kind: 'lost', error: lostError(this.remote, cause) };
    this.reason = reason;
    this.fragments = [];
    this.unhandled = [];
    for (const [id, ask] of this.pending) {
      this.pending.delete(id);
      ask.timer.cancel();
      ask.reject(this.closedError(ask.kind));
    }
    this.wakeDrainWaiters();
    this.guard(() => this.events.onClosed(this, reason, this.frames.authenticated));
    const handlers = this.closeHandlers.splice(0);
    for (const handler of handlers) this.guard(() => handler(reason));
    this.resolveClosed();
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.options.log.error({ remote: this.remote, err: e }, 'a control connection close handler threw');
    }
  }
}

/** The JobManager's end of the connection to one TaskManager. */
export type TaskManagerConnection = RpcConnection<ToJobManagerMessage, ToTaskManagerMessage>;

/** A TaskManager's end of its connection to the JobManager. */
export type JobManagerConnection = RpcConnection<ToTaskManagerMessage, ToJobManagerMessage>;
