/** The deployment contract between a JobMaster and the TaskManagers that run its tasks, both ways. */
import type { OperatorId } from '../core/ids.js';
import type { AccumulatorRegistry } from '../core/accumulator.js';
import type { PipelineSubmission, VertexMetrics } from '../api/execution.js';
import type { CheckpointFailureReason } from '../protocol/checkpoint-failure-reason.js';
import type { SavepointTarget } from '../protocol/snapshot-kind.js';
import type {
  OperatorSubtaskState,
  SubtaskCheckpointMetrics,
  TaskCheckpointGateway,
  TaskRestoreState,
} from '../runtime/checkpoint-gateway.js';
import type { OperatorEvent } from '../runtime/stream-operator.js';
import type { ExecutionState } from '../runtime/task.js';

/** What TaskManagers report back to the JobMaster. */
export interface JobMasterGateway {
  /** The deployment itself failed (no slots, a TaskManager refused or could not load the job). */
  onDeploymentFailed(error: Error): void;
  onTaskStateChanged(vertexIndex: number, subtask: number, state: ExecutionState, error?: Error): void;
  onTaskEnded(vertexIndex: number, subtask: number): void;
  onOperatorEvent(operatorId: OperatorId, subtask: number, event: OperatorEvent): void;
  onCollect(
    vertexIndex: number,
    subtask: number,
    collectId: string,
    records: readonly unknown[],
    commit: { checkpointId: number; subtask: number } | undefined,
  ): void;
  acknowledgeCheckpoint(
    vertexIndex: number,
    subtask: number,
    checkpointId: number,
    state: readonly OperatorSubtaskState[],
    metrics: SubtaskCheckpointMetrics,
  ): void;
  declineCheckpoint(
    vertexIndex: number,
    subtask: number,
    checkpointId: number,
    reason: CheckpointFailureReason,
    error?: Error,
  ): void;
}

/** One subtask of a job: a vertex index and a subtask index. */
export interface SubtaskAddress {
  readonly vertexIndex: number;
  readonly subtask: number;
}

/**
 * A job deployed on TaskManagers, as the JobMaster controls it. Commands for one subtask go to its
 * newest execution; after `restartTasks`, executions of several attempts run side by side.
 */
export interface DeployedJob {
  /** Cancels every task of the job and gives back its slots. */
  cancel(): void;
  /** Cancels these subtasks only (a pipelined region that failed). */
  cancelTasks(subtasks: readonly SubtaskAddress[]): void;
  /**
   * Deploys these subtasks again as attempt `attempt.attemptNumber`, reporting to `master`. The set
   * is closed under channels (a union of pipelined regions), so no channel leaves it.
   */
  restartTasks(
    subtasks: readonly SubtaskAddress[],
    master: JobMasterGateway,
    attempt: DeploymentAttempt,
  ): void;
  sendOperatorEvent(operatorId: OperatorId, subtask: number, event: OperatorEvent): void;
  /** Triggers a checkpoint at a (source) subtask; `savepoint` for a savepoint's trigger. */
  triggerCheckpoint(
    vertexIndex: number,
    subtask: number,
    checkpointId: number,
    timestamp: number,
    savepoint?: SavepointTarget,
  ): void;
  notifyCheckpointComplete(checkpointId: number): void;
  notifyCheckpointAborted(checkpointId: number): void;
  /** Every task ended: let them all close and finish. */
  finishAll(): void;
  /** Stop-with-savepoint: every source task ends its input now, as if its source had ended. */
  endSourceInput(): void;
  metrics(): VertexMetrics[];
  accumulators(): AccumulatorRegistry[];
}

/** One deployment of the job (the first, or one after a restart). */
export interface DeploymentAttempt {
  readonly attemptNumber: number;
  /** Restore state by `${vertexIndex}:${subtask}`. */
  readonly restore: ReadonlyMap<string, TaskRestoreState> | undefined;
  /** Per-task checkpoint gateway factory; undefined without checkpointing. */
  readonly checkpointing: ((vertexIndex: number, subtask: number) => TaskCheckpointGateway) | undefined;
}

/** Deploys all subtasks of a job (in-process now; over RPC in the cluster). */
export interface TaskManagerGateway {
  deploy(submission: PipelineSubmission, master: JobMasterGateway, attempt: DeploymentAttempt): DeployedJob;
}
