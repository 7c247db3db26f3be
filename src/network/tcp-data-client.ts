/** The consumer side of the TCP data plane: subscribes input channels to subpartitions in other processes. */
import type { CreditSink, InputChannel } from '../runtime/input-gate.js';
import { invariant, type SluiceError } from '../core/errors.js';
import { FrameError, MAX_CHANNEL_KEY_BYTES, type Frame } from './frame-codec.js';
import { connectInternal } from './internal-tls.js';
import {
  FrameConnection,
  channelFailed,
  resolveTransportOptions,
  type FrameConnectionHandler,
  type ResolvedTransportOptions,
  type TcpAddress,
  type TcpTransportOptions,
} from './frame-connection.js';

/** Settings of a TcpDataClient. */
export interface TcpDataClientOptions extends TcpTransportOptions {
  /**
   * A remote channel failed before its end of partition: the connection was lost or refused,
   * the handshake failed, the producer released the partition or never registered it. The
   * TaskManager fails the consuming task over. Not called after `release` or `close`.
   */
  readonly onChannelFailed: (channelKey: string, error: SluiceError) => void;
  /**
   * Largest buffer reassembled from fragments (default 256 MiB): a record this large arrives
   * whole, a larger one fails its channel instead of exhausting memory.
   */
  readonly maxBufferSize?: number;
}

/** A subscribed remote channel, as the consumer's task holds it. */
export interface RemoteChannel {
  readonly channelKey: string;
  /** Stops receiving (the consuming task ended or was cancelled); the channel is not reported failed. */
  release(): void;
}

/** One input channel fed from a remote subpartition; returns the channel's credit as CREDIT frames. */
class RemoteInputChannel implements CreditSink, RemoteChannel {
  /** Credit to send with SUBSCRIBE, while the connection is still authenticating. */
  unsentCredit: number;
  subscribed = false;
  done = false;
  /** Fragments of a buffer larger than a frame, until its last fragment. */
  fragments: Uint8Array[] = [];
  fragmentBytes = 0;

  constructor(
    private readonly connection: ClientConnection,
    readonly channelId: number,
    readonly channelKey: string,
    readonly channel: InputChannel,
    credits: number,
  ) {
    this.unsentCredit = credits;
  }

  addCredit(n: number): void {
    if (this.done) return;
    if (this.subscribed) this.connection.frames.send({ kind: 'credit', channelId: this.channelId, n });
    else this.unsentCredit += n;
  }

  release(): void {
    if (this.done) return;
    this.done = true;
    this.connection.channels.delete(this.channelId);
    if (this.subscribed) {
      this.connection.frames.send({
        kind: 'close',
        channelId: this.channelId,
        reason: 'released by the consumer',
      });
    }
  }

  subscribe(): void {
    this.subscribed = true;
    const initialCredit = this.unsentCredit;
    this.unsentCredit = 0;
    this.connection.frames.send({
      kind: 'subscribe',
      channelId: this.channelId,
      initialCredit,
      channelKey: this.channelKey,
    });
  }
}

/** What a connection tells the client that owns it. */
interface ClientHooks {
  reportFailed(channelKey: string, error: SluiceError): void;
  connectionClosed(connection: ClientConnection): void;
}

/** One connection to one data server, multiplexing every channel this process reads from it. */
class ClientConnection implements FrameConnectionHandler {
  readonly frames: FrameConnection;
  readonly channels = new Map<number, RemoteInputChannel>();
  private nextChannelId = 0;

  constructor(
    private readonly client: ClientHooks,
    readonly key: string,
    address: TcpAddress,
    options: ResolvedTransportOptions,
    private readonly maxBufferSize: number,
  ) {
    const socket = connectInternal(address, options.tls);
    this.frames = new FrameConnection(socket, 'client', options, this, key);
  }

  add(channel: InputChannel, channelKey: string, credits: number): RemoteInputChannel {
    const remote = new RemoteInputChannel(this, this.nextChannelId++, channelKey, channel, credits);
    this.channels.set(remote.channelId, remote);
    if (this.frames.authenticated) remote.subscribe();
    return remote;
  }

  onAuthenticated(): void {
    for (const remote of this.channels.values()) remote.subscribe();
  }

  onFrame(frame: Frame): void {
    switch (frame.kind) {
      case 'buffer': {
        const remote = this.channels.get(frame.channelId);
        // Frames of a channel released a moment ago are still in flight: drop them.
        if (remote) this.onBuffer(remote, frame.more, frame.bytes, frame.backlog);
        return;
      }
      case 'event': {
        const remote = this.channels.get(frame.channelId);
        if (!remote) return;
        if (remote.fragments.length > 0) {
          this.protocolError(`an event inside a fragmented buffer on channel ${frame.channelId}`);
          return;
        }
        if (frame.event.kind === 'end-of-partition') {
          remote.done = true;
          this.channels.delete(remote.channelId);
        }
        remote.channel.onEvent(frame.event);
        return;
      }
      case 'close': {
        const remote = this.channels.get(frame.channelId);
        if (!remote) return;
        remote.done = true;
        this.channels.delete(remote.channelId);
        this.client.reportFailed(
          remote.channelKey,
          channelFailed(remote.channelKey, this.frames.remote, `the producer closed it: ${frame.reason}`),
        );
        return;
      }
      default:
        this.protocolError(`a producer sent a ${frame.kind.toUpperCase()} frame`);
    }
  }

