/** Checkpoint statistics: per checkpoint and per subtask, counts, bounded history (Flink's CheckpointStatsTracker). */
import type {
  CheckpointStats,
  CheckpointStatsSnapshot,
  RestoredCheckpointStats,
} from '../api/checkpoint-stats.js';
import type { SubtaskCheckpointMetrics } from '../runtime/checkpoint-gateway.js';

/** Collects checkpoint statistics of one job. */
export class CheckpointStatsTracker {
  private readonly history: CheckpointStats[] = [];
  private readonly byId = new Map<number, CheckpointStats>();
  private completed = 0;
  private failed = 0;
  private restored = 0;
  private latestCompleted: CheckpointStats | undefined;
  private latestSavepoint: CheckpointStats | undefined;
  private latestFailed: CheckpointStats | undefined;
  private latestRestored: RestoredCheckpointStats | undefined;

  constructor(private readonly historySize: number) {}

  reportPending(
    id: number,
    triggerTimestamp: number,
    numSubtasks: number,
    isSavepoint = false,
    isSynchronous = false,
    savepointFormat?: 'CANONICAL' | 'NATIVE',
  ): void {
    const stats: CheckpointStats = {
      id,
      status: 'IN_PROGRESS',
      isSavepoint,
      ...(isSynchronous ? { isSynchronous } : {}),
      ...(isSavepoint ? { savepointFormat: savepointFormat ?? 'CANONICAL' } : {}),
      triggerTimestamp,
      latestAckTimestamp: undefined,
      endToEndDurationMs: 0,
      checkpointedSize: 0,
      stateSize: 0,
      numSubtasks,
      subtasks: [],
    };
    this.byId.set(id, stats);
    this.history.unshift(stats);
    while (this.history.length > this.historySize) {
      const dropped = this.history.pop()!;
      if (dropped.status !== 'IN_PROGRESS') this.byId.delete(dropped.id);
    }
  }

  reportAck(id: number, taskKey: string, ackTimestamp: number, metrics: SubtaskCheckpointMetrics): void {
    const stats = this.byId.get(id);
    if (!stats || stats.status !== 'IN_PROGRESS') return;
    stats.subtasks.push({
      taskKey,
      ackTimestamp,
      endToEndDurationMs: ackTimestamp - stats.triggerTimestamp,
      ...metrics,
    });
    stats.latestAckTimestamp = ackTimestamp;
    stats.checkpointedSize += metrics.checkpointedSize;
  }

  reportCompleted(id: number, completionTimestamp: number, stateSize: number, externalPath: string): void {
    const stats = this.byId.get(id);
    if (!stats) return;
    stats.status = 'COMPLETED';
    stats.endToEndDurationMs = completionTimestamp - stats.triggerTimestamp;
    stats.stateSize = stateSize;
    stats.externalPath = externalPath;
    this.completed++;
    if (stats.isSavepoint) this.latestSavepoint = stats;
    else this.latestCompleted = stats;
    this.prune(stats);
  }

  reportFailed(id: number, failureTimestamp: number, message: string): void {
    const stats = this.byId.get(id);
    if (!stats || stats.status !== 'IN_PROGRESS') return;
    stats.status = 'FAILED';
    stats.failureTimestamp = failureTimestamp;
    stats.failureMessage = message;
    stats.endToEndDurationMs = failureTimestamp - stats.triggerTimestamp;
    this.failed++;
    this.latestFailed = stats;
    this.prune(stats);
  }

  reportRestored(restored: RestoredCheckpointStats): void {
    this.restored++;
    this.latestRestored = restored;
  }

  /** Statistics of one checkpoint still in the history. */
  get(id: number): CheckpointStats | undefined {
    return this.byId.get(id);
  }

  snapshot(): CheckpointStatsSnapshot {
    const inProgress = this.history.filter((c) => c.status === 'IN_PROGRESS').length;
    return {
      counts: {
        restored: this.restored,
        total: this.completed + this.failed + inProgress,
        inProgress,
        completed: this.completed,
        failed: this.failed,
      },
      latestCompleted: this.latestCompleted,
      latestSavepoint: this.latestSavepoint,
      latestFailed: this.latestFailed,
      latestRestored: this.latestRestored,
      history: this.history.map((c) => ({ ...c, subtasks: [...c.subtasks] })),
    };
  }

  private prune(stats: CheckpointStats): void {
    if (!this.history.includes(stats)) this.byId.delete(stats.id);
  }
}
