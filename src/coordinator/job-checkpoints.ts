/**
 * A job's checkpointing wired to its deployment: the CheckpointCoordinator, the per-task gateways
 * acknowledgements come back through, manual triggers, and the shutdown per retention.
 */
import type { Clock } from '../core/clock.js';
import type { JobId } from '../core/ids.js';
import type { CheckpointingSubmission, PipelineSubmission } from '../api/execution.js';
import type { CheckpointFailureReason } from '../protocol/checkpoint-failure-reason.js';
import type {
  OperatorSubtaskState,
  SubtaskCheckpointMetrics,
  TaskCheckpointGateway,
} from '../runtime/checkpoint-gateway.js';
import type { CheckpointStorage } from '../storage/checkpoint-storage.js';
import { createCheckpointStorage } from '../storage/create-checkpoint-storage.js';
import { CheckpointCoordinator } from './checkpoint-coordinator.js';
import type { DeployedJob } from './job-master-gateway.js';
import type { SourceCoordinators } from './source-coordinators.js';
import type { CheckpointTaskPlan } from './subtask-executions.js';

/** How a checkpoint triggered with `triggerCheckpointNow()` ended. */
export type TriggeredCheckpoint =
  | { readonly kind: 'completed'; readonly checkpointId: number; readonly externalPath: string }
  | { readonly kind: 'failed'; readonly checkpointId: number | undefined; readonly error: Error };

/** What the checkpointing of a job needs from its JobMaster. */
export interface JobCheckpointsContext {
  readonly jobId: JobId;
  readonly jobName: string;
  /** The tasks of a checkpoint now; undefined when none can start. */
  plan(): CheckpointTaskPlan | undefined;
  /** The current deployment; undefined between deployments. */
  deployed(): DeployedJob | undefined;
  /** The split enumerators of the current deployment. */
  sources(): SourceCoordinators;
  /** Fails the job over (too many failed checkpoints). */
  failJob(error: Error): void;
}

/** The checkpointing of one job, for as long as the job runs. */
export class JobCheckpoints {
  readonly storage: CheckpointStorage;
  readonly coordinator: CheckpointCoordinator;
  private readonly waiters = new Map<number, (outcome: TriggeredCheckpoint) => void>();

  constructor(
    private readonly settings: CheckpointingSubmission,
    submission: PipelineSubmission,
    clock: Clock,
    context: JobCheckpointsContext,
    /** Split enumerators hosted in another process snapshot through this before each checkpoint. */
    prepareMasterStates: ((checkpointId: number) => Promise<void> | undefined) | undefined,
  ) {
    this.storage = createCheckpointStorage(settings.storage);
    this.coordinator = new CheckpointCoordinator(settings, {
      jobId: context.jobId,
      jobName: context.jobName,
      clock,
      storage: this.storage,
      plan: () => context.plan(),
      triggerTask: (t, id, ts, savepoint) =>
        context.deployed()?.triggerCheckpoint(t.vertexIndex, t.subtask, id, ts, savepoint),
      notifyComplete: (id) => {
        context.sources().notifyCheckpointComplete(id);
        context.deployed()?.notifyCheckpointComplete(id);
        this.settleWaiter(id);
      },
      notifyAborted: (id) => {
        context.deployed()?.notifyCheckpointAborted(id);
        this.settleWaiter(id);
      },
      snapshotMasterStates: (id) => context.sources().snapshot(id),
      stateBackend: submission.stateBackend?.kind ?? 'hashmap',
      ...(prepareMasterStates ? { prepareMasterStates } : {}),
      operators: () =>
        submission.jobGraph.streamGraph.nodes.map((n) => ({
          operatorId: n.operatorId,
          ...(n.transformation.uid === undefined ? {} : { uid: n.transformation.uid }),
          name: n.name,
          parallelism: n.parallelism,
          maxParallelism: n.maxParallelism,
        })),
      failJob: (error) => context.failJob(error),
    });
  }