  onDrain(): void {}

  onClosed(cause: Error | undefined): void {
    this.client.connectionClosed(this);
    const remotes = [...this.channels.values()];
    this.channels.clear();
    for (const remote of remotes) {
      remote.done = true;
      if (cause === undefined) continue;
      const what = this.frames.authenticated
        ? 'the connection was lost'
        : 'could not connect and authenticate';
      this.client.reportFailed(
        remote.channelKey,
        channelFailed(remote.channelKey, this.frames.remote, what, cause),
      );
    }
  }

  private onBuffer(remote: RemoteInputChannel, more: boolean, bytes: Uint8Array, backlog: number): void {
    if (!more && remote.fragments.length === 0) {
      remote.channel.onBuffer(bytes, backlog);
      return;
    }
    remote.fragmentBytes += bytes.length;
    if (remote.fragmentBytes > this.maxBufferSize) {
      this.protocolError(`a buffer of more than ${this.maxBufferSize} bytes on channel ${remote.channelKey}`);
      return;
    }
    remote.fragments.push(bytes);
    if (more) return;
    // The one copy of a fragmented buffer: into one piece, as the producer wrote it.
    const whole = new Uint8Array(remote.fragmentBytes);
    let pos = 0;
    for (const fragment of remote.fragments) {
      whole.set(fragment, pos);
      pos += fragment.length;
    }
    remote.fragments = [];
    remote.fragmentBytes = 0;
    remote.channel.onBuffer(whole, backlog);
  }

  private protocolError(what: string): void {
    this.frames.close('protocol error', new FrameError('malformed', what));
  }
}

/**
 * Reads remote subpartitions into local input channels: the network twin of connectInMemory.
 * One TCP connection per data server, shared by every channel this process reads from it (as
 * Flink shares one connection per TaskManager pair), opened on first use.
 */
export class TcpDataClient {
  private readonly options: ResolvedTransportOptions;
  private readonly hooks: ClientHooks;
  private readonly connections = new Map<string, ClientConnection>();
  private readonly maxBufferSize: number;
  private closed = false;

  constructor(settings: TcpDataClientOptions) {
    this.options = resolveTransportOptions(settings);
    this.maxBufferSize = settings.maxBufferSize ?? 256 * 1024 * 1024;
    this.hooks = {
      reportFailed: (channelKey, error) => {
        try {
          settings.onChannelFailed(channelKey, error);
        } catch (e) {
          this.options.log.error({ err: e }, 'onChannelFailed threw');
        }
      },
      connectionClosed: (connection) => {
        if (this.connections.get(connection.key) === connection) this.connections.delete(connection.key);
      },
    };
  }

  /**
   * Subscribes `channel` to the subpartition registered as `channelKey` on the server at
   * `address`, with `credits` buffers of room (`taskmanager.network.memory.buffers-per-channel`).
   * Buffers and events arrive in the producer's order; the channel's recycled buffers go back as
   * credit. Returns at once; a failure to connect or subscribe arrives at `onChannelFailed`.
   */
  connectRemote(
    channel: InputChannel,
    address: TcpAddress,
    channelKey: string,
    credits: number,
  ): RemoteChannel {
    invariant(!this.closed, 'a closed data client subscribes no channels');
    invariant(
      channelKey.length > 0 && Buffer.byteLength(channelKey) <= MAX_CHANNEL_KEY_BYTES,
      `a channel key has 1 to ${MAX_CHANNEL_KEY_BYTES} UTF-8 bytes`,
    );
    invariant(Number.isSafeInteger(credits) && credits >= 0 && credits <= 0xffffffff, 'credits fit a u32');
    const key = `${address.host}:${address.port}`;
    let connection = this.connections.get(key);
    if (!connection || !connection.frames.open) {
      connection = new ClientConnection(this.hooks, key, address, this.options, this.maxBufferSize);
      this.connections.set(key, connection);
    }
    const remote = connection.add(channel, channelKey, credits);
    channel.connect(remote, credits);
    return remote;
  }

  /** Open connections. */
  get connectionCount(): number {
    return this.connections.size;
  }

  /** Closes every connection; their channels are not reported failed. */
  close(): Promise<void> {
    this.closed = true;
    const connections = [...this.connections.values()];
    return new Promise((resolve) => {
      let open = connections.length;
      if (open === 0) resolve();
      for (const connection of connections) {
        for (const remote of connection.channels.values()) remote.done = true;
        connection.channels.clear();
        connection.frames.onceClosed(() => {
          if (--open === 0) resolve();
        });
        connection.frames.close('the data client is shutting down');
      }
    });
  }
}
