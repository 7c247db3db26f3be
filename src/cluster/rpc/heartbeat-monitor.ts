/** Flink's heartbeat semantics on an injected clock: the JobManager requests and watches, a TaskManager answers and watches back. */
import type { Cancellable, Clock } from '../../core/clock.js';
import { ClusterOptions } from '../../core/config-options.js';
import type { Configuration } from '../../core/configuration.js';
import { SluiceError, invariant } from '../../core/errors.js';
import { logger, type Logger } from '../../core/log.js';
import type { JobManagerConnection, TaskManagerConnection } from './rpc-connection.js';
import type { TaskMetricsReport } from './rpc-messages.js';

/** `heartbeat.*`: how often to ask, how long silence is tolerated, how many failed requests. */
export interface HeartbeatSettings {
  /** `heartbeat.interval`: time between heartbeat requests to each target. */
  readonly intervalMs: number;
  /** `heartbeat.timeout`: silence after which a target is lost. */
  readonly timeoutMs: number;
  /** `heartbeat.rpc-failure-threshold`: consecutive failed requests after which a target is lost. */
  readonly rpcFailureThreshold: number;
}

/** The settings from a configuration (Flink's defaults: 10 s, 50 s, 2); a timeout below the interval is an error. */
export function heartbeatSettings(config: Configuration): HeartbeatSettings {
  const settings = {
    intervalMs: config.get(ClusterOptions.HEARTBEAT_INTERVAL),
    timeoutMs: config.get(ClusterOptions.HEARTBEAT_TIMEOUT),
    rpcFailureThreshold: config.get(ClusterOptions.HEARTBEAT_RPC_FAILURE_THRESHOLD),
  };
  // As Flink's HeartbeatServices: a timeout shorter than the interval would lose every target.
  if (settings.timeoutMs < settings.intervalMs) {
    throw new SluiceError(
      'SLUICE_CONFIG_INVALID_VALUE',
      `heartbeat.timeout (${settings.timeoutMs} ms) must be at least heartbeat.interval (${settings.intervalMs} ms)`,
    );
  }
  return settings;
}

/** Why a target was lost. */
export type HeartbeatLossReason = 'timeout' | 'connection-closed' | 'rpc-failures';

/** The error a lost target fails its tasks with (`SLUICE_HEARTBEAT_TARGET_LOST`). */
export function heartbeatLostError(
  what: string,
  reason: HeartbeatLossReason,
  settings: HeartbeatSettings,
): SluiceError {
  const why =
    reason === 'timeout'
      ? `sent no heartbeat for ${settings.timeoutMs} ms (heartbeat.timeout)`
      : reason === 'rpc-failures'
        ? `could not be sent ${settings.rpcFailureThreshold} heartbeat requests in a row (heartbeat.rpc-failure-threshold)`
        : 'closed its connection';
  return new SluiceError('SLUICE_HEARTBEAT_TARGET_LOST', `${what} was lost: it ${why}`);
}

/** Something heartbeats can be requested from. */
export interface HeartbeatTarget {
  /**
   * Sends heartbeat request `seq`. False (or a throw) when it could not be sent: that counts
   * toward `heartbeat.rpc-failure-threshold`; a request that was sent resets the count.
   */
  requestHeartbeat(seq: number): boolean;
}

/** Settings of a HeartbeatMonitor. */
export interface HeartbeatMonitorOptions<Id> extends HeartbeatSettings {
  readonly clock: Clock;
  /** Called once per lost target, which is no longer monitored when this runs. */
  readonly onTargetLost: (targetId: Id, reason: HeartbeatLossReason) => void;
  readonly log?: Logger;
}

interface Monitored {
  readonly target: HeartbeatTarget;
  failures: number;
  timeout: Cancellable;
}