  /** The checkpoint gateway of each task of a deployment. */
  taskGateways(): (vertexIndex: number, subtask: number) => TaskCheckpointGateway {
    const { mode, unaligned, alignedCheckpointTimeoutMs } = this.settings;
    return (vertexIndex, subtask) => ({
      mode,
      unaligned: unaligned === true,
      alignedCheckpointTimeoutMs: alignedCheckpointTimeoutMs ?? 0,
      storage: this.storage,
      location: (id) => this.coordinator.location(id),
      acknowledgeCheckpoint: (id, state, metrics) =>
        this.acknowledge(vertexIndex, subtask, id, state, metrics),
      declineCheckpoint: (id, reason, error) => this.decline(vertexIndex, subtask, id, reason, error),
    });
  }

  /** A task's acknowledgement, handed on asynchronously (as over RPC). */
  acknowledge(
    vertexIndex: number,
    subtask: number,
    checkpointId: number,
    state: readonly OperatorSubtaskState[],
    metrics: SubtaskCheckpointMetrics,
  ): void {
    queueMicrotask(() =>
      this.coordinator.receiveAcknowledgeMessage(`${vertexIndex}:${subtask}`, checkpointId, state, metrics),
    );
  }

  /** A task's decline, handed on asynchronously (as over RPC). */
  decline(
    vertexIndex: number,
    subtask: number,
    checkpointId: number,
    reason: CheckpointFailureReason,
    error?: Error,
  ): void {
    queueMicrotask(() =>
      this.coordinator.receiveDeclineMessage(`${vertexIndex}:${subtask}`, checkpointId, reason, error),
    );
  }

  /**
   * Triggers a checkpoint now and resolves once it completed or failed; never rejects. When the
   * coordinator refuses to start one, the failure says `refused()`.
   */
  async triggerNow(refused: () => string): Promise<TriggeredCheckpoint> {
    const checkpointId = await this.coordinator.triggerCheckpoint();
    if (checkpointId === undefined) return checkpointFailed(undefined, refused());
    return (
      this.outcome(checkpointId) ??
      new Promise<TriggeredCheckpoint>((resolve) => this.waiters.set(checkpointId, resolve))
    );
  }

  /** `execution.checkpointing.savepoint-dir`, if set. */
  get savepointDirectory(): string | undefined {
    return this.settings.savepointDir;
  }

  /** Keeps or deletes checkpoints per `externalized-checkpoint-retention`, as Flink. */
  async shutdown(outcome: 'FINISHED' | 'FAILED' | 'CANCELED'): Promise<void> {
    const { retention } = this.settings;
    const keep =
      outcome === 'FAILED'
        ? retention !== 'NO_EXTERNALIZED_CHECKPOINTS'
        : outcome === 'CANCELED' && retention === 'RETAIN_ON_CANCELLATION';
    await this.coordinator.shutdown(keep);
  }

  private settleWaiter(checkpointId: number): void {
    const settle = this.waiters.get(checkpointId);
    if (!settle) return;
    this.waiters.delete(checkpointId);
    settle(this.outcome(checkpointId) ?? checkpointFailed(checkpointId, 'checkpoint aborted'));
  }

  private outcome(checkpointId: number): TriggeredCheckpoint | undefined {
    const completed = this.coordinator.completedCheckpoints.find((c) => c.checkpointId === checkpointId);
    const stats = this.coordinator.stats.get(checkpointId);
    if (completed || stats?.status === 'COMPLETED')
      return {
        kind: 'completed',
        checkpointId,
        externalPath: completed?.externalPointer ?? stats?.externalPath ?? '',
      };
    if (stats?.status === 'FAILED')
      return checkpointFailed(checkpointId, stats.failureMessage ?? 'checkpoint failed');
    return undefined;
  }
}

/** A failed manual checkpoint, with Flink's exception name. */
export function checkpointFailed(checkpointId: number | undefined, message: string): TriggeredCheckpoint {
  const error = new Error(message);
  error.name = 'CheckpointException';
  return { kind: 'failed', checkpointId, error };
}
