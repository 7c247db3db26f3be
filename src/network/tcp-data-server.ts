/** The producer side of the TCP data plane: serves registered subpartitions to authenticated subscribers. */
import type { Server, Socket } from 'node:net';
import type { Cancellable } from '../core/clock.js';
import { SluiceError, invariant } from '../core/errors.js';
import type { ChannelEvent } from '../runtime/channel-event.js';
import type { ChannelReceiver, ResultSubpartition } from '../runtime/result-partition.js';
import { FrameError, type Frame } from './frame-codec.js';
import { createInternalServer } from './internal-tls.js';
import {
  FrameConnection,
  channelFailed,
  resolveTransportOptions,
  type FrameConnectionHandler,
  type ResolvedTransportOptions,
  type TcpAddress,
  type TcpTransportOptions,
} from './frame-connection.js';

/** Settings of a TcpDataServer. */
export interface TcpDataServerOptions extends TcpTransportOptions {
  /** Interface to bind (default 127.0.0.1: internal ports stay local unless configured). */
  readonly host?: string;
  /** Port to bind (default 0: any free port; read it from `listen()`). */
  readonly port?: number;
  /**
   * How long a subscription for a channel key nobody registered yet waits (default 10 s): the
   * consumer may be deployed before its producer. After that the consumer gets a channel CLOSE.
   */
  readonly partitionRequestTimeoutMs?: number;
  /**
   * A subscribed channel lost its consumer before end of partition (the connection failed), so
   * the producer can fail over. Not called for channels closed by `unregister` or `close`.
   */
  readonly onChannelFailed?: (channelKey: string, error: SluiceError) => void;
}

/** One registered subpartition: waiting for its subscriber, served, or gone for good. */
interface Registration {
  readonly subpartition: ResultSubpartition;
  proxy: SubpartitionProxy | undefined;
  state: 'waiting' | 'subscribed' | 'gone';
}

/** A subscription that arrived before its subpartition was registered. */
interface ParkedSubscription {
  readonly channelKey: string;
  readonly connection: ServerConnection;
  readonly channelId: number;
  readonly initialCredit: number;
  readonly timer: Cancellable;
}

/**
 * What the subpartition sees as its consumer: writes what it is sent as frames, and passes on
 * the consumer's credit. While the socket is congested the credit is held back, so the
 * subpartition stops sending until the socket drains (on top of the credit bound itself).
 */
class SubpartitionProxy implements ChannelReceiver {
  heldCredit = 0;
  released = false;

  constructor(
    readonly connection: ServerConnection,
    readonly channelId: number,
    readonly channelKey: string,
    readonly subpartition: ResultSubpartition,
  ) {}

  onBuffer(buffer: Uint8Array, backlog: number): void {
    if (!this.released) this.connection.frames.sendBuffer(this.channelId, buffer, backlog);
  }

  onEvent(event: ChannelEvent): void {
    if (this.released) return;
    this.connection.frames.send({ kind: 'event', channelId: this.channelId, event });
    // Nothing follows end of partition: the channel is complete, its loss no longer a failure.
    if (event.kind === 'end-of-partition') this.connection.served.finished(this);
  }

  addCredit(n: number): void {
    if (this.released) return;
    if (this.connection.frames.congested) this.heldCredit += n;
    else this.subpartition.addCredit(n);
  }

  /** The socket drained: hand over the held credit. */
  releaseHeldCredit(): void {
    const n = this.heldCredit;
    this.heldCredit = 0;
    if (n > 0) this.addCredit(n);
  }
}

/** One accepted connection and the channels it subscribed to. */
class ServerConnection implements FrameConnectionHandler {
  readonly frames: FrameConnection;
  readonly channels = new Map<number, SubpartitionProxy>();

  constructor(
    readonly served: ServedChannels,
    socket: Socket,
    options: ResolvedTransportOptions,
  ) {
    this.frames = new FrameConnection(socket, 'server', options, this);
  }

  onAuthenticated(): void {}

