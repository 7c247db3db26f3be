// Operator (non-keyed) state of user functions (CheckpointedFunction): split and union lists survive a failure exactly once.
import { describe, expect, it } from 'vitest';
import {
  DataGeneratorSource,
  ListStateDescriptor,
  RestartStrategies,
  StreamExecutionEnvironment,
} from 'sluice';
import type {
  CheckpointListener,
  CheckpointedFunction,
  FunctionInitializationContext,
  ListState,
  RuntimeContext,
} from 'sluice';

const RECORDS = 20_000;
const FAIL_AT = 12_000;
let injected = false;
/** What each subtask saw in its union list when restored: [attempt, subtask, elements]. */
const unionOnRestore: [number, number, number[]][] = [];

/** Counts records per parallel instance in a field, kept in operator state across failures. */
class CountingMap implements CheckpointedFunction, CheckpointListener {
  private seen = 0;
  private subtask = 0;
  private attempt = 0;
  private completedCheckpoints = 0;
  private counts!: ListState<number>;
  private subtasks!: ListState<number>;

  initializeState(ctx: FunctionInitializationContext) {
    this.counts = ctx.getOperatorStateStore().getListState(new ListStateDescriptor<number>('seen'));
    this.subtasks = ctx
      .getOperatorStateStore()
      .getUnionListState(new ListStateDescriptor<number>('subtasks'));
    if (ctx.isRestored()) this.seen = this.counts.get().reduce((a, b) => a + b, 0);
  }

  open(ctx: RuntimeContext) {
    this.subtask = ctx.getIndexOfThisSubtask();
    this.attempt = ctx.getAttemptNumber();
    if (this.attempt > 0) unionOnRestore.push([this.attempt, this.subtask, [...this.subtasks.get()].sort()]);
  }

  snapshotState() {
    this.counts.update([this.seen]);
    this.subtasks.update([this.subtask]);
  }

  notifyCheckpointComplete(): void {
    this.completedCheckpoints++;
  }

  map(i: number): [number, number] {
    // Once, and only after a checkpoint completed however slow the machine: the restore reads state.
    if (!injected && this.attempt === 0 && i >= FAIL_AT && this.completedCheckpoints > 0) {
      injected = true;
      throw new Error('injected failure');
    }
    this.seen++;
    return [this.subtask, this.seen];
  }
}

describe('operator state of user functions', () => {
  it('keeps split and union list state exactly once across a failure', async () => {
    const env = StreamExecutionEnvironment.getExecutionEnvironment().setParallelism(2);
    env.enableCheckpointing(40);
    env.setRestartStrategy(RestartStrategies.fixedDelay(3, 10));
    const result = env
      .fromSource(new DataGeneratorSource((i) => i, RECORDS, { recordsPerSecond: 20_000 }), 'numbers')
      .map(new CountingMap())
      .uid('counting-map')
      .collectAsync();
    const client = await env.executeAsync('operator state');
    const rows = await result.toArray();
    const outcome = await client.getJobExecutionResult();

    expect(outcome.numRestarts).toBe(1);
    expect(outcome.checkpoints.restored).toBe(1);
    // Each subtask's last count is what it processed; together exactly every record once.
    const last = new Map<number, number>();
    for (const [subtask, seen] of rows) last.set(subtask, Math.max(last.get(subtask) ?? 0, seen));
    expect([...last.values()].reduce((a, b) => a + b, 0)).toBe(RECORDS);
    expect(rows).toHaveLength(RECORDS);
    // Union state: every restored subtask got every subtask's element.
    expect(unionOnRestore.map(([, subtask, elements]) => [subtask, elements]).sort()).toEqual([
      [0, [0, 1]],
      [1, [0, 1]],
    ]);
  });
});
