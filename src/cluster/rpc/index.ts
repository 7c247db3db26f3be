/** The control plane between JobManager and TaskManagers: messages, authenticated connections, heartbeats, registration. */
export { checkRpcError, fromRpcError, toRpcError, type RpcError } from './rpc-error.js';
export {
  RpcProtocolError,
  parseRpcMessage,
  type AckMessage,
  type AcknowledgeCheckpointMessage,
  type CancelJobMessage,
  type CollectMessage,
  type DeclineCheckpointMessage,
  type DeployMessage,
  type FinishAllMessage,
  type HeartbeatRequest,
  type HeartbeatResponse,
  type MessageTo,
  type NotifyCheckpointAbortedMessage,
  type NotifyCheckpointCompleteMessage,
  type OperatorEventMessage,
  type OperatorEventToTaskMessage,
  type RegisterTaskManager,
  type RegistrationAccepted,
  type RegistrationDeclined,
  type RpcEndpoint,
  type RpcMessage,
  type TaskAddress,
  type TaskEndedMessage,
  type TaskMetricsMessage,
  type TaskMetricsReport,
  type TaskStateMessage,
  type ToJobManagerMessage,
  type ToTaskManagerMessage,
  type TriggerCheckpointMessage,
} from './rpc-messages.js';
export { decodeEnvelope, encodeEnvelope, type RpcEnvelope } from './rpc-envelope.js';
export {
  RpcConnection,
  resolveRpcOptions,
  type JobManagerConnection,
  type ResolvedRpcOptions,
  type RpcCloseReason,
  type RpcMessageHandler,
  type RpcResponder,
  type RpcTransportOptions,
  type TaskManagerConnection,
} from './rpc-connection.js';
export { RpcServer, type RpcServerOptions } from './rpc-server.js';
export { connectRpc, type ConnectRpcOptions } from './connect-rpc.js';
export {
  HeartbeatMonitor,
  HeartbeatResponder,
  answerHeartbeats,
  heartbeatLostError,
  heartbeatSettings,
  monitorConnection,
  type HeartbeatLossReason,
  type HeartbeatMonitorOptions,
  type HeartbeatResponderOptions,
  type HeartbeatSettings,
  type HeartbeatTarget,
  type JobManagerLossReason,
} from './heartbeat-monitor.js';
export {
  RegistrationRetry,
  type RegistrationOutcome,
  type RegistrationRetryOptions,
  type RegistrationState,
} from './registration-retry.js';