/**
 * The JobManager side (Flink's HeartbeatManagerSenderImpl): every `intervalMs` it requests a
 * heartbeat from each target; a target is lost `timeoutMs` after the last sign of life (exactly
 * then, by its own timer), after `rpcFailureThreshold` requests in a row could not be sent, or
 * at once when its connection closes.
 */
export class HeartbeatMonitor<Id = string> {
  private readonly targets = new Map<Id, Monitored>();
  private readonly log: Logger;
  private seq = 0;
  private tick: Cancellable | undefined;
  private stopped = false;

  constructor(private readonly options: HeartbeatMonitorOptions<Id>) {
    this.log = options.log ?? logger('heartbeat');
    this.scheduleTick();
  }

  /** Starts watching `targetId` (replacing an earlier target of that id); its silence counts from now. */
  monitorTarget(targetId: Id, target: HeartbeatTarget): void {
    invariant(!this.stopped, 'a stopped heartbeat monitor watches no new targets');
    this.targets.get(targetId)?.timeout.cancel();
    this.targets.set(targetId, { target, failures: 0, timeout: this.armTimeout(targetId) });
  }

  /** Stops watching `targetId`, reporting nothing (it left on purpose). */
  unmonitorTarget(targetId: Id): void {
    this.targets.get(targetId)?.timeout.cancel();
    this.targets.delete(targetId);
  }

  /** A heartbeat response, or any other message, came from `targetId`: its silence starts over. */
  reportActivity(targetId: Id): void {
    const monitored = this.targets.get(targetId);
    if (!monitored) return;
    monitored.timeout.cancel();
    monitored.timeout = this.armTimeout(targetId);
  }

  /** The connection to `targetId` closed: it is lost now, without waiting for the timeout. */
  reportTargetClosed(targetId: Id): void {
    if (this.targets.has(targetId)) this.lose(targetId, 'connection-closed');
  }

  /** Whether `targetId` is watched (not lost, not unmonitored). */
  isMonitored(targetId: Id): boolean {
    return this.targets.has(targetId);
  }

  /** Stops requesting and watching, for good; nothing is reported after this. */
  stop(): void {
    this.stopped = true;
    this.tick?.cancel();
    this.tick = undefined;
    for (const monitored of this.targets.values()) monitored.timeout.cancel();
    this.targets.clear();
  }

  private armTimeout(targetId: Id): Cancellable {
    return this.options.clock.schedule(this.options.timeoutMs, () => this.lose(targetId, 'timeout'));
  }

  private scheduleTick(): void {
    this.tick = this.options.clock.schedule(this.options.intervalMs, () => {
      this.requestHeartbeats();
      this.scheduleTick();
    });
  }

  private requestHeartbeats(): void {
    const seq = this.seq++;
    for (const [targetId, monitored] of [...this.targets]) {
      // A loss reported by an earlier target's request may have removed this one.
      if (this.targets.get(targetId) !== monitored) continue;
      let sent: boolean;
      try {
        sent = monitored.target.requestHeartbeat(seq);
      } catch (e) {
        this.log.warn({ err: e, targetId }, 'a heartbeat request failed');
        sent = false;
      }
      if (sent) monitored.failures = 0;
      else if (++monitored.failures >= this.options.rpcFailureThreshold) this.lose(targetId, 'rpc-failures');
    }
  }

  private lose(targetId: Id, reason: HeartbeatLossReason): void {
    this.unmonitorTarget(targetId);
    try {
      this.options.onTargetLost(targetId, reason);
    } catch (e) {
      this.log.error({ err: e, targetId }, 'onTargetLost threw');
    }
  }
}

/**
 * Watches one TaskManager over its connection: heartbeat requests go out on it, every message
 * from it is a sign of life, and its loss (peer gone, network failed, protocol broken) is
 * reported at once. Closing the connection on purpose from this side stops watching silently.
 * A request still stuck behind a full socket buffer means the peer is not reading, so it counts
 * as a failed request. Returns a function that stops watching without reporting a loss.
 */
