/** The JobManager's control-plane endpoint: accepts TaskManager connections and hands out each one that authenticated. */
import type { Server, Socket } from 'node:net';
import { SluiceError, invariant } from '../../core/errors.js';
import type { TcpAddress } from '../../network/frame-connection.js';
import { createInternalServer } from '../../network/internal-tls.js';
import {
  RpcConnection,
  resolveRpcOptions,
  type ResolvedRpcOptions,
  type RpcTransportOptions,
  type TaskManagerConnection,
} from './rpc-connection.js';
import type { ToJobManagerMessage, ToTaskManagerMessage } from './rpc-messages.js';

/** Settings of an RpcServer. */
export interface RpcServerOptions extends RpcTransportOptions {
  /** Interface to bind (default 127.0.0.1: internal ports stay local unless configured). */
  readonly host?: string;
  /** Port to bind (default 0: any free port; read it from `address`). */
  readonly port?: number;
  /**
   * A TaskManager connected and proved it knows the secret. Called synchronously, so handlers
   * registered here see every message; messages never arrive from unauthenticated peers.
   */
  readonly onConnection: (connection: TaskManagerConnection) => void;
}

/**
 * Listens for TaskManagers' control connections. Peers that fail the handshake, stay silent or
 * send malformed frames or messages are closed and logged, one at a time; the server keeps
 * serving everyone else.
 */
export class RpcServer {
  private readonly connections = new Set<TaskManagerConnection>();
  private closing = false;

  private constructor(
    private readonly server: Server,
    private readonly options: ResolvedRpcOptions,
    private readonly settings: RpcServerOptions,
    /** Where it listens (the real port when 0 was asked for). */
    readonly address: TcpAddress,
  ) {
    server.on('error', (error) => options.log.error({ err: error }, 'RPC server error'));
  }

  /** Starts listening; a taken port is a SluiceError naming it. */
  static listen(settings: RpcServerOptions): Promise<RpcServer> {
    const options = resolveRpcOptions(settings);
    const host = settings.host ?? '127.0.0.1';
    const port = settings.port ?? 0;
    let accept: (socket: Socket) => void = (socket) => socket.destroy();
    const server = createInternalServer(options.tls, options.log, (socket) => accept(socket));
    return new Promise((resolve, reject) => {
      server.once('error', (error) =>
        reject(
          new SluiceError(
            'SLUICE_CONFIG_INVALID_VALUE',
            `the JobManager RPC server cannot listen on ${host}:${port} (${error.message}); choose another port, or 0 for any free one`,
            { cause: error },
          ),
        ),
      );
      server.listen(port, host, () => {
        server.removeAllListeners('error');
        const address = server.address();
        invariant(address !== null && typeof address === 'object', 'a TCP server has an address');
        const rpc = new RpcServer(server, options, settings, { host, port: address.port });
        // Sockets as they come out of the TLS handshake when internal TLS is on.
        accept = (socket) => rpc.accept(socket);
        resolve(rpc);
      });
    });
  }

  /** Open connections, authenticated or still in the handshake. */
  get connectionCount(): number {
    return this.connections.size;
  }

  /** Stops listening and closes every connection (their owners hear `closed`); resolves when all are gone. */
  async close(reason = 'the JobManager is shutting down'): Promise<void> {
    this.closing = true;
    const closed = new Promise<void>((resolve) => {
      if (!this.server.listening) resolve();
      else this.server.close(() => resolve());
    });
    await Promise.all([...this.connections].map((connection) => connection.close(reason)));
    await closed;
  }

  private accept(socket: Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    const connection: TaskManagerConnection = new RpcConnection<ToJobManagerMessage, ToTaskManagerMessage>(
      socket,
      'server',
      'job-manager',
      this.options,
      {
        onAuthenticated: (c) => {
          try {
            this.settings.onConnection(c);
          } catch (e) {
            this.options.log.error(
              { remote: c.remote, err: e },
              'onConnection threw; closing the connection',
            );
            void c.close('internal error');
          }
        },
        onClosed: (c) => void this.connections.delete(c),
      },
    );
    this.connections.add(connection);
  }
}