  onFrame(frame: Frame): void {
    switch (frame.kind) {
      case 'subscribe':
        if (this.channels.has(frame.channelId) || this.served.parkedOf(this, frame.channelId)) {
          this.protocolError(`channel id ${frame.channelId} subscribed twice`);
          return;
        }
        this.served.subscribe(this, frame.channelId, frame.channelKey, frame.initialCredit);
        return;
      case 'credit':
        // Credit for a channel that just finished or was released is a harmless race.
        this.channels.get(frame.channelId)?.addCredit(frame.n);
        return;
      case 'close': {
        const proxy = this.channels.get(frame.channelId);
        if (proxy) this.served.release(proxy);
        const parked = this.served.parkedOf(this, frame.channelId);
        if (parked) this.served.unpark(parked);
        return;
      }
      default:
        this.protocolError(`a consumer sent a ${frame.kind.toUpperCase()} frame`);
    }
  }

  onDrain(): void {
    for (const proxy of this.channels.values()) {
      if (this.frames.congested) return;
      proxy.releaseHeldCredit();
    }
  }

  onClosed(cause: Error | undefined): void {
    this.served.connectionClosed(this, cause);
  }

  private protocolError(what: string): void {
    this.frames.close('protocol error', new FrameError('malformed', what));
  }
}

/**
 * The bookkeeping behind a TcpDataServer: registered subpartitions, parked subscriptions and
 * open connections, kept off the server's public face.
 */
class ServedChannels {
  readonly connections = new Set<ServerConnection>();
  private readonly registry = new Map<string, Registration>();
  private readonly parked = new Map<string, ParkedSubscription>();

  constructor(
    private readonly settings: TcpDataServerOptions,
    private readonly options: ResolvedTransportOptions,
  ) {}

  register(channelKey: string, subpartition: ResultSubpartition): void {
    invariant(!this.registry.has(channelKey), `channel key ${channelKey} is registered once`);
    const registration: Registration = { subpartition, proxy: undefined, state: 'waiting' };
    this.registry.set(channelKey, registration);
    const parked = this.parked.get(channelKey);
    if (parked) {
      this.unpark(parked);
      this.attach(registration, parked.connection, parked.channelId, channelKey, parked.initialCredit);
    }
  }

  unregister(channelKey: string, reason: string): void {
    const registration = this.registry.get(channelKey);
    if (!registration) return;
    this.registry.delete(channelKey);
    const proxy = registration.proxy;
    if (proxy && !proxy.released) {
      proxy.connection.frames.send({ kind: 'close', channelId: proxy.channelId, reason });
      this.release(proxy);
    }
  }

  closeAll(reason: string): void {
    for (const parked of [...this.parked.values()]) this.unpark(parked);
    for (const connection of this.connections) connection.frames.close(reason);
  }

  /** A consumer asks for `channelKey` under `channelId`. */
  subscribe(
    connection: ServerConnection,
    channelId: number,
    channelKey: string,
    initialCredit: number,
  ): void {
    const registration = this.registry.get(channelKey);
    if (registration) {
      if (registration.state === 'waiting') {
        this.attach(registration, connection, channelId, channelKey, initialCredit);
      } else {
        connection.frames.send({
          kind: 'close',
          channelId,
          reason: `channel ${channelKey} is already consumed`,
        });
      }
      return;
    }
    if (this.parked.has(channelKey)) {
      connection.frames.send({
        kind: 'close',
        channelId,
        reason: `channel ${channelKey} is already requested`,
      });
      return;
    }
    // The consumer may be deployed before its producer: wait a while, as Flink retries partition requests.
    const timeoutMs = this.settings.partitionRequestTimeoutMs ?? 10_000;
    const timer = this.options.clock.schedule(timeoutMs, () => {
      this.parked.delete(channelKey);
      connection.frames.send({
        kind: 'close',
        channelId,
        reason: `partition ${channelKey} not found: not registered within ${timeoutMs} ms`,
      });
    });
    this.parked.set(channelKey, { channelKey, connection, channelId, initialCredit, timer });
  }

  /** The pending subscription of `connection` under `channelId`, if any. */
  parkedOf(connection: ServerConnection, channelId: number): ParkedSubscription | undefined {
    for (const parked of this.parked.values()) {
      if (parked.connection === connection && parked.channelId === channelId) return parked;
    }
    return undefined;
  }

  unpark(parked: ParkedSubscription): void {
    parked.timer.cancel();
    this.parked.delete(parked.channelKey);
  }

  private attach(
    registration: Registration,
    connection: ServerConnection,
    channelId: number,
    channelKey: string,
    initialCredit: number,
  ): void {
    const proxy = new SubpartitionProxy(connection, channelId, channelKey, registration.subpartition);
    registration.proxy = proxy;
    registration.state = 'subscribed';
    connection.channels.set(channelId, proxy);
    // A congested socket gets its credit later, like any other credit.
    const now = connection.frames.congested ? 0 : initialCredit;
    proxy.heldCredit = initialCredit - now;
    registration.subpartition.connect(proxy, now);
  }

