/**
 * Records into each vertex of a job over all its attempts, from the TaskManagers' counter
 * reports. Every execution (attempt, vertex, subtask) keeps its last report, so a restart adds to
 * the total instead of starting it again, and the final counters of a cancelled execution,
 * which arrive after its replacement was deployed, still count.
 */
import type { TaskMetricsReport } from './rpc/index.js';

/** Records in per vertex, summed over every execution of a job. */
export class AttemptCounters {
  private readonly byExecution = new Map<string, number>();

  constructor(private readonly vertexCount: number) {}

  /** Takes one execution's report (counters only grow, so a late older report changes nothing). */
  record(report: TaskMetricsReport): void {
    const recordsIn = report.counters['recordsIn'];
    if (recordsIn === undefined || report.vertexIndex >= this.vertexCount) return;
    const key = `${report.attempt}:${report.vertexIndex}:${report.subtask}`;
    this.byExecution.set(key, Math.max(this.byExecution.get(key) ?? 0, recordsIn));
  }

  /** Records in per vertex index, over every attempt. */
  recordsIn(): number[] {
    const totals = new Array<number>(this.vertexCount).fill(0);
    for (const [key, n] of this.byExecution) {
      const vertex = Number(key.split(':', 2)[1]);
      totals[vertex] = totals[vertex]! + n;
    }
    return totals;
  }
}
