/**
 * A harness's checkpoints, taken by the task's own SubtaskCheckpointCoordinator (synchronous
 * phase, then the asynchronous write to jobmanager checkpoint storage) and acknowledged to the
 * harness instead of a CheckpointCoordinator.
 */
import type { Clock } from '../core/clock.js';
import { SluiceError } from '../core/errors.js';
import type { CheckpointId, JobId } from '../core/ids.js';
import type { OperatorRestoredState, TaskCheckpointGateway } from '../runtime/checkpoint-gateway.js';
import type { ChainedOperator } from '../runtime/operator-chain.js';
import { SubtaskCheckpointCoordinator } from '../runtime/subtask-checkpoint-coordinator.js';
import { JobManagerCheckpointStorage } from '../storage/memory/job-manager-checkpoint-storage.js';
import { deferred, harnessMisuse, type Deferred } from './harness-misuse.js';
import { OperatorSubtaskState, readRestoreState } from './operator-subtask-state.js';
import type { ResolvedHarnessOptions } from './test-harness-options.js';

/** What the checkpoints of a harness need to know. */
export interface HarnessCheckpointsSetup {
  readonly jobId: JobId;
  readonly taskName: string;
  readonly entry: ChainedOperator;
  readonly clock: Clock;
  readonly options: ResolvedHarnessOptions;
  /** False once the harness closed: a late asynchronous failure then has no one to tell. */
  readonly isRunning: () => boolean;
}

/** A checkpoint the harness was asked for: its result, and how to start or abort it. */
export interface PendingSnapshot {
  readonly promise: Promise<OperatorSubtaskState>;
  /** Runs the synchronous phase (throws its error); the asynchronous phase settles `promise`. */
  trigger(): void;
  readonly abort: (error: Error) => void;
}

/** The checkpoints of one harness. */
export class HarnessCheckpoints {
  /** No per-handle limit: the 5 MB of jobmanager storage guards a JobManager, not a test. */
  private readonly storage = new JobManagerCheckpointStorage({ maxStateSize: Number.MAX_SAFE_INTEGER });
  private readonly inFlight = new Map<number, Deferred<OperatorSubtaskState>>();
  private readonly coordinator: SubtaskCheckpointCoordinator;
  private lastCheckpointId = 0;

  constructor(private readonly setup: HarnessCheckpointsSetup) {
    this.coordinator = new SubtaskCheckpointCoordinator(
      setup.taskName,
      [setup.entry],
      [],
      this.gateway(),
      setup.clock,
      setup.isRunning,
    );
  }

  /** Checks the id and timestamp of `snapshot(checkpointId, timestamp)` and registers it. */
  begin(checkpointId: number, timestamp: number): PendingSnapshot {
    if (!Number.isSafeInteger(checkpointId) || checkpointId <= this.lastCheckpointId)
      throw harnessMisuse(
        `snapshot(${String(checkpointId)}, ...): checkpoint ids are integers from 1 that increase ` +
          `(the last one was ${this.lastCheckpointId}); pass ${this.lastCheckpointId + 1} or more.`,
      );
    if (typeof timestamp !== 'number' || !Number.isFinite(timestamp))
      throw harnessMisuse(
        `snapshot(${checkpointId}, ${String(timestamp)}): the timestamp is a number of ms.`,
      );
    this.lastCheckpointId = checkpointId;
    const result = deferred<OperatorSubtaskState>();
    this.inFlight.set(checkpointId, result);
    const abort = (error: Error): void => {
      this.inFlight.delete(checkpointId);
      result.reject(error);
    };
    return {
      promise: result.promise,
      abort,
      trigger: () =>
        this.coordinator.performCheckpoint(checkpointId, {
          triggerTimestamp: timestamp,
          emitBarrier: false,
          alignmentDurationMs: 0,
          startDelayMs: 0,
          bytesProcessedDuringAlignment: 0,
        }),
    };
  }

  /** Checkpoint `checkpointId` completed: the operator commits. */
  notifyComplete(checkpointId: number): void {
    this.coordinator.notifyCheckpointComplete(checkpointId);
  }

  /** Checkpoint `checkpointId` was aborted: a snapshot still being written rejects. */
  notifyAborted(checkpointId: number): void {
    this.inFlight.get(checkpointId)?.reject(harnessMisuse(`checkpoint ${checkpointId} was aborted.`));
    this.inFlight.delete(checkpointId);
    this.coordinator.notifyCheckpointAborted(checkpointId);
  }

  /** Waits for every snapshot still being written, whatever their outcome. */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.inFlight.values()].map((d) => d.promise));
  }

  /** Reads `state` back for a restore of this harness's subtask (see readRestoreState). */
  read(state: OperatorSubtaskState, keyed: boolean): Promise<OperatorRestoredState> {
    return readRestoreState(state, { storage: this.storage, keyed, ...this.setup.options });
  }

  /** Releases what pending snapshots pinned. */
  dispose(): void {
    this.coordinator.dispose();
  }

  private gateway(): TaskCheckpointGateway {
    const location = (checkpointId: number) =>
      this.storage.locationOf(this.setup.jobId, checkpointId as CheckpointId);
    return {
      mode: 'EXACTLY_ONCE',
      storage: this.storage,
      location: (checkpointId) => (this.inFlight.has(checkpointId) ? location(checkpointId) : undefined),
      acknowledgeCheckpoint: (checkpointId, states) => {
        const result = this.inFlight.get(checkpointId);
        if (!result) return;
        this.inFlight.delete(checkpointId);
        const own = states.find((s) => s.operatorId === this.setup.entry.operatorId);
        const { subtaskIndex, parallelism, maxParallelism } = this.setup.options;
        result.resolve(
          new OperatorSubtaskState(checkpointId, [
            {
              subtaskIndex,
              parallelism,
              maxParallelism,
              location: location(checkpointId),
              keyed: own?.keyed ?? [],
              operator: own?.operator ?? [],
            },
          ]),
        );
      },
      declineCheckpoint: (checkpointId, reason, error) => {
        const result = this.inFlight.get(checkpointId);
        this.inFlight.delete(checkpointId);
        result?.reject(
          error ??
            new SluiceError('SLUICE_CHECKPOINT_FAILED', `checkpoint ${checkpointId} was declined: ${reason}`),
        );
      },
    };
  }
}