  /** The channel sent its end of partition: complete, and no longer registered. */
  finished(proxy: SubpartitionProxy): void {
    proxy.released = true;
    proxy.connection.channels.delete(proxy.channelId);
    if (this.registry.get(proxy.channelKey)?.proxy === proxy) this.registry.delete(proxy.channelKey);
  }

  /** The channel is no longer served; its subpartition cannot be connected again. */
  release(proxy: SubpartitionProxy): void {
    proxy.released = true;
    proxy.connection.channels.delete(proxy.channelId);
    const registration = this.registry.get(proxy.channelKey);
    if (registration?.proxy === proxy) registration.state = 'gone';
  }

  connectionClosed(connection: ServerConnection, cause: Error | undefined): void {
    this.connections.delete(connection);
    for (const parked of [...this.parked.values()]) if (parked.connection === connection) this.unpark(parked);
    for (const proxy of [...connection.channels.values()]) {
      this.release(proxy);
      if (cause === undefined || !this.settings.onChannelFailed) continue;
      const error = channelFailed(
        proxy.channelKey,
        connection.frames.remote,
        'the consumer connection was lost',
        cause,
      );
      try {
        this.settings.onChannelFailed(proxy.channelKey, error);
      } catch (e) {
        this.options.log.error({ err: e }, 'onChannelFailed threw');
      }
    }
  }
}

/**
 * Serves this process's result subpartitions to consumers in other processes. Consumers
 * subscribe by channel key (`${jobId}:${edgeIndex}:${producer}:${consumer}:${attempt}`); each
 * subpartition is served once (the attempt in the key makes a restarted task a new key). One
 * connection per consumer process carries all its channels from this server.
 */
export class TcpDataServer {
  private readonly options: ResolvedTransportOptions;
  private readonly server: Server;
  private readonly served: ServedChannels;
  private bound: TcpAddress | undefined;
  private closing = false;

  constructor(private readonly settings: TcpDataServerOptions) {
    this.options = resolveTransportOptions(settings);
    this.served = new ServedChannels(settings, this.options);
    this.server = createInternalServer(this.options.tls, this.options.log, (socket) => this.accept(socket));
    this.server.on('error', (error) => this.options.log.error({ err: error }, 'data server error'));
  }

  /** Starts listening; resolves to the bound address (the real port when 0 was asked for). */
  listen(): Promise<TcpAddress> {
    const host = this.settings.host ?? '127.0.0.1';
    const port = this.settings.port ?? 0;
    return new Promise((resolve, reject) => {
      const onError = (error: Error): void =>
        reject(
          new SluiceError(
            'SLUICE_CONFIG_INVALID_VALUE',
            `the data server cannot listen on ${host}:${port} (${error.message}); choose another port, or 0 for any free one`,
            { cause: error },
          ),
        );
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        const address = this.server.address();
        invariant(address !== null && typeof address === 'object', 'a TCP server has an address');
        this.bound = { host, port: address.port };
        resolve(this.bound);
      });
    });
  }

  /** The address it listens on. */
  get address(): TcpAddress {
    invariant(this.bound !== undefined, 'the data server is listening');
    return this.bound;
  }

  /** Open connections, authenticated or not. */
  get connectionCount(): number {
    return this.served.connections.size;
  }

  /** Makes `subpartition` available under `channelKey` (a pending subscription for it connects now). */
  register(channelKey: string, subpartition: ResultSubpartition): void {
    this.served.register(channelKey, subpartition);
  }

  /**
   * Withdraws `channelKey` (its producer finished, failed or was cancelled). A consumer still
   * subscribed gets a channel CLOSE with `reason`, which fails its channel.
   */
  unregister(channelKey: string, reason = 'the producer released its partition'): void {
    this.served.unregister(channelKey, reason);
  }

  /** Stops listening and closes every connection; consumers see their channels fail. */
  close(): Promise<void> {
    this.closing = true;
    this.served.closeAll('the data server is shutting down');
    return new Promise((resolve) => {
      if (!this.server.listening) resolve();
      else this.server.close(() => resolve());
    });
  }

  private accept(socket: Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    this.served.connections.add(new ServerConnection(this.served, socket, this.options));
  }
}
