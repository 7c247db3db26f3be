/** The TaskManager's side of the control plane: opens and authenticates a connection to the JobManager. */
import { SluiceError } from '../../core/errors.js';
import { connectInternal } from '../../network/internal-tls.js';
import {
  RpcConnection,
  resolveRpcOptions,
  type JobManagerConnection,
  type RpcCloseReason,
  type RpcTransportOptions,
} from './rpc-connection.js';
import type { ToJobManagerMessage, ToTaskManagerMessage } from './rpc-messages.js';

/** Where the JobManager's RPC server listens, and how to talk to it. */
export interface ConnectRpcOptions extends RpcTransportOptions {
  readonly host: string;
  readonly port: number;
}

/** The error a failed connection attempt rejects with: whose move it is, in words a user can act on. */
function connectFailure(address: string, connected: boolean, reason: RpcCloseReason): SluiceError {
  const lost = reason.kind === 'lost' ? reason.error : undefined;
  // The socket's own error (ECONNREFUSED, ...) says more than the wrapper around it.
  const cause =
    lost?.code === 'SLUICE_RPC_CONNECTION_LOST' && lost.cause instanceof Error ? lost.cause : lost;
  const code = cause instanceof SluiceError ? cause.code : undefined;
  const detail = cause?.message ?? reason.kind;
  // FrameConnection's own timeout is a handshake failure too, but a silent peer is no secret problem.
  const silent = /^no authenticated handshake/u.test(detail);
  const rejectedByServer = /authentication failed/u.test(detail);
  if (connected && ((code === 'SLUICE_NETWORK_HANDSHAKE_FAILED' && !silent) || rejectedByServer)) {
    return new SluiceError(
      'SLUICE_NETWORK_HANDSHAKE_FAILED',
      `the JobManager at ${address} and this process do not share the cluster secret or protocol version (${detail}); ` +
        'give every JobManager and TaskManager the same security.cluster.secret and Sluice version',
      { cause },
    );
  }
  if (connected && code === 'SLUICE_NETWORK_BAD_FRAME') {
    return new SluiceError(
      'SLUICE_RPC_UNREACHABLE',
      `${address} does not speak Sluice's control protocol (${detail}); check that the address names the JobManager's RPC port, not its REST port`,
      { cause },
    );
  }
  return new SluiceError(
    'SLUICE_RPC_UNREACHABLE',
    `cannot reach the JobManager at ${address} (${detail}); check that it is running and that the address names its RPC port`,
    { cause },
  );
}

/**
 * Connects to the JobManager's RpcServer and resolves once both sides proved they know the
 * cluster secret. Rejects with SLUICE_RPC_UNREACHABLE when nothing (or something else) answers
 * there, SLUICE_NETWORK_HANDSHAKE_FAILED when the secret or version differs.
 */
export function connectRpc(options: ConnectRpcOptions): Promise<JobManagerConnection> {
  const resolved = resolveRpcOptions(options);
  const address = `${options.host}:${options.port}`;
  return new Promise((resolve, reject) => {
    const socket = connectInternal(options, resolved.tls);
    let connected = false;
    socket.once('connect', () => void (connected = true));
    new RpcConnection<ToTaskManagerMessage, ToJobManagerMessage>(
      socket,
      'client',
      'task-manager',
      resolved,
      {
        onAuthenticated: (connection) => resolve(connection),
        onClosed: (_connection, reason, wasAuthenticated) => {
          if (!wasAuthenticated) reject(connectFailure(address, connected, reason));
        },
      },
      address,
    );
  });
}