export function monitorConnection<Id>(
  monitor: HeartbeatMonitor<Id>,
  targetId: Id,
  connection: TaskManagerConnection,
): () => void {
  monitor.monitorTarget(targetId, {
    requestHeartbeat: (seq) => {
      if (!connection.open || connection.congested) return false;
      connection.send({ kind: 'heartbeat-request', seq });
      return true;
    },
  });
  const offMessage = connection.onMessage(() => monitor.reportActivity(targetId));
  const offClose = connection.onClose((reason) => {
    if (reason.kind === 'lost') monitor.reportTargetClosed(targetId);
    else monitor.unmonitorTarget(targetId);
  });
  return () => {
    offMessage();
    offClose();
    monitor.unmonitorTarget(targetId);
  };
}

/** Why a TaskManager gave up on its JobManager. */
export type JobManagerLossReason = 'timeout' | 'connection-closed';

/** Settings of a HeartbeatResponder. */
export interface HeartbeatResponderOptions {
  /** `heartbeat.timeout`: how long the JobManager may stay silent. */
  readonly timeoutMs: number;
  readonly clock: Clock;
  /** Called once per loss: the TaskManager cancels its tasks and registers again. */
  readonly onJobManagerLost: (reason: JobManagerLossReason) => void;
  readonly log?: Logger;
}

/**
 * The TaskManager side (Flink's HeartbeatManagerImpl as a heartbeat target): while started, a
 * JobManager that sends nothing for `timeoutMs` (no heartbeat request, no other message) or whose
 * connection closes is reported lost, once; `start()` again after registering anew.
 */
export class HeartbeatResponder {
  private timeout: Cancellable | undefined;
  private readonly log: Logger;

  constructor(private readonly options: HeartbeatResponderOptions) {
    this.log = options.log ?? logger('heartbeat');
  }

  /** Whether it watches a JobManager now. */
  get watching(): boolean {
    return this.timeout !== undefined;
  }

  /** Starts (or restarts) watching: the JobManager's silence counts from now. */
  start(): void {
    this.timeout?.cancel();
    this.timeout = this.options.clock.schedule(this.options.timeoutMs, () => this.lose('timeout'));
  }

  /** A heartbeat request or any other message came from the JobManager. */
  reportActivity(): void {
    if (this.timeout !== undefined) this.start();
  }

  /** The connection to the JobManager closed: lost now. */
  reportConnectionClosed(): void {
    if (this.timeout !== undefined) this.lose('connection-closed');
  }

  /** Stops watching without reporting anything. */
  stop(): void {
    this.timeout?.cancel();
    this.timeout = undefined;
  }

  private lose(reason: JobManagerLossReason): void {
    this.stop();
    try {
      this.options.onJobManagerLost(reason);
    } catch (e) {
      this.log.error({ err: e }, 'onJobManagerLost threw');
    }
  }
}

/**
 * Answers the JobManager's heartbeat requests on `connection` (with `metrics()` as payload) and
 * feeds `responder`: every message is a sign of life, a lost connection a loss (closing it on
 * purpose from this side just stops watching). Starts the responder. Returns a function that
 * stops answering and watching.
 */
export function answerHeartbeats(
  connection: JobManagerConnection,
  responder: HeartbeatResponder,
  metrics?: () => readonly TaskMetricsReport[] | undefined,
): () => void {
  responder.start();
  const offMessage = connection.onMessage((message) => {
    responder.reportActivity();
    if (message.kind !== 'heartbeat-request') return;
    const report = metrics?.();
    connection.send(
      report === undefined
        ? { kind: 'heartbeat-response', seq: message.seq }
        : { kind: 'heartbeat-response', seq: message.seq, metrics: report },
    );
  });
  const offClose = connection.onClose((reason) => {
    if (reason.kind === 'lost') responder.reportConnectionClosed();
    else responder.stop();
  });
  return () => {
    offMessage();
    offClose();
    responder.stop();
  };
}
